//! Quantiles, the slope and relative index of inequality, benchmark comparison, recent trends and funnel plots over whole files.

use super::*;

impl Ctx<'_> {
    pub(super) fn quantile(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
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

    pub(super) fn sii(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
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

    pub(super) fn polarity(&self) -> Polarity {
        match self.args.polarity {
            PolarityArg::HighIsGood => Polarity::HigherIsBetter,
            PolarityArg::LowIsGood => Polarity::LowerIsBetter,
            PolarityArg::None => Polarity::NoJudgement,
        }
    }

    pub(super) fn compare(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
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

    pub(super) fn trend(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
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
        // Every row is checked, not only each group's last five periods: a negative
        // count or denominator is an error in the file wherever it is.
        for (k, (col, what)) in [(x, "count"), (n, "denominator")].into_iter().enumerate() {
            if let Some(i) = parsed.numeric[k]
                .iter()
                .position(|v| v.is_some_and(|v| v < 0.0))
            {
                return Err(parsed
                    .error_at(
                        i,
                        parsed.column(col),
                        format!("the {what} is negative; a {what} is 0 or more"),
                    )
                    .into());
            }
        }
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

    pub(super) fn funnel(&self, data: Input, source: String) -> anyhow::Result<Vec<Vec<u8>>> {
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

    pub(super) fn funnel_limits(
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
