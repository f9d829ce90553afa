//! A user's notifications: what changed in the referrals they made and the
//! cases they hold (`syndemic_hub::notify` decides who hears of what), newest
//! first, pages of 25. Opening one marks it read and goes to the referral as
//! that user may see it; "Mark all as read" is a CSRF-checked form. A user sees
//! their own notifications only: another's id answers 404.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use syndemic_hub::notify::Audience;
use syndemic_store::hub::NotificationRecord;

use super::cases::when;
use crate::shell::{now, page, Posted, Signed};
use crate::{AppState, WebError};

/// Notifications on a page.
const PAGE: i64 = 25;

#[derive(serde::Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    done: String,
}

/// Where a notification leads: the referrer's page of the referral, or the case.
fn target(n: &NotificationRecord) -> String {
    match n.audience {
        Audience::Referrer => format!("/referrals/{}", n.referral_id),
        Audience::Caseworker => format!("/hub/cases/{}", n.referral_id),
    }
}

fn mail_state(n: &NotificationRecord) -> String {
    match (n.mail.as_str(), n.mail_at) {
        ("sent", Some(at)) => format!("E-mailed {}", when(at)),
        ("due", Some(_)) => "E-mail not yet delivered: trying again".into(),
        ("due", None) => "E-mail on its way".into(),
        ("failed", _) => "E-mail could not be delivered".into(),
        ("expired", _) => "Not e-mailed (too old by the time it could be sent)".into(),
        _ => "Not e-mailed (your settings)".into(),
    }
}

/// `GET /notifications`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let page_no = match q.page.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| {
                WebError::BadRequest(format!("`page={p}` is not a page number: write page=2"))
            })?,
    };
    let found = state
        .db
        .notifications(&s.user.id, (page_no - 1) * PAGE, PAGE)
        .await?;
    let pages = ((found.total + PAGE - 1) / PAGE).max(1);
    let first = (page_no - 1) * PAGE + 1;
    let last = (first + found.items.len() as i64 - 1).max(0);
    Ok(page(
        &state,
        "Your notifications",
        html! {
            @if q.done == "read" {
                div class="notice" role="status" id="done" tabindex="-1" { p { "All your notifications are marked as read." } }
            }
            p class="lead" {
                @if found.total == 0 {
                    "Nothing yet. You will be told here when a referral you made, or a case assigned to you, changes."
                } @else {
                    "Showing " (first) "–" (last) " of " (found.total) " notifications; " (found.unread) " unread."
                }
            }
            @if found.unread > 0 {
                form method="post" action="/notifications" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" class="secondary" { "Mark all as read" }
                }
            }
            @if !found.items.is_empty() {
                ul class="notices" {
                    @for n in &found.items {
                        li class=(if n.read_at.is_none() { "unread" } else { "read" }) {
                            @if n.read_at.is_none() { strong { "New: " } }
                            a href=(format!("/notifications/{}", n.id)) { (n.topic.sentence(n.audience)) " Reference " (n.reference) "." }
                            br;
                            span class="hint" { (when(n.at)) " · " (mail_state(n)) }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav aria-label="Pages of notifications" class="pages" {
                    @if page_no > 1 { a href=(format!("/notifications?page={}", page_no - 1)) rel="prev" { "Previous page" } " " }
                    span { "Page " (page_no) " of " (pages) }
                    @if page_no < pages { " " a href=(format!("/notifications?page={}", page_no + 1)) rel="next" { "Next page" } }
                }
            }
            p { a href="/account#notifications" { "Choose what is e-mailed to you" } }
        },
    ))
}

/// `GET /notifications/{id}`: marks it read and goes to the referral.
pub(crate) async fn open(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
) -> Result<Response, WebError> {
    let Some(n) = state.db.notification(&s.user.id, &id).await? else {
        return Err(WebError::NotFound(
            "no notification of yours has that id".into(),
        ));
    };
    state.db.mark_read(&s.user.id, Some(&n.id), now()).await?;
    Ok(Redirect::to(&target(&n)).into_response())
}

/// `POST /notifications`: marks every one read.
pub(crate) async fn read_all(
    State(state): State<AppState>,
    Posted(s, _form): Posted,
) -> Result<Response, WebError> {
    state.db.mark_read(&s.user.id, None, now()).await?;
    Ok(Redirect::to("/notifications?done=read#done").into_response())
}
