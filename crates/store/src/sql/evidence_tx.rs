//! The evidence store's writes: one transaction per import or compute run.

use super::*;

/// One open transaction.
pub(super) struct SqlTx {
    pub(super) tx: Transaction<'static, Any>,
    pub(super) backend: Backend,
}

/// Parameters per statement (SQLite allows 32,766, PostgreSQL 65,535). Bulk inserts
/// use anonymous `?` parameters on SQLite: sqlx binds each named `$n` by asking
/// SQLite for its name, a linear search, so named parameters cost time quadratic in
/// their number (a 34,000-row lookup took 30 s with `$n` at 30,000 a statement).
const MAX_PARAMETERS: usize = 16_000;

impl SqlTx {
    /// Inserts `rows` with as few statements as the parameter limit allows:
    /// `INSERT INTO {table} ({columns}) VALUES (…), (…) {tail}`.
    async fn insert<T>(
        &mut self,
        table: &str,
        columns: &[&str],
        tail: &str,
        rows: &[T],
        bind: impl for<'q> Fn(
            Query<'q, Any, AnyArguments<'q>>,
            &'q T,
        ) -> Query<'q, Any, AnyArguments<'q>>,
        doing: &'static str,
    ) -> Result<()> {
        let per_statement = (MAX_PARAMETERS / columns.len()).max(1);
        for chunk in rows.chunks(per_statement) {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..columns.len() {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    n += 1;
                    match self.backend {
                        Backend::Sqlite => sql.push('?'),
                        Backend::Postgres => {
                            sql.push('$');
                            sql.push_str(&n.to_string());
                        }
                    }
                }
                sql.push(')');
            }
            sql.push(' ');
            sql.push_str(tail);
            let mut query = nullable_floats(&sql);
            for row in chunk {
                query = bind(query, row);
            }
            query
                .execute(&mut *self.tx)
                .await
                .map_err(sql_error(doing))?;
        }
        Ok(())
    }
}

#[async_trait]
impl StoreTx for SqlTx {
    async fn put_areas(&mut self, areas: &[Area]) -> Result<()> {
        self.insert(
            "area",
            &["code", "area_type", "name", "no_known_parent"],
            "ON CONFLICT (code) DO UPDATE SET name = COALESCE(excluded.name, area.name), \
             no_known_parent = CASE WHEN excluded.no_known_parent = 0 THEN 0 ELSE area.no_known_parent END",
            areas,
            |q, a| {
                q.bind(a.code.as_str())
                    .bind(a.code.area_type().key())
                    .bind(a.name.as_deref())
                    .bind(i64::from(a.no_known_parent))
            },
            "writing areas",
        )
        .await
    }

    async fn put_vintages(&mut self, members: &[(AreaCode, String)]) -> Result<()> {
        self.insert(
            "area_vintage",
            &["code", "vintage"],
            "ON CONFLICT (code, vintage) DO NOTHING",
            members,
            |q, (code, vintage)| q.bind(code.as_str()).bind(vintage.as_str()),
            "writing area vintages",
        )
        .await
    }

    async fn put_links(&mut self, links: &[AreaLink]) -> Result<()> {
        self.insert(
            "area_link",
            &["child", "parent", "level", "vintage"],
            "ON CONFLICT (child, level, vintage) DO UPDATE SET parent = excluded.parent",
            links,
            |q, l| {
                q.bind(l.child.as_str())
                    .bind(l.parent.as_str())
                    .bind(l.level.key())
                    .bind(l.vintage.as_str())
            },
            "writing parent links",
        )
        .await
    }

    async fn put_correspondences(&mut self, rows: &[Correspondence]) -> Result<()> {
        self.insert(
            "area_correspondence",
            &["source", "source_vintage", "target", "target_vintage"],
            "ON CONFLICT (source_vintage, target_vintage, source, target) DO NOTHING",
            rows,
            |q, c| {
                q.bind(c.source.as_str())
                    .bind(c.source_vintage.as_str())
                    .bind(c.target.as_str())
                    .bind(c.target_vintage.as_str())
            },
            "writing a lookup between vintages",
        )
        .await
    }

    async fn put_deprivation(&mut self, rows: &[Deprivation]) -> Result<()> {
        self.insert(
            "deprivation",
            &["area", "edition", "domain", "rank", "decile", "score"],
            "ON CONFLICT (area, edition, domain) DO UPDATE SET rank = excluded.rank, \
             decile = excluded.decile, score = excluded.score",
            rows,
            |q, d| {
                q.bind(d.area.as_str())
                    .bind(d.edition.as_str())
                    .bind(d.domain.as_str())
                    .bind(d.rank)
                    .bind(d.decile)
                    .bind(d.score)
            },
            "writing deprivation",
        )
        .await
    }

    async fn put_populations(&mut self, rows: &[Population]) -> Result<()> {
        self.insert(
            "population",
            &["area", "period", "period_sort", "sex", "age", "source", "population"],
            "ON CONFLICT (area, period, sex, age, source) DO UPDATE SET population = excluded.population",
            rows,
            |q, p| {
                q.bind(p.area.as_str())
                    .bind(p.period.to_string())
                    .bind(p.period.sort_key())
                    .bind(p.sex.as_str())
                    .bind(p.age.as_str())
                    .bind(p.source.as_str())
                    .bind(p.population)
            },
            "writing populations",
        )
        .await
    }

    async fn put_indicator(&mut self, i: &Indicator) -> Result<()> {
        self.insert(
            "indicator",
            &[
                "id",
                "name",
                "definition",
                "measure_type",
                "multiplier",
                "polarity",
                "unit",
                "source",
                "licence",
                "disclosure_min",
                "disclosure_max",
                "domain",
                "value_type",
                "ci_method",
                "year_type",
            ],
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             definition = COALESCE(excluded.definition, indicator.definition), \
             measure_type = COALESCE(excluded.measure_type, indicator.measure_type), \
             multiplier = COALESCE(excluded.multiplier, indicator.multiplier), \
             polarity = COALESCE(excluded.polarity, indicator.polarity), \
             unit = COALESCE(excluded.unit, indicator.unit), \
             source = COALESCE(excluded.source, indicator.source), \
             licence = COALESCE(excluded.licence, indicator.licence), \
             disclosure_min = COALESCE(excluded.disclosure_min, indicator.disclosure_min), \
             disclosure_max = COALESCE(excluded.disclosure_max, indicator.disclosure_max), \
             domain = COALESCE(excluded.domain, indicator.domain), \
             value_type = COALESCE(excluded.value_type, indicator.value_type), \
             ci_method = COALESCE(excluded.ci_method, indicator.ci_method), \
             year_type = COALESCE(excluded.year_type, indicator.year_type)",
            std::slice::from_ref(i),
            |q, i| {
                q.bind(i.id.as_str())
                    .bind(i.name.as_str())
                    .bind(i.definition.as_deref())
                    .bind(i.measure_type.as_deref())
                    .bind(i.multiplier)
                    .bind(i.polarity.map(Polarity::key))
                    .bind(i.unit.as_deref())
                    .bind(i.source.as_deref())
                    .bind(i.licence.as_deref())
                    .bind(i.disclosure.map(|d| d.min))
                    .bind(i.disclosure.map(|d| d.max))
                    .bind(i.domain.as_deref())
                    .bind(i.value_type.as_deref())
                    .bind(i.ci_method.as_deref())
                    .bind(i.year_type.as_deref())
            },
            "writing an indicator",
        )
        .await
    }

    async fn put_observations(&mut self, rows: &[Observation]) -> Result<()> {
        self.insert(
            "observation",
            &[
                "indicator",
                "area",
                "period",
                "period_sort",
                "sex",
                "age",
                "category_type",
                "category",
                "count",
                "denominator",
                "value",
                "lower95",
                "upper95",
                "lower998",
                "upper998",
                "note",
                "compared_to_england",
                "compared_to_parent",
                "recent_trend",
            ],
            "ON CONFLICT (indicator, area, period, sex, age, category_type, category) DO UPDATE SET \
             period_sort = excluded.period_sort, count = excluded.count, denominator = excluded.denominator, \
             value = excluded.value, lower95 = excluded.lower95, upper95 = excluded.upper95, \
             lower998 = excluded.lower998, upper998 = excluded.upper998, note = excluded.note, \
             compared_to_england = excluded.compared_to_england, compared_to_parent = excluded.compared_to_parent, \
             recent_trend = excluded.recent_trend",
            rows,
            |q, o| {
                q.bind(o.indicator.as_str())
                    .bind(o.area.as_str())
                    .bind(o.period.to_string())
                    .bind(o.period.sort_key())
                    .bind(o.sex.as_str())
                    .bind(o.age.as_str())
                    .bind(o.category_type.as_str())
                    .bind(o.category.as_str())
                    .bind(o.count)
                    .bind(o.denominator)
                    .bind(o.value)
                    .bind(o.lower95)
                    .bind(o.upper95)
                    .bind(o.lower998)
                    .bind(o.upper998)
                    .bind(o.note.as_deref())
                    .bind(o.compared_to_england.as_deref())
                    .bind(o.compared_to_parent.as_deref())
                    .bind(o.recent_trend.as_deref())
            },
            "writing observations",
        )
        .await
    }

    async fn missing_areas(&mut self, codes: &[AreaCode]) -> Result<Vec<AreaCode>> {
        let mut missing = Vec::new();
        for chunk in codes.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT code FROM area WHERE code IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for code in chunk {
                query = query.bind(code.as_str());
            }
            let found: Vec<String> = query
                .fetch_all(&mut *self.tx)
                .await
                .map_err(sql_error("looking areas up"))?;
            let found: std::collections::HashSet<String> = found.into_iter().collect();
            missing.extend(chunk.iter().filter(|c| !found.contains(c.as_str())));
        }
        missing.sort();
        missing.dedup();
        Ok(missing)
    }

    async fn name_unnamed_areas(&mut self, names: &[(AreaCode, String)]) -> Result<()> {
        for (code, name) in names {
            sqlx::query("UPDATE area SET name = $1 WHERE code = $2 AND name IS NULL")
                .bind(name.as_str())
                .bind(code.as_str())
                .execute(&mut *self.tx)
                .await
                .map_err(sql_error("naming areas"))?;
        }
        Ok(())
    }

    async fn delete_observations(&mut self, indicator: &str) -> Result<()> {
        sqlx::query("DELETE FROM observation WHERE indicator = $1")
            .bind(indicator)
            .execute(&mut *self.tx)
            .await
            .map_err(sql_error("removing earlier results"))?;
        Ok(())
    }

    async fn record_compute(&mut self, run: &ComputeRun) -> Result<()> {
        sqlx::query(
            "INSERT INTO compute_run (input_key, indicator, method, inputs, observations, coverage) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(run.input_key.as_str())
        .bind(run.indicator.as_str())
        .bind(run.method.as_str())
        .bind(run.inputs.as_str())
        .bind(run.observations)
        .bind(run.coverage.as_str())
        .execute(&mut *self.tx)
        .await
        .map_err(sql_error("recording the compute run"))?;
        Ok(())
    }

    async fn put_boundaries(&mut self, rows: &[Boundary]) -> Result<()> {
        self.insert(
            "boundary",
            &["code", "vintage", "geometry", "simplified", "min_lon", "min_lat", "max_lon", "max_lat"],
            "ON CONFLICT (code, vintage) DO UPDATE SET geometry = excluded.geometry, \
             simplified = excluded.simplified, min_lon = excluded.min_lon, min_lat = excluded.min_lat, \
             max_lon = excluded.max_lon, max_lat = excluded.max_lat",
            rows,
            |q, b| {
                q.bind(b.code.as_str())
                    .bind(b.vintage.as_str())
                    .bind(b.geometry.as_str())
                    .bind(b.simplified.as_str())
                    .bind(b.bbox[0])
                    .bind(b.bbox[1])
                    .bind(b.bbox[2])
                    .bind(b.bbox[3])
            },
            "writing boundaries",
        )
        .await
    }

    async fn put_adjacency(&mut self, pairs: &[(AreaCode, AreaCode, String)]) -> Result<()> {
        self.insert(
            "adjacency",
            &["area", "neighbour", "vintage"],
            "ON CONFLICT (area, neighbour, vintage) DO NOTHING",
            pairs,
            |q, (a, b, v)| q.bind(a.as_str()).bind(b.as_str()).bind(v.as_str()),
            "writing neighbours",
        )
        .await
    }

    async fn put_postcodes(&mut self, rows: &[PostcodeRecord]) -> Result<()> {
        self.insert(
            "postcode",
            &["postcode", "lsoa11", "lsoa21", "latitude", "longitude"],
            "ON CONFLICT (postcode) DO UPDATE SET lsoa11 = excluded.lsoa11, lsoa21 = excluded.lsoa21, \
             latitude = excluded.latitude, longitude = excluded.longitude",
            rows,
            |q, p| {
                q.bind(p.postcode.as_str())
                    .bind(p.lsoa11.map(|c| c.as_str().to_owned()))
                    .bind(p.lsoa21.map(|c| c.as_str().to_owned()))
                    .bind(p.latitude)
                    .bind(p.longitude)
            },
            "writing postcodes",
        )
        .await
    }

    async fn put_counts(&mut self, rows: &[CountRow]) -> Result<()> {
        self.insert(
            "count_row",
            &[
                "dataset",
                "area",
                "period",
                "period_sort",
                "sex",
                "age_band",
                "numerator",
                "denominator",
            ],
            "ON CONFLICT (dataset, area, period, sex, age_band) DO UPDATE SET \
             numerator = excluded.numerator, denominator = excluded.denominator",
            rows,
            |q, c| {
                q.bind(c.dataset.as_str())
                    .bind(c.area.as_str())
                    .bind(c.period.to_string())
                    .bind(c.period.sort_key())
                    .bind(c.sex.as_str())
                    .bind(c.age_band.as_str())
                    .bind(c.numerator)
                    .bind(c.denominator)
            },
            "writing counts",
        )
        .await
    }

    async fn forget_compute_runs(&mut self, indicator: &str) -> Result<()> {
        sqlx::query("DELETE FROM compute_run WHERE indicator = $1")
            .bind(indicator)
            .execute(&mut *self.tx)
            .await
            .map_err(sql_error("forgetting compute runs"))?;
        Ok(())
    }

    async fn record_import(&mut self, r: &ImportRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO import_log (kind, file, rows, skipped, created_without_parent) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(r.kind.as_str())
        .bind(r.file.as_str())
        .bind(r.rows)
        .bind(r.skipped)
        .bind(r.created_without_parent)
        .execute(&mut *self.tx)
        .await
        .map_err(sql_error("recording the import"))?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(sql_error("committing"))
    }
}
