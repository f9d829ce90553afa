//! The page every part's HTML sits in: one `main` landmark, a skip link, the
//! site's navigation; and the error and not-found pages.

use axum::http::StatusCode;
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use crate::AppState;

/// A page of the site around `body`, titled `title`.
pub(crate) fn page(state: &AppState, title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en-GB" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " — " (state.place) " — syndemic" }
                    link rel="stylesheet" href="/assets/site.css";
                }
                body {
                    a class="skip" href="#main" { "Skip to content" }
                    header {
                        nav aria-label="Site" {
                            a href="/" { strong { (state.place) } " place intelligence" }
                            a href="/hidden" { "Hidden deprivation" }
                            a href="/compare" { "Compare areas" }
                            a href="/planner" { "Outreach planner" }
                            a href="/api/v1/docs" { "Open data API" }
                            a href="/hub" { "Referral hub" }
                            a href="/partnerships" { "Partnerships" }
                        }
                    }
                    main id="main" tabindex="-1" {
                        h1 { (title) }
                        (body)
                    }
                    footer { p { "syndemic — place-based health equity. Figures are computed from the evidence store with 95 % confidence limits." } }
                }
            }
        }
        .into_string(),
    )
}

/// The page an error is shown on.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en-GB" {
                head { meta charset="utf-8"; title { (status.as_u16()) " — syndemic" } link rel="stylesheet" href="/assets/site.css"; }
                body { main id="main" { h1 { (status.canonical_reason().unwrap_or("Error")) } p { (message) } p { a href="/" { "Back to the home page" } } } }
            }
        }
        .into_string(),
    )
}

/// The answer where there is no page.
pub(crate) async fn not_found() -> (StatusCode, Html<String>) {
    (
        StatusCode::NOT_FOUND,
        error_page(
            StatusCode::NOT_FOUND,
            "There is no page here. Search for an area from the home page.",
        ),
    )
}
