//! Small-area outlines, parsed from the GeoJSON the store keeps.

use rustc_hash::FxHashMap;
use syndemic_model::AreaCode;
use syndemic_store::{Boundary, Store};

use crate::PlaceError;

/// The rings of a GeoJSON Polygon or MultiPolygon's text (outer rings and holes
/// alike, drawn with the even-odd rule).
pub fn rings(geometry: &str) -> Vec<Vec<[f64; 2]>> {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(geometry) else {
        return Vec::new();
    };
    let ring = |r: &serde_json::Value| -> Option<Vec<[f64; 2]>> {
        r.as_array()?
            .iter()
            .map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
            .collect()
    };
    let polygons: Vec<&serde_json::Value> = match json.get("type").and_then(|t| t.as_str()) {
        Some("Polygon") => json.get("coordinates").into_iter().collect(),
        Some("MultiPolygon") => json
            .get("coordinates")
            .and_then(|c| c.as_array())
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    polygons
        .into_iter()
        .filter_map(|p| p.as_array())
        .flatten()
        .filter_map(ring)
        .collect()
}

/// A small area's outline: its rings.
pub type Outline = Vec<Vec<[f64; 2]>>;

/// The small-area boundaries, their simplified outlines parsed, by code: those of
/// the newest stored vintage (`vintage`, `outlines`), which the finders and maps of
/// places use, and those of every older one, for maps of indicators published on
/// older small areas.
pub struct Shapes {
    pub vintage: Option<String>,
    pub outlines: FxHashMap<AreaCode, Outline>,
    older: Vec<(String, FxHashMap<AreaCode, Outline>)>,
}

/// The small-area vintages, newest first.
const VINTAGES: [&str; 2] = ["LSOA21", "LSOA11"];

impl Shapes {
    /// The newest stored vintage's outlines (the 2021 small areas' where any are
    /// stored): what the finders and place maps draw.
    pub async fn load(store: &dyn Store) -> Result<Shapes, PlaceError> {
        Shapes::read(store, false).await
    }

    /// Every stored vintage's outlines, for [`Shapes::for_codes`].
    pub async fn load_all(store: &dyn Store) -> Result<Shapes, PlaceError> {
        Shapes::read(store, true).await
    }

    async fn read(store: &dyn Store, all: bool) -> Result<Shapes, PlaceError> {
        let mut layers = Vec::new();
        for v in VINTAGES {
            if !all && !layers.is_empty() {
                break;
            }
            let boundaries: Vec<Boundary> = store.boundaries(v).await?;
            if boundaries.is_empty() {
                continue;
            }
            let outlines = boundaries
                .into_iter()
                .map(|b| (b.code, rings(&b.simplified)))
                .collect();
            layers.push((v.to_owned(), outlines));
        }
        Ok(Shapes::from_layers(layers))
    }

    /// The shapes of outlines by vintage, newest first.
    pub fn from_layers(mut layers: Vec<(String, FxHashMap<AreaCode, Outline>)>) -> Shapes {
        if layers.is_empty() {
            return Shapes {
                vintage: None,
                outlines: FxHashMap::default(),
                older: Vec::new(),
            };
        }
        let (vintage, outlines) = layers.remove(0);
        Shapes {
            vintage: Some(vintage),
            outlines,
            older: layers,
        }
    }

    /// The outlines of the one vintage that draws the most of `codes` (the areas
    /// with values), and its name; the newest on a tie. A 2011-LSOA indicator is
    /// drawn on 2011 outlines, so an area split or merged in 2021 keeps its shape,
    /// and the two vintages are never drawn over each other.
    pub fn for_codes<'a>(
        &self,
        codes: impl IntoIterator<Item = &'a AreaCode>,
    ) -> (Option<&str>, &FxHashMap<AreaCode, Outline>) {
        let codes: Vec<&AreaCode> = codes.into_iter().collect();
        let drawn =
            |o: &FxHashMap<AreaCode, Outline>| codes.iter().filter(|c| o.contains_key(c)).count();
        let mut best = (self.vintage.as_deref(), &self.outlines);
        let mut most = drawn(&self.outlines);
        for (v, o) in &self.older {
            let n = drawn(o);
            if n > most {
                most = n;
                best = (Some(v.as_str()), o);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygons_and_multipolygons_give_rings() {
        let p = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}"#;
        assert_eq!(rings(p).len(), 1);
        let m = r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]]]]}"#;
        assert_eq!(rings(m).len(), 2);
        assert!(rings("not json").is_empty());
    }

    #[test]
    fn an_indicator_is_drawn_on_the_vintage_holding_its_areas() {
        let code = |c: &str| AreaCode::parse(c).unwrap();
        let square = vec![vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]];
        let layer = |codes: &[&str]| -> FxHashMap<AreaCode, Outline> {
            codes.iter().map(|c| (code(c), square.clone())).collect()
        };
        // E01000001 kept its code in 2021; E01000002 was split into E01035001/2.
        let shapes = Shapes::from_layers(vec![
            (
                "LSOA21".into(),
                layer(&["E01000001", "E01035001", "E01035002"]),
            ),
            ("LSOA11".into(), layer(&["E01000001", "E01000002"])),
        ]);
        let old = [code("E01000001"), code("E01000002")];
        let (vintage, outlines) = shapes.for_codes(&old);
        assert_eq!(vintage, Some("LSOA11"));
        assert!(old.iter().all(|c| outlines.contains_key(c)));
        let new = [code("E01000001"), code("E01035001")];
        assert_eq!(shapes.for_codes(&new).0, Some("LSOA21"));
        // A tie, or nothing drawn at all: the newest.
        assert_eq!(shapes.for_codes(&[code("E01000001")]).0, Some("LSOA21"));
        assert_eq!(shapes.for_codes(&[]).0, Some("LSOA21"));
        assert_eq!(Shapes::from_layers(Vec::new()).for_codes(&old).0, None);
    }
}
