//! Boundaries (ONS GeoJSON, generalised, lon/lat) and the postcode directory (the
//! NSPL/ONSPD CSV layout), and the lookups they allow: a point to its LSOA, a
//! postcode to its LSOA and coordinates, an area to its neighbours.

use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};
use syndemic_model::geo::{bbox, contains, simplify, MultiPolygon};
use syndemic_model::{normalise_postcode, AreaCode, CodeVerdict};
use syndemic_store::{Area, AreaLink, Boundary, PostcodeRecord, Store};

use crate::lookups::{create_unknown_areas, finish, geo_column, ROWS_PER_BATCH};
use crate::read::Table;
use crate::{ImportError, ImportSummary};

/// Simplification tolerance for drawing, in degrees (about 10 m).
pub const DRAWING_TOLERANCE: f64 = 0.0001;

fn shape_of(geometry: &serde_json::Value) -> Option<MultiPolygon> {
    let ring = |r: &serde_json::Value| -> Option<Vec<[f64; 2]>> {
        r.as_array()?
            .iter()
            .map(|p| {
                let p = p.as_array()?;
                Some([p.first()?.as_f64()?, p.get(1)?.as_f64()?])
            })
            .collect()
    };
    let polygon = |p: &serde_json::Value| -> Option<Vec<Vec<[f64; 2]>>> {
        p.as_array()?.iter().map(ring).collect()
    };
    let coordinates = geometry.get("coordinates")?;
    match geometry.get("type")?.as_str()? {
        "Polygon" => Some(vec![polygon(coordinates)?]),
        "MultiPolygon" => coordinates.as_array()?.iter().map(polygon).collect(),
        _ => None,
    }
}

fn geometry_json(shape: &MultiPolygon) -> String {
    serde_json::json!({ "type": "MultiPolygon", "coordinates": shape }).to_string()
}

/// Streams the features of a GeoJSON FeatureCollection from `path` into `out`, one
/// at a time, without holding the document: a `serde` visitor walks the top-level
/// object, skips every member but `features`, and sends each element of that list
/// as it is parsed. Returns whether a `features` list was found; stops early (with
/// an error) when the receiver has gone.
fn stream_features(
    path: &Path,
    out: tokio::sync::mpsc::Sender<serde_json::Value>,
) -> Result<bool, serde_json::Error> {
    use serde::de::{
        DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };

    struct Collection<'a>(&'a tokio::sync::mpsc::Sender<serde_json::Value>);
    struct Features<'a>(&'a tokio::sync::mpsc::Sender<serde_json::Value>);

    impl<'de> Visitor<'de> for Collection<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a GeoJSON FeatureCollection object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut found = false;
            while let Some(key) = map.next_key::<String>()? {
                if key == "features" {
                    map.next_value_seed(Features(self.0))?;
                    found = true;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    impl<'de> DeserializeSeed<'de> for Features<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Features<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of features")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(feature) = seq.next_element::<serde_json::Value>()? {
                if self.0.blocking_send(feature).is_err() {
                    return Err(A::Error::custom("the import stopped"));
                }
            }
            Ok(())
        }
    }
    let file = std::fs::File::open(path).map_err(serde_json::Error::io)?;
    let mut reader = serde_json::Deserializer::from_reader(std::io::BufReader::new(file));
    let found = (&mut reader).deserialize_map(Collection(&out))?;
    reader.end()?;
    Ok(found)
}

/// Boundaries written per batch.
const BOUNDARY_BATCH: usize = 100;

/// Imports one GeoJSON FeatureCollection of boundaries in one transaction: each
/// feature's code is read from its finest `…CD` property (`LSOA11CD`, `WD25CD`, …),
/// which also gives the vintage; the neighbours of each area (boundaries sharing a
/// vertex, as ONS's generalised boundaries of one layer do along common edges) are
/// stored with them. The file is streamed: features are parsed on a thread of their
/// own and written in batches, so memory holds a batch of boundaries and the vertex
/// index the neighbours are found from, not the document.
pub async fn import_boundaries(
    store: &dyn Store,
    path: &Path,
) -> Result<ImportSummary, ImportError> {
    let file = path.display().to_string();
    std::fs::metadata(path)
        .map_err(|e| ImportError::file(&file, format!("cannot read the file: {e}")))?;
    let (sender, mut features) = tokio::sync::mpsc::channel(64);
    let owned = path.to_owned();
    let parser = std::thread::spawn(move || stream_features(&owned, sender));
    let mut summary = ImportSummary {
        file: file.clone(),
        ..ImportSummary::default()
    };
    let to_store = |e| ImportError::store(&file, e);
    let mut tx = store.begin().await.map_err(to_store)?;
    let mut boundaries: Vec<Boundary> = Vec::new();
    let mut areas: Vec<Area> = Vec::new();
    let mut links: Vec<AreaLink> = Vec::new();
    // Every boundary's code, and the boundaries through each vertex.
    let mut codes: Vec<AreaCode> = Vec::new();
    let mut vertices: FxHashMap<(i64, i64), Vec<u32>> = FxHashMap::default();
    let mut vintage_seen: Option<String> = None;
    let mut index = 0;
    while let Some(feature) = features.recv().await {
        index += 1;
        summary.rows += 1;
        let at = |problem: String| ImportError::file(&file, format!("feature {index}: {problem}"));
        let properties = feature
            .get("properties")
            .and_then(|p| p.as_object())
            .ok_or_else(|| at("no properties".into()))?;
        // The finest recognised code property names the area.
        let (key, (child_level, allowed, what, member, _)) = properties
            .keys()
            .filter_map(|k| geo_column(k).map(|g| (k, g)))
            .min_by_key(|(_, g)| g.0)
            .ok_or_else(|| at("no area code property such as LSOA11CD or WD25CD".into()))?;
        if let Some(v) = &vintage_seen {
            if *v != member {
                return Err(at(format!(
                    "a {member} boundary in a file of {v} boundaries: one layer per file"
                )));
            }
        }
        vintage_seen = Some(member.clone());
        let text = properties
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let code = match AreaCode::classify(text) {
            Ok(CodeVerdict::England(code)) => code
                .expect(allowed, what)
                .map_err(|e| at(format!("{key}: {e}")))?,
            Ok(CodeVerdict::OutsideEngland(_)) => {
                summary.skipped_outside_england += 1;
                continue;
            }
            Err(e) => return Err(at(format!("{key}: {e}"))),
        };
        let shape = feature.get("geometry").and_then(shape_of).ok_or_else(|| {
            at(format!(
                "{code}: the geometry is not a Polygon or MultiPolygon of lon/lat pairs"
            ))
        })?;
        let Some(bounds) = bbox(&shape) else {
            return Err(at(format!("{code}: the geometry has no points")));
        };
        if bounds[0] < -180.0 || bounds[2] > 180.0 || bounds[1] < -90.0 || bounds[3] > 90.0 {
            return Err(at(format!(
                "{code}: coordinates are not longitude and latitude (British National Grid?): export the boundaries in WGS84 / CRS84"
            )));
        }
        // Coarser codes among the properties (ONS boundaries carry `LADCD_ACTIVE`,
        // `UTLACD`, `RGNCD`) link the area to its parents.
        for (other, value) in properties {
            let base = other.strip_suffix("_ACTIVE").unwrap_or(other);
            let Some((level, allowed, what, _, year)) = geo_column(base) else {
                continue;
            };
            let Some(text) = value
                .as_str()
                .filter(|t| !t.is_empty() && level > child_level)
            else {
                continue;
            };
            let parent = match AreaCode::classify(text) {
                Ok(CodeVerdict::England(parent)) => parent
                    .expect(allowed, what)
                    .map_err(|e| at(format!("{other}: {e}")))?,
                Ok(CodeVerdict::OutsideEngland(_)) => continue,
                Err(e) => return Err(at(format!("{other}: {e}"))),
            };
            // Its name beside it, where the boundary carries one (`LADNM_ACTIVE`).
            let name_key = format!("{}NM{}", &base[..base.len() - 2], &other[base.len()..]);
            areas.push(Area {
                code: parent,
                name: properties
                    .get(&name_key)
                    .and_then(|v| v.as_str())
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
                no_known_parent: true,
            });
            links.push(AreaLink {
                child: code,
                parent,
                level,
                vintage: year.unwrap_or_default(),
            });
        }
        let name_key = format!("{}NM", &key[..key.len() - 2]);
        areas.push(Area {
            code,
            name: properties
                .get(&name_key)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            no_known_parent: true,
        });
        let at_index = codes.len() as u32;
        codes.push(code);
        for point in shape.iter().flatten().flatten() {
            let key = (
                (point[0] * 1e7).round() as i64,
                (point[1] * 1e7).round() as i64,
            );
            let owners = vertices.entry(key).or_default();
            if owners.last() != Some(&at_index) {
                owners.push(at_index);
            }
        }
        boundaries.push(Boundary {
            code,
            vintage: member,
            geometry: geometry_json(&shape),
            simplified: geometry_json(&simplify(&shape, DRAWING_TOLERANCE)),
            bbox: bounds,
        });
        summary.values += 1;
        if boundaries.len() >= BOUNDARY_BATCH {
            write_boundaries(
                tx.as_mut(),
                &mut areas,
                &mut links,
                &mut boundaries,
                &mut summary,
            )
            .await
            .map_err(to_store)?;
        }
    }
    match parser.join() {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            return Err(ImportError::file(
                &file,
                "not a GeoJSON FeatureCollection: no `features` list",
            ))
        }
        Ok(Err(e)) => {
            return Err(ImportError::at(
                &file,
                e.line() as u64,
                None,
                format!(
                    "not GeoJSON: {e} (boundaries come as a GeoJSON FeatureCollection, lon/lat)"
                ),
            ))
        }
        Err(_) => return Err(ImportError::file(&file, "the GeoJSON reader failed")),
    }
    write_boundaries(
        tx.as_mut(),
        &mut areas,
        &mut links,
        &mut boundaries,
        &mut summary,
    )
    .await
    .map_err(to_store)?;
    if codes.is_empty() {
        return Err(ImportError::file(
            &file,
            "no English boundaries in the file",
        ));
    }
    let vintage = vintage_seen.unwrap_or_default();
    let mut pairs: FxHashSet<(AreaCode, AreaCode)> = FxHashSet::default();
    for owners in vertices.values() {
        for &a in owners {
            for &b in owners {
                if a != b {
                    pairs.insert((codes[a as usize], codes[b as usize]));
                }
            }
        }
    }
    drop(vertices);
    let mut pairs: Vec<(AreaCode, AreaCode, String)> = pairs
        .into_iter()
        .map(|(a, b)| (a, b, vintage.clone()))
        .collect();
    pairs.sort();
    summary.neighbours = pairs.len() as u64 / 2;
    tx.put_adjacency(&pairs).await.map_err(to_store)?;
    finish(tx, &summary, "boundaries").await?;
    Ok(summary)
}

/// Writes a batch of boundaries with their areas: areas already known keep their
/// names and parents; new ones are created, flagged as having no known parent.
async fn write_boundaries(
    tx: &mut dyn syndemic_store::StoreTx,
    areas: &mut Vec<Area>,
    links: &mut Vec<AreaLink>,
    boundaries: &mut Vec<Boundary>,
    summary: &mut ImportSummary,
) -> Result<(), syndemic_store::StoreError> {
    if boundaries.is_empty() {
        return Ok(());
    }
    let mut codes: Vec<AreaCode> = areas.iter().map(|a| a.code).collect();
    codes.sort();
    codes.dedup();
    let missing = tx.missing_areas(&codes).await?;
    let mut new: Vec<Area> = Vec::new();
    // Areas already stored keep their name, or get the boundary's if they had none.
    let mut named: Vec<(AreaCode, String)> = Vec::new();
    for a in areas.drain(..) {
        if missing.binary_search(&a.code).is_err() {
            if let Some(name) = a.name {
                named.push((a.code, name));
            }
        } else if !new.iter().any(|n: &Area| n.code == a.code) {
            new.push(a);
        }
    }
    tx.name_unnamed_areas(&named).await?;
    summary.created_without_parent += new.len() as u64;
    summary.areas += new.len() as u64;
    tx.put_areas(&new).await?;
    let members: Vec<(AreaCode, String)> = boundaries
        .iter()
        .map(|b| (b.code, b.vintage.clone()))
        .collect();
    tx.put_vintages(&members).await?;
    tx.put_boundaries(boundaries).await?;
    summary.links += links.len() as u64;
    tx.put_links(links).await?;
    links.clear();
    boundaries.clear();
    Ok(())
}

/// The area of `vintage` (e.g. `LSOA11`) whose boundary holds the point.
pub async fn locate(
    store: &dyn Store,
    vintage: &str,
    lon: f64,
    lat: f64,
) -> Result<Option<AreaCode>, String> {
    for b in store
        .boundaries_around(vintage, lon, lat)
        .await
        .map_err(|e| e.to_string())?
    {
        let json: serde_json::Value =
            serde_json::from_str(&b.geometry).map_err(|e| e.to_string())?;
        if shape_of(&json).is_some_and(|shape| contains(&shape, lon, lat)) {
            return Ok(Some(b.code));
        }
    }
    Ok(None)
}

/// Imports the ONS postcode directory (NSPL or ONSPD layout: `pcds` or `pcd`,
/// `lsoa11`, `lsoa21`, `lat`, `long`) in one transaction. Postcodes outside England
/// are skipped and counted.
pub async fn import_postcodes(
    store: &dyn Store,
    path: &Path,
) -> Result<ImportSummary, ImportError> {
    let mut table = Table::open(path)?;
    let file = table.file.clone();
    let postcode = table.require(&["pcds", "pcd", "pcd7", "pcd8", "postcode"], "postcode")?;
    let lsoa11 = table.find(&["lsoa11", "lsoa11cd"]);
    let lsoa21 = table.find(&["lsoa21", "lsoa21cd"]);
    if lsoa11.is_none() && lsoa21.is_none() {
        return Err(ImportError::file(
            &file,
            "no LSOA column: expected `lsoa11` or `lsoa21` (the NSPL/ONSPD layout)",
        ));
    }
    let lat = table.find(&["lat", "latitude"]);
    let long = table.find(&["long", "longitude", "lon"]);
    let mut summary = ImportSummary {
        file: file.clone(),
        ..ImportSummary::default()
    };
    let mut tx = store
        .begin()
        .await
        .map_err(|e| ImportError::store(&file, e))?;
    let mut seen: FxHashMap<String, u64> = FxHashMap::default();
    let mut rows: Vec<PostcodeRecord> = Vec::new();
    loop {
        let row = table.next_row()?;
        let done = row.is_none();
        if let Some(row) = row {
            summary.rows += 1;
            let text = row.required(postcode)?;
            let normal = normalise_postcode(text)
                .ok_or_else(|| row.error(postcode, format!("`{text}` is not a postcode")))?;
            let mut outside = false;
            let mut code = |column: Option<usize>| -> Result<Option<AreaCode>, ImportError> {
                let Some(i) = column else { return Ok(None) };
                let text = row.get(i);
                if text.is_empty() {
                    return Ok(None);
                }
                match AreaCode::classify(text) {
                    Ok(CodeVerdict::England(c)) => c
                        .expect(&[syndemic_model::AreaType::Lsoa], "LSOA")
                        .map(Some)
                        .map_err(|e| row.error(i, e.to_string())),
                    Ok(CodeVerdict::OutsideEngland(_)) => {
                        outside = true;
                        Ok(None)
                    }
                    Err(e) => Err(row.error(i, e.to_string())),
                }
            };
            let (l11, l21) = (code(lsoa11)?, code(lsoa21)?);
            if outside || (l11.is_none() && l21.is_none()) {
                summary.skipped_outside_england += 1;
                continue;
            }
            let coordinate = |column: Option<usize>,
                              limit: f64,
                              what: &str|
             -> Result<Option<f64>, ImportError> {
                let Some(i) = column else { return Ok(None) };
                // The directory writes 99.999999 / 0 for postcodes without a grid reference.
                let v = row.number(i)?.filter(|v| *v != 99.999999);
                match v {
                    Some(v) if !(-limit..=limit).contains(&v) => Err(row.error(
                        i,
                        format!("{what} {v} is impossible: it lies between -{limit} and {limit} degrees"),
                    )),
                    v => Ok(v),
                }
            };
            if let Some(first) = seen.insert(normal.clone(), row.line) {
                return Err(row.error(
                    postcode,
                    format!("duplicate key: {normal} is also on line {first}"),
                ));
            }
            let latitude = coordinate(lat, 90.0, "latitude")?;
            rows.push(PostcodeRecord {
                postcode: normal,
                lsoa11: l11,
                lsoa21: l21,
                longitude: if latitude.is_some() {
                    coordinate(long, 180.0, "longitude")?
                } else {
                    None
                },
                latitude,
            });
            summary.values += 1;
        }
        if done || rows.len() >= ROWS_PER_BATCH {
            let met = rows
                .iter()
                .flat_map(|r| [r.lsoa11, r.lsoa21])
                .flatten()
                .map(|code| (code, None));
            create_unknown_areas(tx.as_mut(), &file, met, &mut summary).await?;
            tx.put_postcodes(&rows)
                .await
                .map_err(|e| ImportError::store(&file, e))?;
            rows.clear();
        }
        if done {
            break;
        }
    }
    if summary.rows == 0 {
        return Err(ImportError::file(
            &file,
            "the file has a header but no data rows",
        ));
    }
    finish(tx, &summary, "postcodes").await?;
    Ok(summary)
}
