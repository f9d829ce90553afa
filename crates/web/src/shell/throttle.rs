//! Per-client throttles: how often one client may ask for the expensive open
//! pages, and how many wrong guesses (passwords, one-time codes) it may make before
//! it must wait, with the wait doubling each time it is made to.
//!
//! A client is its IP address — a whole IPv6 /64, which one household or
//! machine is usually given — or, behind a reverse proxy named in the
//! configuration (`--trusted-proxy`), the last address the proxy put in
//! `X-Forwarded-For`. Everything is held in memory, per server process, and
//! bounded: at most [`MOST_KEYS`] keys are tracked; beyond that, expired ones are
//! dropped first, and a new key is admitted untracked rather than pushing out one
//! that is being throttled.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rustc_hash::FxHashMap;

use crate::AppState;

/// Keys tracked at most (of all kinds together).
pub const MOST_KEYS: usize = 100_000;

/// An expensive open route, limited to a rate per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The outreach planner (page, downloads, API).
    Planner,
    /// The hidden-deprivation finder (page, downloads, API).
    Hidden,
    /// The place report's PDF.
    Pdf,
    /// Answers sent to a residents' survey's public form.
    Survey,
}

/// Something guessed, with a budget of wrong guesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guess {
    /// Wrong sign-ins from one client, whatever names it tries.
    SignIn,
    /// Wrong sign-ins from one client for one user name.
    SignInName,
    /// Wrong one-time codes for one account (turning the second factor on or off).
    Code,
}

/// A rate: at most `burst` at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: f64,
    pub per_minute: f64,
}

/// A budget of wrong guesses: after `most` within `window` seconds, the key waits
/// `wait` seconds, doubled for each wait since it last went a window without
/// guessing (at most 64 times).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub most: u32,
    pub window: i64,
    pub wait: i64,
}

impl Route {
    /// The route's rate per client.
    pub const fn rate(self) -> Rate {
        match self {
            Route::Planner | Route::Hidden => Rate {
                burst: 60.0,
                per_minute: 60.0,
            },
            Route::Pdf => Rate {
                burst: 30.0,
                per_minute: 10.0,
            },
            // A household answering one after another, not a script.
            Route::Survey => Rate {
                burst: 10.0,
                per_minute: 2.0,
            },
        }
    }
}

impl Guess {
    /// The budget of wrong guesses.
    pub const fn budget(self) -> Budget {
        match self {
            // One client may not lock an account: it is stopped at five wrong
            // passwords for a name, long before the account's own lock at
            // `auth::MAX_FAILURES`, and at twenty across all names.
            Guess::SignInName | Guess::Code => Budget {
                most: 5,
                window: 15 * 60,
                wait: 15 * 60,
            },
            Guess::SignIn => Budget {
                most: 20,
                window: 15 * 60,
                wait: 15 * 60,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Route(Route, String),
    Guess(Guess, String),
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    Bucket {
        tokens: f64,
        at: f64,
    },
    Wrong {
        count: u32,
        since: i64,
        waits: u32,
        until: i64,
    },
}

impl Key {
    /// Whether the key's entry can be forgotten at `now` (seconds).
    fn expired(&self, entry: &Entry, now: f64) -> bool {
        match (self, *entry) {
            (Key::Route(r, _), Entry::Bucket { tokens, at }) => {
                tokens + (now - at) * r.rate().per_minute / 60.0 >= r.rate().burst
            }
            (Key::Guess(g, _), Entry::Wrong { since, until, .. }) => {
                (now as i64) > until.max(since + g.budget().window)
            }
            _ => true,
        }
    }
}

/// The throttles of one server.
#[derive(Default)]
pub struct Throttle {
    entries: Mutex<FxHashMap<Key, Entry>>,
}

/// How long to wait, in seconds, when refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait(pub i64);

impl Throttle {
    fn with<T>(
        &self,
        key: Key,
        now: f64,
        f: impl FnOnce(Option<&mut Entry>) -> (T, Option<Entry>),
    ) -> T {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.get_mut(&key) {
            return f(Some(e)).0;
        }
        let (out, new) = f(None);
        if let Some(new) = new {
            if entries.len() >= MOST_KEYS {
                entries.retain(|k, e| !k.expired(e, now));
            }
            if entries.len() < MOST_KEYS {
                entries.insert(key, new);
            }
        }
        out
    }

    /// Takes one request to `route` for `client` at `now` (seconds), or says how
    /// long to wait.
    pub fn take(&self, route: Route, client: &str, now: f64) -> Result<(), Wait> {
        let rate = route.rate();
        self.with(Key::Route(route, client.to_owned()), now, |e| match e {
            Some(Entry::Bucket { tokens, at }) => {
                let have = (*tokens + (now - *at) * rate.per_minute / 60.0).min(rate.burst);
                *at = now;
                if have >= 1.0 {
                    *tokens = have - 1.0;
                    (Ok(()), None)
                } else {
                    *tokens = have;
                    let secs = ((1.0 - have) * 60.0 / rate.per_minute).ceil() as i64;
                    (Err(Wait(secs.max(1))), None)
                }
            }
            _ => (
                Ok(()),
                Some(Entry::Bucket {
                    tokens: rate.burst - 1.0,
                    at: now,
                }),
            ),
        })
    }

    /// Whether `key` must still wait before guessing again.
    pub fn waiting(&self, guess: Guess, key: &str, now: i64) -> Option<Wait> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&Key::Guess(guess, key.to_owned())) {
            Some(Entry::Wrong { until, .. }) if *until > now => Some(Wait(until - now)),
            _ => None,
        }
    }

    /// Counts a wrong guess; returns the wait it starts, if it starts one.
    pub fn wrong(&self, guess: Guess, key: &str, now: i64) -> Option<Wait> {
        let g = guess.budget();
        self.with(Key::Guess(guess, key.to_owned()), now as f64, |e| match e {
            Some(Entry::Wrong {
                count,
                since,
                waits,
                until,
            }) => {
                if now - *since > g.window && *until <= now {
                    // A quiet window: start counting again, but remember the
                    // waits only while the key keeps guessing.
                    if now - (*since).max(*until) > g.window {
                        *waits = 0;
                    }
                    *count = 0;
                    *since = now;
                }
                *count += 1;
                if *count >= g.most {
                    let wait = g.wait * (1 << (*waits).min(6));
                    *waits += 1;
                    *count = 0;
                    *since = now;
                    *until = now + wait;
                    (Some(Wait(wait)), None)
                } else {
                    (None, None)
                }
            }
            _ => {
                let first = Entry::Wrong {
                    count: 1,
                    since: now,
                    waits: 0,
                    until: 0,
                };
                (None, Some(first))
            }
        })
    }

    /// Forgets a key's wrong guesses (after a right one).
    pub fn forget(&self, guess: Guess, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&Key::Guess(guess, key.to_owned()));
    }
}

/// The client a request comes from, as a throttle's key (see the module's notes).
#[derive(Debug, Clone)]
pub struct Client(pub String);

/// The client of a request: its peer address, or behind a trusted proxy the last
/// address in `X-Forwarded-For`, IPv6 cut to its /64.
pub fn client_of(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Client {
    let forwarded = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back()
    };
    let address = match peer {
        Some(p) if trusted.contains(&p) => forwarded().unwrap_or(p),
        Some(p) => p,
        None => return Client("unknown".into()),
    };
    Client(match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    })
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Client, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(client_of(
            peer,
            &parts.headers,
            &state.security.trusted_proxies,
        ))
    }
}

/// A 429 answer saying how long to wait.
pub fn too_many(wait: Wait, what: &str) -> Response {
    let minutes = (wait.0 + 59) / 60;
    let when = if wait.0 < 60 {
        format!("{} seconds", wait.0)
    } else if minutes == 1 {
        "a minute".to_owned()
    } else {
        format!("{minutes} minutes")
    };
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        super::error_page(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many {what} from your connection: try again in {when}."),
        ),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.0.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn open_route(path: &str) -> Option<Route> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let first = path.split('/').nth(1).unwrap_or("");
    let stem = first.split('.').next().unwrap_or("");
    match stem {
        "planner" => Some(Route::Planner),
        "hidden" => Some(Route::Hidden),
        "report" if path.ends_with(".pdf") => Some(Route::Pdf),
        _ => None,
    }
}

/// Throttles the expensive open routes per client: the planner, the hidden
/// finder and the report's PDF.
pub(crate) async fn open_routes(
    State(state): State<AppState>,
    client: Client,
    request: Request,
    next: Next,
) -> Response {
    if let Some(route) = open_route(request.uri().path()) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        if let Err(wait) = state.throttle.take(route, &client.0, now) {
            super::security(
                super::SecurityEvent::Throttled,
                "-",
                "-",
                &format!("client {}: {route:?}", client.0),
            );
            if request.uri().path().starts_with("/api/") {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(serde_json::json!({
                        "error": format!("too many requests from this client: try again in {} seconds", wait.0)
                    })),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&wait.0.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return r;
            }
            return too_many(wait, "requests for this page");
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_refills_and_says_how_long_to_wait() {
        let t = Throttle::default();
        for _ in 0..60 {
            assert!(t.take(Route::Planner, "a", 100.0).is_ok());
        }
        assert_eq!(t.take(Route::Planner, "a", 100.0), Err(Wait(1)));
        assert!(t.take(Route::Planner, "b", 100.0).is_ok(), "another client");
        assert!(t.take(Route::Planner, "a", 101.0).is_ok(), "one a second");
        assert!(t.take(Route::Planner, "a", 101.0).is_err());
    }

    #[test]
    fn wrong_guesses_wait_and_the_wait_doubles() {
        let t = Throttle::default();
        let g = Guess::SignInName.budget();
        let mut now = 1_000;
        for _ in 1..g.most {
            assert_eq!(t.wrong(Guess::SignInName, "c|ada", now), None);
        }
        assert_eq!(t.wrong(Guess::SignInName, "c|ada", now), Some(Wait(g.wait)));
        assert_eq!(
            t.waiting(Guess::SignInName, "c|ada", now + 10),
            Some(Wait(g.wait - 10))
        );
        assert_eq!(t.waiting(Guess::SignInName, "d|ada", now), None);
        now += g.wait;
        assert_eq!(t.waiting(Guess::SignInName, "c|ada", now), None);
        for _ in 1..g.most {
            assert_eq!(t.wrong(Guess::SignInName, "c|ada", now), None);
        }
        assert_eq!(
            t.wrong(Guess::SignInName, "c|ada", now),
            Some(Wait(2 * g.wait)),
            "the second wait is twice the first"
        );
        t.forget(Guess::SignInName, "c|ada");
        assert_eq!(t.waiting(Guess::SignInName, "c|ada", now), None);
    }

    #[test]
    fn clients_are_their_address_or_the_proxys_word_for_it() {
        let h = HeaderMap::new();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_of(Some(ip("192.0.2.7")), &h, &[]).0, "192.0.2.7");
        assert_eq!(
            client_of(Some(ip("2001:db8:1:2:3:4:5:6")), &h, &[]).0,
            "2001:db8:1:2::/64"
        );
        let mut fwd = HeaderMap::new();
        fwd.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.4"),
        );
        assert_eq!(
            client_of(Some(ip("192.0.2.7")), &fwd, &[]).0,
            "192.0.2.7",
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_of(Some(ip("10.0.0.1")), &fwd, &[ip("10.0.0.1")]).0,
            "198.51.100.4",
            "the proxy's own addition, not what the client wrote before it"
        );
        assert_eq!(open_route("/planner.csv"), Some(Route::Planner));
        assert_eq!(open_route("/api/v1/hidden"), Some(Route::Hidden));
        assert_eq!(open_route("/report/E10000016.pdf"), Some(Route::Pdf));
        assert_eq!(open_route("/report/E10000016.html"), None);
        assert_eq!(open_route("/plans"), None);
    }
}
