//! Residents' evidence as indicators: each closed question of a survey becomes
//! one indicator per answer (the share of respondents choosing it — for an
//! agreement scale, agreeing and disagreeing), per wave and per area holding the
//! respondents' small areas (the LSOA itself, its ward, district, the place, a
//! community-defined place), estimated by [`syndemic_stats::survey`]: the
//! weighted proportion with Wilson limits on Kish's effective sample size, or
//! the plain Wilson interval when every weight is 1.
//!
//! An area with fewer than [`MIN_RESPONSES`] answers is withheld here, whatever
//! its indicator's small-number rule; the store's disclosure control then
//! withholds whatever would let it be worked out from a published total.

use std::collections::BTreeMap;

use syndemic_stats::survey::weighted_proportion_grouped;
use syndemic_stats::ConfidenceLevel;

use crate::survey::{Answer, Kind, Survey};

/// The fewest answers an area's estimate is published from.
pub const MIN_RESPONSES: usize = 10;

/// One indicator made from one answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceIndicator {
    /// `{survey slug}:{question key}:{answer}`: stable while the survey is (a
    /// dot would mark it as derived from another indicator, as `.gap` does).
    pub id: String,
    pub name: String,
    pub question: String,
}

/// A response as the estimates need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered<'a> {
    pub lsoa: &'a str,
    pub wave: &'a str,
    pub answers: &'a BTreeMap<String, Answer>,
    /// 1 unless raked.
    pub weight: f64,
}

/// One indicator's estimate for one area and wave; `value` `None` when withheld
/// (fewer than [`MIN_RESPONSES`] answers).
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceEstimate {
    pub indicator: usize,
    pub area: String,
    pub wave: String,
    /// Respondents who answered the question.
    pub n: usize,
    /// Of those, how many gave this answer (unweighted).
    pub count: usize,
    pub n_eff: f64,
    /// Percentages.
    pub value: Option<f64>,
    pub limits95: (f64, f64),
    pub limits998: (f64, f64),
}

/// The indicators of a survey's closed questions, in question order.
pub fn indicators(survey: &Survey) -> Vec<VoiceIndicator> {
    let mut out = Vec::new();
    for q in survey.questions.iter().filter(|q| q.kind.is_closed()) {
        let mut push = |code: String, answer: &str| {
            out.push(VoiceIndicator {
                id: format!("{}:{}:{code}", survey.slug, q.key),
                name: format!("{} — {answer}", q.text.trim_end_matches(['?', '.', ':'])),
                question: q.key.clone(),
            })
        };
        match q.kind {
            Kind::Likert => {
                push("agree".into(), "agree or strongly agree");
                push("disagree".into(), "disagree or strongly disagree");
            }
            Kind::Single | Kind::Multiple => {
                for (i, o) in q.options.iter().enumerate() {
                    push(format!("{}", i + 1), o);
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether an answer counts for indicator `which` of its question (by the
/// indicator id's last part): `Some(true/false)`, or `None` for no answer.
fn counts_for(answer: Option<&Answer>, code: &str) -> Option<bool> {
    match answer? {
        Answer::Scale(s) => Some(match code {
            "agree" => *s <= 2,
            _ => *s >= 4,
        }),
        Answer::Choice(c) => Some(code.parse::<u16>().ok() == Some(c + 1)),
        Answer::Choices(cs) => Some(cs.iter().any(|c| code.parse::<u16>().ok() == Some(c + 1))),
        Answer::Number(_) => None,
    }
}

/// Every indicator's estimate for every area and wave with any respondent.
/// `areas_of(lsoa)` gives the areas a small area counts towards (itself
/// included).
pub fn estimates(
    survey: &Survey,
    responses: &[Answered<'_>],
    areas_of: impl Fn(&str) -> Vec<String>,
) -> Vec<VoiceEstimate> {
    // One row per (response, area it counts towards).
    let mut group_of: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut rows: Vec<(usize, u32)> = Vec::new();
    let mut memo: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (i, r) in responses.iter().enumerate() {
        let areas = memo.entry(r.lsoa).or_insert_with(|| areas_of(r.lsoa));
        for a in areas.iter() {
            let next = group_of.len() as u32;
            let g = *group_of
                .entry((a.clone(), r.wave.to_string()))
                .or_insert(next);
            rows.push((i, g));
        }
    }
    let keys: Vec<(String, String)> = {
        let mut k = vec![(String::new(), String::new()); group_of.len()];
        for (key, g) in &group_of {
            k[*g as usize] = key.clone();
        }
        k
    };
    let groups: Vec<u32> = rows.iter().map(|r| r.1).collect();
    let weights: Vec<f64> = rows.iter().map(|r| responses[r.0].weight).collect();
    let levels = [ConfidenceLevel::P95, ConfidenceLevel::P99_8];
    let mut out = Vec::new();
    for (k, ind) in indicators(survey).iter().enumerate() {
        let code = ind.id.rsplit(':').next().unwrap_or("");
        let y: Vec<Option<f64>> = rows
            .iter()
            .map(|r| {
                counts_for(responses[r.0].answers.get(&ind.question), code)
                    .map(|b| f64::from(u8::from(b)))
            })
            .collect();
        let Ok((eff, est)) =
            weighted_proportion_grouped(&groups, keys.len(), &y, &weights, 100.0, &levels)
        else {
            continue;
        };
        let mut counted = vec![0usize; keys.len()];
        for (row, yes) in rows.iter().zip(&y) {
            if *yes == Some(1.0) {
                counted[row.1 as usize] += 1;
            }
        }
        for (g, (area, wave)) in keys.iter().enumerate() {
            let n = eff.n[g];
            if n == 0 {
                continue;
            }
            let published = n >= MIN_RESPONSES;
            let pair = |l: usize| {
                (
                    est.lower[l][g].unwrap_or(f64::NAN),
                    est.upper[l][g].unwrap_or(f64::NAN),
                )
            };
            out.push(VoiceEstimate {
                indicator: k,
                area: area.clone(),
                wave: wave.clone(),
                n,
                count: counted[g],
                n_eff: eff.n_eff[g],
                value: if published { est.value[g] } else { None },
                limits95: pair(0),
                limits998: pair(1),
            });
        }
    }
    out
}

/// One stratum's residents aged 16 and over (a district, in a wave): by survey
/// age band ([`crate::survey::AGE_BANDS`]) and by sex (female, male).
#[derive(Debug, Clone, PartialEq)]
pub struct Margins {
    pub age: [f64; 7],
    pub sex: [f64; 2],
}

/// A respondent as weighting sees them: their stratum, and their age band and
/// sex (indexes into [`crate::survey::AGE_BANDS`] and female/male) if given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Respondent {
    pub stratum: usize,
    pub age: Option<usize>,
    pub sex: Option<usize>,
}

/// Weights that make each stratum's respondents look like its residents:
/// those who gave age and sex are raked to the stratum's margins
/// ([`syndemic_stats::survey::rake`]; an age band or sex with residents but no
/// respondents is merged into its nearest neighbour that has some, as survey
/// practice does) — to sex alone where no weights meet both, to the total
/// where neither can be met; those who gave neither or one take the stratum's
/// mean weight; the stratum's weights then sum to its residents. `None` when a
/// stratum has no residents.
pub fn weights(respondents: &[Respondent], margins: &[Margins]) -> Option<Vec<f64>> {
    use syndemic_stats::survey::{rake, Margin, RakeOptions};
    let mut out = vec![0.0; respondents.len()];
    for (s, m) in margins.iter().enumerate() {
        let members: Vec<usize> = (0..respondents.len())
            .filter(|&i| respondents[i].stratum == s)
            .collect();
        if members.is_empty() {
            continue;
        }
        let known: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| respondents[i].age.is_some() && respondents[i].sex.is_some())
            .collect();
        let total: f64 = m.sex.iter().sum();
        if total <= 0.0 || total.is_nan() {
            return None;
        }
        if known.is_empty() {
            for &i in &members {
                out[i] = total / members.len() as f64;
            }
            continue;
        }
        // Each category mapped to one that has respondents.
        let merged = |counts: &[usize], totals: &[f64]| -> Option<(Vec<u32>, Vec<f64>)> {
            let have: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] > 0).collect();
            if have.is_empty() {
                return None;
            }
            let target: Vec<u32> = (0..counts.len())
                .map(|c| {
                    let nearest = have.iter().min_by_key(|&&h| (h as i64 - c as i64).abs())?;
                    Some(have.iter().position(|h| h == nearest)? as u32)
                })
                .collect::<Option<_>>()?;
            let mut t = vec![0.0; have.len()];
            for (c, total) in totals.iter().enumerate() {
                t[target[c] as usize] += total;
            }
            Some((target, t))
        };
        let mut age_n = [0usize; 7];
        let mut sex_n = [0usize; 2];
        for &i in &known {
            age_n[respondents[i].age.unwrap_or(0).min(6)] += 1;
            sex_n[respondents[i].sex.unwrap_or(0).min(1)] += 1;
        }
        // Raked to age and sex; failing that (margins no sample could meet),
        // to sex alone; failing that, each known respondent alike.
        let attempt = |use_age: bool| -> Option<Vec<f64>> {
            let (sex_map, sex_totals) = merged(&sex_n, &m.sex)?;
            let sexes: Vec<u32> = known
                .iter()
                .map(|&i| sex_map[respondents[i].sex.unwrap_or(0).min(1)])
                .collect();
            let mut columns = vec![(sexes, sex_totals)];
            if use_age {
                let (age_map, age_totals) = merged(&age_n, &m.age)?;
                let ages: Vec<u32> = known
                    .iter()
                    .map(|&i| age_map[respondents[i].age.unwrap_or(0).min(6)])
                    .collect();
                // Age margins scaled to the sexes' total (they may differ by rounding).
                let age_sum: f64 = age_totals.iter().sum();
                columns.push((
                    ages,
                    age_totals.iter().map(|t| t * total / age_sum).collect(),
                ));
            }
            let margins: Vec<Margin<'_>> = columns
                .iter()
                .map(|(c, t)| Margin {
                    categories: c,
                    totals: t,
                })
                .collect();
            let raked = rake(known.len(), &margins, None, RakeOptions::default()).ok()?;
            raked.converged.then_some(raked.weights)
        };
        let raked = attempt(true)
            .or_else(|| attempt(false))
            .unwrap_or_else(|| vec![total / known.len() as f64; known.len()]);
        for (&i, w) in known.iter().zip(&raked) {
            out[i] = *w;
        }
        let mean = total / known.len() as f64;
        for &i in &members {
            if out[i] == 0.0 {
                out[i] = mean;
            }
        }
        let sum: f64 = members.iter().map(|&i| out[i]).sum();
        for &i in &members {
            out[i] *= total / sum;
        }
    }
    out.iter().all(|w| *w > 0.0).then_some(out)
}

/// The share of a published age band's people who fall in each of the
/// survey's age bands ([`crate::survey::AGE_BANDS`]), assuming ages spread
/// evenly within the band (so 4/5 of `15-19` are 16 to 19). `None` for a
/// label that is not an age band, or is all ages.
pub fn survey_band_shares(label: &str) -> Option<[f64; 7]> {
    const SURVEY: [(u16, Option<u16>); 7] = [
        (16, Some(24)),
        (25, Some(34)),
        (35, Some(44)),
        (45, Some(54)),
        (55, Some(64)),
        (65, Some(74)),
        (75, None),
    ];
    let (from, to) = syndemic_model::AgeBand::parse(label)?.years()?;
    let mut out = [0.0; 7];
    for (slot, (lo, hi)) in out.iter_mut().zip(SURVEY) {
        *slot = match to {
            Some(to) => {
                let top = hi.map_or(to, |h| h.min(to));
                let bottom = lo.max(from);
                if top >= bottom {
                    f64::from(top - bottom + 1) / f64::from(to - from + 1)
                } else {
                    0.0
                }
            }
            // An open band (`90+`) lies wholly in the band holding its start.
            None => f64::from(u8::from(from >= lo && hi.is_none_or(|h| from <= h))),
        };
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::Question;

    fn survey() -> Survey {
        Survey {
            slug: "v".into(),
            title: "V".into(),
            intro: String::new(),
            lawful_basis: "Public task".into(),
            questions: vec![
                Question {
                    key: "postcode".into(),
                    text: "Postcode".into(),
                    kind: Kind::Postcode,
                    options: vec![],
                    required: true,
                    min: None,
                    max: None,
                },
                Question {
                    key: "safe".into(),
                    text: "I feel safe here?".into(),
                    kind: Kind::Likert,
                    options: vec![],
                    required: false,
                    min: None,
                    max: None,
                },
                Question {
                    key: "warm".into(),
                    text: "Warm home".into(),
                    kind: Kind::Single,
                    options: vec!["Yes".into(), "No".into()],
                    required: false,
                    min: None,
                    max: None,
                },
            ],
            waves: vec!["2026".into()],
        }
    }

    #[test]
    fn closed_questions_become_indicators_by_answer() {
        let ids: Vec<String> = indicators(&survey()).into_iter().map(|i| i.id).collect();
        assert_eq!(
            ids,
            ["v:safe:agree", "v:safe:disagree", "v:warm:1", "v:warm:2"]
        );
        assert_eq!(
            indicators(&survey())[0].name,
            "I feel safe here — agree or strongly agree"
        );
    }

    #[test]
    fn estimates_per_area_withhold_fewer_than_ten() {
        // 12 respondents in LSOA A (8 agree), 3 in LSOA B (all agree); both in ward W.
        let agree: BTreeMap<String, Answer> = [("safe".to_string(), Answer::Scale(2))].into();
        let disagree: BTreeMap<String, Answer> = [("safe".to_string(), Answer::Scale(5))].into();
        let mut rs = Vec::new();
        for i in 0..12 {
            rs.push(Answered {
                lsoa: "A",
                wave: "2026",
                answers: if i < 8 { &agree } else { &disagree },
                weight: 1.0,
            });
        }
        for _ in 0..3 {
            rs.push(Answered {
                lsoa: "B",
                wave: "2026",
                answers: &agree,
                weight: 1.0,
            });
        }
        let est = estimates(&survey(), &rs, |l| vec![l.to_string(), "W".to_string()]);
        let find = |area: &str| {
            est.iter()
                .find(|e| e.indicator == 0 && e.area == area)
                .unwrap()
        };
        let a = find("A");
        assert_eq!((a.n, a.count), (12, 8));
        assert!((a.value.unwrap() - 800.0 / 12.0).abs() < 1e-9);
        assert!(a.limits95.0 < a.value.unwrap() && a.value.unwrap() < a.limits95.1);
        let b = find("B");
        assert_eq!((b.n, b.value), (3, None));
        let w = find("W");
        assert_eq!((w.n, w.count), (15, 11));
        // No one answered the warm question: no estimate at all.
        assert!(est.iter().all(|e| e.indicator < 2));
    }

    #[test]
    fn published_bands_are_shared_out_by_age() {
        let shares = survey_band_shares("15-19").unwrap();
        assert!((shares[0] - 0.8).abs() < 1e-12 && shares[1..].iter().all(|s| *s == 0.0));
        let shares = survey_band_shares("Aged 25 to 29 years").unwrap();
        assert_eq!(shares[1], 1.0);
        assert_eq!(survey_band_shares("90+").unwrap()[6], 1.0);
        assert_eq!(survey_band_shares("70-74").unwrap()[5], 1.0);
        assert_eq!(survey_band_shares("0-4").unwrap(), [0.0; 7]);
        assert!(survey_band_shares("All ages").is_none());
    }

    #[test]
    fn respondents_are_weighted_to_their_residents() {
        // One district: residents 60 % female; ages only 16-24 and 75+. Three
        // women aged 75+ and one man aged 16-24 answered, and one gave nothing.
        let m = Margins {
            age: [50.0, 0.0, 0.0, 0.0, 0.0, 0.0, 50.0],
            sex: [60.0, 40.0],
        };
        let r = |age, sex| Respondent {
            stratum: 0,
            age,
            sex,
        };
        let rs = [
            r(Some(6), Some(0)),
            r(Some(6), Some(0)),
            r(Some(6), Some(0)),
            r(Some(0), Some(1)),
            r(Some(0), Some(0)),
            r(None, None),
        ];
        let w = weights(&rs, std::slice::from_ref(&m)).unwrap();
        let sum: f64 = w.iter().sum();
        assert!((sum - 100.0).abs() < 1e-9, "{w:?}");
        // Raked: the known five carry the residents' age and sex exactly.
        let known: f64 = w[..5].iter().sum();
        let men = w[3] * 100.0 / sum;
        let young = (w[3] + w[4]) * 100.0 / sum;
        assert!((w[0] - w[1]).abs() < 1e-12, "{w:?}");
        assert!(
            known > 0.0 && (men - 40.0 * known / sum).abs() < 1e-6,
            "{w:?}"
        );
        assert!((young - 50.0 * known / sum).abs() < 1e-6, "{w:?}");
        // Unreachable margins fall back to sex alone, then to the total; a
        // stratum with no residents cannot be weighted.
        let odd = [r(Some(6), Some(0)), r(Some(0), Some(1))];
        let w = weights(
            &odd,
            &[Margins {
                age: [50.0, 0.0, 0.0, 0.0, 0.0, 0.0, 50.0],
                sex: [60.0, 40.0],
            }],
        )
        .unwrap();
        assert!(
            (w[0] - 60.0).abs() < 1e-9 && (w[1] - 40.0).abs() < 1e-9,
            "{w:?}"
        );
        let none = Margins {
            age: [0.0; 7],
            sex: [0.0; 2],
        };
        assert!(weights(&odd, &[none]).is_none());
    }
}
