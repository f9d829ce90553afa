//! Reports for the hub and its funders: counts only, never a person.
//!
//! A coordinator sees their own hub's referrals; an analyst sees every hub's,
//! with counts from 1 to 4 shown as "<5" (the small-number rule the evidence
//! pages follow), so a report never identifies a person.

use axum::extract::{Path, State};
use axum::response::{Html, Response};
use maud::html;
use rustc_hash::FxHashMap;
use syndemic_access::{report_view, Action, ReportView, Role};
use syndemic_hub::need::{Need, OutcomeCode};
use syndemic_store::hub::ReferralFilter;

use super::cases::clock;
use super::front::org_names;
use crate::shell::page as layout;
use crate::shell::table::{Cell, DataTable, Download};
use crate::shell::Signed;
use crate::{AppState, WebError};

const TABLES: [&str; 7] = [
    "summary", "sources", "needs", "outcomes", "deciles", "partners", "records",
];

fn count(n: usize, suppress: bool) -> Cell {
    if suppress && (1..5).contains(&n) {
        Cell::text("<5")
    } else {
        Cell::Number(Some(n as f64))
    }
}

async fn tables(state: &AppState, s: &Signed) -> Result<Vec<DataTable>, WebError> {
    s.must(Action::Reports)?;
    let view = report_view(s.actor.role);
    let suppress = view == Some(ReportView::EveryHubWithheld);
    let filter = if view == Some(ReportView::OwnHub) {
        ReferralFilter {
            hub_org: Some(s.actor.org.clone()),
            ..ReferralFilter::default()
        }
    } else {
        ReferralFilter::default()
    };
    let db = &state.db;
    let referrals = db.referrals(&filter).await?;
    let ids: rustc_hash::FxHashSet<&str> = referrals.iter().map(|r| r.id.as_str()).collect();
    let outcomes: Vec<_> = db
        .outcomes(None)
        .await?
        .into_iter()
        .filter(|o| ids.contains(o.referral_id.as_str()))
        .collect();
    let orgs = org_names(state).await?;
    let n = referrals.len();

    let mut summary = DataTable::new("Summary", &["Measure", "Value"]);
    let contacted: Vec<u32> = referrals
        .iter()
        .filter(|r| r.first_contact_at.is_some())
        .map(|r| clock(state, r).days)
        .collect();
    let mut sorted = contacted.clone();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).map(|d| f64::from(*d));
    let within = referrals
        .iter()
        .filter(|r| {
            r.first_contact_at.is_some() && clock(state, r).days <= r.urgency.target_working_days()
        })
        .count();
    let health = referrals.iter().filter(|r| r.health_condition).count();
    let saved: f64 = outcomes
        .iter()
        .filter(|o| o.code == OutcomeCode::MoneySaved)
        .filter_map(|o| o.value)
        .sum();
    let overdue = referrals.iter().filter(|r| clock(state, r).overdue).count();
    let share = |k: usize| {
        if n == 0 {
            None
        } else {
            Some(100.0 * k as f64 / n as f64)
        }
    };
    summary.push(vec![Cell::text("Referrals"), count(n, suppress)]);
    summary.push(vec![
        Cell::text("Closed"),
        count(
            referrals.iter().filter(|r| r.status.is_final()).count(),
            suppress,
        ),
    ]);
    summary.push(vec![
        Cell::text("Overdue for first contact"),
        count(overdue, suppress),
    ]);
    summary.push(vec![
        Cell::text("Median working days to first contact"),
        Cell::Number(median),
    ]);
    summary.push(vec![
        Cell::text("Contacted within the urgency's target (%)"),
        Cell::Number(if contacted.is_empty() {
            None
        } else {
            Some(100.0 * within as f64 / contacted.len() as f64)
        }),
    ]);
    summary.push(vec![
        Cell::text("With a health condition (%)"),
        Cell::Number(share(health)),
    ]);
    summary.push(vec![
        Cell::text("Money saved per year (£)"),
        Cell::Number(Some(saved)),
    ]);

    let mut sources = DataTable::new(
        "Referrals by source",
        &["Referring organisation", "Referrals", "Closed"],
    );
    let mut by_source: FxHashMap<&str, (usize, usize)> = FxHashMap::default();
    for r in &referrals {
        let e = by_source.entry(r.referrer_org.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(r.status.is_final());
    }
    let mut rows: Vec<_> = by_source.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    for (org, (k, closed)) in rows {
        sources.push(vec![
            Cell::text(orgs.get(org).map_or(org, |s| s.as_str())),
            count(k, suppress),
            count(closed, suppress),
        ]);
    }

    let mut needs = DataTable::new(
        "Referrals by need (a referral may name several)",
        &["Need", "Referrals"],
    );
    for need in Need::ALL {
        let k = referrals.iter().filter(|r| r.needs.contains(need)).count();
        needs.push(vec![Cell::text(need.label()), count(k, suppress)]);
    }

    let mut outs = DataTable::new("Outcomes", &["Outcome", "Cases", "Total value"]);
    for code in OutcomeCode::ALL {
        let of: Vec<_> = outcomes.iter().filter(|o| o.code == *code).collect();
        let cases: rustc_hash::FxHashSet<&str> =
            of.iter().map(|o| o.referral_id.as_str()).collect();
        let total: f64 = of.iter().filter_map(|o| o.value).sum();
        let has_value = code.value_range().is_some();
        outs.push(vec![
            Cell::text(code.label()),
            count(cases.len(), suppress),
            Cell::Number(has_value.then_some(total)),
        ]);
    }

    let mut deciles = DataTable::new(
        "Referrals by the deprivation decile of the person's area (1 = most deprived 10 %)",
        &["IMD decile", "Referrals"],
    );
    for d in 1..=10 {
        deciles.push(vec![
            Cell::text(d.to_string()),
            count(
                referrals.iter().filter(|r| r.imd_decile == Some(d)).count(),
                suppress,
            ),
        ]);
    }
    deciles.push(vec![
        Cell::text("Not located"),
        count(
            referrals.iter().filter(|r| r.imd_decile.is_none()).count(),
            suppress,
        ),
    ]);

    let mut partners = DataTable::new(
        "Referral partners: who refers, and who has been trained",
        &[
            "Organisation",
            "Sector",
            "Referrers",
            "Trained",
            "Last trained",
            "Referrals",
        ],
    );
    let users = db.users(None).await?;
    for org in db.orgs().await? {
        let refs: Vec<_> = users
            .iter()
            .filter(|u| u.org_id == org.id && u.role == Role::Referrer)
            .collect();
        let trained: Vec<&str> = refs
            .iter()
            .filter_map(|u| u.trained_on.as_deref())
            .collect();
        let made = referrals
            .iter()
            .filter(|r| r.referrer_org == org.id)
            .count();
        if refs.is_empty() && made == 0 {
            continue;
        }
        partners.push(vec![
            Cell::text(org.name.clone()),
            Cell::text(org.sector.clone()),
            Cell::Number(Some(refs.len() as f64)),
            Cell::Number(Some(trained.len() as f64)),
            Cell::text(trained.iter().max().copied().unwrap_or("")),
            count(made, suppress),
        ]);
    }
    // One row per referral, pseudonymised: no name, contact, address, area code or
    // free text; a pseudonym keyed with the deployment's secret (HMAC-SHA256, so
    // nobody without the key can link it to a referral id); month, sector, decile,
    // needs and urgency generalised to k-anonymity (`syndemic_hub::release`), rows
    // still in classes smaller than k withheld.
    let k = syndemic_hub::release::K;
    let pseudonym_heading = format!("Pseudonym (k-anonymous, k = {k})");
    let mut records = DataTable::new(
        format!("Referrals, pseudonymised: every combination of period, sector, decile, needs and urgency shared by at least {k} referrals"),
        &[
            pseudonym_heading.as_str(),
            "Period received",
            "Referrer's sector",
            "Needs",
            "Urgency",
            "IMD decile",
            "Status",
            "Working days to first contact",
            "Outcomes",
            "Money saved (£)",
        ],
    );
    let sectors: FxHashMap<String, String> = db
        .orgs()
        .await?
        .into_iter()
        .map(|o| (o.id, o.sector))
        .collect();
    let quasi: Vec<syndemic_hub::release::Quasi> = referrals
        .iter()
        .map(|r| {
            let day = syndemic_hub::workdays::date_of(r.created_at);
            syndemic_hub::release::Quasi {
                year: day.year(),
                month: u8::from(day.month()),
                sector: sectors.get(&r.referrer_org).cloned().unwrap_or_default(),
                decile: r.imd_decile.and_then(|d| u8::try_from(d).ok()),
                needs: r.needs.iter().map(|n| n.code().to_owned()).collect(),
                urgency: r.urgency.code().to_owned(),
            }
        })
        .collect();
    let released = syndemic_hub::release::release(&quasi, k);
    let key = state.pseudonym_key().await?;
    for (r, q) in referrals.iter().zip(&released.rows) {
        let Some(q) = q else { continue };
        let of: Vec<_> = outcomes.iter().filter(|o| o.referral_id == r.id).collect();
        records.push(vec![
            Cell::text(
                &syndemic_access::secret::keyed_hash(&key, &format!("pseudonym:{}", r.id))[..16],
            ),
            Cell::text(&q.period),
            Cell::text(&q.sector),
            Cell::text(&q.needs),
            Cell::text(&q.urgency),
            Cell::text(&q.decile),
            Cell::text(r.status.code()),
            Cell::Number(r.first_contact_at.map(|_| f64::from(clock(state, r).days))),
            Cell::text(
                of.iter()
                    .map(|o| o.code.code())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Cell::Number(Some(
                of.iter()
                    .filter(|o| o.code == OutcomeCode::MoneySaved)
                    .filter_map(|o| o.value)
                    .sum(),
            )),
        ]);
    }
    Ok(vec![
        summary, sources, needs, outs, deciles, partners, records,
    ])
}

pub(crate) async fn page_(state: &AppState, s: &Signed) -> Result<Html<String>, WebError> {
    let tables = tables(state, s).await?;
    state
        .audit(&s.actor, "view", "report", "hub", "aggregate report")
        .await?;
    Ok(layout(
        state,
        "Hub reports",
        html! {
            p class="lead" { @if report_view(s.actor.role) == Some(ReportView::EveryHubWithheld) { "Every hub's referrals, counts only; counts from 1 to 4 are shown as <5." } @else { "Your hub's referrals, counts only." } }
            @for (name, t) in TABLES.iter().zip(&tables).filter(|(n, _)| **n != "records") {
                (t.html(Some(&Download { path: format!("/hub/reports/{name}"), query: String::new() })))
            }
            h2 { "Pseudonymised records" }
            p { "One row per referral with no name, contact, address, area code or free text, and a pseudonym keyed with the deployment's secret. The period, referrer's sector, IMD decile, needs and urgency are generalised (month to quarter or year, decile to quintile, needs to their number) until every combination is shared by at least " (syndemic_hub::release::K) " referrals (k-anonymity, k = " (syndemic_hub::release::K) "); referrals that would still stand out are left out: "
                a href="/hub/reports/records.csv" { "CSV" } " or " a href="/hub/reports/records.xlsx" { "Excel" } "." }
        },
    ))
}

pub(crate) async fn page(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    page_(&state, &s).await
}

pub(crate) async fn download(
    State(state): State<AppState>,
    Path(file): Path<String>,
    s: Signed,
) -> Result<Response, WebError> {
    let (stem, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| WebError::NotFound("no such report".into()))?;
    let i = TABLES.iter().position(|t| *t == stem).ok_or_else(|| {
        WebError::NotFound(format!(
            "no report `{stem}`: use one of {}",
            TABLES.join(", ")
        ))
    })?;
    let tables = tables(&state, &s).await?;
    state
        .audit(
            &s.actor,
            "export",
            "report",
            stem,
            "aggregate report download",
        )
        .await?;
    tables[i].respond(ext, &format!("hub-{stem}"))
}
