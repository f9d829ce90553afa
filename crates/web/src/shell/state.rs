//! The state every handler shares: the one store, the caches of observations,
//! pages and boundaries, and the audit entry written on an actor's behalf.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use rustc_hash::FxHashMap;
use std::time::{Duration, Instant};
use syndemic_model::AreaCode;
use syndemic_place::Shapes;

use syndemic_access::Actor;
use syndemic_store::disclosure::{suppress, AreaFamilies};
use syndemic_store::hub::AuditEntry;
use syndemic_store::{Observation, SqlStore};

use super::WebError;
use crate::hub;
use syndemic_store::prelude::*;

/// What every handler shares: the one store (the evidence through its `Store`
/// trait, every part's records through its methods), the referral hub's kept
/// directory, and the drawn boundaries (read once).
#[derive(Clone)]
pub struct AppState {
    pub(crate) db: Arc<dyn Database>,
    /// The referral hub's kept directory and calendar.
    pub(crate) hub: Arc<hub::Hub>,
    pub(crate) place: Arc<str>,
    /// The population source that weights neighbours (e.g. `IoD2019 File 6`).
    pub(crate) population: Option<Arc<str>>,
    shapes: Arc<tokio::sync::OnceCell<Arc<Shapes>>>,
    /// Every stored vintage's outlines, read when a map needs an older one.
    all_shapes: Arc<tokio::sync::OnceCell<Arc<Shapes>>>,
    /// Each indicator's observations with its disclosure rule applied, kept for
    /// [`CACHE_SECONDS`].
    cache: Arc<tokio::sync::Mutex<Cache>>,
    /// Rendered pages by key, kept for [`CACHE_SECONDS`] like the observations
    /// they are drawn from.
    pages: Arc<tokio::sync::Mutex<FxHashMap<String, KeptPage>>>,
    /// The place report's PDF printer: one Chromium at a time, each report printed
    /// once per version.
    pub(crate) printer: Arc<crate::place::report::Printer>,
    /// What the deployment configures about sign-in and secrets.
    pub(crate) security: Arc<Security>,
    /// Per-client throttles of guesses and of the expensive open routes.
    pub(crate) throttle: Arc<super::throttle::Throttle>,
    /// The pseudonym key in use, once known (configured, or kept by the store).
    pseudonyms: Arc<tokio::sync::OnceCell<Arc<[u8]>>>,
    /// The SMTP relay notifications are e-mailed through, if one is configured.
    pub(crate) mail: Option<Arc<super::mail::Mail>>,
}

/// What a deployment configures about sign-in and secrets (`SECURITY.md`).
#[derive(Debug, Clone)]
pub struct Security {
    /// The address people use, e.g. `https://health.example.gov.uk`: cookies are
    /// `Secure` when it is HTTPS (never judged from the `Host` a client sends).
    pub public_url: Option<String>,
    /// The key that seals TOTP secrets at rest.
    pub seal: syndemic_access::seal::SealKey,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A session unused this long ends (besides its absolute end).
    pub idle_seconds: i64,
    /// The key of the hub's pseudonyms (`--pseudonym-key-file`,
    /// `SYNDEMIC_PSEUDONYM_KEY`); without one the store keeps its own.
    pub pseudonym_key: Option<PseudonymKey>,
    /// The key sign-in form tokens are bound to their pre-session with: random
    /// per process, so a restart expires open sign-in forms and nothing else.
    pub(crate) form_key: [u8; 32],
}

/// The secret that keys the pseudonyms of the hub's record download
/// (HMAC-SHA256): 64 hex digits, e.g. from `openssl rand -hex 32`. Never printed.
#[derive(Clone)]
pub struct PseudonymKey(Arc<[u8]>);

impl PseudonymKey {
    /// The key from its 64 hex digits.
    pub fn from_hex(text: &str) -> Result<PseudonymKey, WebError> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(WebError::BadRequest(
                "a pseudonym key is 64 hex digits (`openssl rand -hex 32`)".into(),
            ));
        }
        Ok(PseudonymKey(text.to_ascii_lowercase().into_bytes().into()))
    }

    pub(crate) fn bytes(&self) -> Arc<[u8]> {
        self.0.clone()
    }
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(***)")
    }
}

/// A session unused for 30 minutes ends.
pub const IDLE_SECONDS: i64 = 30 * 60;

impl Security {
    /// Settings for a deployment: its public URL, TOTP sealing key and proxies,
    /// with the default idle timeout.
    pub fn new(
        public_url: Option<String>,
        seal: syndemic_access::seal::SealKey,
        trusted_proxies: Vec<std::net::IpAddr>,
    ) -> Result<Security, WebError> {
        let mut form_key = [0u8; 32];
        getrandom::fill(&mut form_key)
            .map_err(|e| WebError::Internal(format!("no random numbers: {e}")))?;
        Ok(Security {
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            seal,
            trusted_proxies,
            idle_seconds: IDLE_SECONDS,
            pseudonym_key: None,
            form_key,
        })
    }

    /// The same, with the key of the hub's pseudonyms.
    pub fn with_pseudonym_key(mut self, key: PseudonymKey) -> Security {
        self.pseudonym_key = Some(key);
        self
    }

    /// Whether cookies carry `Secure`: the public URL is HTTPS.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

/// A rendered page as kept: its HTML, and the same gzip-compressed once, so that
/// a busy page costs no compression per request.
#[derive(Clone)]
struct KeptPage {
    at: Instant,
    html: Bytes,
    gzip: Bytes,
}

impl KeptPage {
    fn new(html: String) -> Result<KeptPage, WebError> {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(html.as_bytes())
            .and_then(|()| z.flush())
            .map_err(|e| WebError::Internal(format!("cannot compress the page: {e}")))?;
        let gzip = z
            .finish()
            .map_err(|e| WebError::Internal(format!("cannot compress the page: {e}")))?;
        Ok(KeptPage {
            at: Instant::now(),
            html: Bytes::from(html),
            gzip: Bytes::from(gzip),
        })
    }

    /// The page, compressed where the client accepts gzip (the compression layer
    /// leaves an answer that has a `Content-Encoding` as it is).
    fn respond(&self, gzip: bool) -> Response {
        let vary = (header::VARY, "accept-encoding");
        if gzip {
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_ENCODING, "gzip"),
                    vary,
                ],
                self.gzip.clone(),
            )
                .into_response()
        } else {
            ([vary], Html(self.html.clone())).into_response()
        }
    }
}

/// Whether `Accept-Encoding` lists gzip with a weight above zero.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let weight = parts
                .find_map(|p| p.strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f64>().ok())
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case("gzip") || name == "*") && weight > 0.0
        })
}

/// (Indicator id, above the wards only) → when its observations were read, and
/// them.
type Cache = FxHashMap<(String, bool), (Instant, Arc<Vec<Observation>>)>;

/// How long an indicator's observations are served from memory before the store
/// is read again (so an import shows within this time).
pub const CACHE_SECONDS: u64 = 60;

impl AppState {
    /// `place` names the place on every page (e.g. "Hartmoor"); `population` is
    /// the population source that weights averages over areas.
    pub fn new(store: Arc<SqlStore>, place: &str, population: Option<&str>) -> AppState {
        let calendar = syndemic_hub::workdays::Calendar::england_and_wales();
        AppState {
            hub: Arc::new(hub::Hub::new(calendar)),
            db: store as Arc<dyn Database>,
            place: place.into(),
            population: population.map(Into::into),
            shapes: Arc::default(),
            all_shapes: Arc::default(),
            cache: Arc::default(),
            pages: Arc::default(),
            printer: Arc::default(),
            security: Arc::new(
                Security::new(
                    None,
                    syndemic_access::seal::SealKey::random()
                        .expect("the system gives random numbers"),
                    Vec::new(),
                )
                .expect("the system gives random numbers"),
            ),
            throttle: Arc::default(),
            pseudonyms: Arc::default(),
            mail: None,
        }
    }

    /// The key of the hub's pseudonyms: the deployment's, or else the one the
    /// store keeps (made at random the first time, in `store_secret`).
    pub(crate) async fn pseudonym_key(&self) -> Result<Arc<[u8]>, WebError> {
        if let Some(k) = &self.security.pseudonym_key {
            return Ok(k.bytes());
        }
        let key = self
            .pseudonyms
            .get_or_try_init(|| async {
                let fresh = super::random_hex(32)?;
                let kept = self
                    .db
                    .kept_secret("pseudonym-key", &fresh, syndemic_model::date::unix_now())
                    .await?;
                Ok::<_, WebError>(Arc::from(kept.into_bytes()))
            })
            .await?;
        Ok(key.clone())
    }

    /// The same, with a deployment's security settings.
    pub fn with_security(mut self, security: Security) -> AppState {
        self.security = Arc::new(security);
        self
    }

    /// The same, e-mailing notifications through `mail` (the server runs the
    /// mailer in its background; links in the e-mails start with the public URL).
    pub fn with_mail(mut self, mail: super::mail::Mail) -> AppState {
        self.mail = Some(Arc::new(mail));
        self
    }

    /// The same, printing PDFs with `browser` rather than the Chromium on the
    /// `PATH` (`SYNDEMIC_CHROMIUM`).
    pub fn with_pdf_browser(mut self, browser: std::path::PathBuf) -> AppState {
        self.printer = Arc::new(crate::place::report::Printer::with_browser(Some(browser)));
        self
    }

    /// Every observation of `indicator` as it may be published: the indicator's
    /// small-number rule applied, with secondary suppression across categories,
    /// sexes and child areas (`syndemic_store::disclosure`).
    pub(crate) async fn observations(
        &self,
        indicator: &str,
    ) -> Result<Arc<Vec<Observation>>, WebError> {
        self.kept_observations(indicator, false).await
    }

    /// [`AppState::observations`] of the areas above the wards only (districts,
    /// counties, regions, England…): what the profile and report of such an area
    /// read, without the small areas' rows. The same rule applied gives the same
    /// cells (`Store::observations_above_wards` says why).
    pub(crate) async fn observations_above_wards(
        &self,
        indicator: &str,
    ) -> Result<Arc<Vec<Observation>>, WebError> {
        self.kept_observations(indicator, true).await
    }

    /// What the pages of `area` read of an indicator: the rows above the wards for
    /// a district, county, region or England; every row for a small area or ward.
    pub(crate) async fn observations_for_area(
        &self,
        indicator: &str,
        area: AreaCode,
    ) -> Result<Arc<Vec<Observation>>, WebError> {
        use syndemic_model::AreaType;
        // A community place is compared with wards, so it reads them too.
        let small = matches!(
            area.area_type(),
            AreaType::Lsoa | AreaType::Msoa | AreaType::Ward | AreaType::Community
        );
        self.kept_observations(indicator, !small).await
    }

    async fn kept_observations(
        &self,
        indicator: &str,
        above_wards: bool,
    ) -> Result<Arc<Vec<Observation>>, WebError> {
        let key = (indicator.to_owned(), above_wards);
        let mut cache = self.cache.lock().await;
        if let Some((at, rows)) = cache.get(&key) {
            if at.elapsed() < Duration::from_secs(CACHE_SECONDS) {
                return Ok(rows.clone());
            }
        }
        let store = self.db.as_ref();
        let mut rows = if above_wards {
            store.observations_above_wards(indicator).await?
        } else {
            store.observations(Some(indicator)).await?
        };
        if let Some(rule) = store
            .indicator(indicator)
            .await?
            .and_then(|i| i.disclosure_rule())
        {
            // The families of the indicator's own areas only: all that the rule
            // reads of the geography.
            let links = store.links_of_observed(indicator, above_wards).await?;
            suppress(
                &mut rows,
                indicator,
                rule,
                &AreaFamilies::from_links(&links),
            );
        }
        let rows = Arc::new(rows);
        cache.insert(key, (Instant::now(), rows.clone()));
        Ok(rows)
    }

    /// Forgets what is kept of `indicator` and every rendered page, after a change
    /// that must show at once (its small-number rule).
    pub(crate) async fn forget(&self, indicator: &str) {
        self.cache.lock().await.retain(|(id, _), _| id != indicator);
        self.pages.lock().await.clear();
    }

    /// Forgets every kept observation and page, after a change to the
    /// geography (a community place defined or removed).
    pub(crate) async fn forget_all(&self) {
        self.cache.lock().await.clear();
        self.pages.lock().await.clear();
    }

    /// A page rendered at most once per [`CACHE_SECONDS`] for `key`: the profile
    /// and indicator pages read dozens of indicators, and are read far more often
    /// than the store changes. When a kept page goes stale, the first request
    /// renders it again while the others are still answered with the kept one (so
    /// a busy page never has every waiting request render it at once). Errors are
    /// not kept.
    pub(crate) async fn cached_page<F>(
        &self,
        key: String,
        headers: &HeaderMap,
        render: F,
    ) -> Result<Response, WebError>
    where
        F: std::future::Future<Output = Result<Html<String>, WebError>>,
    {
        Ok(self.kept(key, render).await?.respond(accepts_gzip(headers)))
    }

    /// The HTML of a page kept as [`AppState::cached_page`] keeps it (the report's,
    /// which its PDF is printed from).
    pub(crate) async fn kept_html<F>(&self, key: String, render: F) -> Result<Bytes, WebError>
    where
        F: std::future::Future<Output = Result<Html<String>, WebError>>,
    {
        Ok(self.kept(key, render).await?.html)
    }

    async fn kept<F>(&self, key: String, render: F) -> Result<KeptPage, WebError>
    where
        F: std::future::Future<Output = Result<Html<String>, WebError>>,
    {
        let fresh = |at: &Instant| at.elapsed() < Duration::from_secs(CACHE_SECONDS);
        if let Some(kept) = self.pages.lock().await.get_mut(&key) {
            if fresh(&kept.at) {
                return Ok(kept.clone());
            }
            // This request renders; the others keep the kept page meanwhile.
            kept.at = Instant::now();
        }
        let page = KeptPage::new(render.await?.0)?;
        let mut pages = self.pages.lock().await;
        pages.retain(|_, kept| fresh(&kept.at));
        pages.insert(key, page.clone());
        Ok(page)
    }

    /// The hidden-deprivation finder over the kept outlines, weighted by the
    /// configured population source (`syndemic_place::find_hidden`).
    pub(crate) async fn find_hidden(
        &self,
        within: Option<AreaCode>,
        options: syndemic_place::HiddenOptions,
        neighbours: syndemic_place::Neighbours,
    ) -> Result<Vec<syndemic_place::HiddenArea>, WebError> {
        let shapes = self.shapes().await?;
        Ok(syndemic_place::find_hidden(
            self.db.as_ref(),
            &shapes,
            self.population.as_deref(),
            within,
            options,
            neighbours,
        )
        .await?)
    }

    /// Writes one entry of the audit log, as `actor`.
    pub(crate) async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        record: &str,
        reason: &str,
    ) -> Result<(), WebError> {
        self.db
            .audit(&AuditEntry {
                at: syndemic_model::date::unix_now(),
                actor: actor.id.clone(),
                org: actor.org.clone(),
                action: action.into(),
                subject: subject.into(),
                record: record.into(),
                reason: reason.into(),
            })
            .await?;
        Ok(())
    }

    /// The outlines of every stored vintage (read once, and only when a map of an
    /// older vintage's areas asks).
    pub(crate) async fn all_shapes(&self) -> Result<Arc<Shapes>, WebError> {
        let store = self.db.clone();
        self.all_shapes
            .get_or_try_init(|| async move {
                Shapes::load_all(store.as_ref())
                    .await
                    .map(Arc::new)
                    .map_err(WebError::from)
            })
            .await
            .cloned()
    }

    pub(crate) async fn shapes(&self) -> Result<Arc<Shapes>, WebError> {
        let store = self.db.clone();
        self.shapes
            .get_or_try_init(|| async move {
                Shapes::load(store.as_ref())
                    .await
                    .map(Arc::new)
                    .map_err(WebError::from)
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_read_from_accept_encoding() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            accepts_gzip(&h)
        };
        assert!(with("gzip"));
        assert!(with("br, gzip;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
