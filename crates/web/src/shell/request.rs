//! What a request brings and a handler needs first: the signed-in actor, a form
//! checked for its CSRF token, cookies, the clock and fresh ids.

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use syndemic_access::{Action, Actor};
use syndemic_store::hub::UserRecord;

use super::auth;
use crate::{AppState, WebError};

/// Unix seconds now.
pub fn now() -> i64 {
    syndemic_model::date::unix_now()
}

/// Today (UTC).
pub(crate) fn today() -> time::Date {
    syndemic_hub::workdays::date_of(now())
}

/// `n` random bytes from the operating system, as hex.
pub fn random_hex(n: usize) -> Result<String, WebError> {
    syndemic_access::secret::random_hex(n).map_err(|e| WebError::Internal(e.to_string()))
}

/// A random (version 4) UUID: the ids the directory standard expects, and ids
/// that cannot be guessed.
pub(crate) fn new_uuid() -> Result<String, WebError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| WebError::Internal(format!("no random numbers from the system: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = syndemic_access::secret::hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// A request body of `application/x-www-form-urlencoded` fields, repeats kept.
#[derive(Default)]
pub(crate) struct Form(pub(crate) Vec<(String, String)>);

impl Form {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Form {
        Form(pairs)
    }

    pub(crate) fn parse(body: &Bytes) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The field's first value, trimmed; empty if absent.
    pub(crate) fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

/// A cookie's value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Someone signed in: their user, what they may act as, and their session's CSRF token.
pub(crate) struct Signed {
    pub user: UserRecord,
    pub actor: Actor,
    pub csrf: String,
    pub session_hash: String,
}

impl Signed {
    /// The role must allow the action, or the answer is 403.
    pub(crate) fn must(&self, action: Action) -> Result<(), WebError> {
        if syndemic_access::role_allows(self.actor.role, action) {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!(
                "a {} cannot do this",
                self.actor.role.label().to_lowercase()
            )))
        }
    }

    /// The form's CSRF token must be the session's.
    pub(crate) fn check_csrf(&self, form: &Form) -> Result<(), WebError> {
        if syndemic_access::secret::same_secret(&form.get("csrf"), &self.csrf) {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "this form has expired or did not come from this site: go back, reload the page and send it again".into(),
            ))
        }
    }
}

/// The signed-in person, as an extractor: a handler that takes `s: Signed`
/// answers an anonymous request by sending it to sign in (`WebError::SignIn`)
/// before it runs. Pages only; the API's callers are `auth::api_caller`'s.
impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        match auth::require(state, &parts.headers).await {
            // A page asked for: back to it once signed in.
            Err(WebError::SignIn) if parts.method == axum::http::Method::GET => {
                let page = parts
                    .uri
                    .path_and_query()
                    .map_or("/hub", |p| p.as_str())
                    .to_owned();
                Err(match auth::safe_next(&page) {
                    Some(_) => WebError::SignInThen(page),
                    None => WebError::SignIn,
                })
            }
            other => other,
        }
    }
}

/// A page's POST: the signed-in user, and their form — which must carry their
/// session's CSRF token. Every form handler takes it as its last argument, so none
/// can forget the check: an anonymous caller is sent to sign in and a form without
/// the token is refused (403) before the handler runs. The body is read within the
/// router's body limit.
pub(crate) struct Posted(pub Signed, pub Form);

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let s = Signed::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = Form::parse(&body);
        s.check_csrf(&form).map_err(IntoResponse::into_response)?;
        Ok(Posted(s, form))
    }
}

/// A file sent with a form.
pub(crate) struct Upload {
    pub field: String,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Upload {
    /// The one file a form's `field` must carry, or 422 saying so.
    pub(crate) fn one<'a>(files: &'a [Upload], field: &str) -> Result<&'a Upload, WebError> {
        files.iter().find(|f| f.field == field).ok_or_else(|| {
            WebError::Unprocessable(
                "choose a file to import (CSV or XLSX, from the template)".into(),
            )
        })
    }
}

/// A `multipart/form-data` POST from a page: the signed-in user first (an
/// anonymous caller is turned away before the body is read), then the fields and
/// files, then the session's CSRF token, which the form must carry.
pub(crate) struct PostedFiles(pub Signed, pub Form, pub Vec<Upload>);

impl FromRequest<AppState> for PostedFiles {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let (mut parts, body) = request.into_parts();
        let s = Signed::from_request_parts(&mut parts, state).await?;
        let mut multipart = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| WebError::BadRequest(format!("this form could not be read: {e}")))?;
        let mut fields = Vec::new();
        let mut files = Vec::new();
        let bad = |e: MultipartError| {
            WebError::BadRequest(format!(
                "this form could not be read: {e} (files are limited to 2 MB in all)"
            ))
        };
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or("").to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let content_type = field
                        .content_type()
                        .unwrap_or("application/octet-stream")
                        .to_owned();
                    let bytes = field.bytes().await.map_err(bad)?.to_vec();
                    if !file_name.is_empty() && !bytes.is_empty() {
                        files.push(Upload {
                            field: name,
                            file_name,
                            content_type,
                            bytes,
                        });
                    }
                }
                None => fields.push((name, field.text().await.map_err(bad)?)),
            }
        }
        let form = Form::from_pairs(fields);
        s.check_csrf(&form)?;
        Ok(PostedFiles(s, form, files))
    }
}
