//! The web application: a place's public intelligence pages — home, search, the
//! area profile, the indicator view with its map, the hidden-deprivation finder,
//! the outreach planner, the place report — and the open JSON API under
//! `/api/v1`, the referral hub and the partnership's pages, all server-rendered
//! from the store. Pages are plain HTML with SVG maps and charts drawn on the
//! server (no tile server, no script needed to read them); the style sheet is
//! compiled into the binary.
//!
//! - `shell`: what every part shares — the state, errors, sign-in and sessions,
//!   CSRF forms, accounts and administration, the page layout, tables and SVG.
//! - `place`: the place intelligence pages and the open data API.
//! - [`hub`]: the referral hub's pages and APIs.
//! - [`partnership`]: partnership and accountability.

pub mod hub;
mod listen;
pub mod partnership;
mod place;
mod shell;

use axum::Router;

pub use listen::{HEADER_SECONDS, MOST_CONNECTIONS, PER_CLIENT, REQUEST_SECONDS};
pub(crate) use shell::parse_code;
pub use shell::{AppState, Mail, PseudonymKey, Security, WebError, CACHE_SECONDS, IDLE_SECONDS};

/// Every route of the application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(place::routes())
        .merge(shell::routes())
        .merge(hub::routes())
        .merge(partnership::routes())
        .nest(
            "/api/v1",
            place::api_routes()
                .merge(hub::api_routes())
                .merge(partnership::api_routes()),
        )
        .fallback(shell::not_found)
        // The planner, the hidden finder and the PDF, a rate per client.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            shell::throttle::open_routes,
        ))
        .with_state(state)
        // A request not answered in time is answered 408.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(listen::REQUEST_SECONDS),
        ))
        // Security headers on every answer, `no-store` on personal ones.
        .layer(axum::middleware::from_fn(shell::protect))
        // gzip for clients that accept it, on answers above 32 bytes (tower-http's
        // default rule: not raster images, which are compressed already).
        .layer(tower_http::compression::CompressionLayer::new())
        // The access log: method, route template, status, time and request id
        // (`X-Request-Id`), never the path a client sent or its query; 401 and
        // 403 also in the security log (`shell::log`).
        .layer(axum::middleware::from_fn(shell::log::access))
}

/// Serves the application on `listener` until the process ends, within the
/// bounds of `listen` (header and request deadlines, connections per client and
/// in all), with the mailer in the background where one is configured.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    if let Some(mail) = state.mail.clone() {
        tokio::spawn(shell::mail::run(state.clone(), mail));
    }
    listen::serve(router(state), listener).await
}
