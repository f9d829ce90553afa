//! Directly and indirectly standardised rates and life expectancy over whole files.

use super::*;
use syndemic_model::AgeBand;

impl Ctx<'_> {
    pub(super) fn dsr(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let band = need(&a.age_band, "--age-band", "dsr")?;
        let count = need(&a.count, "--count", "dsr")?;
        let pop = need(&a.population, "--population", "dsr")?;
        if a.sum_repeated_bands && a.event_frequency.is_some() {
            bail!("--sum-repeated-bands cannot be used with --event-frequency: rows of non-independent events repeat each band once per frequency; sum the repeated rows first");
        }
        let prep = table::prepare(data, source)?;
        if !prep.quoted
            && a.event_frequency.is_none()
            && a.standard_column.is_none()
            && !a.sum_repeated_bands
        {
            if let Some(out) = self.stream_dsr(&prep, band, count, pop)? {
                return Ok(out);
            }
            // A band repeats in a group: the full reading below names it.
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
        let frequency = a.event_frequency.as_ref().map(|_| &parsed.numeric[next]);
        // With a standard column, a band is only a label beside its weight (the
        // reference's own file writes 55-69 for 55-59): only a repeated label is
        // refused, never an overlap.
        let repeats = repeated_bands(&keys.ids, bands, frequency, a.standard_column.is_none());
        let (groups, count_col, pop_col, standard) = match repeats.first() {
            None => (
                keys.ids.clone(),
                parsed.numeric[0].clone(),
                parsed.numeric[1].clone(),
                standard,
            ),
            Some(r) if !a.sum_repeated_bands || r.overlap => {
                let group = String::from_utf8_lossy(keys.value(keys.ids[r.rows[0]] as usize))
                    .replace(table::SEP as char, ", ");
                let group = if a.group_by.is_empty() {
                    "the whole file".to_string()
                } else {
                    format!("group {group}")
                };
                let lines: Vec<String> = r
                    .rows
                    .iter()
                    .map(|&row| parsed.line_of(row).to_string())
                    .collect();
                let label = |row: usize| {
                    String::from_utf8_lossy(bands.value(bands.ids[row] as usize)).into_owned()
                };
                let message = if r.overlap {
                    format!(
                        "age bands {} (line {}) and {} (line {}) overlap in {group}: give either the wider band or the narrower ones",
                        label(r.rows[0]),
                        lines[0],
                        label(r.rows[1]),
                        lines[1]
                    )
                } else {
                    format!(
                        "age band {} occurs {} times in {group} (lines {}): a DSR takes one row per age band in each group, and treating repeats as more bands gives a wrong rate. Sum the rows first, or give --sum-repeated-bands to have them summed",
                        label(r.rows[0]),
                        r.rows.len(),
                        lines.join(", ")
                    )
                };
                return Err(parsed
                    .error_at(*r.rows.last().unwrap_or(&0), parsed.column(band), message)
                    .into());
            }
            Some(_) => sum_repeated(&keys.ids, bands, &parsed.numeric, &standard, &repeats)
                .map_err(|(row, message)| parsed.error_at(row, parsed.column(band), message))?,
        };
        let non_independent = frequency.map(|f| NonIndependent {
            event_frequency: f,
            age_band: &bands.ids,
        });
        let input = DsrInput {
            groups: &groups,
            n_groups: keys.len(),
            count: &count_col,
            population: &pop_col,
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
    /// `None` when an age band repeats (or overlaps another) in a group: each block
    /// keeps a mask per group of the standard's bands it has seen.
    pub(super) fn stream_dsr(
        &self,
        prep: &Prepared,
        band: &str,
        count: &str,
        pop: &str,
    ) -> anyhow::Result<Option<Vec<Vec<u8>>>> {
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
        if table.len() > 64 {
            // Too many bands for a mask per group: the full reading checks repeats.
            return Ok(None);
        }
        let fields = [
            (Field::Count, ci),
            (Field::Population, pi),
            (Field::StandardPopulation, si.unwrap_or(bi)),
        ];
        self.progress.stage("computing");
        let data = &prep.data;
        let blocks = per_block(prep, |range| {
            let mut groups = SpanKeys::new(data, group_cols.clone(), 0);
            let mut bands = SpanKeys::new(data, vec![bi], 0);
            let mut weights: Vec<Option<f64>> = Vec::new();
            let mut covers: Vec<u64> = Vec::new();
            let mut seen: Vec<u64> = Vec::new();
            let mut repeated = false;
            let mut acc = DsrAccumulator::new();
            visit_rows(data, range, prep.headers.len(), |row, f| {
                let g = groups.key(f);
                let w = match si {
                    Some(si) => number_at(data, f, row, si)?,
                    None => {
                        let b = bands.key(f) as usize;
                        if b == weights.len() {
                            weights.push(lookup_band(&table, bands.table.get(b)));
                            covers.push(band_mask(&table, bands.table.get(b)));
                        }
                        let g = g as usize;
                        if g >= seen.len() {
                            seen.resize(g + 1, 0);
                        }
                        repeated |= seen[g] & covers[b] != 0;
                        seen[g] |= covers[b];
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
            Ok((groups.table, acc, seen, repeated))
        })?;
        // Global ids in order of first appearance across blocks.
        let mut keys = table::KeyTable::default();
        let mut total = DsrAccumulator::new();
        let mut seen: Vec<u64> = Vec::new();
        for (local, acc, local_seen, repeated) in blocks {
            if repeated {
                return Ok(None);
            }
            let map: Vec<u32> = (0..local.len())
                .map(|id| keys.intern(local.get(id)))
                .collect();
            for (g, mask) in local_seen.into_iter().enumerate() {
                let to = map[g] as usize;
                if to >= seen.len() {
                    seen.resize(to + 1, 0);
                }
                if seen[to] & mask != 0 {
                    return Ok(None);
                }
                seen[to] |= mask;
            }
            total.merge(&acc, &map);
        }
        let m = a.multiplier.unwrap_or(100_000.0);
        let (totals, est) = total.finish(keys.len(), m, self.levels)?;
        let mut header: Vec<String> = a.group_by.clone();
        header.extend(["total_count", "total_pop"].map(String::from));
        header.extend(estimate_header(self.levels, ""));
        header.push("note".into());
        Ok(Some(format_rows(&header, keys.len(), |g, out| {
            if push_key(out, keys.get(g), !a.group_by.is_empty()) {
                out.push(b',');
            }
            push_number(out, Some(totals.total_count[g]));
            push_numbers(out, &[Some(totals.total_pop[g])]);
            push_estimate(out, &est, g);
            push_note(out, est.note[g].map(|n| n.text()));
        })))
    }

    pub(super) fn life_expectancy(
        &self,
        data: Input,
        source: String,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
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

    pub(super) fn isr(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
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
}

pub(super) fn band_not_in_standard(
    label: &[u8],
    standard: &str,
    table: &[(String, f64)],
) -> String {
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
pub(super) fn push_key(out: &mut Vec<u8>, key: &[u8], grouped: bool) -> bool {
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

pub(super) fn parse_ages(list: &str, flag: &str) -> anyhow::Result<Vec<f64>> {
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
pub(super) fn standard_population(spec: &str) -> anyhow::Result<Vec<(String, f64)>> {
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
        anyhow::ensure!(
            weight >= 0.0,
            "{spec}: line {}, column 2: the standard population {weight} is negative",
            i + 2
        );
        out.push((label, weight));
    }
    anyhow::ensure!(
        out.iter().any(|(_, w)| *w > 0.0),
        "{spec}: the standard population is empty or all zero; every DSR would be undefined"
    );
    Ok(out)
}

/// The standard's bands that `label` reads as, parsed (totals left out).
fn parsed_table(table: &[(String, f64)]) -> Vec<(AgeBand, f64)> {
    table
        .iter()
        .filter_map(|(l, w)| AgeBand::parse(l).map(|b| (b, *w)))
        .filter(|(b, _)| *b != AgeBand::AllAges)
        .collect()
}

fn parsed_label(label: &[u8]) -> (String, Option<AgeBand>) {
    let label = String::from_utf8_lossy(label).trim().to_string();
    let band = AgeBand::parse(&label).filter(|b| *b != AgeBand::AllAges);
    (label, band)
}

/// Matches an age band label: exactly, or as the same ages (`00-04` is `0-4`,
/// `05` is `5`, `Aged 90 years and over` is `90+`; `syndemic_model::AgeBand` reads
/// them), or as a run of the standard's bands (`85+` is ESP2013's 85-89 and 90+,
/// with their weights summed: [`dsr::standard_weight`]). A total (`All ages`) is
/// never matched to a standard's total row.
pub(super) fn lookup_band(table: &[(String, f64)], label: &[u8]) -> Option<f64> {
    let (label, band) = parsed_label(label);
    if let Some((_, w)) = table.iter().find(|(l, _)| *l == label) {
        return Some(*w);
    }
    dsr::standard_weight(&parsed_table(table), band?)
}

/// Which of the standard's bands (by position) a label covers, as a mask: its own
/// band, or every band of a run such as `85+`. 0 for a label the standard lacks.
fn band_mask(table: &[(String, f64)], label: &[u8]) -> u64 {
    let (label, band) = parsed_label(label);
    table
        .iter()
        .enumerate()
        .filter(|(_, (l, _))| {
            *l == label
                || band.is_some_and(|band| {
                    AgeBand::parse(l).is_some_and(|b| b != AgeBand::AllAges && band.contains(b))
                })
        })
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// An age band given more than once in a group (`overlap` false: the rows of one
/// band) or two bands that share ages (`overlap`: the two rows).
pub(super) struct Repeat {
    pub rows: Vec<usize>,
    pub overlap: bool,
}

/// Every band repeated in a group, and (`by_age`) the first overlap, in file order
/// of their first row. With event frequencies, rows repeat a band once per
/// frequency: only rows of the same frequency are compared. Without `by_age`, bands
/// are labels: two rows repeat when their labels read as the same band.
fn repeated_bands(
    groups: &[u32],
    bands: &table::Keys,
    frequency: Option<&Vec<Option<f64>>>,
    by_age: bool,
) -> Vec<Repeat> {
    let parsed: Vec<(String, Option<AgeBand>)> = (0..bands.len())
        .map(|b| parsed_label(bands.value(b)))
        .collect();
    // One id per band as written in its one form (`05-09` is `5-9`).
    let mut forms: Vec<String> = Vec::new();
    let canonical: Vec<u32> = parsed
        .iter()
        .map(|(label, band)| {
            let form = band.map_or_else(|| label.clone(), |b| b.to_string());
            let at = forms.iter().position(|f| *f == form).unwrap_or_else(|| {
                forms.push(form);
                forms.len() - 1
            });
            at as u32
        })
        .collect();
    // A band's span in years; a label that is no band (or any band, without
    // `by_age`) sorts after every band and repeats only itself.
    let span = |row: usize| {
        let b = bands.ids[row] as usize;
        match parsed[b].1.and_then(|band| band.years()).filter(|_| by_age) {
            Some((from, to)) => (u32::from(from), to.map_or(u32::MAX, u32::from), u32::MAX),
            None => (u32::MAX, u32::MAX, canonical[b]),
        }
    };
    let freq = |row: usize| frequency.and_then(|f| f[row]).map_or(0, f64::to_bits);
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&r| (groups[r], freq(r), span(r), r));
    let mut repeats: Vec<Repeat> = Vec::new();
    let mut i = 0;
    while i + 1 < order.len() {
        let (r, next) = (order[i], order[i + 1]);
        let same_group = groups[r] == groups[next] && freq(r) == freq(next);
        let (a, b) = (span(r), span(next));
        if same_group && a == b {
            let mut rows = vec![r];
            let mut j = i + 1;
            while j < order.len()
                && groups[order[j]] == groups[r]
                && freq(order[j]) == freq(r)
                && span(order[j]) == a
            {
                rows.push(order[j]);
                j += 1;
            }
            repeats.push(Repeat {
                rows,
                overlap: false,
            });
            // The run's last row is compared with the next: a band beside a
            // repeated one may still overlap it.
            i = j - 1;
            continue;
        }
        if same_group && a.2 == u32::MAX && b.2 == u32::MAX && b.0 <= a.1 {
            repeats.push(Repeat {
                rows: vec![r.min(next), r.max(next)],
                overlap: true,
            });
        }
        i += 1;
    }
    repeats.sort_by_key(|r| (!r.overlap, r.rows[0]));
    repeats
}

/// A DSR's rows as columns: group ids, counts, populations and standard weights.
type DsrColumns = (
    Vec<u32>,
    Vec<Option<f64>>,
    Vec<Option<f64>>,
    Vec<Option<f64>>,
);

/// The rows with each repeated band summed into its first row: the columns of the
/// rows that remain. A band's rows must carry one standard weight (or the error
/// names the row that differs).
fn sum_repeated(
    groups: &[u32],
    bands: &table::Keys,
    numeric: &[Vec<Option<f64>>],
    standard: &[Option<f64>],
    repeats: &[Repeat],
) -> Result<DsrColumns, (usize, String)> {
    let mut keep = vec![true; groups.len()];
    let (mut count, mut population) = (numeric[0].clone(), numeric[1].clone());
    for r in repeats {
        let first = r.rows[0];
        for &row in &r.rows[1..] {
            if standard[row] != standard[first] {
                return Err((
                    row,
                    format!(
                        "age band {} has standard weight {:?} here and {:?} in an earlier row of the same group; rows summed together need one weight",
                        String::from_utf8_lossy(bands.value(bands.ids[row] as usize)),
                        standard[row],
                        standard[first]
                    ),
                ));
            }
            let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
            };
            count[first] = add(count[first], count[row]);
            population[first] = add(population[first], population[row]);
            keep[row] = false;
        }
    }
    let pick = |v: &[Option<f64>]| -> Vec<Option<f64>> {
        v.iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| *x)
            .collect()
    };
    Ok((
        groups
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(g, _)| *g)
            .collect(),
        pick(&count),
        pick(&population),
        pick(standard),
    ))
}

/// Reads observed totals per group from a CSV with the group columns and `count`.
pub(super) fn read_observed_totals(
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
