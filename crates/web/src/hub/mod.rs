//! The referral hub on the web: the front door, triage and casework, services'
//! referral terms, reports, subject access, the open Open Referral UK directory
//! at `/openreferral`, and the referral API at `/api/v1/referrals`. Sign-in,
//! sessions, accounts and administration are the shell's (`crate::shell`).
//!
//! Every route decides access with `syndemic_access` — by role, then by the
//! record's organisations — before it reads anything personal, and every view,
//! change or export of personal data writes the audit log.

mod api;
mod caseload;
pub(crate) mod cases;
mod directory;
mod front;
mod make;
mod notices;
mod reach;
mod reports;
mod rules;
mod services;
mod subject;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use syndemic_hub::oruk::Directory;
use syndemic_hub::workdays::Calendar;

use crate::{AppState, WebError};
use syndemic_store::prelude::*;

pub use crate::shell::SESSION_COOKIE;

/// The hub's share of the application state.
pub struct Hub {
    directory: tokio::sync::RwLock<Option<Arc<Directory>>>,
    pub(crate) calendar: Calendar,
}

impl Hub {
    pub fn new(calendar: Calendar) -> Hub {
        Hub {
            directory: tokio::sync::RwLock::new(None),
            calendar,
        }
    }

    /// The directory, read from the store once and kept until [`Hub::reload_directory`].
    pub(crate) async fn directory(
        &self,
        db: &dyn ServiceDirectory,
    ) -> Result<Arc<Directory>, WebError> {
        if let Some(d) = self.directory.read().await.as_ref() {
            return Ok(d.clone());
        }
        let mut slot = self.directory.write().await;
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let d = Arc::new(Directory::new(db.directory().await?));
        *slot = Some(d.clone());
        Ok(d)
    }

    /// Forgets the kept directory, so the next read sees an import.
    pub async fn reload_directory(&self) {
        *self.directory.write().await = None;
    }
}

/// The hub's page and API routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hub", get(front::dashboard))
        .route("/refer", get(front::refer_page).post(front::refer))
        .route("/referrals", get(front::my_referrals))
        .route("/referrals/{id}", get(front::my_referral))
        .route("/hub/cases", get(caseload::list).post(caseload::search))
        .route("/notifications", get(notices::list).post(notices::read_all))
        .route("/notifications/{id}", get(notices::open))
        .route("/directory", get(services::list))
        .route("/directory/{id}", get(services::one))
        .route("/hub/cases/{id}", get(cases::case).post(cases::act))
        .route("/hub/cases/{id}/fhir.json", get(cases::fhir))
        .route("/hub/reports", get(reports::page))
        .route("/hub/reports/{file}", get(reports::download))
        .route("/hub/services", get(rules::list))
        .route("/hub/services/{id}", post(rules::save))
        .route(
            "/hub/subject-access",
            get(subject::subject).post(subject::search),
        )
        .route("/hub/subject-access/erase", post(subject::erase))
        .merge(directory::routes())
}

/// The referral API, mounted under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}
