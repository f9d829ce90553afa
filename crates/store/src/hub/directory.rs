//! The service directory and the services' referral terms.

use super::*;

/// The service directory (Open Referral UK records) and each service's referral terms.
#[async_trait]
pub trait ServiceDirectory: Send + Sync {
    /// Adds or replaces every record of a feed, in one transaction.
    async fn put_directory(&self, feed: &Feed) -> Result<()>;

    async fn directory(&self) -> Result<Feed>;

    /// Sets what a service accepts by referral, and which organisation of ours runs it.
    async fn put_terms(
        &self,
        service_id: &str,
        provider_org: Option<&str>,
        terms: &Terms,
    ) -> Result<()>;

    /// Every service's referral terms: (service id, provider organisation, terms).
    async fn all_terms(&self) -> Result<Vec<(String, Option<String>, Terms)>>;
}

impl SqlStore {
    // --- the directory -----------------------------------------------------------
}

#[async_trait]
impl ServiceDirectory for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn put_directory(&self, feed: &Feed) -> Result<()> {
        let mut tx = self.tx().await?;
        for (kind, records) in [
            ("organization", &feed.organizations),
            ("service", &feed.services),
            ("taxonomy", &feed.taxonomies),
            ("taxonomy_term", &feed.taxonomy_terms),
        ] {
            for (id, doc) in records {
                sqlx::query(
                    "INSERT INTO dir_record (kind, id, doc) VALUES ($1, $2, $3) \
                     ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc",
                )
                .bind(kind)
                .bind(id)
                .bind(doc.to_string())
                .execute(&mut *tx)
                .await
                .map_err(sql_error("saving the directory"))?;
            }
        }
        tx.commit()
            .await
            .map_err(sql_error("committing the directory"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn directory(&self) -> Result<Feed> {
        let rows = sqlx::query("SELECT kind, id, doc FROM dir_record ORDER BY kind, id")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading the directory"))?;
        let mut feed = Feed::default();
        for r in &rows {
            let kind: String = get(r, "kind")?;
            let id: String = get(r, "id")?;
            let doc: Value = json_of(Some(get(r, "doc")?))?.unwrap_or(Value::Null);
            let map = match kind.as_str() {
                "organization" => &mut feed.organizations,
                "service" => &mut feed.services,
                "taxonomy" => &mut feed.taxonomies,
                _ => &mut feed.taxonomy_terms,
            };
            map.insert(id, doc);
            feed.records += 1;
        }
        Ok(feed)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn put_terms(
        &self,
        service_id: &str,
        provider_org: Option<&str>,
        terms: &Terms,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO dir_terms (service_id, provider_org, terms) VALUES ($1, $2, $3) \
             ON CONFLICT (service_id) DO UPDATE SET provider_org = excluded.provider_org, terms = excluded.terms",
        )
        .bind(service_id)
        .bind(provider_org)
        .bind(to_json(terms))
        .execute(&self.pool)
        .await
        .map_err(sql_error("saving a service's referral terms"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn all_terms(&self) -> Result<Vec<(String, Option<String>, Terms)>> {
        let rows = sqlx::query(
            "SELECT service_id, provider_org, terms FROM dir_terms ORDER BY service_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading referral terms"))?;
        rows.iter()
            .map(|r| {
                Ok((
                    get(r, "service_id")?,
                    get(r, "provider_org")?,
                    json_of(Some(get(r, "terms")?))?.unwrap_or_default(),
                ))
            })
            .collect()
    }
}
