//! What the server writes to its log, and what it never writes.
//!
//! - The access log (target `access`, at `info`): one line per request with its
//!   method, its route *template* (`/hub/cases/{id}`, never the path a client
//!   sent, which can hold a reset token or a case id, and never a query string,
//!   which can hold a search for a person), its status, its time and its request
//!   id. No body, no header, no cookie, no user name. The request id is the
//!   client's `X-Request-Id` when it is a plain token of 8 to 64 characters, or
//!   else a fresh random one, and is sent back in `X-Request-Id`; every line
//!   logged while the request runs sits in its span.
//! - The security log (target `security`): [`security`] — sign-ins, failures,
//!   lockouts, throttles, denials (401, 403) and administrators' actions, by
//!   account id and organisation id, never a name, a password or a token.
//!
//! Levels come from `RUST_LOG` (or `SYNDEMIC_LOG`); the binary chooses stderr or
//! `--log-file`.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header that carries a request's id both ways.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// What the security log records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Security {
    SignedIn,
    SignInFailed,
    /// A client must wait before guessing again.
    ClientWaits,
    /// An account locked after guesses.
    Locked,
    /// A wrong one-time code on the account page.
    WrongCode,
    /// A throttled open route.
    Throttled,
    /// A request refused 401 or 403.
    Denied,
    /// An administrator's action on an account, a token or a rule.
    Admin,
    /// Abuse of a public form: its honeypot filled, a daily cap reached.
    Abuse,
}

impl Security {
    fn code(self) -> &'static str {
        match self {
            Security::SignedIn => "sign-in",
            Security::SignInFailed => "sign-in-failed",
            Security::ClientWaits => "client-waits",
            Security::Locked => "account-locked",
            Security::WrongCode => "wrong-one-time-code",
            Security::Throttled => "throttled",
            Security::Denied => "denied",
            Security::Admin => "admin-action",
            Security::Abuse => "form-abuse",
        }
    }
}

/// One security event: what happened, who did it (an account or token id,
/// or the client's address before sign-in), in which organisation, and a short
/// detail — never a name, an NHS number, a password or a token. Successes are
/// logged at `info`, the rest at `warn`.
pub(crate) fn security(event: Security, actor: &str, org: &str, detail: &str) {
    let event = event.code();
    // One line per event, whatever a client typed into the detail.
    let detail: String = detail
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let detail = detail.as_str();
    if event == "sign-in" || event == "admin-action" {
        tracing::info!(target: "security", event, actor, org, detail, "security event");
    } else {
        tracing::warn!(target: "security", event, actor, org, detail, "security event");
    }
}

/// The client's request id if it is a plain token, else a fresh one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| syndemic_access::secret::random_hex(8).unwrap_or_else(|_| "-".into()))
}

/// The access log (see the module's doc), and the security log's denials.
pub(crate) async fn access(request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let method: Method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_owned(), |m| m.as_str().to_owned());
    let started = std::time::Instant::now();
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let mut response = next.run(request).instrument(span).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "access",
        id = %id,
        method = %method,
        route = %route,
        status,
        ms = format_args!("{ms:.1}"),
        "request"
    );
    // A failed sign-in is logged as such where it happens.
    if matches!(status, 401 | 403) && route != "/login" {
        security(
            Security::Denied,
            "-",
            "-",
            &format!("{method} {route} {status} request {id}"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_the_clients_only_when_it_is_a_plain_token() {
        let with = |v: &str| {
            Request::builder()
                .header(REQUEST_ID, v)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert_eq!(request_id(&with("abc-123_XYZ.9")), "abc-123_XYZ.9");
        for bad in ["short", "has space in it", "<script>alert(1)</script>"] {
            let id = request_id(&with(bad));
            assert_ne!(id, bad);
            assert_eq!(id.len(), 16, "a fresh one");
        }
    }
}
