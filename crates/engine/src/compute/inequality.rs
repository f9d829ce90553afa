//! The slope and relative index of inequality, and the gap and ratio between the most and least deprived.

use super::*;

/// Derived indicators: id suffix, name, and which measure.
pub(super) const DERIVED: [(&str, &str, u8); 4] = [
    ("sii", "slope index of inequality", 0),
    ("rii", "relative index of inequality", 1),
    ("gap", "gap between most and least deprived", 2),
    ("ratio", "ratio of most to least deprived", 3),
];

/// SII, RII, gap and ratio per district and shire county over local quintiles and for England over
/// national deciles, per period and sex.
pub(super) fn inequality(
    spec: &ComputeSpec,
    multiplier: f64,
    groups: &[Group],
    observations: &[Observation],
    levels: &[ConfidenceLevel],
    national: &str,
    local: &str,
) -> Result<Vec<Observation>, EngineError> {
    // One call per grouping: the SII takes the number of quantiles from its input.
    let mut out = inequality_of(
        spec,
        multiplier,
        groups,
        observations,
        levels,
        Grouping::LocalQuintile,
        local,
    )?;
    out.extend(inequality_of(
        spec,
        multiplier,
        groups,
        observations,
        levels,
        Grouping::CountyQuintile,
        local,
    )?);
    out.extend(inequality_of(
        spec,
        multiplier,
        groups,
        observations,
        levels,
        Grouping::NationalDecile,
        national,
    )?);
    Ok(out)
}

pub(super) fn inequality_of(
    spec: &ComputeSpec,
    multiplier: f64,
    groups: &[Group],
    observations: &[Observation],
    levels: &[ConfidenceLevel],
    which: Grouping,
    category_type: &str,
) -> Result<Vec<Observation>, EngineError> {
    // (parent, period, sex, grouping) → rows of quantile groups.
    let mut parents: FxHashMap<(AreaCode, Period, String, Grouping), Vec<usize>> =
        FxHashMap::default();
    for (g, group) in groups.iter().enumerate() {
        if group.grouping == which {
            parents
                .entry((group.area, group.period, group.sex.clone(), group.grouping))
                .or_default()
                .push(g);
        }
    }
    let mut keys: Vec<_> = parents.keys().cloned().collect();
    keys.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    // The simulation draws rates on the log scale and proportions on the logit scale
    // (0 to 1), as PHEindicatormethods does: a group whose value cannot be
    // transformed (no events, or everyone) leaves its parent's SII blank.
    let (value_type, scale) = match spec.measure {
        Measure::Dsr | Measure::Rate => (ValueType::Rate, 1.0),
        Measure::Proportion => (ValueType::Proportion, multiplier),
    };
    let usable = |v: Option<f64>| {
        v.map(|v| v / scale)
            .filter(|&v| v > 0.0 && (value_type == ValueType::Rate || v < 1.0))
    };
    let (mut sii_groups, mut quantile, mut population, mut value, mut lower, mut upper) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (k, key) in keys.iter().enumerate() {
        let mut members = parents[key].clone();
        members.sort_by_key(|&g| groups[g].category);
        for g in members {
            sii_groups.push(k as u32);
            quantile.push(Some(f64::from(groups[g].category)));
            population.push(observations[g].denominator);
            let o = &observations[g];
            let v = usable(o.value);
            value.push(v);
            lower.push(v.and(usable(o.lower95)));
            upper.push(v.and(usable(o.upper95)));
        }
    }
    let result = sii(
        &SiiInput {
            groups: &sii_groups,
            n_groups: keys.len(),
            quantile: &quantile,
            population: &population,
            value: &value,
            se: None,
            limits: Some((&lower, &upper)),
        },
        &SiiOptions {
            value_type,
            transform: false,
            multiplier: scale,
            repetitions: spec.repetitions,
            seed: spec.seed,
        },
        levels,
    )?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(keys.len() * 4);
    for (k, (area, period, sex, grouping)) in keys.iter().enumerate() {
        let members = &parents[&(*area, *period, sex.clone(), *grouping)];
        let at = |category: u8| {
            members
                .iter()
                .find(|&&g| groups[g].category == category)
                .and_then(|&g| observations[g].value)
        };
        let most = at(1);
        let least = at(if *grouping == Grouping::NationalDecile {
            10
        } else {
            5
        });
        let base = |suffix: &str, value: Option<f64>| Observation {
            indicator: format!("{}.{suffix}", spec.indicator.id),
            area: *area,
            period: *period,
            sex: sex.clone(),
            age: "All ages".into(),
            category_type: category_type.to_owned(),
            category: String::new(),
            count: None,
            denominator: None,
            value,
            lower95: None,
            upper95: None,
            lower998: None,
            upper998: None,
            note: None,
            compared_to_england: None,
            compared_to_parent: None,
            recent_trend: None,
        };
        for (suffix, _, which) in DERIVED {
            let mut o = match which {
                0 | 1 => {
                    let e = if which == 0 { &result.sii } else { &result.rii };
                    let mut o = base(suffix, e.value[k]);
                    o.lower95 = e.lower[0][k];
                    o.upper95 = e.upper[0][k];
                    o.lower998 = e.lower[1][k];
                    o.upper998 = e.upper[1][k];
                    o.note = e.note[k].map(|n| n.text().to_owned());
                    o
                }
                2 => base(suffix, most.zip(least).map(|(m, l)| m - l)),
                _ => base(
                    suffix,
                    most.zip(least).and_then(|(m, l)| (l != 0.0).then(|| m / l)),
                ),
            };
            if o.value.is_none() && o.note.is_none() {
                o.note = Some("not computed: a most or least deprived group has no value".into());
            }
            out.push(o);
        }
    }
    Ok(out)
}
