//! Every error a request can meet, mapped to HTTP in one place: a store error is
//! logged and never shown to the person.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use syndemic_model::AreaCode;
use syndemic_place::PlaceError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Internal(String),
    /// Nobody is signed in (pages send them to sign in; the API answers 401).
    #[error("sign in first")]
    SignIn,
    /// Nobody is signed in to see this page: sign in, then come back to it.
    #[error("sign in first")]
    SignInThen(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The request was understood but breaks a rule (a form's fields, a case's lifecycle).
    #[error("{0}")]
    Unprocessable(String),
    /// A body of a type the route does not take (an API write that is not JSON).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the store: {0}")]
    Store(#[from] syndemic_store::StoreError),
}

impl From<PlaceError> for WebError {
    fn from(e: PlaceError) -> WebError {
        match e {
            PlaceError::Missing(m) => WebError::NotFound(m),
            PlaceError::Unusable(m) => WebError::BadRequest(m),
            PlaceError::Store(e) => WebError::Store(e),
        }
    }
}

impl WebError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::SignIn | WebError::SignInThen(_) => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            WebError::Store(_) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let back = match &self {
            WebError::SignIn => Some(None),
            WebError::SignInThen(page) => Some(Some(page.as_str())),
            _ => None,
        };
        if let Some(page) = back {
            let to = match page {
                Some(p) => format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                ),
                None => "/login".to_owned(),
            };
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, to),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
            )
                .into_response();
        }
        let status = self.status();
        if let WebError::Store(e) = &self {
            // The detail goes to the log, never to the person.
            tracing::error!(error = %e, "a page failed on the store");
            return (
                status,
                super::error_page(
                    status,
                    "Something went wrong on our side; nothing was saved. Try again in a moment.",
                ),
            )
                .into_response();
        }
        (status, super::error_page(status, &self.to_string())).into_response()
    }
}

/// Parses a GSS code from a path, or answers 400 saying what a code looks like.
pub(crate) fn parse_code(text: &str) -> Result<AreaCode, WebError> {
    AreaCode::parse(text).map_err(|e| {
        WebError::BadRequest(format!(
            "`{text}` is not an area code: {e} (a GSS code is a letter and eight digits, such as E01006074)"
        ))
    })
}
