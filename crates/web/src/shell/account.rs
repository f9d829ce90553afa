//! A user's own account: turning the second factor (TOTP) on and off, and where
//! notifications are e-mailed. The secret is kept sealed with the deployment's
//! key; a code is accepted once; five wrong codes make the account wait
//! (doubling), as at sign-in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use syndemic_access::totp;

use super::throttle::{too_many, Guess};
use super::{now, security, Form, Posted, SecurityEvent, Signed};
use crate::shell::page;
use crate::{AppState, WebError};

fn render(state: &AppState, s: &Signed, on: bool, body: Markup) -> Html<String> {
    render_with(state, s, on, body, mail_form(state, s, None, None, false))
}

fn render_with(state: &AppState, s: &Signed, on: bool, body: Markup, mail: Markup) -> Html<String> {
    page(
        state,
        "Your account",
        html! {
            p { "Signed in as " strong { (s.user.user_name) } "." }
            h2 { "Second factor" }
            p { "Two-step sign-in is " strong { (if on { "on" } else { "off" }) } "." }
            (body)
            (mail)
        },
    )
}

/// The e-mail settings: the address (as typed, after an error) and which news
/// goes to it. Notifications are always listed in the app.
fn mail_form(
    state: &AppState,
    s: &Signed,
    typed: Option<&Form>,
    error: Option<&str>,
    saved: bool,
) -> Markup {
    let email = typed.map_or_else(
        || s.user.email.clone().unwrap_or_default(),
        |f| f.get("email"),
    );
    let referrals = typed.map_or(s.user.email_referrals, |f| f.get("referrals") == "yes");
    let cases = typed.map_or(s.user.email_cases, |f| f.get("cases") == "yes");
    html! {
        h2 id="notifications" { "Notifications" }
        @if saved {
            div class="notice" role="status" { p { "Your notification settings are saved." } }
        }
        p { "Changes to referrals you made and to cases assigned to you are listed under " a href="/notifications" { "your notifications" } ". They can also be e-mailed to you: an e-mail says only what happened and links here to sign in; it never names the person." }
        @if state.mail.is_none() {
            p class="hint" { "This server sends no e-mail yet (its administrator has not set an SMTP relay): your settings are kept for when it does." }
        }
        @if let Some(e) = error {
            div class="error-summary" role="alert" tabindex="-1" {
                h3 { "There is a problem" }
                ul { li { a href="#email" { (e) } } }
            }
        }
        form method="post" action="/account/notifications" {
            input type="hidden" name="csrf" value=(s.csrf);
            div class=(if error.is_some() { "field has-error" } else { "field" }) {
                label for="email" { "E-mail address" }
                span class="hint" id="email-hint" { "Leave it empty for no e-mail." }
                @if let Some(e) = error { p class="field-error" id="email-error" { (e) } }
                input id="email" name="email" type="email" autocomplete="email" value=(email)
                    aria-describedby=(if error.is_some() { "email-hint email-error" } else { "email-hint" })
                    aria-invalid=[error.map(|_| "true")];
            }
            fieldset {
                legend { "E-mail me when" }
                div { input type="checkbox" id="referrals" name="referrals" value="yes" checked[referrals]; label for="referrals" { "a referral I made changes (accepted, declined, contacted, closed…)" } }
                div { input type="checkbox" id="cases" name="cases" value="yes" checked[cases]; label for="cases" { "a case is assigned to me, or someone else changes a case I hold" } }
            }
            button type="submit" { "Save notification settings" }
        }
    }
}

/// `POST /account/notifications`: saves the user's e-mail settings; an address
/// that is not one is shown again beside the field, with everything typed kept.
pub(crate) async fn mail_settings(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let email = form.get("email");
    if email.len() > 254 || (!email.is_empty() && !super::mail::is_address(&email)) {
        let error =
            "Enter an e-mail address like name@example.gov.uk, or leave it empty for no e-mail";
        let on = s.user.totp_secret.is_some();
        let body = render_with(
            &state,
            &s,
            on,
            html! {},
            mail_form(&state, &s, Some(&form), Some(error), false),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response());
    }
    state
        .db
        .set_mail_settings(
            &s.user.id,
            (!email.is_empty()).then_some(email.as_str()),
            form.get("referrals") == "yes",
            form.get("cases") == "yes",
        )
        .await?;
    state
        .audit(
            &s.actor,
            "change",
            "user",
            &s.user.id,
            "notification settings",
        )
        .await?;
    Ok(axum::response::Redirect::to("/account?saved=notifications#notifications").into_response())
}

/// What `GET /account` may be asked to confirm.
#[derive(serde::Deserialize)]
pub(crate) struct AccountQuery {
    #[serde(default)]
    saved: String,
}

pub(crate) async fn page_(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<AccountQuery>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let on = s.user.totp_secret.is_some();
    let form = html! {
        form method="post" action="/account/totp" {
            input type="hidden" name="csrf" value=(s.csrf);
            @if on {
                div { label for="code" { "Current code, to turn it off" } input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"; }
                button type="submit" name="do" value="off" class="secondary" { "Turn two-step sign-in off" }
            } @else {
                button type="submit" name="do" value="start" { "Set up two-step sign-in" }
            }
        }
    };
    let mail = mail_form(&state, &s, None, None, q.saved == "notifications");
    Ok(render_with(&state, &s, on, form, mail))
}

/// The plain secret of a stored one: opened with the deployment's key, or as it
/// is if it was kept before sealing began.
pub(crate) fn open_secret(state: &AppState, stored: &str) -> Result<String, WebError> {
    if !syndemic_access::seal::is_sealed(stored) {
        return Ok(stored.to_owned());
    }
    state.security.seal.open(stored).map_err(|e| {
        WebError::Internal(format!(
            "a second factor cannot be read: {e} (was the deployment's secret key changed? See SECURITY.md)"
        ))
    })
}

/// Whether `code` is right for `secret` now and not used before; a wrong one
/// counts against the account.
async fn code_right(
    state: &AppState,
    s: &Signed,
    secret: &str,
    code: &str,
) -> Result<Result<bool, Response>, WebError> {
    let t = now();
    if let Some(wait) = state.throttle.waiting(Guess::Code, &s.user.id, t) {
        return Ok(Err(too_many(wait, "wrong codes")));
    }
    let right = match totp::step(secret, code, t) {
        Some(step) => state.db.totp_accept(&s.user.id, step).await?,
        None => false,
    };
    if right {
        state.throttle.forget(Guess::Code, &s.user.id);
    } else {
        security(
            SecurityEvent::WrongCode,
            &s.user.id,
            &s.user.org_id,
            "account page",
        );
        if let Some(wait) = state.throttle.wrong(Guess::Code, &s.user.id, t) {
            return Ok(Err(too_many(wait, "wrong codes")));
        }
    }
    Ok(Ok(right))
}

pub(crate) async fn totp_action(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let db = &state.db;
    match form.get("do").as_str() {
        "start" => {
            let mut bytes = [0u8; 20];
            getrandom::fill(&mut bytes)
                .map_err(|e| WebError::Internal(format!("no random numbers: {e}")))?;
            let secret = totp::to_base32(&bytes);
            let uri = totp::uri("syndemic", &s.user.user_name, &secret);
            let body = html! {
                p { "Add this key to your authenticator app, then enter the code it shows." }
                p { "Key: " code { (secret) } }
                p { "Or the link: " code { (uri) } }
                form method="post" action="/account/totp" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="secret" value=(secret);
                    div { label for="code" { "Code from the app" } input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required; }
                    button type="submit" name="do" value="confirm" { "Turn two-step sign-in on" }
                }
            };
            Ok(render(&state, &s, false, body).into_response())
        }
        "confirm" => {
            let secret = form.get("secret");
            if totp::from_base32(&secret).is_none_or(|b| b.len() < 16) {
                return Err(WebError::BadRequest(
                    "the key is not one this server made: start again".into(),
                ));
            }
            match code_right(&state, &s, &secret, &form.get("code")).await? {
                Err(refused) => return Ok(refused),
                Ok(false) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&state, &s, false, html! { p class="field-error" { "That code is not right: check the app's clock and try again." } })).into_response()),
                Ok(true) => {}
            }
            let sealed = state
                .security
                .seal
                .seal(&secret)
                .map_err(|e| WebError::Internal(e.to_string()))?;
            db.set_totp(&s.user.id, Some(&sealed)).await?;
            // The code just used stays spent.
            if let Some(step) = totp::step(&secret, &form.get("code"), now()) {
                db.totp_accept(&s.user.id, step).await?;
            }
            state
                .audit(&s.actor, "change", "user", &s.user.id, "second factor on")
                .await?;
            Ok(render(&state, &s, true, html! { p { "Two-step sign-in is on: you will be asked for a code each time you sign in." } }).into_response())
        }
        "off" => {
            let Some(stored) = s.user.totp_secret.as_deref() else {
                return Err(WebError::Unprocessable(
                    "two-step sign-in is off already".into(),
                ));
            };
            let secret = open_secret(&state, stored)?;
            let ok = match code_right(&state, &s, &secret, &form.get("code")).await? {
                Err(refused) => return Ok(refused),
                Ok(ok) => ok,
            };
            if !ok {
                return Err(WebError::Unprocessable(
                    "enter the current code to turn two-step sign-in off".into(),
                ));
            }
            db.set_totp(&s.user.id, None).await?;
            state
                .audit(&s.actor, "change", "user", &s.user.id, "second factor off")
                .await?;
            Ok(render(
                &state,
                &s,
                false,
                html! { p { "Two-step sign-in is off." } },
            )
            .into_response())
        }
        other => Err(WebError::BadRequest(format!(
            "`{other}` is not something to do"
        ))),
    }
}
