//! Record-level release of the hub's referrals with disclosure control:
//! k-anonymity on the quasi-identifiers a reader could know about a person —
//! the month the referral came, the referrer's sector, the neighbourhood's IMD
//! decile, the needs and the urgency.
//!
//! Each of the five is generalised along its own ladder:
//!
//! | field   | 0            | 1              | 2          | 3     |
//! |---------|--------------|----------------|------------|-------|
//! | month   | `2026-03`    | `2026 Q1`      | `2026`     | `*`   |
//! | sector  | the sector   | `*`            |            |       |
//! | decile  | `3`          | `quintile 2`   | `*`        |       |
//! | needs   | `debt fuel`  | `2 needs`      | `*`        |       |
//! | urgency | `urgent`     | `*`            |            |       |
//!
//! [`release`] tries every combination of rungs (144), keeps those that
//! suppress at most [`MOST_SUPPRESSED`] of the rows (a row is suppressed when
//! its class — the rows equal on all five generalised fields — has fewer than
//! `k` rows), and takes the one that loses least (a rung of month costs a third,
//! of decile or needs a half, of sector or urgency all of that field), then the
//! fewest suppressed. Rows still in classes smaller than `k` are withheld, so
//! every class released has at least `k` rows. Pure and deterministic.

use counts::Counts;

/// The smallest class released by the hub's record download.
pub const K: usize = 5;

/// At most this share of rows is withheld before a coarser scheme is preferred
/// (one in twenty).
pub const MOST_SUPPRESSED: f64 = 0.05;

/// What a reader might know of one referral.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Quasi {
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
    pub sector: String,
    /// 1 (most deprived) to 10, where the neighbourhood is known.
    pub decile: Option<u8>,
    /// Need codes, in any order.
    pub needs: Vec<String>,
    pub urgency: String,
}

/// The rung of each field's ladder (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Scheme {
    pub month: u8,
    pub sector: u8,
    pub decile: u8,
    pub needs: u8,
    pub urgency: u8,
}

/// The top rung of each ladder.
const TOP: Scheme = Scheme {
    month: 3,
    sector: 1,
    decile: 2,
    needs: 2,
    urgency: 1,
};

impl Scheme {
    /// Every scheme, finest first.
    fn all() -> Vec<Scheme> {
        let mut out = Vec::new();
        for month in 0..=TOP.month {
            for sector in 0..=TOP.sector {
                for decile in 0..=TOP.decile {
                    for needs in 0..=TOP.needs {
                        for urgency in 0..=TOP.urgency {
                            out.push(Scheme {
                                month,
                                sector,
                                decile,
                                needs,
                                urgency,
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// Information lost, in sixths of a field: a rung of month 2, of decile or
    /// needs 3, of sector or urgency 6.
    pub fn loss(&self) -> u32 {
        u32::from(self.month) * 2
            + u32::from(self.sector) * 6
            + u32::from(self.decile) * 3
            + u32::from(self.needs) * 3
            + u32::from(self.urgency) * 6
    }

    /// One row generalised under this scheme.
    pub fn apply(&self, q: &Quasi) -> Released {
        let period = match self.month {
            0 => format!("{}-{:02}", q.year, q.month),
            1 => format!("{} Q{}", q.year, (q.month.clamp(1, 12) - 1) / 3 + 1),
            2 => q.year.to_string(),
            _ => "*".into(),
        };
        let sector = if self.sector == 0 {
            q.sector.clone()
        } else {
            "*".into()
        };
        let decile = match (self.decile, q.decile) {
            (0, Some(d)) => d.to_string(),
            (1, Some(d)) => format!("quintile {}", d.clamp(1, 10).div_ceil(2)),
            (0 | 1, None) => "unknown".into(),
            _ => "*".into(),
        };
        let needs = match self.needs {
            0 => {
                let mut n = q.needs.clone();
                n.sort();
                n.dedup();
                n.join(" ")
            }
            1 => {
                let mut n = q.needs.clone();
                n.sort();
                n.dedup();
                if n.len() == 1 {
                    "1 need".into()
                } else {
                    format!("{} needs", n.len())
                }
            }
            _ => "*".into(),
        };
        let urgency = if self.urgency == 0 {
            q.urgency.clone()
        } else {
            "*".into()
        };
        Released {
            period,
            sector,
            decile,
            needs,
            urgency,
        }
    }
}

/// One row's quasi-identifiers as released.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Released {
    pub period: String,
    pub sector: String,
    pub decile: String,
    pub needs: String,
    pub urgency: String,
}

/// The rows as released: `rows[i]` is row `i` generalised, or `None` where it
/// is withheld (its class had fewer than `k` rows).
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub k: usize,
    pub scheme: Scheme,
    pub rows: Vec<Option<Released>>,
    pub suppressed: usize,
}

/// The rows generalised to k-anonymity (see the module's doc): every class of
/// released rows has at least `k` rows (`k` of 0 or 1 is taken as 2, as a class
/// of one is no protection). Fewer than `k` rows in all are all withheld.
pub fn release(rows: &[Quasi], k: usize) -> Release {
    let k = k.max(2);
    let allowed = (rows.len() as f64 * MOST_SUPPRESSED).floor() as usize;
    let mut best: Option<(bool, u32, usize, Scheme)> = None;
    for scheme in Scheme::all() {
        let counts = Counts::of(rows.iter().map(|q| scheme.apply(q)));
        let suppressed = counts.below(k);
        // Within the allowance first, then the least loss, then the fewest
        // withheld; the first in `all`'s order on a tie.
        let key = (suppressed > allowed, scheme.loss(), suppressed, scheme);
        let better = match &best {
            None => true,
            Some(b) => (key.0, key.1, key.2) < (b.0, b.1, b.2),
        };
        if better {
            best = Some(key);
        }
    }
    let scheme = best.map_or(TOP, |b| b.3);
    let released: Vec<Released> = rows.iter().map(|q| scheme.apply(q)).collect();
    let counts = Counts::of(released.iter().cloned());
    let mut suppressed = 0;
    let rows = released
        .into_iter()
        .map(|r| {
            if counts.get(&r) >= k {
                Some(r)
            } else {
                suppressed += 1;
                None
            }
        })
        .collect();
    Release {
        k,
        scheme,
        rows,
        suppressed,
    }
}

/// The size of each class.
mod counts {
    use std::collections::HashMap;

    use super::Released;

    pub(super) struct Counts(HashMap<Released, usize>);

    impl Counts {
        pub(super) fn of(rows: impl Iterator<Item = Released>) -> Counts {
            let mut m = HashMap::new();
            for r in rows {
                *m.entry(r).or_insert(0) += 1;
            }
            Counts(m)
        }

        /// Rows in classes smaller than `k`.
        pub(super) fn below(&self, k: usize) -> usize {
            self.0.values().filter(|&&n| n < k).sum()
        }

        pub(super) fn get(&self, r: &Released) -> usize {
            self.0.get(r).copied().unwrap_or(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn q(
        year: i32,
        month: u8,
        sector: &str,
        decile: Option<u8>,
        needs: &[&str],
        urgency: &str,
    ) -> Quasi {
        Quasi {
            year,
            month,
            sector: sector.into(),
            decile,
            needs: needs.iter().map(|n| (*n).to_owned()).collect(),
            urgency: urgency.into(),
        }
    }

    fn classes(r: &Release) -> HashMap<&Released, usize> {
        let mut m = HashMap::new();
        for row in r.rows.iter().flatten() {
            *m.entry(row).or_insert(0) += 1;
        }
        m
    }

    #[test]
    fn ladders_read_as_people_say_them() {
        let row = q(2026, 8, "health", Some(3), &["fuel", "debt"], "urgent");
        assert_eq!(
            Scheme::default().apply(&row),
            Released {
                period: "2026-08".into(),
                sector: "health".into(),
                decile: "3".into(),
                needs: "debt fuel".into(),
                urgency: "urgent".into()
            }
        );
        let coarse = Scheme {
            month: 1,
            sector: 1,
            decile: 1,
            needs: 1,
            urgency: 1,
        }
        .apply(&row);
        assert_eq!(coarse.period, "2026 Q3");
        assert_eq!(coarse.decile, "quintile 2");
        assert_eq!(coarse.needs, "2 needs");
        assert_eq!(
            (coarse.sector.as_str(), coarse.urgency.as_str()),
            ("*", "*")
        );
        assert_eq!(TOP.apply(&row).period, "*");
    }

    #[test]
    fn rows_alike_enough_are_released_as_they_are() {
        let rows: Vec<Quasi> = (0..10)
            .map(|_| q(2026, 1, "health", Some(1), &["debt"], "routine"))
            .collect();
        let r = release(&rows, K);
        assert_eq!(r.scheme, Scheme::default());
        assert_eq!(r.suppressed, 0);
    }

    #[test]
    fn unique_rows_are_generalised_then_withheld() {
        // Five alike and one of its own: with no row to spare (a twentieth of six
        // is none), the scheme generalises until the odd one joins the five.
        let mut rows: Vec<Quasi> = (0..5)
            .map(|_| q(2026, 1, "health", Some(1), &["debt"], "routine"))
            .collect();
        rows.push(q(2026, 2, "health", Some(2), &["debt"], "routine"));
        let r = release(&rows, K);
        assert!(classes(&r).values().all(|&n| n >= K), "{r:?}");
        // Month to quarter and decile to quintile bring all six together.
        assert_eq!(r.suppressed, 0, "{r:?}");
        assert_eq!(r.rows[5].as_ref().unwrap().period, "2026 Q1");
        // Fewer rows than k: nothing is released.
        assert!(release(&rows[..3], K).rows.iter().all(Option::is_none));
    }

    /// Rows like a hub's year: 12 months, 6 sectors, 10 deciles (some unknown),
    /// one to three of 12 needs, 3 urgencies — nearly every row unique as it is.
    fn a_year(n: usize, seed: u64) -> Vec<Quasi> {
        const SECTORS: [&str; 6] = ["nhs", "council", "voluntary", "police", "fire", "housing"];
        const NEEDS: [&str; 12] = [
            "cold-home",
            "debt",
            "low-income",
            "housing",
            "food",
            "loneliness",
            "mental-health",
            "respiratory",
            "mobility",
            "carer",
            "employment",
            "substance",
        ];
        const URGENCY: [&str; 3] = ["routine", "soon", "urgent"];
        let mut x = seed;
        let mut next = move |m: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m as u64) as usize
        };
        (0..n)
            .map(|_| {
                let k = 1 + next(3);
                Quasi {
                    year: 2026,
                    month: 1 + next(12) as u8,
                    sector: SECTORS[next(6)].into(),
                    decile: (next(20) > 0).then(|| 1 + next(10) as u8),
                    needs: (0..k).map(|_| NEEDS[next(12)].to_owned()).collect(),
                    urgency: URGENCY[next(3)].into(),
                }
            })
            .collect()
    }

    #[test]
    fn a_hubs_year_is_released_with_no_class_under_five() {
        for (n, seed) in [(605, 17), (20_000, 5)] {
            let rows = a_year(n, seed);
            let finest = Counts::of(rows.iter().map(|q| Scheme::default().apply(q)));
            assert!(finest.below(K) > n / 2, "{n}: most rows stand out as given");
            let r = release(&rows, K);
            assert!(classes(&r).values().all(|&c| c >= K), "{n}");
            assert!(r.suppressed <= n / 20, "{n}: {} withheld", r.suppressed);
            assert!(
                r.scheme != TOP,
                "{n}: something is still told: {:?}",
                r.scheme
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_released_class_has_at_least_k_rows(
            raw in proptest::collection::vec(
                (2024i32..2027, 1u8..=12, 0usize..4, proptest::option::of(1u8..=10), proptest::collection::vec(0usize..6, 1..4), 0usize..3),
                0..300,
            ),
            k in 2usize..8,
        ) {
            const SECTORS: [&str; 4] = ["health", "council", "vcse", "police"];
            const NEEDS: [&str; 6] = ["debt", "fuel", "housing", "food", "mental-health", "loneliness"];
            const URGENCY: [&str; 3] = ["routine", "soon", "urgent"];
            let rows: Vec<Quasi> = raw
                .iter()
                .map(|(y, m, s, d, n, u)| Quasi {
                    year: *y,
                    month: *m,
                    sector: SECTORS[*s].into(),
                    decile: *d,
                    needs: n.iter().map(|i| NEEDS[*i].to_owned()).collect(),
                    urgency: URGENCY[*u].into(),
                })
                .collect();
            let r = release(&rows, k);
            prop_assert_eq!(r.rows.len(), rows.len());
            prop_assert!(classes(&r).values().all(|&n| n >= k));
            prop_assert_eq!(r.suppressed, r.rows.iter().filter(|x| x.is_none()).count());
            // Each released row is its own row under the scheme.
            for (row, out) in rows.iter().zip(&r.rows) {
                if let Some(o) = out {
                    prop_assert_eq!(&r.scheme.apply(row), o);
                }
            }
            // With k rows or more, at most the allowance is withheld (the top
            // scheme withholds nothing, so one within it always exists).
            if rows.len() >= k {
                prop_assert!(r.suppressed as f64 <= (rows.len() as f64 * MOST_SUPPRESSED).floor());
            }
        }
    }
}
