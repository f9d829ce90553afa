//! Reports for the hub and its funders: counts only, never a person.
//!
//! A coordinator sees their own hub's referrals; an analyst sees every hub's,
//! with counts from 1 to 4 shown as "<5" (the small-number rule the evidence
//! pages follow), so a report never identifies a person.

use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use maud::{html, Markup};
use rustc_hash::FxHashMap;
use syndemic_access::{report_view, Action, ReportView, Role};
use syndemic_hub::need::{Need, OutcomeCode};
use syndemic_hub::status::Status;
use syndemic_hub::FieldError;
use syndemic_store::hub::ReferralFilter;

use super::cases::clock;
use super::front::org_names;
use crate::shell::charts::{trend, TrendPoint};
use crate::shell::page as layout;
use crate::shell::svg::{ranked_bars, Bar};
use crate::shell::table::{Cell, DataTable, Download};
use crate::shell::Signed;
use crate::{AppState, WebError};

const TABLES: [&str; 10] = [
    "summary",
    "months",
    "sources",
    "needs",
    "outcomes",
    "wellbeing",
    "deciles",
    "reach",
    "partners",
    "records",
];

/// The report: its tables in the order of [`TABLES`], and beside some of them a
/// chart of the same figures and a note of what they cover.
struct Report {
    tables: Vec<DataTable>,
    beside: FxHashMap<&'static str, (Option<Markup>, Option<String>)>,
}

/// The days a report covers, by the day each referral was received (both ends
/// included; either may be open).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Period {
    from: Option<time::Date>,
    to: Option<time::Date>,
}

impl Period {
    /// The period an address asks for (`?from=2026-04-01&to=2027-03-31`), or the
    /// fields that cannot be read.
    fn read(pairs: &[(String, String)]) -> (Period, Vec<FieldError>) {
        let mut p = Period::default();
        let mut errors = Vec::new();
        for (k, v) in pairs {
            let slot = match k.as_str() {
                "from" => &mut p.from,
                "to" => &mut p.to,
                _ => continue,
            };
            if v.trim().is_empty() {
                continue;
            }
            match syndemic_model::date::parse_date(v) {
                Ok(d) => *slot = Some(d),
                Err(e) => errors.push(FieldError::new(k.clone(), e)),
            }
        }
        if let (Some(from), Some(to)) = (p.from, p.to) {
            if from > to {
                errors.push(FieldError::new(
                    "to",
                    format!("the last day ({to}) is before the first ({from}): swap them"),
                ));
            }
        }
        (p, errors)
    }

    fn keeps(&self, day: time::Date) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }

    /// The period as an address's query, for downloads.
    fn query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = self.from {
            parts.push(format!("from={f}"));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={t}"));
        }
        parts.join("&")
    }

    fn label(&self) -> String {
        match (self.from, self.to) {
            (None, None) => "every referral received".to_owned(),
            (Some(f), None) => format!("referrals received from {f}"),
            (None, Some(t)) => format!("referrals received up to {t}"),
            (Some(f), Some(t)) => format!("referrals received from {f} to {t}"),
        }
    }
}

fn count(n: usize, suppress: bool) -> Cell {
    if suppress && (1..5).contains(&n) {
        Cell::text("<5")
    } else {
        Cell::Number(Some(n as f64))
    }
}

async fn tables(state: &AppState, s: &Signed, period: &Period) -> Result<Report, WebError> {
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
    let mut referrals = db.referrals(&filter).await?;
    referrals.retain(|r| period.keeps(syndemic_hub::workdays::date_of(r.created_at)));
    let ids: rustc_hash::FxHashSet<&str> = referrals.iter().map(|r| r.id.as_str()).collect();
    let recorded: Vec<_> = db
        .outcomes(None)
        .await?
        .into_iter()
        .filter(|o| o.stands() && ids.contains(o.referral_id.as_str()))
        .collect();
    // Each case counts once per kind of outcome: a grant recorded twice is one
    // grant, of the value recorded last.
    let mut once: FxHashMap<(&str, OutcomeCode), &syndemic_store::hub::OutcomeRecord> =
        FxHashMap::default();
    for o in &recorded {
        let slot = once.entry((o.referral_id.as_str(), o.code)).or_insert(o);
        if o.at >= slot.at {
            *slot = o;
        }
    }
    let mut outcomes: Vec<&syndemic_store::hub::OutcomeRecord> = once.into_values().collect();
    outcomes.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
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

    let mut months = DataTable::new(
        "Referrals by the month they were received",
        &[
            "Month",
            "Referrals",
            "Closed",
            "Declined",
            "Median working days to first contact",
        ],
    );
    let mut by_month: std::collections::BTreeMap<
        (i32, u8),
        Vec<&syndemic_store::hub::ReferralRecord>,
    > = std::collections::BTreeMap::new();
    for r in &referrals {
        let day = syndemic_hub::workdays::date_of(r.created_at);
        by_month
            .entry((day.year(), u8::from(day.month())))
            .or_default()
            .push(r);
    }
    for ((year, month), rs) in &by_month {
        let mut days: Vec<u32> = rs
            .iter()
            .filter(|r| r.first_contact_at.is_some())
            .map(|r| clock(state, r).days)
            .collect();
        days.sort_unstable();
        months.push(vec![
            Cell::text(format!("{year}-{month:02}")),
            count(rs.len(), suppress),
            count(
                rs.iter().filter(|r| r.status == Status::Closed).count(),
                suppress,
            ),
            count(
                rs.iter().filter(|r| r.status == Status::Declined).count(),
                suppress,
            ),
            Cell::Number(days.get(days.len() / 2).map(|d| f64::from(*d))),
        ]);
    }

    let mut wellbeing = DataTable::new(
        "Wellbeing: mean change from the start of a case to its close, paired case by case, with its 95 % confidence interval (Student's t)",
        &[
            "Scale",
            "Cases with both scores",
            "Cases with one score only",
            "Mean at start",
            "Mean at close",
            "Mean change",
            "95 % confidence interval",
        ],
    );
    let scores: Vec<syndemic_hub::wellbeing::Score> = outcomes
        .iter()
        .filter_map(|o| {
            Some(syndemic_hub::wellbeing::Score {
                case: o.referral_id.as_str(),
                code: o.code,
                value: o.value?,
                at: o.at,
            })
        })
        .collect();
    for scale in syndemic_hub::wellbeing::SCALES {
        let pairs = syndemic_hub::wellbeing::pair(&scores, scale);
        let n = pairs.pairs.len();
        let withheld = suppress && (1..5).contains(&n);
        let (change, lower, upper) = if withheld {
            (None, None, None)
        } else {
            paired_change(&pairs.differences())?
        };
        let (start, close) = match pairs.means() {
            Some((a, b)) if !withheld => (Some(a), Some(b)),
            _ => (None, None),
        };
        wellbeing.push(vec![
            Cell::text(scale.name),
            count(n, suppress),
            count(pairs.unpaired, suppress),
            Cell::Number(start),
            Cell::Number(close),
            Cell::Number(change),
            Cell::Range(lower, upper),
        ]);
    }

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
    let (reach, reach_chart, reach_note) =
        super::reach::reach_report(state, &referrals, suppress).await?;
    let mut beside = FxHashMap::default();
    beside.insert("reach", (reach_chart, Some(reach_note)));
    beside.insert("months", (months_chart(&months), None));
    for (name, table, title, largest_first) in [
        (
            "sources",
            &sources,
            "Referrals by referring organisation",
            true,
        ),
        ("needs", &needs, "Referrals by need", true),
        (
            "deciles",
            &deciles,
            "Referrals by the IMD decile of the person's area, most deprived first",
            false,
        ),
        ("outcomes", &outs, "Cases by outcome", true),
    ] {
        beside.insert(name, (bars_of(table, title, largest_first), None));
    }
    Ok(Report {
        tables: vec![
            summary, months, sources, needs, outs, wellbeing, deciles, reach, partners, records,
        ],
        beside,
    })
}

/// A table's second column as bars, largest first or in the table's order (a
/// withheld count is not drawn, and the chart says so); none for fewer than two
/// bars.
fn bars_of(table: &DataTable, title: &str, largest_first: bool) -> Option<Markup> {
    let mut withheld = 0;
    let mut bars: Vec<Bar> = Vec::new();
    for row in &table.rows {
        let label = match &row[0] {
            Cell::Text(t) => t.clone(),
            _ => continue,
        };
        match row.get(1) {
            Some(Cell::Number(Some(v))) if *v > 0.0 => bars.push(Bar {
                label,
                value: *v,
                lower: None,
                upper: None,
                colour: "#2b6ca3",
            }),
            Some(Cell::Text(_)) => withheld += 1,
            _ => {}
        }
    }
    if largest_first {
        bars.sort_by(|a, b| b.value.total_cmp(&a.value));
    }
    let title = if withheld > 0 {
        format!("{title} ({withheld} counts under 5 withheld and not drawn)")
    } else {
        title.to_owned()
    };
    (bars.len() >= 2).then(|| ranked_bars(&bars, None, &title))
}

/// Referrals month by month as a line (a month with a withheld count is a gap).
fn months_chart(months: &DataTable) -> Option<Markup> {
    let points: Vec<TrendPoint> = months
        .rows
        .iter()
        .map(|row| TrendPoint {
            label: match &row[0] {
                Cell::Text(t) => t.clone(),
                _ => String::new(),
            },
            value: match row[1] {
                Cell::Number(v) => v,
                _ => None,
            },
            lower: None,
            upper: None,
            benchmark: None,
        })
        .collect();
    (points.len() >= 2).then(|| {
        trend(
            &points,
            "Referrals received",
            "",
            "Referrals received each month",
        )
    })
}

/// An estimate with its lower and upper limits, each blank where it has none.
type Interval = (Option<f64>, Option<f64>, Option<f64>);

/// The mean of paired differences with its 95 % Student's t interval
/// (`syndemic_stats::mean::mean_grouped` over one group): blank for no pairs, no
/// interval for one.
fn paired_change(d: &[f64]) -> Result<Interval, WebError> {
    if d.is_empty() {
        return Ok((None, None, None));
    }
    let values: Vec<Option<f64>> = d.iter().copied().map(Some).collect();
    let groups = vec![0u32; d.len()];
    let (_, est) = syndemic_stats::mean::mean_grouped(
        &groups,
        1,
        &values,
        &[syndemic_stats::ConfidenceLevel::P95],
    )
    .map_err(|e| WebError::Internal(format!("the paired mean: {e}")))?;
    Ok((est.value[0], est.lower[0][0], est.upper[0][0]))
}

pub(crate) async fn page_(
    state: &AppState,
    s: &Signed,
    pairs: &[(String, String)],
) -> Result<Html<String>, WebError> {
    let (period, errors) = Period::read(pairs);
    let report = if errors.is_empty() {
        tables(state, s, &period).await?
    } else {
        s.must(Action::Reports)?;
        Report {
            tables: Vec::new(),
            beside: FxHashMap::default(),
        }
    };
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let error_of = |name: &str| errors.iter().find(|e| e.field == name);
    state
        .audit(&s.actor, "view", "report", "hub", "aggregate report")
        .await?;
    Ok(layout(
        state,
        "Hub reports",
        html! {
            p class="lead" { @if report_view(s.actor.role) == Some(ReportView::EveryHubWithheld) { "Every hub's referrals, counts only; counts from 1 to 4 are shown as <5." } @else { "Your hub's referrals, counts only." } }
            @if !errors.is_empty() {
                div class="error-summary" role="alert" tabindex="-1" id="errors" {
                    h2 { "There is a problem" }
                    ul { @for e in &errors { li { a href=(format!("#{}", e.field)) { (e.message) } } } }
                }
            }
            form method="get" action="/hub/reports" aria-label="The period reported" {
                @for (name, label) in [("from", "Received from (YYYY-MM-DD)"), ("to", "Received up to (YYYY-MM-DD)")] {
                    div class=(if error_of(name).is_some() { "field invalid" } else { "field" }) {
                        label for=(name) { (label) }
                        @if let Some(e) = error_of(name) { p class="field-error" id=(format!("{name}-error")) { "Error: " (e.message) } }
                        input id=(name) name=(name) type="date" value=(value(name))
                            aria-invalid=[error_of(name).map(|_| "true")]
                            aria-describedby=[error_of(name).map(|_| format!("{name}-error"))];
                    }
                }
                button type="submit" { "Report on this period" }
            }
            @if errors.is_empty() { p id="period" { "Reporting on " strong { (period.label()) } "." } }
            @for (name, t) in TABLES.iter().zip(&report.tables).filter(|(n, _)| **n != "records") {
                @let (chart, note) = report.beside.get(name).cloned().unwrap_or_default();
                @if let Some(chart) = chart { figure class="chart" { (chart) } }
                (t.html(Some(&Download { path: format!("/hub/reports/{name}"), query: period.query() })))
                @if let Some(note) = note { p class="hint" { (note) } }
            }
            h2 { "Pseudonymised records" }
            p { "One row per referral with no name, contact, address, area code or free text, and a pseudonym keyed with the deployment's secret. The period, referrer's sector, IMD decile, needs and urgency are generalised (month to quarter or year, decile to quintile, needs to their number) until every combination is shared by at least " (syndemic_hub::release::K) " referrals (k-anonymity, k = " (syndemic_hub::release::K) "); referrals that would still stand out are left out: "
                a href=(Download { path: "/hub/reports/records".into(), query: period.query() }.href("csv")) { "CSV" } " or " a href=(Download { path: "/hub/reports/records".into(), query: period.query() }.href("xlsx")) { "Excel" } "." }
        },
    ))
}

pub(crate) async fn page(
    State(state): State<AppState>,
    s: Signed,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    page_(&state, &s, &pairs).await
}

pub(crate) async fn download(
    State(state): State<AppState>,
    Path(file): Path<String>,
    s: Signed,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let (period, errors) = Period::read(&pairs);
    if let Some(e) = errors.first() {
        return Err(WebError::BadRequest(e.to_string()));
    }
    let (stem, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| WebError::NotFound("no such report".into()))?;
    let i = TABLES.iter().position(|t| *t == stem).ok_or_else(|| {
        WebError::NotFound(format!(
            "no report `{stem}`: use one of {}",
            TABLES.join(", ")
        ))
    })?;
    let report = tables(&state, &s, &period).await?;
    state
        .audit(
            &s.actor,
            "export",
            "report",
            stem,
            "aggregate report download",
        )
        .await?;
    report.tables[i].respond(ext, &format!("hub-{stem}"))
}
