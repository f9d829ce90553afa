//! `syndemic calc METHOD`: CSV in, CSV out, every group in one pass.

mod benchmark;
mod standardised;
mod survey;

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

use standardised::*;
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
    /// Survey weights by raking (iterative proportional fitting) to margins.
    Rake,
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
    /// dsr: sum the rows of an age band that occurs more than once in a group (say
    /// LSOA rows grouped by district) before standardising; without it such a file
    /// is refused, naming the group, the band and the lines.
    #[arg(long)]
    pub sum_repeated_bands: bool,
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
    /// proportion: each row is one survey response with this weight (its
    /// --numerator is 1, 0 or empty for no answer); rake: design weights to start
    /// from (1 each without).
    #[arg(long, value_name = "COL")]
    pub weight: Option<String>,
    /// rake: a CSV of `variable,category,total` (with the --group-by columns when
    /// grouped): each category's population.
    #[arg(long, value_name = "FILE")]
    pub margins: Option<PathBuf>,
    /// rake: the input's columns to weight by, each with margins.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub variables: Vec<String>,
    /// rake: the most sweeps over the variables before giving up.
    #[arg(long, default_value = "100", value_name = "N")]
    pub max_iterations: usize,
    /// rake: the largest relative difference from any margin when done.
    #[arg(long, default_value = "1e-10", value_name = "T")]
    pub tolerance: f64,
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
rake keeps every input column and adds `weight`; proportion --weight gives, per group,
`n` (responses answered), `n_eff` (Kish's effective sample size) and `design_effect`
before the value.

Examples:
  syndemic calc proportion --input a.csv --numerator x --denominator n --multiplier 100
  syndemic calc dsr --input d.csv --group-by area,year --age-band band --count deaths \\
      --population pop --standard esp2013
  syndemic calc life-expectancy --input le.csv --group-by area --age-band age \\
      --deaths deaths --population pop --at-ages 0,65 --confidence 95
  syndemic calc sii --input s.csv --group-by area --quantile decile --population pop \\
      --value le --se se
  syndemic calc funnel --input f.csv --statistic proportion --numerator x --denominator n
  syndemic calc rake --input responses.csv --margins margins.csv --variables age_band,sex \\
      --group-by ward --output weighted.csv
  syndemic calc proportion --input weighted.csv --weight weight --numerator feels_safe \\
      --group-by ward --multiplier 100";

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
    check_flags(args)?;
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
        Method::Rake => ctx.rake(data, source)?,
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

/// The note column: the method's note, and [`table::NON_FINITE_NOTE`] when a
/// number of the row was left blank for not being finite.
fn push_note(out: &mut Vec<u8>, note: Option<&str>) {
    out.push(b',');
    match (note, table::take_non_finite()) {
        (Some(n), false) => push_field(out, n.as_bytes()),
        (Some(n), true) => push_field(out, format!("{n}; {}", table::NON_FINITE_NOTE).as_bytes()),
        (None, true) => push_field(out, table::NON_FINITE_NOTE.as_bytes()),
        (None, false) => {}
    }
}

/// Refuses flags whose value would make every result infinite, undefined or
/// meaningless: a non-finite multiplier or reference value, a trend level outside
/// (0, 100).
fn check_flags(args: &CalcArgs) -> anyhow::Result<()> {
    if let Some(m) = args.multiplier {
        anyhow::ensure!(
            m.is_finite(),
            "--multiplier {m}: give a finite number, such as 100 or 100000"
        );
    }
    if let Some(r) = args.ref_value {
        anyhow::ensure!(
            r.is_finite() && r > 0.0,
            "--ref-value {r}: give a finite number above 0"
        );
    }
    anyhow::ensure!(
        args.years.is_finite() && args.years > 0.0,
        "--years {}: give a finite number of years above 0",
        args.years
    );
    anyhow::ensure!(
        args.trend_level > 0.0 && args.trend_level < 100.0,
        "--trend-level {}: give a significance level inside (0, 100), such as 99.9",
        args.trend_level
    );
    Ok(())
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
        if a.weight.is_some() {
            anyhow::ensure!(
                a.method == Method::Proportion,
                "calc rate takes no --weight; weighted survey responses give proportions (calc proportion --weight)"
            );
            return self.weighted_proportion(data, source);
        }
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
}
