//! The evidence store's reads: areas, links, deprivation, indicators, observations, boundaries.

use super::evidence_tx::SqlTx;
use super::*;

fn code_of(row: &AnyRow, column: &str) -> Result<AreaCode> {
    let text: String = row.try_get(column).map_err(sql_error("reading a code"))?;
    AreaCode::parse(&text).map_err(|_| StoreError::Corrupt {
        found: format!("`{text}` in {column}"),
        expected: "a GSS area code",
    })
}

fn period_of(row: &AnyRow) -> Result<Period> {
    let text: String = row
        .try_get("period")
        .map_err(sql_error("reading a period"))?;
    Period::parse(&text).map_err(|_| StoreError::Corrupt {
        found: format!("`{text}` in period"),
        expected: "a period",
    })
}

fn level_of(row: &AnyRow) -> Result<Level> {
    let text: String = row.try_get("level").map_err(sql_error("reading a level"))?;
    Level::from_key(&text).ok_or(StoreError::Corrupt {
        found: format!("`{text}` in level"),
        expected: "a geography level",
    })
}

fn link_of(row: &AnyRow) -> Result<AreaLink> {
    Ok(AreaLink {
        child: code_of(row, "child")?,
        parent: code_of(row, "parent")?,
        level: level_of(row)?,
        vintage: get(row, "vintage")?,
    })
}

fn boundary_of(row: &AnyRow) -> Result<Boundary> {
    Ok(Boundary {
        code: code_of(row, "code")?,
        vintage: get(row, "vintage")?,
        geometry: get(row, "geometry")?,
        simplified: get(row, "simplified")?,
        bbox: [
            get(row, "min_lon")?,
            get(row, "min_lat")?,
            get(row, "max_lon")?,
            get(row, "max_lat")?,
        ],
    })
}

fn deprivation_of(row: &AnyRow) -> Result<Deprivation> {
    Ok(Deprivation {
        area: code_of(row, "area")?,
        edition: get(row, "edition")?,
        domain: get(row, "domain")?,
        rank: get(row, "rank")?,
        decile: get(row, "decile")?,
        score: get(row, "score")?,
    })
}

fn indicator_of(row: &AnyRow) -> Result<Indicator> {
    let polarity: Option<String> = get(row, "polarity")?;
    let disclosure_min: Option<f64> = get(row, "disclosure_min")?;
    let disclosure_max: Option<f64> = get(row, "disclosure_max")?;
    Ok(Indicator {
        id: get(row, "id")?,
        name: get(row, "name")?,
        definition: get(row, "definition")?,
        measure_type: get(row, "measure_type")?,
        multiplier: get(row, "multiplier")?,
        polarity: match polarity {
            Some(text) => Some(Polarity::from_key(&text).ok_or(StoreError::Corrupt {
                found: format!("`{text}` in polarity"),
                expected: "a polarity",
            })?),
            None => None,
        },
        unit: get(row, "unit")?,
        source: get(row, "source")?,
        licence: get(row, "licence")?,
        domain: get(row, "domain")?,
        value_type: get(row, "value_type")?,
        ci_method: get(row, "ci_method")?,
        year_type: get(row, "year_type")?,
        disclosure: match (disclosure_min, disclosure_max) {
            (Some(min), Some(max)) => Some(Disclosure { min, max }),
            _ => None,
        },
    })
}

const OBSERVATION_COLUMNS: &str = "o.indicator, o.area, o.period, o.sex, o.age, o.category_type, o.category, o.count, o.denominator, o.value, o.lower95, o.upper95, o.lower998, o.upper998, o.note, o.compared_to_england, o.compared_to_parent, o.recent_trend";

fn observation_of(row: &AnyRow) -> Result<Observation> {
    Ok(Observation {
        indicator: get(row, "indicator")?,
        area: code_of(row, "area")?,
        period: period_of(row)?,
        sex: get(row, "sex")?,
        age: get(row, "age")?,
        category_type: get(row, "category_type")?,
        category: get(row, "category")?,
        count: get(row, "count")?,
        denominator: get(row, "denominator")?,
        value: get(row, "value")?,
        lower95: get(row, "lower95")?,
        upper95: get(row, "upper95")?,
        lower998: get(row, "lower998")?,
        upper998: get(row, "upper998")?,
        note: get(row, "note")?,
        compared_to_england: get(row, "compared_to_england")?,
        compared_to_parent: get(row, "compared_to_parent")?,
        recent_trend: get(row, "recent_trend")?,
    })
}

#[async_trait]
impl Store for SqlStore {
    async fn begin(&self) -> Result<Box<dyn StoreTx>> {
        // `BEGIN IMMEDIATE` on SQLite: a second import waits for the first.
        let tx = self.tx().await?;
        Ok(Box::new(SqlTx {
            tx,
            backend: self.backend,
        }))
    }

    async fn area(&self, code: AreaCode) -> Result<Option<AreaInfo>> {
        let row = sqlx::query("SELECT code, name, no_known_parent FROM area WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(sql_error("reading an area"))?;
        let Some(row) = row else { return Ok(None) };
        let vintages: Vec<String> =
            sqlx::query_scalar("SELECT vintage FROM area_vintage WHERE code = $1 ORDER BY vintage")
                .bind(code.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(sql_error("reading an area's vintages"))?;
        let no_known_parent: i64 = get(&row, "no_known_parent")?;
        Ok(Some(AreaInfo {
            area: Area {
                code,
                name: get(&row, "name")?,
                no_known_parent: no_known_parent != 0,
            },
            area_type: code.area_type(),
            vintages,
        }))
    }

    async fn areas_of_type(&self, area_type: AreaType) -> Result<Vec<Area>> {
        let rows = sqlx::query(
            "SELECT code, name, no_known_parent FROM area WHERE area_type = $1 ORDER BY code",
        )
        .bind(area_type.key())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading areas"))?;
        rows.iter()
            .map(|row| {
                Ok(Area {
                    code: code_of(row, "code")?,
                    name: get(row, "name")?,
                    no_known_parent: get::<i64>(row, "no_known_parent")? != 0,
                })
            })
            .collect()
    }

    async fn parents(&self, code: AreaCode) -> Result<Vec<ParentInfo>> {
        let rows = sqlx::query(
            "SELECT l.child, l.parent, l.level, l.vintage, a.name FROM area_link l \
             JOIN area a ON a.code = l.parent WHERE l.child = $1 ORDER BY l.level, l.vintage",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading an area's parents"))?;
        let mut out: Vec<ParentInfo> = rows
            .iter()
            .map(|row| {
                Ok(ParentInfo {
                    link: link_of(row)?,
                    name: get(row, "name")?,
                })
            })
            .collect::<Result<_>>()?;
        out.sort_by_key(|p| (p.link.level, p.link.vintage.clone()));
        Ok(out)
    }

    async fn children(&self, parent: AreaCode, vintage: Option<&str>) -> Result<Vec<AreaLink>> {
        let rows = sqlx::query(
            "SELECT child, parent, level, vintage FROM area_link \
             WHERE parent = $1 AND ($2 IS NULL OR vintage = $2) ORDER BY child",
        )
        .bind(parent.as_str())
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading an area's children"))?;
        rows.iter().map(link_of).collect()
    }

    async fn descendants(&self, parent: AreaCode) -> Result<Vec<AreaCode>> {
        // UNION (not UNION ALL) keeps each area once, so a link of an area to
        // itself (a metropolitan district is its own upper tier) ends the walk.
        let rows = sqlx::query(
            "WITH RECURSIVE below(code) AS ( \
                 SELECT code FROM (SELECT child AS code FROM area_link WHERE parent = $1 \
                     UNION SELECT lsoa AS code FROM community_place_area WHERE place = $1) base \
                 UNION \
                 SELECT l.child FROM area_link l JOIN below b ON l.parent = b.code \
             ) SELECT code FROM below WHERE code <> $1 ORDER BY code",
        )
        .bind(parent.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading the areas below an area"))?;
        rows.iter().map(|r| code_of(r, "code")).collect()
    }

    async fn links_of_observed(&self, indicator: &str, above_wards: bool) -> Result<Vec<AreaLink>> {
        let rows = sqlx::query(
            "SELECT l.child, l.parent, l.level, l.vintage FROM area_link l \
             WHERE l.child IN (SELECT DISTINCT o.area FROM observation o \
                 WHERE o.indicator = $1 AND ($2 = 0 OR o.area >= 'E06')) \
             UNION ALL SELECT m.lsoa, m.place, 'community', 'community' FROM community_place_area m \
             WHERE $2 = 0 AND m.lsoa IN (SELECT DISTINCT o.area FROM observation o WHERE o.indicator = $1) \
             ORDER BY 2, 1, 3, 4",
        )
        .bind(indicator)
        .bind(i32::from(above_wards))
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading the links of an indicator's areas"))?;
        rows.iter().map(link_of).collect()
    }

    async fn all_links(&self) -> Result<Vec<AreaLink>> {
        let rows = sqlx::query(
            "SELECT child, parent, level, vintage FROM area_link \
             UNION ALL SELECT lsoa, place, 'community', 'community' FROM community_place_area \
             ORDER BY 2, 1, 3, 4",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading links"))?;
        rows.iter().map(link_of).collect()
    }

    async fn links(&self, level: Level, vintage: &str) -> Result<Vec<AreaLink>> {
        let rows = sqlx::query(
            "SELECT child, parent, level, vintage FROM area_link \
             WHERE level = $1 AND vintage = $2 ORDER BY child",
        )
        .bind(level.key())
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading links"))?;
        rows.iter().map(link_of).collect()
    }

    async fn correspondences(&self, from: &str) -> Result<Vec<Correspondence>> {
        // Stored one way round (earlier vintage first); read either way.
        let rows = sqlx::query(
            "SELECT source, source_vintage, target, target_vintage FROM area_correspondence \
             WHERE source_vintage = $1 \
             UNION ALL SELECT target, target_vintage, source, source_vintage \
             FROM area_correspondence WHERE target_vintage = $1",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading a lookup between vintages"))?;
        let mut out = rows
            .iter()
            .map(|row| {
                Ok(Correspondence {
                    source: code_of(row, "source")?,
                    source_vintage: get(row, "source_vintage")?,
                    target: code_of(row, "target")?,
                    target_vintage: get(row, "target_vintage")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            (&a.target_vintage, a.source, a.target).cmp(&(&b.target_vintage, b.source, b.target))
        });
        Ok(out)
    }

    async fn count_in_vintage(&self, vintage: &str) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM area_vintage WHERE vintage = $1")
            .bind(vintage)
            .fetch_one(&self.pool)
            .await
            .map_err(sql_error("counting areas"))
    }

    async fn area_counts(&self) -> Result<Vec<AreaCount>> {
        let rows = sqlx::query(
            "SELECT area_type, COUNT(*) AS areas, CAST(SUM(no_known_parent) AS BIGINT) AS orphans \
             FROM area GROUP BY area_type",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("counting areas"))?;
        let mut out = rows
            .iter()
            .map(|row| {
                let key: String = get(row, "area_type")?;
                Ok(AreaCount {
                    area_type: AreaType::from_key(&key).ok_or(StoreError::Corrupt {
                        found: format!("`{key}` in area_type"),
                        expected: "an area type",
                    })?,
                    areas: get(row, "areas")?,
                    no_known_parent: get::<Option<i64>>(row, "orphans")?.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|c| c.area_type);
        Ok(out)
    }

    async fn deprivation(&self, code: AreaCode) -> Result<Vec<Deprivation>> {
        let rows = sqlx::query(
            "SELECT area, edition, domain, rank, decile, score FROM deprivation \
             WHERE area = $1 ORDER BY edition, domain",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading deprivation"))?;
        rows.iter().map(deprivation_of).collect()
    }

    async fn deprivation_table(&self, edition: &str, domain: &str) -> Result<Vec<Deprivation>> {
        let rows = sqlx::query(
            "SELECT area, edition, domain, rank, decile, score FROM deprivation \
             WHERE edition = $1 AND domain = $2 ORDER BY area",
        )
        .bind(edition)
        .bind(domain)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading deprivation"))?;
        rows.iter().map(deprivation_of).collect()
    }

    async fn populations(&self, source: &str) -> Result<Vec<Population>> {
        let rows = sqlx::query(
            "SELECT area, period, sex, age, source, population FROM population \
             WHERE source = $1 ORDER BY area, period_sort, sex, age",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading populations"))?;
        rows.iter()
            .map(|row| {
                Ok(Population {
                    area: code_of(row, "area")?,
                    period: period_of(row)?,
                    sex: get(row, "sex")?,
                    age: get(row, "age")?,
                    population: get(row, "population")?,
                    source: get(row, "source")?,
                })
            })
            .collect()
    }

    async fn indicators(&self) -> Result<Vec<Indicator>> {
        let rows = sqlx::query("SELECT * FROM indicator ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading indicators"))?;
        rows.iter().map(indicator_of).collect()
    }

    async fn indicator(&self, id: &str) -> Result<Option<Indicator>> {
        let row = sqlx::query("SELECT * FROM indicator WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(sql_error("reading an indicator"))?;
        row.as_ref().map(indicator_of).transpose()
    }

    async fn observations(&self, indicator: Option<&str>) -> Result<Vec<Observation>> {
        let rows = sqlx::query(&format!(
            "SELECT {OBSERVATION_COLUMNS} FROM observation o WHERE ($1 IS NULL OR o.indicator = $1) \
             ORDER BY o.indicator, o.area, o.period_sort, o.sex, o.age, o.category_type, o.category"
        ))
        .bind(indicator)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading observations"))?;
        rows.iter().map(observation_of).collect()
    }

    async fn observations_above_wards(&self, indicator: &str) -> Result<Vec<Observation>> {
        // Output areas, LSOAs, MSOAs, parishes and wards are E00 to E05 codes, so
        // the rest sort from E06: a seek along the primary key (indicator, area, …).
        let rows = sqlx::query(&format!(
            "SELECT {OBSERVATION_COLUMNS} FROM observation o WHERE o.indicator = $1 \
             AND o.area >= 'E06' \
             ORDER BY o.indicator, o.area, o.period_sort, o.sex, o.age, o.category_type, o.category"
        ))
        .bind(indicator)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading observations"))?;
        rows.iter().map(observation_of).collect()
    }

    async fn latest_observations(&self, code: AreaCode) -> Result<Vec<Observation>> {
        let rows = sqlx::query(&format!(
            "SELECT {OBSERVATION_COLUMNS} FROM observation o WHERE o.area = $1 AND o.period_sort = \
             (SELECT MAX(p.period_sort) FROM observation p WHERE p.area = o.area AND p.indicator = o.indicator) \
             ORDER BY o.indicator, o.sex, o.age, o.category_type, o.category"
        ))
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading an area's latest values"))?;
        rows.iter().map(observation_of).collect()
    }

    async fn compute_runs(&self, indicator: &str) -> Result<Vec<ComputeRun>> {
        let rows = sqlx::query(
            "SELECT input_key, indicator, method, inputs, observations, coverage FROM compute_run \
             WHERE indicator = $1 ORDER BY id",
        )
        .bind(indicator)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading compute runs"))?;
        rows.iter()
            .map(|row| {
                Ok(ComputeRun {
                    input_key: get(row, "input_key")?,
                    indicator: get(row, "indicator")?,
                    method: get(row, "method")?,
                    inputs: get(row, "inputs")?,
                    observations: get(row, "observations")?,
                    coverage: get(row, "coverage")?,
                })
            })
            .collect()
    }

    async fn boundaries_around(&self, vintage: &str, lon: f64, lat: f64) -> Result<Vec<Boundary>> {
        let rows = sqlx::query(
            "SELECT code, vintage, geometry, simplified, min_lon, min_lat, max_lon, max_lat FROM boundary \
             WHERE vintage = $1 AND min_lon <= $2 AND max_lon >= $2 AND min_lat <= $3 AND max_lat >= $3 ORDER BY code",
        )
        .bind(vintage)
        .bind(lon)
        .bind(lat)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading boundaries"))?;
        rows.iter().map(boundary_of).collect()
    }

    async fn boundaries(&self, vintage: &str) -> Result<Vec<Boundary>> {
        let rows = sqlx::query(
            "SELECT code, vintage, geometry, simplified, min_lon, min_lat, max_lon, max_lat FROM boundary \
             WHERE vintage = $1 ORDER BY code",
        )
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading boundaries"))?;
        rows.iter().map(boundary_of).collect()
    }

    async fn neighbours(&self, code: AreaCode, vintage: &str) -> Result<Vec<AreaCode>> {
        let rows = sqlx::query(
            "SELECT neighbour FROM adjacency WHERE area = $1 AND vintage = $2 ORDER BY neighbour",
        )
        .bind(code.as_str())
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading neighbours"))?;
        rows.iter().map(|row| code_of(row, "neighbour")).collect()
    }

    async fn adjacency(&self, vintage: &str) -> Result<Vec<(AreaCode, AreaCode)>> {
        let rows = sqlx::query(
            "SELECT area, neighbour FROM adjacency WHERE vintage = $1 ORDER BY area, neighbour",
        )
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading neighbours"))?;
        rows.iter()
            .map(|row| Ok((code_of(row, "area")?, code_of(row, "neighbour")?)))
            .collect()
    }

    async fn search_areas(&self, text: &str, limit: i64) -> Result<Vec<Area>> {
        // Codes match from the start, names anywhere, case aside.
        let rows = sqlx::query(
            "SELECT code, name, no_known_parent FROM area \
             WHERE UPPER(code) LIKE $1 OR UPPER(COALESCE(name, '')) LIKE $2 \
             ORDER BY CASE WHEN UPPER(code) = $3 THEN 0 ELSE 1 END, LENGTH(COALESCE(name, code)), code LIMIT $4",
        )
        .bind(format!("{}%", text.to_uppercase()))
        .bind(format!("%{}%", text.to_uppercase()))
        .bind(text.to_uppercase())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("searching areas"))?;
        rows.iter()
            .map(|row| {
                Ok(Area {
                    code: code_of(row, "code")?,
                    name: get(row, "name")?,
                    no_known_parent: get::<i64>(row, "no_known_parent")? != 0,
                })
            })
            .collect()
    }

    async fn postcode(&self, postcode: &str) -> Result<Option<PostcodeRecord>> {
        let row = sqlx::query(
            "SELECT postcode, lsoa11, lsoa21, latitude, longitude FROM postcode WHERE postcode = $1",
        )
        .bind(postcode)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("looking a postcode up"))?;
        let Some(row) = row else { return Ok(None) };
        let optional_code = |column: &str| -> Result<Option<AreaCode>> {
            let text: Option<String> = get(&row, column)?;
            text.map(|t| {
                AreaCode::parse(&t).map_err(|_| StoreError::Corrupt {
                    found: format!("`{t}` in {column}"),
                    expected: "a GSS area code",
                })
            })
            .transpose()
        };
        Ok(Some(PostcodeRecord {
            postcode: get(&row, "postcode")?,
            lsoa11: optional_code("lsoa11")?,
            lsoa21: optional_code("lsoa21")?,
            latitude: get(&row, "latitude")?,
            longitude: get(&row, "longitude")?,
        }))
    }

    async fn counts(&self, dataset: &str) -> Result<Vec<CountRow>> {
        let rows = sqlx::query(
            "SELECT dataset, area, period, sex, age_band, numerator, denominator FROM count_row \
             WHERE dataset = $1 ORDER BY area, period_sort, sex, age_band",
        )
        .bind(dataset)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading counts"))?;
        rows.iter()
            .map(|row| {
                Ok(CountRow {
                    dataset: get(row, "dataset")?,
                    area: code_of(row, "area")?,
                    period: period_of(row)?,
                    sex: get(row, "sex")?,
                    age_band: get(row, "age_band")?,
                    numerator: get(row, "numerator")?,
                    denominator: get(row, "denominator")?,
                })
            })
            .collect()
    }

    async fn imports(&self) -> Result<Vec<ImportRecord>> {
        let rows = sqlx::query(
            "SELECT kind, file, rows, skipped, created_without_parent FROM import_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading the import log"))?;
        rows.iter()
            .map(|row| {
                Ok(ImportRecord {
                    kind: get(row, "kind")?,
                    file: get(row, "file")?,
                    rows: get(row, "rows")?,
                    skipped: get(row, "skipped")?,
                    created_without_parent: get(row, "created_without_parent")?,
                })
            })
            .collect()
    }
}
