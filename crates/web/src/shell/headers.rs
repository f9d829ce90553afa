//! Headers on every answer: what a browser may load and run on our pages, who may
//! frame them, what they tell other sites, and which answers must never be kept
//! by a browser or a proxy (anything a signed-in person sees, and every route of
//! the referral hub, accounts and administration).

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::auth::SESSION_COOKIE;

/// No script at all (the pages need none), styles and images from the site (the
/// style attributes of the map keys and comparison cells, and the report's own
/// style sheet, inline), nothing framed and nothing framing us, forms sent only
/// here.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Routes whose answers hold or may hold personal data, whoever asks.
const PERSONAL: &[&str] = &[
    "/hub",
    "/admin",
    "/account",
    "/refer",
    "/referrals",
    "/login",
    "/reset",
    "/api/v1/referrals",
];

fn personal(path: &str) -> bool {
    PERSONAL.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '.', '?']))
    })
}

/// Adds the headers to every answer.
pub(crate) async fn protect(request: Request, next: Next) -> Response {
    let signed_in = super::cookie(request.headers(), SESSION_COOKIE).is_some();
    let no_store = signed_in || personal(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ] {
        headers.insert(name, value);
    }
    if no_store {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.remove(header::ETAG);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::personal;

    #[test]
    fn personal_routes_are_known_by_their_prefix() {
        for path in [
            "/hub",
            "/hub/cases/abc",
            "/admin/users",
            "/account",
            "/refer",
            "/referrals/1",
            "/api/v1/referrals",
            "/hub/reports/records.csv",
        ] {
            assert!(personal(path), "{path}");
        }
        for path in [
            "/",
            "/areas/E01000001",
            "/report/E07900001.pdf",
            "/referee",
            "/hubris",
        ] {
            assert!(!personal(path), "{path}");
        }
    }
}
