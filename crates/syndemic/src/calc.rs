//! `syndemic calc METHOD`: CSV in, CSV out, every group in one pass.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use syndemic_stats::compare::{self, Polarity, Trend};
use syndemic_stats::dsr::DsrAccumulator;
use syndemic_stats::dsr::{self, DsrInput, NonIndependent, ESP2013};
use syndemic_stats::estimate::Row;
use syndemic_stats::funnel::{self, RateType};
use syndemic_stats::isr::{self, IsrInput, IsrKind};
use syndemic_stats::life_expectancy::{self, AgeBands, AtAges, LifeTableInput};
use syndemic_stats::proportion::ProportionKernel;
use syndemic_stats::quantile::{self, Invert};
use syndemic_stats::rate::{PoissonRule, RateKernel};
use syndemic_stats::sii::{self, SiiInput, SiiOptions, ValueType};
use syndemic_stats::{mean, proportion, rate, ConfidenceLevel, Estimates, Field, StatsError};

use crate::progress::Progress;
use crate::table::{
    self, format_rows, number_at, push_field, push_number, visit_rows, BlockError, Input, Parsed,
    Prepared, SpanKeys, Wanted,
};

/// The statistic to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Proportion with Wilson score limits.
    Proportion,
    /// Crude rate with exact Poisson (< 10 events) or Byar's limits.
    Rate,
    /// Mean with Student's t limits.
    Mean,
    /// Directly standardised rate with Dobson limits.
    Dsr,
    /// Life expectancy (Chiang II, Silcocks), any layout with an open last band.
    LifeExpectancy,
    /// Indirectly standardised ratio (observed / expected).
    Isratio,
    /// Indirectly standardised rate.
    Israte,
    /// Quantile (decile, quintile, any N) within groups.
    Quantile,
    /// Slope and relative index of inequality with simulated limits.
    Sii,
    /// Funnel plot significance of each row, or the funnel's control limits.
    Funnel,
    /// Comparison of each row's interval with a benchmark (better / similar / worse).
    Compare,
    /// Fingertips recent trend of each group over its last five periods.
    Trend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolarityArg {
    /// Higher values are better.
    HighIsGood,
    /// Lower values are better.
    LowIsGood,
    /// Higher or lower, without judgement.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Poisson {
    /// Exact limits below 10 events, Byar's from 10 (PHEindicatormethods).
    #[value(name = "exact-below-10")]
    ExactBelow10,
    /// Byar's limits at every count (what Fingertips publishes for crude rates).
    Byars,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SiiValueType {
    Normal,
    Rate,
    Proportion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FunnelStatistic {
    Proportion,
    Rate,
    Ratio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FunnelRateType {
    Dsr,
    Crude,
}

/// Arguments of `syndemic calc`. Column flags name columns of the input; each
/// method says which it needs.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct CalcArgs {
    /// The method.
    #[arg(value_enum)]
    pub method: Method,
    /// Input CSV file (default: standard input).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Output CSV file, written whole or not at all (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Columns that define groups (any text labels; rows may come in any order).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Confidence levels, as 95 or 0.95; several separated by commas.
    #[arg(long, value_name = "LEVELS", default_value = "95,99.8")]
    pub confidence: String,
    /// No progress display.
    #[arg(long)]
    pub quiet: bool,

    /// proportion, rate, funnel: the numerator column.
    #[arg(long, value_name = "COL")]
    pub numerator: Option<String>,
    /// proportion, rate, funnel: the denominator column.
    #[arg(long, value_name = "COL")]
    pub denominator: Option<String>,
    /// Result per this many (proportion 1, rate/DSR/ISR rate 100000 by default;
    /// SII: scales the SII, negative inverts).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub multiplier: Option<f64>,
    /// rate: which Poisson limits to use.
    #[arg(long, value_enum, default_value = "exact-below-10")]
    pub poisson: Poisson,
    /// mean, quantile, sii: the value column.
    #[arg(long, value_name = "COL")]
    pub value: Option<String>,
    /// dsr: age band label column; life-expectancy: the band's start age column.
    #[arg(long, value_name = "COL")]
    pub age_band: Option<String>,
    /// dsr, isratio, israte: event count column; sii: count column (value = count/population).
    #[arg(long, value_name = "COL")]
    pub count: Option<String>,
    /// dsr, life-expectancy, isratio, israte, sii: population column.
    #[arg(long, value_name = "COL")]
    pub population: Option<String>,
    /// dsr: standard population, `esp2013` (matched by band label) or a CSV file of
    /// `band,population` matched by label.
    #[arg(long, value_name = "esp2013|FILE", default_value = "esp2013")]
    pub standard: String,
    /// dsr: take each row's standard population from this column instead.
    #[arg(long, value_name = "COL")]
    pub standard_column: Option<String>,
    /// dsr: for non-independent events, the column giving how many events each
    /// person had (the count column then counts persons).
    #[arg(long, value_name = "COL")]
    pub event_frequency: Option<String>,
    /// life-expectancy: deaths column.
    #[arg(long, value_name = "COL")]
    pub deaths: Option<String>,
    /// life-expectancy: start ages to report, `all` or a list such as 0,65.
    #[arg(long, value_name = "all|AGES", default_value = "all")]
    pub at_ages: String,
    /// life-expectancy: the start ages of the bands, the last open (default
    /// 0,1,5,10,…,90; e.g. 0,5,10,…,85), or `auto` for the ages in the data.
    #[arg(long, value_name = "AGES|auto")]
    pub age_bands: Option<String>,
    /// isratio, israte: reference event count column.
    #[arg(long, value_name = "COL")]
    pub ref_count: Option<String>,
    /// isratio, israte: reference population column.
    #[arg(long, value_name = "COL")]
    pub ref_population: Option<String>,
    /// isratio: scale of the ratio (1, or 100); israte: the reference rate, instead of
    /// computing it from the reference columns.
    #[arg(long, value_name = "N")]
    pub ref_value: Option<f64>,
    /// isratio, israte: a CSV with the group columns and the --count column giving
    /// observed events as one total per group.
    #[arg(long, value_name = "FILE")]
    pub observed_totals: Option<PathBuf>,
    /// quantile: how many quantiles (10 deciles, 5 quintiles, …).
    #[arg(long, value_name = "N")]
    pub quantiles: Option<u32>,
    /// quantile: `true` gives the highest value quantile 1, `false` the lowest; or a
    /// column of TRUE/FALSE per row (the same within a group).
    #[arg(long, value_name = "true|false|COL", default_value = "true")]
    pub invert: String,
    /// sii: quantile number column (1 = most deprived).
    #[arg(long, value_name = "COL")]
    pub quantile: Option<String>,
    /// sii: standard error column (on the log/logit scale for rates/proportions).
    #[arg(long, value_name = "COL")]
    pub se: Option<String>,
    /// sii: lower 95% limit column (used when --se is not given).
    #[arg(long, value_name = "COL")]
    pub lower: Option<String>,
    /// sii: upper 95% limit column.
    #[arg(long, value_name = "COL")]
    pub upper: Option<String>,
    /// sii: the kind of value (proportions as fractions in [0, 1]).
    #[arg(long, value_enum, default_value = "normal")]
    pub value_type: SiiValueType,
    /// sii: fit on the log (rate) or logit (proportion) scale.
    #[arg(long)]
    pub transform: bool,
    /// sii: also report the RII.
    #[arg(long, default_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub rii: bool,
    /// sii: simulations for the limits.
    #[arg(long, default_value = "100000", value_name = "N")]
    pub repetitions: u32,
    /// sii: seed of the simulation (the same seed gives the same limits).
    #[arg(long, default_value = "1", value_name = "N")]
    pub seed: u64,
    /// funnel: what is plotted.
    #[arg(long, value_enum, default_value = "proportion")]
    pub statistic: FunnelStatistic,
    /// funnel (rate): the rate column.
    #[arg(long, value_name = "COL")]
    pub rate: Option<String>,
    /// funnel (rate): DSRs or crude rates.
    #[arg(long, value_enum, default_value = "dsr")]
    pub rate_type: FunnelRateType,
    /// funnel (ratio): observed events column.
    #[arg(long, value_name = "COL")]
    pub observed: Option<String>,
    /// funnel (ratio): expected events column.
    #[arg(long, value_name = "COL")]
    pub expected: Option<String>,
    /// funnel: write the 100 rows of control limits instead of each row's significance
    /// (x: denominators for proportions, events for ratios (on an axis scaled by the
    /// expected events) and rates; the rate axis runs from 1 to the largest count, not
    /// yet the reference's axis).
    #[arg(long)]
    pub limits: bool,
    /// funnel (rate limits): years of data pooled in each rate.
    #[arg(long, default_value = "1", value_name = "N")]
    pub years: f64,
    /// compare: the benchmark, a column or a number (e.g. England's value).
    #[arg(long, value_name = "COL|N", allow_hyphen_values = true)]
    pub benchmark: Option<String>,
    /// compare, trend: which direction is good.
    #[arg(long, value_enum, default_value = "none")]
    pub polarity: PolarityArg,
    /// trend: the period column; periods are ordered as text, so give sortable labels
    /// (2019, 2019/20, or Fingertips' "Time period Sortable").
    #[arg(long, value_name = "COL")]
    pub period: Option<String>,
    /// trend: significance level of the chi-square test for trend.
    #[arg(long, default_value = "99.9", value_name = "LEVEL")]
    pub trend_level: f64,
}

/// Input bytes per piece when rows are streamed (about six times that of output):
/// small enough that the few output buffers in flight stay in the cache and are
/// not page-faulted afresh.
const STREAM_PIECE_BYTES: usize = 64 << 10;

const AFTER_HELP: &str = "\
Output columns: methods with one result per input row (proportion and rate without
--group-by, quantile, funnel) keep every input column; the others keep the group
columns. Then `value`, `lower_95,upper_95,lower_99_8,upper_99_8` (one pair per level)
and `note`, saying why a value is blank. An empty cell or NA in the input is missing.
An input column already named like an added one is kept; the added one comes after it.

Examples:
  syndemic calc proportion --input a.csv --numerator x --denominator n --multiplier 100
  syndemic calc dsr --input d.csv --group-by area,year --age-band band --count deaths \\
      --population pop --standard esp2013
  syndemic calc life-expectancy --input le.csv --group-by area --age-band age \\
      --deaths deaths --population pop --at-ages 0,65 --confidence 95
  syndemic calc sii --input s.csv --group-by area --quantile decile --population pop \\
      --value le --se se
  syndemic calc funnel --input f.csv --statistic proportion --numerator x --denominator n";

fn need<'a>(v: &'a Option<String>, flag: &str, method: &str) -> anyhow::Result<&'a String> {
    v.as_ref()
        .ok_or_else(|| anyhow!("calc {method} needs {flag} COL, naming a column of the input"))
}

/// Maps a library error to the input's file, line and column.
fn located(parsed: &Parsed, err: StatsError, fields: &[(Field, &str)]) -> anyhow::Error {
    if let StatsError::Invalid {
        row,
        field,
        problem,
    } = &err
    {
        if let Some((_, col)) = fields.iter().find(|(f, _)| f == field) {
            let idx = parsed.column(col);
            return parsed
                .error_at(*row, idx, format!("{field} {problem}"))
                .into();
        }
    }
    anyhow!("{}: {err}", parsed.source)
}

/// A row-at-a-time method: row index, numerator, denominator, and the row to fill.
type RowKernel =
    Box<dyn Fn(usize, Option<f64>, Option<f64>, &mut Row) -> Result<(), StatsError> + Sync>;

/// A library error on a streamed row, as a block error naming the column.
fn block_error(err: StatsError, fields: &[(Field, usize)]) -> BlockError {
    match &err {
        StatsError::Invalid {
            row,
            field,
            problem,
        } => BlockError {
            row: *row,
            col: fields
                .iter()
                .find(|(f, _)| f == field)
                .map_or(0, |(_, c)| *c),
            message: format!("{field} {problem}"),
        },
        other => BlockError {
            row: 0,
            col: 0,
            message: other.to_string(),
        },
    }
}

/// Runs one closure per block in parallel and returns the results in order, or the
/// first error (in file order) located to its line and column.
fn per_block<T: Send>(
    prep: &Prepared,
    f: impl Fn(std::ops::Range<usize>) -> Result<T, BlockError> + Sync,
) -> anyhow::Result<Vec<T>> {
    let results: Vec<Result<T, BlockError>> =
        prep.blocks.par_iter().map(|r| f(r.clone())).collect();
    let mut out = Vec::with_capacity(results.len());
    for (b, r) in results.into_iter().enumerate() {
        match r {
            Ok(t) => out.push(t),
            Err(e) => return Err(prep.block_error(b, e).into()),
        }
    }
    Ok(out)
}

fn push_row(out: &mut Vec<u8>, row: &Row, n_levels: usize) {
    out.push(b',');
    push_number(out, row.value);
    for l in 0..n_levels {
        out.push(b',');
        push_number(out, row.limits[l].0);
        out.push(b',');
        push_number(out, row.limits[l].1);
    }
    push_note(out, row.note.map(|n| n.text()));
}

pub fn run(args: &CalcArgs) -> anyhow::Result<()> {
    let levels = ConfidenceLevel::parse_list(&args.confidence)
        .with_context(|| "--confidence".to_string())?;
    syndemic_stats::estimate::check_levels(&levels)?;
    let size = args
        .input
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len());
    let progress = Progress::new(args.quiet, size);
    progress.stage("reading");
    let (data, source) = table::read_input(args.input.as_deref())?;
    let mut sink = table::Sink::open(args.output.as_deref())?;
    let ctx = Ctx {
        args,
        levels: &levels,
        progress: &progress,
    };
    let chunks = match args.method {
        Method::Proportion | Method::Rate => ctx.proportion_or_rate(data, source, &mut sink)?,
        Method::Mean => ctx.mean(data, source)?,
        Method::Dsr => ctx.dsr(data, source)?,
        Method::LifeExpectancy => ctx.life_expectancy(data, source)?,
        Method::Isratio | Method::Israte => ctx.isr(data, source)?,
        Method::Quantile => ctx.quantile(data, source)?,
        Method::Sii => ctx.sii(data, source)?,
        Method::Funnel => ctx.funnel(data, source)?,
        Method::Compare => ctx.compare(data, source)?,
        Method::Trend => ctx.trend(data, source)?,
    };
    progress.stage("writing");
    for chunk in &chunks {
        sink.write(chunk)?;
    }
    sink.commit()?;
    progress.finish();
    Ok(())
}

struct Ctx<'a> {
    args: &'a CalcArgs,
    levels: &'a [ConfidenceLevel],
    progress: &'a Progress,
}

/// Column names for value, limits and note.
fn estimate_header(levels: &[ConfidenceLevel], prefix: &str) -> Vec<String> {
    let mut h = vec![format!("{prefix}value")];
    for l in levels {
        h.push(format!("{prefix}lower_{}", l.label()));
        h.push(format!("{prefix}upper_{}", l.label()));
    }
    h
}

fn push_estimate(out: &mut Vec<u8>, est: &Estimates, i: usize) {
    out.push(b',');
    push_number(out, est.value[i]);
    for l in 0..est.levels.len() {
        out.push(b',');
        push_number(out, est.lower[l][i]);
        out.push(b',');
        push_number(out, est.upper[l][i]);
    }
}

fn push_note(out: &mut Vec<u8>, note: Option<&str>) {
    out.push(b',');
    if let Some(n) = note {
        push_field(out, n.as_bytes());
    }
}

fn push_numbers(out: &mut Vec<u8>, values: &[Option<f64>]) {
    for &v in values {
        out.push(b',');
        push_number(out, v);
    }
}

impl Ctx<'_> {
    fn poisson_rule(&self) -> PoissonRule {
        match self.args.poisson {
            Poisson::ExactBelow10 => PoissonRule::ExactBelow10,
            Poisson::Byars => PoissonRule::Byars,
        }
    }

    fn group_by(&self) -> Vec<Vec<String>> {
        vec![self.args.group_by.clone()]
    }

    /// Writes the group columns of group `g` (without a leading comma).
    fn push_group(&self, parsed: &Parsed, g: usize, out: &mut Vec<u8>) -> bool {
        push_key(out, parsed.keys[0].value(g), !self.args.group_by.is_empty())
    }

    /// Output rows of a summary method: group columns, extra columns, estimate, note.
    fn summary_output(
        &self,
        parsed: &Parsed,
        extra: &[&str],
        n: usize,
        row: impl Fn(usize, &mut Vec<u8>) + Sync,
    ) -> Vec<Vec<u8>> {
        let mut header: Vec<String> = self.args.group_by.clone();
        header.extend(extra.iter().map(|s| s.to_string()));
        header.extend(estimate_header(self.levels, ""));
        header.push("note".into());
        format_rows(&header, n, |g, out| {
            // `row` writes each field after a comma; without group columns (one
            // group, one row) the first comma goes.
            let wrote = self.push_group(parsed, g, out);
            let start = out.len();
            row(g, out);
            if !wrote && out.len() > start && out[start] == b',' {
                out.remove(start);
            }
        })
    }

    fn parse(&self, data: Input, source: String, wanted: &Wanted) -> anyhow::Result<Parsed> {
        self.progress.stage("parsing");
        let parsed = table::parse(data, source, wanted)?;
        self.progress.stage("computing");
        Ok(parsed)
    }

    fn parse_prepared(&self, prep: Prepared, wanted: &Wanted) -> anyhow::Result<Parsed> {
        self.parse(prep.data, prep.source, wanted)
    }

    /// Proportion or rate per row, streamed: each block is parsed, computed and
    /// formatted in one pass with no intermediate columns, a window of blocks at a
    /// time; a writer thread writes one window while the next is computed, and hands
    /// the buffers back for reuse.
    fn stream_per_row(
        &self,
        mut prep: Prepared,
        x: &str,
        n: &str,
        sink: &mut table::Sink,
    ) -> anyhow::Result<()> {
        let a = self.args;
        let (xi, ni) = (prep.column(x)?, prep.column(n)?);
        prep.split_blocks(STREAM_PIECE_BYTES);
        let is_rate = a.method == Method::Rate;
        let m = a
            .multiplier
            .unwrap_or(if is_rate { 100_000.0 } else { 1.0 });
        let kernel: RowKernel = if is_rate {
            let k = RateKernel::with_rule(m, self.levels, self.poisson_rule())?;
            Box::new(move |i, x, n, out| k.row_into(i, x, n, out))
        } else {
            let k = ProportionKernel::new(m, self.levels)?;
            Box::new(move |i, x, n, out| k.row_into(i, x, n, out))
        };
        let fields = [(Field::Numerator, xi), (Field::Denominator, ni)];
        let mut header = prep.headers.clone();
        header.extend(estimate_header(self.levels, ""));
        header.push("note".into());
        let mut head = Vec::new();
        table::push_header(&mut head, &header);
        sink.write(&head)?;
        self.progress.stage("computing");
        let data = &prep.data;
        let n_levels = self.levels.len();
        let process = |range: std::ops::Range<usize>, out: &mut Vec<u8>| {
            out.clear();
            out.reserve(range.len() * 8);
            let mut r = Row::default();
            visit_rows(data, range, prep.headers.len(), |row, f| {
                let x = number_at(data, f, row, xi)?;
                let n = number_at(data, f, row, ni)?;
                kernel(row, x, n, &mut r).map_err(|e| block_error(e, &fields))?;
                out.extend_from_slice(&data[f[0].0..f[f.len() - 1].1]);
                push_row(out, &r, n_levels);
                out.push(b'\n');
                Ok(())
            })
            .map(|_| ())
        };
        let window = 2 * rayon::current_num_threads().max(1);
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let (to_writer, batches) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(1);
            let (to_pool, pool) = std::sync::mpsc::channel::<Vec<u8>>();
            let writer = scope.spawn(move || -> anyhow::Result<()> {
                for batch in batches {
                    for buf in batch {
                        sink.write(&buf)?;
                        // The computing side may have finished; a lost buffer is fine.
                        let _ = to_pool.send(buf);
                    }
                }
                Ok(())
            });
            for (w, ranges) in prep.blocks.chunks(window).enumerate() {
                let mut bufs: Vec<Vec<u8>> = ranges
                    .iter()
                    .map(|_| pool.try_recv().unwrap_or_default())
                    .collect();
                let results: Vec<Result<(), BlockError>> = ranges
                    .par_iter()
                    .zip(bufs.par_iter_mut())
                    .map(|(range, out)| process(range.clone(), out))
                    .collect();
                if let Some((i, err)) = results
                    .into_iter()
                    .enumerate()
                    .find_map(|(i, r)| r.err().map(|e| (i, e)))
                {
                    drop(to_writer);
                    let _ = writer.join();
                    return Err(prep.block_error(w * window + i, err).into());
                }
                if to_writer.send(bufs).is_err() {
                    break;
                }
            }
            drop(to_writer);
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("the output writer stopped unexpectedly"))?
        })
    }

    fn proportion_or_rate(
        &self,
        data: Input,
        source: String,
        sink: &mut table::Sink,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let name = if a.method == Method::Rate {
            "rate"
        } else {
            "proportion"
        };
        let x = need(&a.numerator, "--numerator", name)?;
        let n = need(&a.denominator, "--denominator", name)?;
        let grouped = !a.group_by.is_empty();
        let prep = table::prepare(data, source)?;
        if !grouped && !prep.quoted {
            self.stream_per_row(prep, x, n, sink)?;
            return Ok(Vec::new());
        }
        let wanted = Wanted {
            numeric: vec![x.clone(), n.clone()],
            keys: if grouped { self.group_by() } else { vec![] },
            keep_rows: !grouped,
        };
        let parsed = self.parse_prepared(prep, &wanted)?;
        let fields = [
            (Field::Numerator, x.as_str()),
            (Field::Denominator, n.as_str()),
        ];
        let (xs, ns) = (&parsed.numeric[0], &parsed.numeric[1]);
        let is_rate = a.method == Method::Rate;
        let m = a
            .multiplier
            .unwrap_or(if is_rate { 100_000.0 } else { 1.0 });
        if grouped {
            let keys = &parsed.keys[0];
            let (totals, est) = if is_rate {
                rate::rate_grouped_with(
                    &keys.ids,
                    keys.len(),
                    xs,
                    ns,
                    m,
                    self.levels,
                    self.poisson_rule(),
                )
            } else {
                proportion::proportion_grouped(&keys.ids, keys.len(), xs, ns, m, self.levels)
            }
            .map_err(|e| located(&parsed, e, &fields))?;
            Ok(self.summary_output(&parsed, &[x, n], keys.len(), |g, out| {
                push_numbers(out, &[totals.numerator[g], totals.denominator[g]]);
                push_estimate(out, &est, g);
                push_note(out, est.note[g].map(|n| n.text()));
            }))
        } else {
            let est = if is_rate {
                rate::rate_with(xs, ns, m, self.levels, self.poisson_rule())
            } else {
                proportion::proportion(xs, ns, m, self.levels)
            }
            .map_err(|e| located(&parsed, e, &fields))?;
            Ok(
                self.per_row_output(&parsed, &estimate_header(self.levels, ""), |i, out| {
                    push_estimate(out, &est, i);
                    push_note(out, est.note[i].map(|n| n.text()));
                }),
            )
        }
    }

    /// Output rows of a per-row method: every input column, then the new ones.
    fn per_row_output(
        &self,
        parsed: &Parsed,
        added: &[String],
        row: impl Fn(usize, &mut Vec<u8>) + Sync,
    ) -> Vec<Vec<u8>> {
        let mut header = parsed.headers.clone();
        header.extend(added.iter().cloned());
        if !added.iter().any(|h| h == "note") {
            header.push("note".into());
        }
        format_rows(&header, parsed.n_rows, |i, out| {
            let (s, e) = parsed.rows[i];
            out.extend_from_slice(&parsed.data[s..e]);
            row(i, out);
        })
    }

    fn mean(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let v = need(&self.args.value, "--value", "mean")?;
        let wanted = Wanted {
            numeric: vec![v.clone()],
            keys: self.group_by(),
            keep_rows: false,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let keys = &parsed.keys[0];
        let (summary, est) =
            mean::mean_grouped(&keys.ids, keys.len(), &parsed.numeric[0], self.levels)
                .map_err(|e| located(&parsed, e, &[(Field::Value, v)]))?;
        Ok(self.summary_output(
            &parsed,
            &["value_sum", "value_count", "stdev"],
            keys.len(),
            |g, out| {
                push_numbers(
                    out,
                    &[summary.sum[g], Some(summary.count[g]), summary.stdev[g]],
                );
                push_estimate(out, &est, g);
                push_note(out, est.note[g].map(|n| n.text()));
            },
        ))
    }

    fn dsr(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let band = need(&a.age_band, "--age-band", "dsr")?;
        let count = need(&a.count, "--count", "dsr")?;
        let pop = need(&a.population, "--population", "dsr")?;
        let prep = table::prepare(data, source)?;
        if !prep.quoted && a.event_frequency.is_none() {
            return self.stream_dsr(prep, band, count, pop);
        }
        let mut numeric = vec![count.clone(), pop.clone()];
        if let Some(c) = &a.standard_column {
            numeric.push(c.clone());
        }
        if let Some(f) = &a.event_frequency {
            numeric.push(f.clone());
        }
        let wanted = Wanted {
            numeric,
            keys: vec![a.group_by.clone(), vec![band.clone()]],
            keep_rows: false,
        };
        let parsed = self.parse_prepared(prep, &wanted)?;
        let bands = &parsed.keys[1];
        let mut next = 2;
        let standard: Vec<Option<f64>> = if a.standard_column.is_some() {
            next += 1;
            parsed.numeric[2].clone()
        } else {
            // One weight per distinct band label, then per row.
            let table = standard_population(&a.standard)?;
            let weights: Vec<Option<f64>> = (0..bands.len())
                .map(|b| lookup_band(&table, bands.value(b)))
                .collect();
            if let Some(row) = bands
                .ids
                .iter()
                .position(|&b| weights[b as usize].is_none())
            {
                let label = bands.value(bands.ids[row] as usize);
                return Err(parsed
                    .error_at(
                        row,
                        parsed.column(band),
                        band_not_in_standard(label, &a.standard, &table),
                    )
                    .into());
            }
            bands.ids.iter().map(|&b| weights[b as usize]).collect()
        };
        let keys = &parsed.keys[0];
        let m = a.multiplier.unwrap_or(100_000.0);
        let non_independent = a.event_frequency.as_ref().map(|_| NonIndependent {
            event_frequency: &parsed.numeric[next],
            age_band: &bands.ids,
        });
        let input = DsrInput {
            groups: &keys.ids,
            n_groups: keys.len(),
            count: &parsed.numeric[0],
            population: &parsed.numeric[1],
            standard: &standard,
            multiplier: m,
            non_independent,
        };
        let std_col = a.standard_column.clone().unwrap_or_else(|| band.clone());
        let freq_col = a.event_frequency.clone().unwrap_or_default();
        let fields = [
            (Field::Count, count.as_str()),
            (Field::Population, pop.as_str()),
            (Field::StandardPopulation, std_col.as_str()),
            (Field::EventFrequency, freq_col.as_str()),
        ];
        let (totals, est) =
            dsr::dsr(&input, self.levels).map_err(|e| located(&parsed, e, &fields))?;
        Ok(self.summary_output(
            &parsed,
            &["total_count", "total_pop"],
            keys.len(),
            |g, out| {
                push_numbers(
                    out,
                    &[Some(totals.total_count[g]), Some(totals.total_pop[g])],
                );
                push_estimate(out, &est, g);
                push_note(out, est.note[g].map(|n| n.text()));
            },
        ))
    }

    /// DSR streamed: each block adds its rows to its own accumulator with block-local
    /// group ids, which are then mapped to global ids (first appearance) and merged.
    fn stream_dsr(
        &self,
        prep: Prepared,
        band: &str,
        count: &str,
        pop: &str,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let group_cols: Vec<usize> = a
            .group_by
            .iter()
            .map(|g| prep.column(g))
            .collect::<Result<_, _>>()?;
        let (bi, ci, pi) = (prep.column(band)?, prep.column(count)?, prep.column(pop)?);
        let si = a
            .standard_column
            .as_deref()
            .map(|c| prep.column(c))
            .transpose()?;
        let table = match si {
            Some(_) => Vec::new(),
            None => standard_population(&a.standard)?,
        };
        let fields = [
            (Field::Count, ci),
            (Field::Population, pi),
            (Field::StandardPopulation, si.unwrap_or(bi)),
        ];
        self.progress.stage("computing");
        let data = &prep.data;
        let blocks = per_block(&prep, |range| {
            let mut groups = SpanKeys::new(data, group_cols.clone(), 0);
            let mut bands = SpanKeys::new(data, vec![bi], 0);
            let mut weights: Vec<Option<f64>> = Vec::new();
            let mut acc = DsrAccumulator::new();
            visit_rows(data, range, prep.headers.len(), |row, f| {
                let g = groups.key(f);
                let w = match si {
                    Some(si) => number_at(data, f, row, si)?,
                    None => {
                        let b = bands.key(f) as usize;
                        if b == weights.len() {
                            weights.push(lookup_band(&table, bands.table.get(b)));
                        }
                        if weights[b].is_none() {
                            return Err(BlockError {
                                row,
                                col: bi,
                                message: band_not_in_standard(
                                    bands.table.get(b),
                                    &a.standard,
                                    &table,
                                ),
                            });
                        }
                        weights[b]
                    }
                };
                let c = number_at(data, f, row, ci)?;
                let p = number_at(data, f, row, pi)?;
                acc.add(row, g, c, p, w)
                    .map_err(|e| block_error(e, &fields))
            })?;
            Ok((groups.table, acc))
        })?;
        // Global ids in order of first appearance across blocks.
        let mut keys = table::KeyTable::default();
        let mut total = DsrAccumulator::new();
        for (local, acc) in blocks {
            let map: Vec<u32> = (0..local.len())
                .map(|id| keys.intern(local.get(id)))
                .collect();
            total.merge(&acc, &map);
        }
        let m = a.multiplier.unwrap_or(100_000.0);
        let (totals, est) = total.finish(keys.len(), m, self.levels)?;
        let mut header: Vec<String> = a.group_by.clone();
        header.extend(["total_count", "total_pop"].map(String::from));
        header.extend(estimate_header(self.levels, ""));
        header.push("note".into());
        Ok(format_rows(&header, keys.len(), |g, out| {
            if push_key(out, keys.get(g), !a.group_by.is_empty()) {
                out.push(b',');
            }
            push_number(out, Some(totals.total_count[g]));
            push_numbers(out, &[Some(totals.total_pop[g])]);
            push_estimate(out, &est, g);
            push_note(out, est.note[g].map(|n| n.text()));
        }))
    }

    fn life_expectancy(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let age = need(&a.age_band, "--age-band", "life-expectancy")?;
        let deaths = need(&a.deaths, "--deaths", "life-expectancy")?;
        let pop = need(&a.population, "--population", "life-expectancy")?;
        let wanted = Wanted {
            numeric: vec![age.clone(), deaths.clone(), pop.clone()],
            keys: self.group_by(),
            keep_rows: false,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let ages_col = parsed.column(age);
        let mut starts = Vec::with_capacity(parsed.n_rows);
        for (i, v) in parsed.numeric[0].iter().enumerate() {
            starts.push(
                v.ok_or_else(|| parsed.error_at(i, ages_col, "the band's start age is missing"))?,
            );
        }
        let bands = match a.age_bands.as_deref() {
            None => AgeBands::reference(),
            Some("auto") => {
                let mut all = starts.clone();
                all.sort_by(f64::total_cmp);
                all.dedup();
                AgeBands::new(all)?
            }
            Some(list) => AgeBands::new(parse_ages(list, "--age-bands")?)?,
        };
        let at = match a.at_ages.as_str() {
            "all" => AtAges::All,
            list => AtAges::Ages(parse_ages(list, "--at-ages")?),
        };
        let keys = &parsed.keys[0];
        let input = LifeTableInput {
            groups: &keys.ids,
            n_groups: keys.len(),
            start_age: &starts,
            deaths: &parsed.numeric[1],
            population: &parsed.numeric[2],
            bands: &bands,
        };
        let fields = [
            (Field::AgeBand, age.as_str()),
            (Field::Deaths, deaths.as_str()),
            (Field::Population, pop.as_str()),
        ];
        let le = life_expectancy::life_expectancy(&input, &at, self.levels)
            .map_err(|e| located(&parsed, e, &fields))?;
        let mut header: Vec<String> = a.group_by.clone();
        header.extend(["start_age", "pops_used", "deaths_used"].map(String::from));
        header.extend(estimate_header(self.levels, ""));
        header.push("note".into());
        Ok(format_rows(&header, le.group.len(), |i, out| {
            if self.push_group(&parsed, le.group[i] as usize, out) {
                out.push(b',');
            }
            push_number(out, Some(le.start_age[i]));
            push_numbers(out, &[le.pops_used[i], le.deaths_used[i]]);
            push_estimate(out, &le.estimates, i);
            push_note(out, le.estimates.note[i].map(|n| n.text()));
        }))
    }

    fn isr(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let name = if a.method == Method::Israte {
            "israte"
        } else {
            "isratio"
        };
        let count = need(&a.count, "--count", name)?;
        let pop = need(&a.population, "--population", name)?;
        let ref_count = need(&a.ref_count, "--ref-count", name)?;
        let ref_pop = need(&a.ref_population, "--ref-population", name)?;
        let mut numeric = vec![pop.clone(), ref_count.clone(), ref_pop.clone()];
        if a.observed_totals.is_none() {
            numeric.push(count.clone());
        }
        let wanted = Wanted {
            numeric,
            keys: self.group_by(),
            keep_rows: false,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let keys = &parsed.keys[0];
        let observed_totals = match &a.observed_totals {
            Some(path) => Some(read_observed_totals(path, &a.group_by, count, &parsed)?),
            None => None,
        };
        let empty = vec![None; parsed.n_rows];
        let kind = if a.method == Method::Israte {
            IsrKind::Rate {
                multiplier: a.multiplier.unwrap_or(100_000.0),
                ref_rate: a.ref_value,
            }
        } else {
            IsrKind::Ratio {
                ref_value: a.ref_value.unwrap_or(1.0),
            }
        };
        let input = IsrInput {
            groups: &keys.ids,
            n_groups: keys.len(),
            count: if a.observed_totals.is_some() {
                &empty
            } else {
                &parsed.numeric[3]
            },
            population: &parsed.numeric[0],
            ref_count: &parsed.numeric[1],
            ref_population: &parsed.numeric[2],
            observed_totals: observed_totals.as_deref(),
            kind,
        };
        let fields = [
            (Field::Count, count.as_str()),
            (Field::Population, pop.as_str()),
            (Field::ReferenceCount, ref_count.as_str()),
            (Field::ReferencePopulation, ref_pop.as_str()),
        ];
        let (totals, est) =
            isr::isr(&input, self.levels).map_err(|e| located(&parsed, e, &fields))?;
        let is_rate = a.method == Method::Israte;
        let extra: &[&str] = if is_rate {
            &["observed", "expected", "ref_rate"]
        } else {
            &["observed", "expected"]
        };
        Ok(self.summary_output(&parsed, extra, keys.len(), |g, out| {
            push_numbers(out, &[totals.observed[g], Some(totals.expected[g])]);
            if is_rate {
                push_numbers(out, &[totals.ref_rate[g]]);
            }
            push_estimate(out, &est, g);
            push_note(out, est.note[g].map(|n| n.text()));
        }))
    }

    fn quantile(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let v = need(&a.value, "--value", "quantile")?;
        let nq = a.quantiles.ok_or_else(|| {
            anyhow!("calc quantile needs --quantiles N (10 for deciles, 5 for quintiles)")
        })?;
        let fixed = match a.invert.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        let mut keys = self.group_by();
        if fixed.is_none() {
            keys.push(vec![a.invert.clone()]);
        }
        let wanted = Wanted {
            numeric: vec![v.clone()],
            keys,
            keep_rows: true,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let per_row: Vec<bool>;
        let invert = match fixed {
            Some(b) => Invert::All(b),
            None => {
                let pk = &parsed.keys[1];
                let mut flags = Vec::with_capacity(pk.len());
                for id in 0..pk.len() {
                    let value = pk.value(id);
                    flags.push(match value.to_ascii_uppercase().as_slice() {
                        b"TRUE" | b"T" | b"1" => true,
                        b"FALSE" | b"F" | b"0" => false,
                        _ => {
                            let row = pk.ids.iter().position(|&i| i as usize == id).unwrap_or(0);
                            return Err(parsed
                                .error_at(
                                    row,
                                    parsed.column(&a.invert),
                                    "polarity must be TRUE or FALSE",
                                )
                                .into());
                        }
                    });
                }
                per_row = pk.ids.iter().map(|&i| flags[i as usize]).collect();
                Invert::PerRow(&per_row)
            }
        };
        let keys = &parsed.keys[0];
        let polarity_col = if fixed.is_none() {
            a.invert.as_str()
        } else {
            v.as_str()
        };
        let q = quantile::quantiles(&keys.ids, keys.len(), &parsed.numeric[0], nq, invert)
            .map_err(|e| {
                located(
                    &parsed,
                    e,
                    &[(Field::Value, v), (Field::Polarity, polarity_col)],
                )
            })?;
        Ok(
            self.per_row_output(&parsed, &["quantile".into(), "note".into()], |i, out| {
                push_numbers(out, &[q.quantile[i].map(f64::from)]);
                push_note(out, q.note[i].map(|n| n.text()));
            }),
        )
    }

    fn sii(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let q = need(&a.quantile, "--quantile", "sii")?;
        let pop = need(&a.population, "--population", "sii")?;
        let value_col = match (&a.value, &a.count) {
            (Some(v), _) => v.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => {
                bail!("calc sii needs --value COL (or --count COL, with value = count/population)")
            }
        };
        let mut numeric = vec![q.clone(), pop.clone(), value_col.clone()];
        let limits = match (&a.se, &a.lower, &a.upper) {
            (Some(se), _, _) => {
                numeric.push(se.clone());
                false
            }
            (None, Some(l), Some(u)) => {
                numeric.push(l.clone());
                numeric.push(u.clone());
                true
            }
            _ => bail!("calc sii needs --se COL, or --lower COL and --upper COL (95% limits)"),
        };
        let wanted = Wanted {
            numeric,
            keys: self.group_by(),
            keep_rows: false,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let mut value = parsed.numeric[2].clone();
        if a.value.is_none() {
            for (v, p) in value.iter_mut().zip(&parsed.numeric[1]) {
                *v = match (*v, *p) {
                    (Some(x), Some(p)) if p > 0.0 => Some(x / p),
                    _ => None,
                };
            }
        }
        let keys = &parsed.keys[0];
        let input = SiiInput {
            groups: &keys.ids,
            n_groups: keys.len(),
            quantile: &parsed.numeric[0],
            population: &parsed.numeric[1],
            value: &value,
            se: (!limits).then(|| parsed.numeric[3].as_slice()),
            limits: limits.then(|| (parsed.numeric[3].as_slice(), parsed.numeric[4].as_slice())),
        };
        let options = SiiOptions {
            value_type: match a.value_type {
                SiiValueType::Normal => ValueType::Normal,
                SiiValueType::Rate => ValueType::Rate,
                SiiValueType::Proportion => ValueType::Proportion,
            },
            transform: a.transform,
            multiplier: a.multiplier.unwrap_or(1.0),
            repetitions: a.repetitions,
            seed: a.seed,
        };
        let se_col = a.se.clone().unwrap_or_default();
        let lo_col = a.lower.clone().unwrap_or_default();
        let hi_col = a.upper.clone().unwrap_or_default();
        let fields = [
            (Field::Quantile, q.as_str()),
            (Field::Population, pop.as_str()),
            (Field::Value, value_col.as_str()),
            (Field::StandardError, se_col.as_str()),
            (Field::LowerLimit, lo_col.as_str()),
            (Field::UpperLimit, hi_col.as_str()),
        ];
        let out =
            sii::sii(&input, &options, self.levels).map_err(|e| located(&parsed, e, &fields))?;
        let mut header: Vec<String> = a.group_by.clone();
        header.extend(["quantiles", "intercept"].map(String::from));
        header.extend(estimate_header(self.levels, "sii_"));
        if a.rii {
            header.extend(estimate_header(self.levels, "rii_"));
        }
        header.push("note".into());
        Ok(format_rows(&header, keys.len(), |g, out_buf| {
            if self.push_group(&parsed, g, out_buf) {
                out_buf.push(b',');
            }
            push_number(out_buf, out.n_quantiles[g].map(f64::from));
            push_numbers(out_buf, &[out.intercept[g]]);
            push_estimate(out_buf, &out.sii, g);
            if a.rii {
                push_estimate(out_buf, &out.rii, g);
            }
            push_note(out_buf, out.sii.note[g].map(|n| n.text()));
        }))
    }

    fn polarity(&self) -> Polarity {
        match self.args.polarity {
            PolarityArg::HighIsGood => Polarity::HighIsGood,
            PolarityArg::LowIsGood => Polarity::LowIsGood,
            PolarityArg::None => Polarity::NoJudgement,
        }
    }

    fn compare(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let lo = need(&a.lower, "--lower", "compare")?;
        let hi = need(&a.upper, "--upper", "compare")?;
        let bench = need(&a.benchmark, "--benchmark", "compare")?;
        let fixed = bench.parse::<f64>().ok().filter(|b| b.is_finite());
        let mut numeric = vec![lo.clone(), hi.clone()];
        if fixed.is_none() {
            numeric.push(bench.clone());
        }
        let wanted = Wanted {
            numeric,
            keys: vec![],
            keep_rows: true,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let polarity = self.polarity();
        Ok(
            self.per_row_output(&parsed, &["comparison".into()], |i, out| {
                let b = fixed.or(parsed.numeric.get(2).and_then(|c| c[i]));
                let c = compare::compare(parsed.numeric[0][i], parsed.numeric[1][i], b, polarity);
                out.push(b',');
                out.extend_from_slice(c.label().as_bytes());
                push_note(out, None);
            }),
        )
    }

    fn trend(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let x = need(&a.numerator, "--numerator", "trend")?;
        let n = need(&a.denominator, "--denominator", "trend")?;
        let period = need(&a.period, "--period", "trend")?;
        let wanted = Wanted {
            numeric: vec![x.clone(), n.clone()],
            keys: vec![a.group_by.clone(), vec![period.clone()]],
            keep_rows: false,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let (groups, periods) = (&parsed.keys[0], &parsed.keys[1]);
        // Rows of each group in period order.
        let mut order: Vec<usize> = (0..parsed.n_rows).collect();
        order.sort_by(|&i, &j| {
            groups.ids[i].cmp(&groups.ids[j]).then_with(|| {
                periods
                    .value(periods.ids[i] as usize)
                    .cmp(periods.value(periods.ids[j] as usize))
            })
        });
        let polarity = self.polarity();
        // Per group, its last five periods; a period without counts makes the trend
        // impossible to calculate, as in Fingertips.
        let mut results = vec![None; groups.len()];
        let mut k = 0;
        while k < order.len() {
            let g = groups.ids[order[k]];
            let start = k;
            while k < order.len() && groups.ids[order[k]] == g {
                k += 1;
            }
            let last = &order[start.max(k.saturating_sub(5))..k];
            let points: Option<Vec<(f64, f64)>> = last
                .iter()
                .map(|&i| parsed.numeric[0][i].zip(parsed.numeric[1][i]))
                .collect();
            let trend = compare::recent_trend(&points.unwrap_or_default(), a.trend_level, polarity);
            results[g as usize] = Some((trend, last.len()));
        }
        let mut header: Vec<String> = a.group_by.clone();
        header.extend(["points", "chi_square", "trend", "direction", "note"].map(String::from));
        Ok(format_rows(&header, groups.len(), |g, out| {
            if self.push_group(&parsed, g, out) {
                out.push(b',');
            }
            let Some((t, used)) = results[g] else {
                return;
            };
            push_number(out, Some(used as f64));
            push_numbers(out, &[t.chi_square]);
            let trend = match t.trend {
                Trend::Increasing => "increasing",
                Trend::Decreasing => "decreasing",
                Trend::NoSignificantChange => "no significant change",
                Trend::CannotBeCalculated => "cannot be calculated",
            };
            out.push(b',');
            out.extend_from_slice(trend.as_bytes());
            out.push(b',');
            out.extend_from_slice(match t.getting_better {
                Some(true) => b"getting better".as_slice(),
                Some(false) => b"getting worse".as_slice(),
                None => b"".as_slice(),
            });
            let note = (t.trend == Trend::CannotBeCalculated)
                .then_some("fewer than five periods with counts and denominators");
            push_note(out, note);
        }))
    }

    fn funnel(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let (numeric, fields): (Vec<String>, Vec<(Field, String)>) = match a.statistic {
            FunnelStatistic::Proportion => {
                let x = need(&a.numerator, "--numerator", "funnel")?;
                let n = need(&a.denominator, "--denominator", "funnel")?;
                (
                    vec![x.clone(), n.clone()],
                    vec![
                        (Field::Numerator, x.clone()),
                        (Field::Denominator, n.clone()),
                    ],
                )
            }
            FunnelStatistic::Rate => {
                let x = need(&a.numerator, "--numerator", "funnel")?;
                let r = need(&a.rate, "--rate", "funnel")?;
                let mut cols = vec![x.clone(), r.clone()];
                let mut f = vec![(Field::Numerator, x.clone()), (Field::Value, r.clone())];
                if let Some(d) = &a.denominator {
                    cols.push(d.clone());
                    f.push((Field::Denominator, d.clone()));
                }
                (cols, f)
            }
            FunnelStatistic::Ratio => {
                let o = need(&a.observed, "--observed", "funnel")?;
                let e = need(&a.expected, "--expected", "funnel")?;
                (
                    vec![o.clone(), e.clone()],
                    vec![
                        (Field::Numerator, o.clone()),
                        (Field::Denominator, e.clone()),
                    ],
                )
            }
        };
        let wanted = Wanted {
            numeric: numeric.clone(),
            keys: vec![],
            keep_rows: !a.limits,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let field_refs: Vec<(Field, &str)> = fields.iter().map(|(f, c)| (*f, c.as_str())).collect();
        let required = |k: usize| -> anyhow::Result<Vec<f64>> {
            parsed.numeric[k]
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.ok_or_else(|| {
                        parsed
                            .error_at(
                                i,
                                parsed.column(&numeric[k]),
                                "a funnel needs a value on every row",
                            )
                            .into()
                    })
                })
                .collect()
        };
        let m = a.multiplier.unwrap_or(match a.statistic {
            FunnelStatistic::Proportion => 100.0,
            FunnelStatistic::Rate => 100_000.0,
            FunnelStatistic::Ratio => 1.0,
        });
        let rate_type = match a.rate_type {
            FunnelRateType::Dsr => RateType::Dsr,
            FunnelRateType::Crude => RateType::Crude,
        };
        if a.limits {
            return self.funnel_limits(&parsed, &required, m, rate_type);
        }
        let sig = match a.statistic {
            FunnelStatistic::Proportion => {
                funnel::proportion_significance(&required(0)?, &required(1)?, m)
            }
            FunnelStatistic::Ratio => funnel::ratio_significance(&required(0)?, &required(1)?),
            FunnelStatistic::Rate => funnel::rate_significance(
                &required(0)?,
                &parsed.numeric[1],
                parsed.numeric.get(2).map(Vec::as_slice),
                rate_type,
                m,
            ),
        }
        .map_err(|e| located(&parsed, e, &field_refs))?;
        Ok(
            self.per_row_output(&parsed, &["significance".into()], |i, out| {
                out.push(b',');
                push_field(out, sig[i].label().as_bytes());
                push_note(out, None);
            }),
        )
    }

    fn funnel_limits(
        &self,
        parsed: &Parsed,
        required: &dyn Fn(usize) -> anyhow::Result<Vec<f64>>,
        m: f64,
        rate_type: RateType,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let header: Vec<String> = [
            "x", "lower_2s", "upper_2s", "lower_3s", "upper_3s", "baseline",
        ]
        .map(String::from)
        .to_vec();
        let rows: Vec<[f64; 6]> = match a.statistic {
            FunnelStatistic::Proportion => {
                let (baseline, rows) = funnel::proportion_funnel(&required(0)?, &required(1)?, m)?;
                rows.iter()
                    .map(|r| {
                        [
                            r.x, r.lower_2s, r.upper_2s, r.lower_3s, r.upper_3s, baseline,
                        ]
                    })
                    .collect()
            }
            FunnelStatistic::Ratio => {
                let e = required(1)?;
                let min = e.iter().copied().fold(f64::INFINITY, f64::min);
                let max = e.iter().copied().fold(0.0, f64::max);
                funnel::ratio_axis(min, max.max(1.0))
                    .into_iter()
                    .map(|x| {
                        let l = funnel::ratio_limits(x);
                        [x, l[0].1 * m, l[1].1 * m, l[2].1 * m, l[3].1 * m, m]
                    })
                    .collect()
            }
            FunnelStatistic::Rate => {
                let o = required(0)?;
                let dens = funnel::derived_denominators(
                    &o,
                    &parsed.numeric[1],
                    parsed.numeric.get(2).map(Vec::as_slice),
                    rate_type,
                    m,
                )?;
                let average = funnel::average_rate(&o, &dens);
                let max = o.iter().copied().fold(0.0, f64::max);
                funnel::axis(0.0, max.max(1.0))
                    .into_iter()
                    .map(|x| {
                        let l = funnel::rate_limits(x, average, m, a.years);
                        [x, l[0].1, l[1].1, l[2].1, l[3].1, average * m]
                    })
                    .collect()
            }
        };
        Ok(format_rows(&header, rows.len(), |i, out| {
            for (k, v) in rows[i].iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                push_number(out, Some(*v));
            }
        }))
    }
}

fn band_not_in_standard(label: &[u8], standard: &str, table: &[(String, f64)]) -> String {
    format!(
        "age band '{}' is not in the standard population ({standard}); its bands are {}",
        String::from_utf8_lossy(label),
        table
            .iter()
            .map(|(l, _)| l.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Writes a group key's fields (joined by the key separator); false when there are
/// no group columns.
fn push_key(out: &mut Vec<u8>, key: &[u8], grouped: bool) -> bool {
    if !grouped {
        return false;
    }
    for (k, f) in key.split(|&b| b == table::SEP).enumerate() {
        if k > 0 {
            out.push(b',');
        }
        push_field(out, f);
    }
    true
}

fn parse_ages(list: &str, flag: &str) -> anyhow::Result<Vec<f64>> {
    list.split(',')
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .map_err(|_| anyhow!("{flag}: '{s}' is not an age; give ages such as 0,65"))
        })
        .collect()
}

/// The standard population as `(label, weight)`: built-in ESP2013 or a CSV file whose
/// first column is the band label and second the weight.
fn standard_population(spec: &str) -> anyhow::Result<Vec<(String, f64)>> {
    if spec.eq_ignore_ascii_case("esp2013") {
        return Ok(ESP2013.iter().map(|(l, w)| (l.to_string(), *w)).collect());
    }
    let mut reader = csv::Reader::from_path(spec).with_context(|| {
        format!("--standard: cannot read '{spec}' (give esp2013 or a CSV file of band,population)")
    })?;
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.with_context(|| format!("{spec}: line {}", i + 2))?;
        let label = rec.get(0).unwrap_or("").trim().to_string();
        let weight = rec
            .get(1)
            .and_then(|w| table::parse_number(w.as_bytes()).ok().flatten())
            .ok_or_else(|| {
                anyhow!(
                    "{spec}: line {}, column 2: the standard population must be a number",
                    i + 2
                )
            })?;
        out.push((label, weight));
    }
    Ok(out)
}

/// Matches an age band label: exactly, or as the same ages (`00-04` is `0-4`,
/// `90+` is `90+`).
fn lookup_band(table: &[(String, f64)], label: &[u8]) -> Option<f64> {
    let label = String::from_utf8_lossy(label);
    let label = label.trim();
    let norm = |s: &str| -> String {
        s.split(['-', '+'])
            .map(|p| p.trim().trim_start_matches('0'))
            .map(|p| if p.is_empty() { "0" } else { p })
            .collect::<Vec<_>>()
            .join(if s.contains('+') { "+" } else { "-" })
    };
    table
        .iter()
        .find(|(l, _)| l == label)
        .or_else(|| table.iter().find(|(l, _)| norm(l) == norm(label)))
        .map(|(_, w)| *w)
}

/// Reads observed totals per group from a CSV with the group columns and `count`.
fn read_observed_totals(
    path: &std::path::Path,
    group_by: &[String],
    count: &str,
    parsed: &Parsed,
) -> anyhow::Result<Vec<Option<f64>>> {
    let (data, source) = table::read_input(Some(path))?;
    let wanted = Wanted {
        numeric: vec![count.to_string()],
        keys: vec![group_by.to_vec()],
        keep_rows: false,
    };
    let totals = table::parse(data, source, &wanted)?;
    let keys = &parsed.keys[0];
    let mut out = vec![None; keys.len()];
    for (row, &id) in totals.keys[0].ids.iter().enumerate() {
        let key = totals.keys[0].value(id as usize);
        if let Some(g) = keys.table.find(key).map(|g| g as usize) {
            out[g] = totals.numeric[0][row];
        }
    }
    Ok(out)
}
