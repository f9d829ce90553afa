//! Placing a resident's answer in its small area: from a postcode (through the
//! postcode directory), a pin (the LSOA boundary holding the point) or an LSOA
//! code — and only if that small area is in the place. The postcode and the pin
//! are used here and go no further: what is kept is the LSOA.

use rustc_hash::FxHashSet;
use syndemic_model::{geo, AreaCode, Whereabouts};
use syndemic_store::Store;

use crate::{rings, small_areas_within, PlaceError};

/// Why an answer could not be placed, in words for the person who gave it (or
/// the analyst importing it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unplaced {
    #[error("{0} is not in the postcode directory: check it, or give the LSOA instead")]
    UnknownPostcode(String),
    #[error("{what} is in {area}, outside {place}: leave the response out, or correct it")]
    Outside {
        what: String,
        area: AreaCode,
        place: String,
    },
    #[error("{0} is in no small area of {1}: move the pin inside the place")]
    NoArea(String, String),
}

/// The small areas of one place, to place answers among.
pub struct Placer {
    place: String,
    within: FxHashSet<AreaCode>,
}

/// Small-area boundary vintages, newest first.
const VINTAGES: [&str; 2] = ["LSOA21", "LSOA11"];

impl Placer {
    /// The small areas of `place` (named `name` in messages).
    pub async fn new(store: &dyn Store, place: AreaCode, name: &str) -> Result<Placer, PlaceError> {
        let within: FxHashSet<AreaCode> = small_areas_within(store, place)
            .await?
            .into_iter()
            .collect();
        if within.is_empty() {
            return Err(PlaceError::Unusable(format!(
                "{name} ({place}) has no small areas in the store: import the LSOA lookups first (syndemic import lookups)"
            )));
        }
        Ok(Placer {
            place: name.to_string(),
            within,
        })
    }

    pub fn contains(&self, lsoa: AreaCode) -> bool {
        self.within.contains(&lsoa)
    }

    /// The small area of the place where `at` is; `Ok(Err(…))` says why an
    /// answer cannot be placed there (a store failure is the outer error).
    pub async fn place(
        &self,
        store: &dyn Store,
        at: &Whereabouts,
    ) -> Result<Result<AreaCode, Unplaced>, PlaceError> {
        match at {
            Whereabouts::Postcode(p) => self.postcode(store, p).await,
            Whereabouts::Pin { lat, lon } => self.point(store, *lat, *lon).await,
            Whereabouts::Lsoa(code) => Ok(self.lsoa(*code)),
        }
    }

    /// An LSOA code given directly.
    pub fn lsoa(&self, code: AreaCode) -> Result<AreaCode, Unplaced> {
        if self.contains(code) {
            Ok(code)
        } else {
            Err(Unplaced::Outside {
                what: format!("small area {code}"),
                area: code,
                place: self.place.clone(),
            })
        }
    }

    /// A postcode (normal form), through the postcode directory: its 2021 LSOA if
    /// that is in the place, else its 2011 LSOA.
    pub async fn postcode(
        &self,
        store: &dyn Store,
        postcode: &str,
    ) -> Result<Result<AreaCode, Unplaced>, PlaceError> {
        let Some(record) = store.postcode(postcode).await? else {
            return Ok(Err(Unplaced::UnknownPostcode(postcode.to_string())));
        };
        let candidates: Vec<AreaCode> = [record.lsoa21, record.lsoa11]
            .into_iter()
            .flatten()
            .collect();
        Ok(match candidates.iter().find(|c| self.contains(**c)) {
            Some(c) => Ok(*c),
            None => match candidates.first() {
                Some(&area) => Err(Unplaced::Outside {
                    what: format!("postcode {postcode}"),
                    area,
                    place: self.place.clone(),
                }),
                None => Err(Unplaced::UnknownPostcode(postcode.to_string())),
            },
        })
    }

    /// A pin: the small area whose stored boundary holds the point (the newest
    /// vintage first).
    pub async fn point(
        &self,
        store: &dyn Store,
        lat: f64,
        lon: f64,
    ) -> Result<Result<AreaCode, Unplaced>, PlaceError> {
        let what = format!("the pin at {lat:.4}, {lon:.4}");
        let mut outside = None;
        for vintage in VINTAGES {
            for b in store.boundaries_around(vintage, lon, lat).await? {
                if geo::contains(&vec![rings(&b.geometry)], lon, lat) {
                    if self.contains(b.code) {
                        return Ok(Ok(b.code));
                    }
                    outside.get_or_insert(b.code);
                }
            }
        }
        Ok(Err(match outside {
            Some(area) => Unplaced::Outside {
                what,
                area,
                place: self.place.clone(),
            },
            None => Unplaced::NoArea(what, self.place.clone()),
        }))
    }
}
