//! What every JSON API route shares, whichever part it belongs to: errors as JSON
//! (`{"error": "…"}`, store detail only in the log), Open Referral UK's page
//! envelope and paging, CSV of a whole list, strong ETags, and the caller of a
//! route as an extractor per scope (`Caller<S>`).

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use syndemic_access::{Actor, Scope};

use super::auth;
use crate::{AppState, WebError};

/// Errors as JSON: `{"error": "…"}` with 400, 404 or 500.
pub struct ApiError(pub(crate) WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        ApiError(e)
    }
}

impl From<syndemic_store::StoreError> for ApiError {
    fn from(e: syndemic_store::StoreError) -> Self {
        ApiError(WebError::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if let WebError::SignIn | WebError::SignInThen(_) = self.0 {
            return (
                status,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(ErrorOut {
                    error: "authentication required: send an organisation's API token as `Authorization: Bearer …`".into(),
                }),
            )
                .into_response();
        }
        if let WebError::Store(e) = &self.0 {
            // The detail goes to the log, never to the caller.
            tracing::error!(error = %e, "an API request failed on the store");
            return (
                status,
                Json(ErrorOut {
                    error: "the store could not answer just now; nothing was changed: try again"
                        .into(),
                }),
            )
                .into_response();
        }
        (
            status,
            Json(ErrorOut {
                error: self.0.to_string(),
            }),
        )
            .into_response()
    }
}

/// A JSON answer with a strong ETag of its bytes; `If-None-Match` gets 304.
pub(crate) fn tagged<T: Serialize>(headers: &HeaderMap, body: &T) -> Result<Response, WebError> {
    let text = serde_json::to_string(body)
        .map_err(|e| WebError::Internal(format!("an answer could not be written: {e}")))?;
    let tag = format!("\"{:016x}\"", {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        text.hash(&mut h);
        h.finish()
    });
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == tag)
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::ETAG, tag),
        ],
        text,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct Paging {
    pub(crate) page: Option<String>,
    pub(crate) per_page: Option<String>,
    /// `json` (the default, one page in the envelope) or `csv` (every item).
    pub(crate) format: Option<String>,
}

impl Paging {
    /// (page from 1, size, CSV wanted), or 400 saying what is allowed.
    pub(crate) fn parse(&self) -> Result<(usize, usize, bool), WebError> {
        let number = |text: &Option<String>, name: &str, default: usize, max: usize| match text {
            None => Ok(default),
            Some(t) => t
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    WebError::BadRequest(format!("{name}={t}: give a whole number from 1 to {max}"))
                }),
        };
        let csv = match self.format.as_deref() {
            None | Some("json") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(WebError::BadRequest(format!(
                    "format={other}: give json or csv"
                )))
            }
        };
        Ok((
            number(&self.page, "page", 1, 1_000_000)?,
            number(&self.per_page, "per_page", 50, 1_000)?,
            csv,
        ))
    }
}

/// A list: one page in the envelope as JSON, or every item as CSV (columns the
/// items' fields, lists joined with `;`).
pub(crate) fn list<T: Serialize>(
    headers: &HeaderMap,
    items: Vec<T>,
    page: usize,
    size: usize,
    csv: bool,
) -> Result<Response, WebError> {
    let items = items
        .into_iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|e| WebError::Internal(format!("an answer could not be written: {e}")))?;
    if !csv {
        return tagged(headers, &envelope(items, page, size));
    }
    let columns: Vec<String> = items
        .first()
        .and_then(|i| i.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut out = ::csv::Writer::from_writer(Vec::new());
    // Text made safe for a spreadsheet (`syndemic_model::formula_safe`).
    let cell = |v: &Value| {
        let text = match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(";"),
            other => other.to_string(),
        };
        syndemic_model::formula_safe(&text).into_owned()
    };
    let _ = out.write_record(&columns);
    for item in &items {
        let _ = out.write_record(columns.iter().map(|c| cell(&item[c])));
    }
    let body = out.into_inner().unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"syndemic.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The scope an API route needs, as a type, so the route's caller is an extractor:
/// `Caller<ReferralsScope>`.
pub(crate) trait NeedsScope {
    const SCOPE: Scope;
}

/// Routes of `/api/v1/referrals`.
pub(crate) struct ReferralsScope;
impl NeedsScope for ReferralsScope {
    const SCOPE: Scope = Scope::Referrals;
}

/// Routes of the partnership API.
pub(crate) struct PartnershipScope;
impl NeedsScope for PartnershipScope {
    const SCOPE: Scope = Scope::Partnership;
}

/// The caller of an API route that needs the scope `S`: an organisation's API
/// token carrying it, or a signed-in user (`auth::api_caller`). Refused (401 or 403)
/// before the handler runs. A write (any method but GET and HEAD) must send JSON
/// (415 otherwise), and one made with a session cookie rather than a token must
/// also prove it came from our own pages: the session's CSRF token in
/// `X-CSRF-Token`, or an `Origin` naming this site (403 otherwise) — so another
/// site cannot make a signed-in browser write, whatever `SameSite` a browser keeps.
pub(crate) struct Caller<S: NeedsScope>(pub Actor, pub PhantomData<S>);

impl<S: NeedsScope> FromRequestParts<AppState> for Caller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = auth::api_caller(state, &parts.headers, S::SCOPE).await?;
        let writes = !matches!(parts.method, Method::GET | Method::HEAD);
        if writes && !is_json(&parts.headers) {
            return Err(WebError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            )
            .into());
        }
        if writes && !parts.headers.contains_key(header::AUTHORIZATION) {
            let signed = auth::require(state, &parts.headers).await?;
            let token = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| syndemic_access::secret::same_secret(t, &signed.csrf));
            if !token && !same_origin(&parts.headers) {
                return Err(WebError::Forbidden(
                    "a write with a session cookie needs the session's CSRF token in the X-CSRF-Token header, or must come from this site's own pages (Origin); a system uses an API token".into(),
                )
                .into());
            }
        }
        Ok(Caller(actor, PhantomData))
    }
}

/// Whether the body is JSON (`application/json`, or a JSON media type such as
/// FHIR's `application/fhir+json`), whatever its parameters.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

/// Whether `Origin` names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// An error as every API route answers it (schema `Error`).
#[derive(Serialize)]
struct ErrorOut {
    error: String,
}

/// Open Referral UK's page envelope (schema `Page`).
#[derive(Serialize)]
struct Envelope {
    contents: Vec<Value>,
    total_items: usize,
    total_pages: usize,
    page_number: usize,
    size: usize,
    first_page: bool,
    last_page: bool,
    empty: bool,
}

/// Open Referral UK's page envelope around one page of `items`.
fn envelope(items: Vec<Value>, page: usize, size: usize) -> Envelope {
    let total = items.len();
    let pages = total.div_ceil(size).max(1);
    let contents: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    Envelope {
        total_items: total,
        total_pages: pages,
        page_number: page,
        size,
        first_page: page == 1,
        last_page: page >= pages,
        empty: contents.is_empty(),
        contents,
    }
}

/// The check that the API's response types and its OpenAPI document agree: a
/// value written by a response type must carry every property its schema
/// requires, no property the schema does not list, and each of the schema's types.
#[cfg(test)]
pub(crate) mod conformance {
    use serde::Serialize;
    use serde_json::Value;

    fn document() -> Value {
        serde_json::from_str(crate::place::apidocs::OPENAPI).expect("the OpenAPI document is JSON")
    }

    /// Panics, naming every disagreement, unless `value` conforms to the
    /// component schema `name`.
    pub(crate) fn assert_conforms<T: Serialize>(value: &T, name: &str) {
        let doc = document();
        let value = serde_json::to_value(value).expect("a response type writes JSON");
        let schema = doc["components"]["schemas"][name].clone();
        assert!(!schema.is_null(), "the document has no schema `{name}`");
        let mut problems = Vec::new();
        check(&doc, &value, &schema, name, &mut problems);
        assert!(problems.is_empty(), "{name}: {}", problems.join("; "));
    }

    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                &doc["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    fn type_of(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    fn check(doc: &Value, v: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
        let schema = resolve(doc, schema);
        if let Some(alternatives) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
            let fits = alternatives.iter().any(|s| {
                let mut p = Vec::new();
                check(doc, v, s, at, &mut p);
                p.is_empty()
            });
            if !fits {
                problems.push(format!("{at}: fits none of its alternatives"));
            }
            return;
        }
        let allowed: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = type_of(v);
        let fits = allowed.is_empty()
            || allowed.contains(&actual)
            || (actual == "integer" && allowed.contains(&"number"));
        if !fits {
            problems.push(format!("{at}: is {actual}, the schema says {allowed:?}"));
            return;
        }
        match v {
            Value::Object(map) => {
                if let Some(required) = schema["required"].as_array() {
                    for r in required.iter().filter_map(Value::as_str) {
                        if !map.contains_key(r) {
                            problems.push(format!("{at}: lacks required `{r}`"));
                        }
                    }
                }
                if let Some(properties) = schema["properties"].as_object() {
                    for (k, x) in map {
                        match properties.get(k) {
                            Some(s) => check(doc, x, s, &format!("{at}.{k}"), problems),
                            None => problems.push(format!("{at}: `{k}` is not in the schema")),
                        }
                    }
                }
            }
            Value::Array(items) if schema["items"].is_object() => {
                for (i, x) in items.iter().enumerate() {
                    check(doc, x, &schema["items"], &format!("{at}[{i}]"), problems);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::conformance::assert_conforms;
    use super::*;

    #[test]
    fn the_envelope_and_errors_match_the_openapi_document() {
        let items: Vec<Value> = (0..5).map(|i| Value::from(i.to_string())).collect();
        let page = envelope(items, 2, 2);
        assert_eq!(page.contents.len(), 2);
        assert_eq!((page.total_items, page.total_pages), (5, 3));
        assert!(!page.first_page && !page.last_page);
        assert_conforms(&page, "Page");
        assert_conforms(
            &ErrorOut {
                error: "no such API route".into(),
            },
            "Error",
        );
    }
}
