//! Signing in and out, sessions, password reset links, and API tokens.
//!
//! A session id is 32 random bytes in an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` unless the site is served on this machine's loopback address); the
//! store keeps only its SHA-256, so a copy of the database opens no session. A
//! new id is issued at every sign-in and any id the browser sent before is
//! ignored (no session fixation). Each session has its own CSRF token, which every
//! form carries and every POST checks. The sign-in form itself is protected by a
//! double-submitted random cookie. After [`MAX_FAILURES`] wrong passwords in a
//! row an account locks for [`LOCK_SECONDS`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use syndemic_access::secret;
use syndemic_access::{Actor, Scope};

use super::{cookie, now, random_hex, Form, Posted, Signed};
use crate::shell::page;
use crate::{AppState, WebError};

pub const SESSION_COOKIE: &str = "syndemic_session";
const LOGIN_COOKIE: &str = "syndemic_login";
/// Wrong passwords in a row before an account locks.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_SECONDS: i64 = 15 * 60;
/// How long a session lasts from sign-in.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// How long a reset link works.
pub const RESET_SECONDS: i64 = 24 * 3600;

/// Whether the request came to this machine's loopback address (development
/// and tests), where a `Secure` cookie would not be sent back over plain HTTP.
fn local(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

fn set_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age: i64,
    same_site: &str,
) -> HeaderValue {
    let secure = if local(headers) { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
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
    let Some((session, user)) = state.db.session(&hash, now()).await? else {
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

fn login_form(
    state: &AppState,
    login_token: &str,
    message: Option<&str>,
    user_name: &str,
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
                div {
                    label for="user_name" { "User name" }
                    input id="user_name" name="user_name" type="text" autocomplete="username" required value=(user_name);
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

pub(crate) async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let token = random_hex(16)?;
    let mut r = login_form(&state, &token, None, "").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, LOGIN_COOKIE, &token, 3600, "Strict"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

fn refuse(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    message: &str,
    user_name: &str,
) -> Result<Response, WebError> {
    let token = random_hex(16)?;
    let mut r = (status, login_form(state, &token, Some(message), user_name)).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, LOGIN_COOKIE, &token, 3600, "Strict"),
    );
    Ok(r)
}

pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = Form::parse(&body);
    let user_name = form.get("user_name");
    let sent = form.get("login_token");
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if sent.is_empty() || !secret::same_secret(&sent, &expected) {
        return refuse(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            "The sign-in form expired. Try again.",
            &user_name,
        );
    }
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let wrong = "The user name or password is not right.";
    let db = &state.db;
    let Some(user) = db.user_by_name(&user_name).await? else {
        // The same work as for a real account, so timing tells nothing.
        let _ = secret::verify_password(&password, DUMMY_HASH);
        return refuse(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            wrong,
            &user_name,
        );
    };
    let t = now();
    if let Some(until) = user.locked_until.filter(|u| *u > t) {
        let minutes = (until - t + 59) / 60;
        return refuse(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &format!("This account is locked after too many wrong passwords. Try again in {minutes} minutes, or ask your organisation's admin for a reset link."),
            &user_name,
        );
    }
    let password_ok = user.active
        && user
            .password_hash
            .as_deref()
            .is_some_and(|h| secret::verify_password(&password, h));
    // With a second factor set, the password alone is not enough.
    let code_ok = user
        .totp_secret
        .as_deref()
        .is_none_or(|s| syndemic_access::totp::verify(s, &form.get("code"), t));
    let ok = password_ok && code_ok;
    if !ok {
        let (_, locked) = db
            .login_failed(&user.id, t, MAX_FAILURES, LOCK_SECONDS)
            .await?;
        db.audit(&syndemic_store::hub::AuditEntry {
            at: t,
            actor: user.id.clone(),
            org: user.org_id.clone(),
            action: "login-failed".into(),
            subject: "user".into(),
            record: user.id.clone(),
            reason: if locked.is_some() {
                "locked"
            } else {
                "wrong password"
            }
            .into(),
        })
        .await?;
        let message = if locked.is_some() {
            "Too many wrong passwords: this account is now locked for 15 minutes."
        } else if password_ok {
            "Enter the current 6-digit code from your authenticator app."
        } else {
            wrong
        };
        return refuse(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            message,
            &user_name,
        );
    }
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
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/hub")]).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, &id, SESSION_SECONDS, "Strict"),
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, LOGIN_COOKIE, "", 0, "Strict"),
    );
    Ok(r)
}

/// A valid Argon2id hash of a random password, verified against when the user
/// name is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5sWBsLBkjWwv0JexsJ/VvB2bf3H1ed8FoEbXtpY7d6I";

pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted(signed, _): Posted,
) -> Result<Response, WebError> {
    state.db.end_session(&signed.session_hash).await?;
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", 0, "Strict"),
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
