//! `calc rake` and `calc proportion --weight`: survey responses weighted to the
//! population, and proportions estimated from them (`syndemic_stats::survey`).

use rustc_hash::FxHashMap;
use syndemic_stats::survey::{self, Margin, RakeError, RakeOptions};

use super::*;

/// One variable's margins within one group: the input's category id (in that
/// variable's key table), its total, and the margins file's row.
type GroupMargins = Vec<(u32, f64, usize)>;

/// The text of a key (fields joined by [`table::SEP`]) for a message.
fn key_text(key: &[u8]) -> String {
    key.split(|&b| b == table::SEP)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(", ")
}

/// "in group ward = North, " or nothing, for messages.
fn group_label(group_by: &[String], key: &[u8]) -> String {
    if group_by.is_empty() {
        return String::new();
    }
    let fields: Vec<String> = group_by
        .iter()
        .zip(key.split(|&b| b == table::SEP))
        .map(|(c, v)| format!("{c} = {}", String::from_utf8_lossy(v)))
        .collect();
    format!("in the group {}, ", fields.join(", "))
}

impl Ctx<'_> {
    /// `calc rake`: a weight per response such that, within each group, the
    /// weighted count of every category of every variable equals its margin.
    pub(super) fn rake(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let margins_path = a
            .margins
            .as_ref()
            .ok_or_else(|| anyhow!("calc rake needs --margins FILE, a CSV of variable,category,total (and the --group-by columns)"))?;
        anyhow::ensure!(
            !a.variables.is_empty(),
            "calc rake needs --variables A,B, naming the input's columns to weight by (such as age_band,sex)"
        );
        for v in &a.variables {
            anyhow::ensure!(
                !a.group_by.contains(v),
                "--variables {v}: {v} is also a --group-by column; a group is raked within itself, so weight by other columns"
            );
        }
        if let Some(d) = a
            .variables
            .iter()
            .enumerate()
            .find_map(|(i, v)| a.variables[..i].contains(v).then_some(v))
        {
            bail!("--variables names {d} twice; name each column once");
        }
        anyhow::ensure!(
            a.max_iterations > 0,
            "--max-iterations 0: give at least 1 sweep (100 is usual)"
        );
        anyhow::ensure!(
            a.tolerance.is_finite() && a.tolerance > 0.0 && a.tolerance < 1.0,
            "--tolerance {}: give the largest relative difference allowed from a margin, above 0 and below 1 (such as 1e-10)",
            a.tolerance
        );
        let mut keys = vec![a.group_by.clone()];
        keys.extend(a.variables.iter().map(|v| vec![v.clone()]));
        let wanted = Wanted {
            numeric: a.weight.iter().cloned().collect(),
            keys,
            keep_rows: true,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let start: Option<Vec<f64>> = match &a.weight {
            Some(w) => {
                let col = parsed.column(w);
                let mut out = Vec::with_capacity(parsed.n_rows);
                for (row, v) in parsed.numeric[0].iter().enumerate() {
                    match v {
                        Some(v) if v.is_finite() && *v > 0.0 => out.push(*v),
                        Some(v) => bail!(parsed.error_at(row, col, format!("the design weight {v} is not above zero; give each response a weight above 0"))),
                        None => bail!(parsed.error_at(row, col, "no design weight; give each response a weight above 0, or leave --weight out to start every response at 1")),
                    }
                }
                Some(out)
            }
            None => None,
        };
        // Every response needs a category of each variable.
        for (v, name) in a.variables.iter().enumerate() {
            let k = &parsed.keys[1 + v];
            for missing in [&b""[..], b"NA"] {
                if let Some(id) = k.table.find(missing) {
                    let row = k.ids.iter().position(|&i| i == id).unwrap_or(0);
                    bail!(parsed.error_at(
                        row,
                        parsed.column(name),
                        format!("no {name}; raking needs every response's category of each variable: give it one (an 'unknown' category needs its own margin), or leave the response out")
                    ));
                }
            }
        }
        let groups = &parsed.keys[0];
        let margins = self.read_margins(margins_path, &parsed)?;
        // Rows per group, in file order.
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
        for (row, &g) in groups.ids.iter().enumerate() {
            members[g as usize].push(row as u32);
        }
        let options = RakeOptions {
            max_iterations: a.max_iterations,
            tolerance: a.tolerance,
        };
        let raked: Vec<anyhow::Result<Vec<f64>>> = (0..groups.len())
            .into_par_iter()
            .map(|g| {
                self.rake_group(
                    &parsed,
                    &members[g],
                    &margins[g],
                    start.as_deref(),
                    groups.value(g),
                    options,
                )
            })
            .collect();
        let mut weights = vec![0.0; parsed.n_rows];
        for (g, r) in raked.into_iter().enumerate() {
            for (&row, w) in members[g].iter().zip(r?) {
                weights[row as usize] = w;
            }
        }
        let mut header = parsed.headers.clone();
        header.push("weight".into());
        Ok(format_rows(&header, parsed.n_rows, |i, out| {
            let (s, e) = parsed.rows[i];
            out.extend_from_slice(&parsed.data[s..e]);
            out.push(b',');
            push_number(out, Some(weights[i]));
        }))
    }

    /// Reads the margins file: per input group, per variable, each category's
    /// total. Refuses a line that names a group, variable or category twice, a
    /// variable not raked, a group with no responses, or a missing total; and a
    /// group of the input with no margins.
    fn read_margins(
        &self,
        path: &std::path::Path,
        parsed: &Parsed,
    ) -> anyhow::Result<Vec<Vec<GroupMargins>>> {
        let a = self.args;
        let (data, source) = table::read_input(Some(path))?;
        let mut key = a.group_by.clone();
        key.extend(["variable".to_string(), "category".to_string()]);
        let wanted = Wanted {
            numeric: vec!["total".into()],
            keys: vec![key],
            keep_rows: false,
        };
        let m = table::parse(data, source, &wanted)?;
        let n_group_cols = a.group_by.len();
        let groups = &parsed.keys[0];
        let mut out: Vec<Vec<GroupMargins>> =
            vec![vec![Vec::new(); a.variables.len()]; groups.len()];
        let mut seen: FxHashMap<u32, usize> = FxHashMap::default();
        let (var_col, cat_col, total_col) = (
            m.column("variable"),
            m.column("category"),
            m.column("total"),
        );
        for (row, &id) in m.keys[0].ids.iter().enumerate() {
            if let Some(first) = seen.insert(id, row) {
                bail!(m.error_at(
                    row,
                    cat_col,
                    format!(
                        "this category's margin is given twice (first on line {}); give each group's category one total",
                        m.line_of(first)
                    )
                ));
            }
            let fields: Vec<&[u8]> = m.keys[0]
                .value(id as usize)
                .split(|&b| b == table::SEP)
                .collect();
            let (group_fields, rest) = fields.split_at(n_group_cols);
            let (variable, category) = (rest[0], rest[1]);
            let group_key = group_fields.join(&table::SEP);
            let Some(g) = groups.table.find(&group_key) else {
                bail!(m.error_at(
                    row,
                    0,
                    format!(
                        "{}there are no responses in the input; rake only the groups you have responses for",
                        group_label(&a.group_by, &group_key)
                    )
                ));
            };
            let Some(v) = a.variables.iter().position(|x| x.as_bytes() == variable) else {
                bail!(m.error_at(
                    row,
                    var_col,
                    format!(
                        "'{}' is not one of --variables ({}); add it to --variables, or leave its margins out",
                        String::from_utf8_lossy(variable),
                        a.variables.join(", ")
                    )
                ));
            };
            let total = match m.numeric[0][row] {
                Some(t) if t.is_finite() && t >= 0.0 => t,
                Some(t) => bail!(m.error_at(
                    row,
                    total_col,
                    format!("{t} is not a total of people; give a number of 0 or more")
                )),
                None => {
                    bail!(m.error_at(row, total_col, "no total; give the category's population"))
                }
            };
            let Some(c) = parsed.keys[1 + v].table.find(category) else {
                if total > 0.0 {
                    bail!(m.error_at(
                        row,
                        cat_col,
                        format!(
                            "{}{} '{}' has a margin of {total} but no respondents; merge it with a neighbouring category in the margins and the responses",
                            group_label(&a.group_by, &group_key),
                            a.variables[v],
                            String::from_utf8_lossy(category)
                        )
                    ));
                }
                continue;
            };
            out[g as usize][v].push((c, total, row));
        }
        for (g, per_var) in out.iter().enumerate() {
            if let Some(v) = per_var.iter().position(|c| c.is_empty()) {
                bail!(
                    "{}: {}no margin of {} is given; give the population of each of its categories",
                    m.source,
                    group_label(&a.group_by, groups.value(g)),
                    a.variables[v]
                );
            }
        }
        Ok(out)
    }

    /// Rakes the responses of one group, naming the category behind any refusal.
    fn rake_group(
        &self,
        parsed: &Parsed,
        members: &[u32],
        margins: &[GroupMargins],
        start: Option<&[f64]>,
        group_key: &[u8],
        options: RakeOptions,
    ) -> anyhow::Result<Vec<f64>> {
        let a = self.args;
        let label = group_label(&a.group_by, group_key);
        let mut categories: Vec<Vec<u32>> = Vec::with_capacity(margins.len());
        let mut totals: Vec<Vec<f64>> = Vec::with_capacity(margins.len());
        for (v, cats) in margins.iter().enumerate() {
            let local: FxHashMap<u32, u32> = cats
                .iter()
                .enumerate()
                .map(|(i, (c, _, _))| (*c, i as u32))
                .collect();
            let ids = &parsed.keys[1 + v].ids;
            let mut column = Vec::with_capacity(members.len());
            for &row in members {
                let c = ids[row as usize];
                let Some(&l) = local.get(&c) else {
                    bail!(parsed.error_at(
                        row as usize,
                        parsed.column(&a.variables[v]),
                        format!(
                            "{label}{} '{}' has respondents but no margin; give it a population total in the margins, or merge it with another category",
                            a.variables[v],
                            key_text(parsed.keys[1 + v].value(c as usize))
                        )
                    ));
                };
                column.push(l);
            }
            categories.push(column);
            totals.push(cats.iter().map(|(_, t, _)| *t).collect());
        }
        let margin_list: Vec<Margin<'_>> = categories
            .iter()
            .zip(&totals)
            .map(|(c, t)| Margin {
                categories: c,
                totals: t,
            })
            .collect();
        let own_start: Option<Vec<f64>> =
            start.map(|s| members.iter().map(|&r| s[r as usize]).collect());
        let name = |v: usize, c: usize| {
            let cat = margins[v][c].0 as usize;
            format!(
                "{} '{}'",
                a.variables[v],
                key_text(parsed.keys[1 + v].value(cat))
            )
        };
        let raked = survey::rake(members.len(), &margin_list, own_start.as_deref(), options)
            .map_err(|e| match e {
                RakeError::NoMargin {
                    variable, category, ..
                } => anyhow!(
                    "{label}{} has respondents but a margin of 0; give it its population, or merge it with another category",
                    name(variable, category)
                ),
                RakeError::NoRespondents {
                    variable, category, total,
                } => anyhow!(
                    "{label}{} has a margin of {total} but no respondents; merge it with a neighbouring category in the margins and the responses",
                    name(variable, category)
                ),
                RakeError::Inconsistent {
                    variable, first, total,
                } => anyhow!(
                    "{label}the margins of {} add up to {first} but those of {} to {total}; raking needs every variable's margins to describe one population",
                    a.variables[0],
                    a.variables[variable]
                ),
                other => anyhow!("{label}{other}"),
            })?;
        if !raked.converged {
            bail!(
                "{label}raking did not converge in {} sweeps: a category is still {:.3e} (relative) from its margin, above --tolerance {}. Sparse combinations of categories can make margins unreachable: merge small categories, raise --max-iterations, or loosen --tolerance",
                raked.iterations,
                raked.largest_error,
                a.tolerance
            );
        }
        Ok(raked.weights)
    }

    /// `calc proportion --weight W --numerator Y`: per group, the weighted
    /// proportion of responses with `Y` = 1, with Wilson limits on Kish's
    /// effective sample size; an empty `Y` is a non-response, left out.
    pub(super) fn weighted_proportion(
        &self,
        data: Input,
        source: String,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        let a = self.args;
        let y = need(&a.numerator, "--numerator", "proportion")?;
        let w = need(&a.weight, "--weight", "proportion")?;
        anyhow::ensure!(
            a.denominator.is_none(),
            "calc proportion --weight takes no --denominator: each row is one response, its --numerator column 1 (has the attribute), 0 (has not) or empty (no answer)"
        );
        let wanted = Wanted {
            numeric: vec![y.clone(), w.clone()],
            keys: self.group_by(),
            keep_rows: false,
        };
        let parsed = self.parse(data, source, &wanted)?;
        let w_col = parsed.column(w);
        let mut weights = Vec::with_capacity(parsed.n_rows);
        for (row, (answer, weight)) in parsed.numeric[0].iter().zip(&parsed.numeric[1]).enumerate()
        {
            match (answer, weight) {
                (_, Some(w)) => weights.push(*w),
                // A non-response carries no weight into anything.
                (None, None) => weights.push(1.0),
                (Some(_), None) => bail!(parsed.error_at(
                    row,
                    w_col,
                    "no weight; give each answered response a weight above 0 (from calc rake, say)"
                )),
            }
        }
        let keys = &parsed.keys[0];
        let m = a.multiplier.unwrap_or(1.0);
        let (eff, est) = survey::weighted_proportion_grouped(
            &keys.ids,
            keys.len(),
            &parsed.numeric[0],
            &weights,
            m,
            self.levels,
        )
        .map_err(|e| located(&parsed, e, &[(Field::Numerator, y), (Field::Weight, w)]))?;
        Ok(self.summary_output(
            &parsed,
            &["n", "n_eff", "design_effect"],
            keys.len(),
            |g, out| {
                push_numbers(
                    out,
                    &[
                        Some(eff.n[g] as f64),
                        Some(eff.n_eff[g]),
                        eff.design_effect[g],
                    ],
                );
                push_estimate(out, &est, g);
                push_note(out, est.note[g].map(|n| n.text()));
            },
        ))
    }
}
