//! Which edition of the English Indices of Deprivation describes a place.
//!
//! The store may hold more than one edition: IoD2019, ranked on the 2011 small
//! areas, and IoD2025, on the 2021 ones. Most codes are shared between the two
//! vintages, so "the newest edition that ranks any of them" would rank a place
//! walked through 2011 lookups by the few 2021 areas that happen to share a code,
//! and "the edition of the first small area" depends on which area sorts first.
//! One rule, here, answers for every page, command and the demo: **the edition
//! that ranks the most of the small areas; the newest where two rank as many**.

use rustc_hash::FxHashSet;
use syndemic_model::AreaCode;
use syndemic_store::{Deprivation, Store};

use crate::PlaceError;

/// An edition of the English Indices of Deprivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edition {
    /// The English Indices of Deprivation 2019, on 2011 LSOAs.
    IoD2019,
    /// The English Indices of Deprivation 2025, on 2021 LSOAs.
    IoD2025,
}

impl Edition {
    /// Every edition, newest first.
    pub const NEWEST_FIRST: [Edition; 2] = [Edition::IoD2025, Edition::IoD2019];

    /// The edition's code as the store keeps it.
    pub fn code(self) -> &'static str {
        match self {
            Edition::IoD2019 => "IoD2019",
            Edition::IoD2025 => "IoD2025",
        }
    }

    pub fn from_code(code: &str) -> Option<Edition> {
        Edition::NEWEST_FIRST.into_iter().find(|e| e.code() == code)
    }
}

impl std::fmt::Display for Edition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The rule: given how many of a set of small areas each edition ranks, the one
/// that ranks the most, the newest where two rank as many; `None` when none ranks
/// any.
pub fn choose(ranked: impl IntoIterator<Item = (Edition, usize)>) -> Option<Edition> {
    let mut best: Option<(Edition, usize)> = None;
    for (edition, n) in ranked {
        let newer = |b: Edition| {
            Edition::NEWEST_FIRST.iter().position(|e| *e == edition)
                < Edition::NEWEST_FIRST.iter().position(|e| *e == b)
        };
        let better = match best {
            None => n > 0,
            Some((b, m)) => n > m || (n == m && n > 0 && newer(b)),
        };
        if better {
            best = Some((edition, n));
        }
    }
    best.map(|(e, _)| e)
}

/// The small areas' overall index (`imd`) rows in the edition [`choose`] picks
/// for them, with that edition; `None` when no edition ranks any of them.
pub async fn ranked(
    store: &dyn Store,
    areas: &[AreaCode],
) -> Result<Option<(Edition, Vec<Deprivation>)>, PlaceError> {
    Ok(ranked_as(store, areas, None).await?.0)
}

/// [`ranked`], or in the edition `asked` for (a page's switch) where it ranks
/// any of the small areas; with every edition that ranks any of them, newest
/// first, for the switch to offer.
pub async fn ranked_as(
    store: &dyn Store,
    areas: &[AreaCode],
    asked: Option<Edition>,
) -> Result<(Option<(Edition, Vec<Deprivation>)>, Vec<Edition>), PlaceError> {
    let inside: FxHashSet<AreaCode> = areas.iter().copied().collect();
    let mut tables = Vec::new();
    for edition in Edition::NEWEST_FIRST {
        let rows: Vec<Deprivation> = store
            .deprivation_table(edition.code(), "imd")
            .await?
            .into_iter()
            .filter(|d| inside.contains(&d.area))
            .collect();
        tables.push((edition, rows));
    }
    let offered: Vec<Edition> = tables
        .iter()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(e, _)| *e)
        .collect();
    let chosen = match asked {
        Some(e) if offered.contains(&e) => Some(e),
        Some(e) => {
            return Err(PlaceError::Missing(format!(
                "{e} ranks none of these small areas: {}",
                if offered.is_empty() {
                    "no edition of the Indices of Deprivation is stored for them".to_owned()
                } else {
                    format!(
                        "choose {}",
                        offered
                            .iter()
                            .map(|e| e.code())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                }
            )))
        }
        None => choose(tables.iter().map(|(e, rows)| (*e, rows.len()))),
    };
    let Some(chosen) = chosen else {
        return Ok((None, offered));
    };
    Ok((tables.into_iter().find(|(e, _)| *e == chosen), offered))
}

/// [`ranked`] over the small areas within `parent`.
pub async fn ranked_within(
    store: &dyn Store,
    parent: AreaCode,
) -> Result<Option<(Edition, Vec<Deprivation>)>, PlaceError> {
    let small = crate::geography::small_areas_within(store, parent).await?;
    ranked(store, &small).await
}

/// [`ranked_as`] over the small areas within `parent`.
pub async fn ranked_within_as(
    store: &dyn Store,
    parent: AreaCode,
    asked: Option<Edition>,
) -> Result<(Option<(Edition, Vec<Deprivation>)>, Vec<Edition>), PlaceError> {
    let small = crate::geography::small_areas_within(store, parent).await?;
    ranked_as(store, &small, asked).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edition_ranking_the_most_wins_and_the_newest_breaks_a_tie() {
        use Edition::*;
        assert_eq!(choose([(IoD2025, 3), (IoD2019, 140)]), Some(IoD2019));
        assert_eq!(choose([(IoD2025, 140), (IoD2019, 3)]), Some(IoD2025));
        assert_eq!(choose([(IoD2019, 7), (IoD2025, 7)]), Some(IoD2025));
        assert_eq!(choose([(IoD2025, 7), (IoD2019, 7)]), Some(IoD2025));
        assert_eq!(choose([(IoD2025, 0), (IoD2019, 0)]), None);
        assert_eq!(choose([]), None);
    }

    #[test]
    fn codes_round_trip() {
        for e in Edition::NEWEST_FIRST {
            assert_eq!(Edition::from_code(e.code()), Some(e));
        }
        assert_eq!(Edition::from_code("IoD2015"), None);
    }
}
