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

/// The small-area boundaries, their simplified outlines parsed, by code; and the
/// vintage they came from.
pub struct Shapes {
    pub vintage: Option<String>,
    pub outlines: FxHashMap<AreaCode, Vec<Vec<[f64; 2]>>>,
}

impl Shapes {
    /// The 2021 small areas' outlines where any are stored, else the 2011 ones.
    pub async fn load(store: &dyn Store) -> Result<Shapes, PlaceError> {
        let mut outlines = FxHashMap::default();
        let mut vintage = None;
        for v in ["LSOA21", "LSOA11"] {
            let boundaries: Vec<Boundary> = store.boundaries(v).await?;
            if boundaries.is_empty() {
                continue;
            }
            for b in boundaries {
                outlines.insert(b.code, rings(&b.simplified));
            }
            vintage = Some(v.to_owned());
            break;
        }
        Ok(Shapes { vintage, outlines })
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
}
