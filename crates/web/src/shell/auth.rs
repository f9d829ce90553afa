//! Signing in and out, sessions, password reset links, and API tokens.
//!
//! A session id is 32 random bytes in an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` when the configured public URL is HTTPS); the store keeps only its
//! SHA-256, so a copy of the database opens no session. A new id is issued at
//! every sign-in and any id the browser sent before is ignored (no session
//! fixation). A session ends [`SESSION_SECONDS`] after sign-in, or after the
//! configured idle time (30 minutes) without a request. Each session has its own
//! CSRF token, which every form carries and every POST checks. The sign-in form
//! is bound to a pre-session: a random cookie, and a token that is its HMAC under
//! a key only this server process holds.
//!
//! Guessing costs the guesser. Every failure answers the same 401 and the same
//! words, after the same Argon2 check, whether the name is unknown, the password
//! wrong or the account locked, so an answer tells nothing about which names
//! exist. One client is stopped (429) after five wrong passwords for one name and
//! after twenty for all names, waits doubling each time
//! (`throttle`); an account locks for everyone only after [`MAX_FAILURES`] wrong
//! passwords in a row, for [`LOCK_SECONDS`], doubled for each lock since its last
//! good sign-in — so locking someone out needs several clients. A one-time code
//! is accepted once (the last time step used is kept), and its secret is kept
//! sealed (`syndemic_access::seal`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use syndemic_access::secret;
use syndemic_access::{Actor, Scope};

use super::throttle::{too_many, Client, Guess, Wait};
use super::{cookie, now, random_hex, security, Form, Posted, SecurityEvent, Signed};
use crate::shell::page;
use crate::{AppState, WebError};

pub const SESSION_COOKIE: &str = "syndemic_session";
const LOGIN_COOKIE: &str = "syndemic_login";
/// Wrong passwords in a row (from any clients) before an account locks.
pub const MAX_FAILURES: i64 = 20;
/// How long a locked account stays locked.
pub const LOCK_SECONDS: i64 = 15 * 60;
/// How long a session lasts from sign-in.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// How long a reset link works.
pub const RESET_SECONDS: i64 = 24 * 3600;

pub(crate) fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.security.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// The token a sign-in form carries: bound to its pre-session cookie by a key
/// only this process holds.
fn login_token(state: &AppState, pre_session: &str) -> String {
    secret::keyed_hash(&state.security.form_key, &format!("sign-in:{pre_session}"))
}

/// The signed-in user of a request, if its session is live.
pub(crate) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Signed>, WebError> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = secret::hash_token(&id);
    let Some((session, user)) = state
        .db
        .session(&hash, now(), state.security.idle_seconds)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Signed {
        actor: Actor {
            id: user.id.clone(),
            org: user.org_id.clone(),
            role: user.role,
        },
        user,
        csrf: session.csrf,
        session_hash: hash,
    }))
}

/// The signed-in user, or a redirect to sign in.
pub(crate) async fn require(state: &AppState, headers: &HeaderMap) -> Result<Signed, WebError> {
    signed_in(state, headers).await?.ok_or(WebError::SignIn)
}

/// The caller of an API route that needs `scope`: an organisation's API token
/// (`Authorization: Bearer …`, checked by one SHA-256 and one indexed read) that
/// carries the scope, acting for its organisation with a referrer's role, or a
/// signed-in user.
pub(crate) async fn api_caller(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<Actor, WebError> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(WebError::SignIn)?;
        let t = state
            .db
            .token_by_hash(&secret::hash_token(token))
            .await?
            .ok_or(WebError::SignIn)?;
        if !t.scopes.iter().any(|s| s == scope.code()) {
            return Err(WebError::Forbidden(format!(
                "this token has no `{}` scope: your organisation's admin can issue one that has",
                scope.code()
            )));
        }
        return Ok(Actor::token(&t.id, t.org_id));
    }
    Ok(require(state, headers).await?.actor)
}

/// What the sign-in form keeps when it is shown again: the name typed, and the
/// page to return to once signed in.
struct Typed<'a> {
    user_name: &'a str,
    next: Option<&'a str>,
}

/// The page to go to after signing in, if `text` is one of this site's own
/// (a path: never another site, `//host` or `/\host`, and never sign-in itself).
pub(crate) fn safe_next(text: &str) -> Option<&str> {
    let ok = text.starts_with('/')
        && !text.starts_with("//")
        && !text.starts_with("/\\")
        && text.len() <= 2000
        && !text.chars().any(|c| c.is_control() || c == '\\')
        && !text.starts_with("/login")
        && !text.starts_with("/logout");
    ok.then_some(text)
}

fn login_form(
    state: &AppState,
    login_token: &str,
    message: Option<&str>,
    typed: &Typed<'_>,
) -> Html<String> {
    page(
        state,
        "Sign in to the referral hub",
        html! {
            @if let Some(m) = message {
                div class="error-summary" role="alert" tabindex="-1" { h2 { "There is a problem" } p { (m) } }
            }
            form method="post" action="/login" class="stack" {
                input type="hidden" name="login_token" value=(login_token);
                @if let Some(next) = typed.next { input type="hidden" name="next" value=(next); }
                div {
                    label for="user_name" { "User name" }
                    input id="user_name" name="user_name" type="text" autocomplete="username" required value=(typed.user_name);
                }
                div {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                div {
                    label for="code" { "Security code" }
                    p class="hint" id="code-hint" { "The 6 digits from your authenticator app, if you have set one up." }
                    input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" aria-describedby="code-hint";
                }
                button type="submit" { "Sign in" }
            }
            p { "Forgotten your password? Ask your organisation's admin for a reset link." }
        },
    )
}

/// A fresh sign-in form and its pre-session cookie, answered with `status`.
fn sign_in_form(
    state: &AppState,
    status: StatusCode,
    message: Option<&str>,
    typed: &Typed<'_>,
) -> Result<Response, WebError> {
    let pre_session = random_hex(16)?;
    let token = login_token(state, &pre_session);
    let mut r = (status, login_form(state, &token, message, typed)).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, LOGIN_COOKIE, &pre_session, 3600),
    );
    Ok(r)
}

pub(crate) async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let next = q
        .iter()
        .find(|(k, _)| k == "next")
        .and_then(|(_, v)| safe_next(v));
    let typed = Typed {
        user_name: "",
        next,
    };
    sign_in_form(&state, StatusCode::OK, None, &typed)
}

/// What every failed sign-in is told, whatever failed.
const WRONG: &str = "The user name or password is not right — or, after many wrong tries, sign-in to this account is paused for a while. Check them, wait, or ask your organisation's admin for a reset link.";

pub(crate) async fn login(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = Form::parse(&body);
    let user_name = form.get("user_name");
    let next = form.get("next");
    let typed = Typed {
        user_name: &user_name,
        next: safe_next(&next),
    };
    let sent = form.get("login_token");
    let pre_session = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if sent.is_empty()
        || pre_session.is_empty()
        || !secret::same_secret(&sent, &login_token(&state, &pre_session))
    {
        return sign_in_form(
            &state,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired. Try again."),
            &typed,
        );
    }
    let t = now();
    let throttle = &state.throttle;
    let name_key = format!("{}|{}", client.0, user_name.trim().to_lowercase());
    if let Some(wait) = throttle
        .waiting(Guess::SignIn, &client.0, t)
        .or_else(|| throttle.waiting(Guess::SignInName, &name_key, t))
    {
        security(
            SecurityEvent::ClientWaits,
            "-",
            "-",
            &format!("client {}: sign-in refused, must wait", client.0),
        );
        return Ok(too_many(wait, "wrong sign-ins"));
    }
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let db = &state.db;
    let user = db.user_by_name(&user_name).await?;
    // One Argon2 check whatever the name, so the time taken tells nothing.
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.as_deref())
        .unwrap_or(DUMMY_HASH);
    let password_right = secret::verify_password(&password, hash);
    let outcome = match &user {
        None => Outcome::Unknown,
        Some(u) if u.locked_until.is_some_and(|until| until > t) => Outcome::Locked,
        Some(u) if !(password_right && u.active) => Outcome::WrongPassword,
        Some(u) => second_factor(&state, u, &form.get("code"), t).await?,
    };
    if outcome != Outcome::Right {
        return failed(
            &state,
            &client,
            &name_key,
            user.as_ref(),
            outcome,
            &typed,
            t,
        )
        .await;
    }
    let Some(user) = user else {
        return Err(WebError::Internal(
            "a right sign-in without its user".into(),
        ));
    };
    throttle.forget(Guess::SignInName, &name_key);
    db.login_succeeded(&user.id).await?;
    // A new session id every time: whatever the browser held before is not reused.
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        db.end_session(&secret::hash_token(&old)).await?;
    }
    let id = random_hex(32)?;
    let csrf = random_hex(32)?;
    db.create_session(
        &secret::hash_token(&id),
        &user.id,
        &csrf,
        t,
        t + SESSION_SECONDS,
    )
    .await?;
    db.audit(&syndemic_store::hub::AuditEntry {
        at: t,
        actor: user.id.clone(),
        org: user.org_id.clone(),
        action: "login".into(),
        subject: "user".into(),
        record: user.id.clone(),
        reason: String::new(),
    })
    .await?;
    security(
        SecurityEvent::SignedIn,
        &user.id,
        &user.org_id,
        &format!("client {}", client.0),
    );
    let to = typed.next.unwrap_or("/hub").to_owned();
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &id, SESSION_SECONDS),
    );
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, "", 0));
    Ok(r)
}

/// How a sign-in went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Right,
    Unknown,
    Locked,
    WrongPassword,
    /// The password was right and the second factor's code missing or wrong.
    WrongCode,
    /// The password was right and the code one already used.
    ReplayedCode,
}

impl Outcome {
    fn reason(self) -> &'static str {
        match self {
            Outcome::Right => "",
            Outcome::Unknown => "unknown user name",
            Outcome::Locked => "account locked",
            Outcome::WrongPassword => "wrong password",
            Outcome::WrongCode => "wrong code",
            Outcome::ReplayedCode => "code used before",
        }
    }
}

/// Checks the second factor of a user whose password was right: the code must
/// be the sealed secret's, and of a time step later than any used before.
async fn second_factor(
    state: &AppState,
    user: &syndemic_store::hub::UserRecord,
    code: &str,
    t: i64,
) -> Result<Outcome, WebError> {
    let Some(stored) = user.totp_secret.as_deref() else {
        return Ok(Outcome::Right);
    };
    let plain = super::account::open_secret(state, stored)?;
    let Some(step) = syndemic_access::totp::step(&plain, code, t) else {
        return Ok(Outcome::WrongCode);
    };
    if !state.db.totp_accept(&user.id, step).await? {
        return Ok(Outcome::ReplayedCode);
    }
    if !syndemic_access::seal::is_sealed(stored) {
        // A secret kept before sealing began: sealed now it has been used.
        let sealed = state
            .security
            .seal
            .seal(&plain)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        state.db.set_totp(&user.id, Some(&sealed)).await?;
        state.db.totp_accept(&user.id, step).await?;
    }
    Ok(Outcome::Right)
}

/// Counts a failed sign-in against the client, the client's tries at the name
/// and the account, audits it, and answers.
async fn failed(
    state: &AppState,
    client: &Client,
    name_key: &str,
    user: Option<&syndemic_store::hub::UserRecord>,
    outcome: Outcome,
    typed: &Typed<'_>,
    t: i64,
) -> Result<Response, WebError> {
    let throttle = &state.throttle;
    let waits: Vec<Wait> = [
        throttle.wrong(Guess::SignIn, &client.0, t),
        throttle.wrong(Guess::SignInName, name_key, t),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut reason = outcome.reason().to_owned();
    if let Some(u) = user {
        if outcome != Outcome::Locked {
            let (_, locked) = state
                .db
                .login_failed(&u.id, t, MAX_FAILURES, LOCK_SECONDS)
                .await?;
            if let Some(until) = locked {
                reason = format!("{reason}; account locked for {} minutes", (until - t) / 60);
                security(
                    SecurityEvent::Locked,
                    &u.id,
                    &u.org_id,
                    &format!("{} minutes", (until - t) / 60),
                );
            }
        }
    }
    // Unknown names are audited too (without the name typed, which may be a
    // password typed in the wrong box), so both cost one write.
    state
        .db
        .audit(&syndemic_store::hub::AuditEntry {
            at: t,
            actor: user.map(|u| u.id.clone()).unwrap_or_default(),
            org: user.map(|u| u.org_id.clone()).unwrap_or_default(),
            action: "login-failed".into(),
            subject: "user".into(),
            record: user.map(|u| u.id.clone()).unwrap_or_default(),
            reason: reason.clone(),
        })
        .await?;
    security(
        SecurityEvent::SignInFailed,
        user.map_or("-", |u| u.id.as_str()),
        user.map_or("-", |u| u.org_id.as_str()),
        &format!("client {}: {reason}", client.0),
    );
    if let Some(wait) = waits.into_iter().max_by_key(|w| w.0) {
        security(
            SecurityEvent::ClientWaits,
            "-",
            "-",
            &format!("client {}: {} seconds", client.0, wait.0),
        );
    }
    let message = match outcome {
        Outcome::WrongCode => "Enter the current 6-digit code from your authenticator app.",
        Outcome::ReplayedCode => {
            "That code was used already: wait for the app to show the next one."
        }
        _ => WRONG,
    };
    sign_in_form(state, StatusCode::UNAUTHORIZED, Some(message), typed)
}

/// A valid Argon2id hash of a random password, verified against when the user
/// name is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5sWBsLBkjWwv0JexsJ/VvB2bf3H1ed8FoEbXtpY7d6I";

pub(crate) async fn logout(
    State(state): State<AppState>,
    Posted(signed, _): Posted,
) -> Result<Response, WebError> {
    state.db.end_session(&signed.session_hash).await?;
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", 0),
    );
    Ok(r)
}

fn reset_form(state: &AppState, token: &str, message: Option<&str>) -> Html<String> {
    page(
        state,
        "Choose a new password",
        html! {
            @if let Some(m) = message {
                div class="error-summary" role="alert" { h2 { "There is a problem" } p { (m) } }
            }
            form method="post" action=(format!("/reset/{token}")) class="stack" {
                div {
                    label for="password" { "New password" }
                    p class="hint" id="password-hint" { "At least 12 characters; three random words make a good one." }
                    input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" aria-describedby="password-hint";
                }
                div {
                    label for="again" { "The new password again" }
                    input id="again" name="again" type="password" autocomplete="new-password" required;
                }
                button type="submit" { "Set the password" }
            }
        },
    )
}

pub(crate) async fn reset_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let user = state
        .db
        .reset_link(&secret::hash_token(&token), now(), false)
        .await?;
    if user.is_none() {
        return Err(WebError::NotFound("This reset link has expired or was used already: ask your organisation's admin for a new one.".into()));
    }
    let mut r = reset_form(&state, &token, None).into_response();
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(r)
}

/// The reset link is its own proof (a secret only its recipient holds, spent on
/// use), so this form needs no session.
pub(crate) async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = Form::parse(&body);
    let hash = secret::hash_token(&token);
    let db = &state.db;
    let Some(user_id) = db.reset_link(&hash, now(), false).await? else {
        return Err(WebError::NotFound(
            "This reset link has expired or was used already.".into(),
        ));
    };
    let user = db
        .user(&user_id)
        .await?
        .ok_or_else(|| WebError::NotFound("no such user".into()))?;
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let again = form
        .0
        .iter()
        .find(|(k, _)| k == "again")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let problem = if password != again {
        Some("The two passwords are not the same.".to_owned())
    } else {
        secret::check_new_password(&password, &user.user_name).err()
    };
    if let Some(p) = problem {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            reset_form(&state, &token, Some(&p)),
        )
            .into_response());
    }
    let hashed = super::admin::hash_new_password(&password)?;
    if db.reset_link(&hash, now(), true).await?.is_none() {
        return Err(WebError::NotFound(
            "This reset link was used already.".into(),
        ));
    }
    db.set_password(&user.id, &hashed).await?;
    db.audit(&syndemic_store::hub::AuditEntry {
        at: now(),
        actor: user.id.clone(),
        org: user.org_id.clone(),
        action: "password-reset".into(),
        subject: "user".into(),
        record: user.id.clone(),
        reason: String::new(),
    })
    .await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response())
}
