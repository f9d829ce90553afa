//! The shared shell, owned by no part: the state every handler shares, errors
//! mapped to HTTP, sign-in and sessions (`auth`), a signed-in actor and their
//! CSRF-checked forms (`request`), accounts and administration (`account`,
//! `admin`), the page layout, and the tables, charts and SVG every part draws.

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod auth;
pub(crate) mod charts;
mod error;
mod headers;
mod layout;
pub(crate) mod log;
pub(crate) mod mail;
mod request;
mod state;
pub(crate) mod svg;
pub(crate) mod table;
pub(crate) mod throttle;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

pub(crate) use api::{Caller, PartnershipScope, ReferralsScope};
pub use auth::SESSION_COOKIE;
pub(crate) use error::parse_code;
pub use error::WebError;
pub(crate) use headers::protect;
pub(crate) use layout::{error_page, not_found, page};
pub(crate) use log::{security, Security as SecurityEvent};
pub use mail::Mail;
pub(crate) use request::{
    cookie, new_uuid, now, random_hex, today, Form, Posted, PostedFiles, Signed, Upload,
};
pub use state::{AppState, PseudonymKey, Security, CACHE_SECONDS, IDLE_SECONDS};

/// The shell's routes: signing in and out, reset links, one's account, the
/// administration of users and tokens, the audit log, and the style sheet.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/reset/{token}", get(auth::reset_page).post(auth::reset))
        .route("/account", get(account::page_))
        .route("/account/totp", post(account::totp_action))
        .route("/account/notifications", post(account::mail_settings))
        .route("/hub/audit", get(admin::audit))
        .route("/admin", get(admin::page))
        .route("/admin/users", post(admin::create_user))
        .route("/admin/users/{id}", post(admin::user_action))
        .route("/admin/tokens", post(admin::create_token))
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/admin/indicators", get(admin::disclosure_page))
        .route("/admin/indicators/{id}", post(admin::set_disclosure))
        .route("/assets/site.css", get(stylesheet))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/site.css"),
    )
}
