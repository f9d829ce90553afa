//! Partnership and accountability on the web: partners and partnerships, action
//! plans and commitments judged against their indicators' trajectories, progress
//! updates with evidence, board reviews, scorecards, the printable accountability
//! report, anchor institutions and the business map — pages, exports and
//! `/api/v1/{partnerships,organisations,commitments,businesses,anchor-measures}`.
//!
//! Access is decided by `syndemic_partnership::access` on every route, after the
//! caller is authenticated and before anything is read; every change writes the
//! audit log in the same transaction.

mod api;
mod assets;
mod business;
mod community;
mod manage;
mod matters;
mod orgs;
mod pages;
mod report;
mod survey_api;
mod surveys;
mod you_said;

use axum::routing::{get, post};
use axum::Router;
use rustc_hash::FxHashMap;
use syndemic_access::{Actor, Role};
use syndemic_model::date::parse_day as parse_date;
use syndemic_model::{AreaCode, Period};
use syndemic_partnership::access::{self as rules, Family};
use syndemic_partnership::progress;
use syndemic_partnership::target::{Ranked, TargetError, TargetRule};
use syndemic_partnership::trajectory::{
    middle_of, movement, Assessment, Direction, Judgement, Movement, Observed, Point, Trajectory,
};
use syndemic_store::hub::{AuditEntry, HubOrg};
use syndemic_store::partnership::{
    CommitmentRecord, MemberRecord, PartnerProfile, PartnershipRecord, PlanRecord, ReviewRecord,
    UpdateRecord,
};
use syndemic_store::{Indicator, Observation, Store};

use crate::shell::now;
use crate::{AppState, WebError};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/partnerships", get(pages::list).post(manage::create))
        .route("/partnerships/{id}/members", post(manage::members))
        .route("/partnerships/{id}/frameworks", post(manage::add_framework))
        .route("/partnerships/{id}", get(pages::partnership))
        .route("/partnerships/{id}/plans", post(pages::create_plan))
        .route("/partnerships/{id}/maturity", post(pages::save_maturity))
        .route("/partnerships/{id}/report", get(report::report))
        .route("/partnerships/{id}/{file}", get(pages::scorecard_download))
        .route("/plans/{id}", get(pages::plan).post(pages::edit_plan))
        .route("/plans/{id}/commitments", post(pages::create_commitment))
        .route("/plans/{id}/import", post(pages::import_commitments))
        .route("/plans/{id}/you-said-we-did", get(you_said::page_for_plan))
        .route("/plans/{id}/{file}", get(pages::plan_download))
        .route(
            "/commitments/{id}",
            get(pages::commitment).post(pages::edit_commitment),
        )
        .route("/commitments/{id}/updates", post(pages::add_update))
        .route("/commitments/{id}/reviews", post(pages::add_review))
        .route("/evidence/{id}", get(pages::evidence))
        .route("/organisations", get(orgs::list))
        .route("/organisations/import", post(orgs::import_partners))
        .route(
            "/organisations/table/{file}",
            get(orgs::organisations_download),
        )
        .route(
            "/organisations/{id}",
            get(orgs::organisation).post(orgs::save),
        )
        .route("/anchors", get(orgs::anchors))
        .route("/anchors/import", post(orgs::import_anchors))
        .route("/anchors/{file}", get(orgs::anchors_download))
        .route("/businesses", get(business::map))
        .route("/businesses/import", post(business::import))
        .route("/businesses/{file}", get(business::download))
        .route("/templates/{file}", get(orgs::template))
        .route(
            "/community-places",
            get(community::list).post(community::define),
        )
        .route("/community-places/new", get(community::new))
        .route("/community-places/{code}/remove", post(community::remove))
        .route("/community-assets", get(assets::page_of))
        .route("/community-assets.svg", get(assets::map))
        .route("/community-places/map.svg", get(community::map))
        .route("/surveys", get(surveys::list))
        .route("/surveys/{slug}", get(surveys::form).post(surveys::submit))
        .route("/surveys/{slug}/manage", get(surveys::manage))
        .route("/surveys/{slug}/responses", post(surveys::import))
        .route("/surveys/{slug}/comments", get(surveys::comments))
        .route(
            "/surveys/{slug}/matters",
            get(matters::form).post(matters::drop_pin),
        )
        .route("/surveys/{slug}/matters.svg", get(matters::map))
        .route("/surveys/{slug}/matters/comments", get(matters::comments))
        .route("/surveys/{slug}/matters/{id}", post(matters::moderate))
}

pub(crate) fn api_routes() -> Router<AppState> {
    api::routes().merge(survey_api::routes())
}

/// Everything about the place's partnerships, read at once: it is small (tens of
/// organisations, hundreds of commitments and updates) and every page needs most
/// of it to decide access and to judge commitments.
pub(crate) struct World {
    pub orgs: Vec<HubOrg>,
    pub profiles: FxHashMap<String, PartnerProfile>,
    pub partnerships: Vec<PartnershipRecord>,
    pub members: Vec<MemberRecord>,
    pub plans: Vec<PlanRecord>,
    pub commitments: Vec<CommitmentRecord>,
    pub updates: Vec<UpdateRecord>,
    pub reviews: Vec<ReviewRecord>,
}

impl World {
    pub(crate) async fn load(state: &AppState) -> Result<World, WebError> {
        let db = &state.db;
        Ok(World {
            orgs: db.orgs().await?,
            profiles: db
                .profiles()
                .await?
                .into_iter()
                .map(|p| (p.org_id.clone(), p))
                .collect(),
            partnerships: db.partnerships().await?,
            members: db.members().await?,
            plans: db.plans().await?,
            commitments: db.commitments(None).await?,
            updates: db.updates(None).await?,
            reviews: db.reviews(None).await?,
        })
    }

    pub(crate) fn org_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.orgs
            .iter()
            .find(|o| o.id == id)
            .map_or(id, |o| o.name.as_str())
    }

    pub(crate) fn partnership(&self, id: &str) -> Result<&PartnershipRecord, WebError> {
        self.partnerships
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| WebError::NotFound(format!("there is no partnership `{id}`")))
    }

    pub(crate) fn plan(&self, id: &str) -> Result<&PlanRecord, WebError> {
        self.plans
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| WebError::NotFound(format!("there is no action plan `{id}`")))
    }

    pub(crate) fn commitment(&self, id: &str) -> Result<&CommitmentRecord, WebError> {
        self.commitments
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| WebError::NotFound(format!("there is no commitment `{id}`")))
    }

    /// The partnership and those it is nested in, innermost first.
    fn ancestors<'a>(&'a self, id: &'a str) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        let mut at = Some(id);
        while let Some(p) = at {
            if out.contains(&p) {
                break;
            }
            out.push(p);
            at = self
                .partnerships
                .iter()
                .find(|x| x.id == p)
                .and_then(|x| x.parent_id.as_deref());
        }
        out
    }

    /// The partnerships nested in `id`, at any depth.
    pub(crate) fn descendants<'a>(&'a self, id: &'a str) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        let mut frontier = vec![id];
        while let Some(p) = frontier.pop() {
            for c in self
                .partnerships
                .iter()
                .filter(|x| x.parent_id.as_deref() == Some(p))
            {
                if !out.contains(&c.id.as_str()) && c.id != id {
                    out.push(&c.id);
                    frontier.push(&c.id);
                }
            }
        }
        out
    }

    pub(crate) fn family(&self, id: &str) -> Family {
        let up = self.ancestors(id);
        let down = self.descendants(id);
        let mut readers: Vec<String> = Vec::new();
        let mut leads: Vec<String> = Vec::new();
        for m in &self.members {
            let p = m.partnership_id.as_str();
            if (up.contains(&p) || down.contains(&p)) && !readers.contains(&m.org_id) {
                readers.push(m.org_id.clone());
            }
            if up.contains(&p) && m.role == "lead" && !leads.contains(&m.org_id) {
                leads.push(m.org_id.clone());
            }
        }
        Family { readers, leads }
    }

    /// The partnership a plan or commitment belongs to, its family, or 404.
    pub(crate) fn plan_family(&self, plan: &str) -> Result<(&PlanRecord, Family), WebError> {
        let p = self.plan(plan)?;
        Ok((p, self.family(&p.partnership_id)))
    }

    pub(crate) fn readable(&self, actor: &Actor) -> Vec<&PartnershipRecord> {
        self.partnerships
            .iter()
            .filter(|p| rules::may_read(actor, &self.family(&p.id)))
            .collect()
    }

    pub(crate) fn updates_of<'a>(&'a self, commitment: &str) -> Vec<&'a UpdateRecord> {
        self.updates
            .iter()
            .filter(|u| u.commitment_id == commitment)
            .collect()
    }

    pub(crate) fn reviews_of<'a>(&'a self, commitment: &str) -> Vec<&'a ReviewRecord> {
        self.reviews
            .iter()
            .filter(|r| r.commitment_id == commitment)
            .collect()
    }

    pub(crate) fn sector_of(&self, org: &str) -> &str {
        self.profiles
            .get(org)
            .map(|p| p.sector.as_str())
            .unwrap_or("unknown")
    }
}

/// Read access to a partnership, or 403 saying why.
pub(crate) fn must_read(actor: &Actor, family: &Family) -> Result<(), WebError> {
    if rules::may_read(actor, family) {
        Ok(())
    } else {
        Err(WebError::Forbidden(
            "your organisation is not a member of this partnership".into(),
        ))
    }
}

pub(crate) fn must_manage(actor: &Actor, family: &Family) -> Result<(), WebError> {
    if rules::may_manage(actor, family) {
        Ok(())
    } else {
        Err(WebError::Forbidden(
            "only a partnership lead of an organisation that leads this partnership may do this"
                .into(),
        ))
    }
}

pub(crate) use syndemic_partnership::progress::STATUSES;

pub(crate) fn status_label(code: &str) -> &str {
    STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

/// A commitment judged: its indicator's baseline and latest values from the
/// evidence store, the trajectory and the judgement, its delivery status and
/// whether an update is overdue.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    pub indicator: Option<Indicator>,
    pub area: Option<AreaCode>,
    pub baseline_period: Option<Period>,
    /// The baseline: the store's value at the baseline period, or the plan's where
    /// the store has none.
    pub baseline: Option<Observed>,
    pub baseline_from_store: bool,
    pub latest: Option<(Period, Observed)>,
    /// Every value measured from the baseline period on (or all, without one).
    pub points: Vec<(Period, Observed)>,
    /// For a commitment with target areas: whether its values are those of the
    /// target areas (the engine measured them), or, until it has, the whole area's.
    pub on_targets: Option<bool>,
    pub target_day: Option<i64>,
    pub assessment: Option<Assessment>,
    pub movement: Movement,
    pub direction: Option<Direction>,
    /// The latest update's status, or `not-started`.
    pub status: String,
    pub last_update: Option<i64>,
    /// The day (Unix seconds) the next update is due.
    pub due_at: i64,
    pub overdue: bool,
    /// Why the indicator could not be judged, if it could not.
    pub problem: Option<String>,
    /// The board's rating at its latest review, if it has reviewed it.
    pub rating: Option<String>,
}

impl Judged {
    /// What the commitment's values are measured on, in words.
    pub(crate) fn measured_on(&self, area_name: &str) -> String {
        match self.on_targets {
            None => format!("The whole of {area_name}"),
            Some(true) => format!(
                "Its target areas, measured as one group by the compute engine from their small areas' counts (filed under {area_name})"
            ),
            Some(false) => format!(
                "The whole of {area_name}, until its target areas are measured: the engine measures them from small-area counts when the indicator is next computed (`syndemic compute`); an indicator imported as published values cannot be"
            ),
        }
    }

    pub(crate) fn judgement(&self) -> Judgement {
        self.assessment.map_or(Judgement::NoData, |a| a.judgement)
    }

    /// Where the lead, the data and the board disagree outright, in words.
    pub(crate) fn contradictions(&self) -> Vec<String> {
        syndemic_partnership::contradiction::contradictions(
            Some(&self.status),
            self.judgement(),
            self.rating.as_deref(),
        )
    }
}

fn observed(o: &Observation) -> Option<Observed> {
    Some(Observed {
        day: middle_of(&o.period),
        value: o.value?,
        lower: o.lower95,
        upper: o.upper95,
    })
}

/// The indicator's series for an area: whole-population rows (no category),
/// persons where the indicator has them, one per period.
pub(crate) fn series(rows: &[Observation], area: AreaCode) -> Vec<&Observation> {
    series_of(rows, area, |o| o.category_type.is_empty())
}

/// The indicator's series over a group of target areas measured for `area`
/// (category [`syndemic_model::TARGET_AREAS`], labelled by the rule), persons
/// where it has them, one per period.
pub(crate) fn target_series<'a>(
    rows: &'a [Observation],
    area: AreaCode,
    rule: &str,
) -> Vec<&'a Observation> {
    series_of(rows, area, |o| {
        o.category_type == syndemic_model::TARGET_AREAS && o.category == rule
    })
}

/// The rows of `area` that `keep` keeps: persons where it has them, one per period.
fn series_of(
    rows: &[Observation],
    area: AreaCode,
    keep: impl Fn(&Observation) -> bool,
) -> Vec<&Observation> {
    let mine: Vec<&Observation> = rows.iter().filter(|o| o.area == area && keep(o)).collect();
    let persons = mine.iter().any(|o| o.sex == "Persons");
    let mut out: Vec<&Observation> = mine
        .into_iter()
        .filter(|o| !persons || o.sex == "Persons")
        .collect();
    out.sort_by_key(|o| o.period.sort_key());
    out.dedup_by_key(|o| o.period.sort_key());
    out
}

/// Judges every commitment of `list` (the indicators' observations read once each).
pub(crate) async fn judge_all(
    state: &AppState,
    world: &World,
    list: &[&CommitmentRecord],
) -> Result<FxHashMap<String, Judged>, WebError> {
    let mut out = FxHashMap::default();
    let mut indicators: FxHashMap<String, Option<Indicator>> = FxHashMap::default();
    for c in list {
        if let Some(i) = &c.indicator {
            if !indicators.contains_key(i) {
                indicators.insert(i.clone(), state.db.indicator(i).await?);
            }
        }
    }
    let now = now();
    for c in list {
        let plan = world.plan(&c.plan_id)?;
        let partnership = world.partnership(&plan.partnership_id)?;
        let updates = world.updates_of(&c.id);
        let last_update = updates.iter().map(|u| u.at).max();
        let due_at = progress::due_at(last_update, c.created_at, plan.update_every_days);
        let status = updates
            .iter()
            .max_by_key(|u| (u.at, &u.id))
            .map_or("not-started".to_owned(), |u| u.status.clone());
        let mut j = Judged {
            indicator: None,
            area: None,
            baseline_period: None,
            baseline: None,
            baseline_from_store: false,
            latest: None,
            points: Vec::new(),
            on_targets: None,
            target_day: c.target_date.as_deref().and_then(parse_date),
            assessment: None,
            movement: Movement::NoData,
            direction: None,
            overdue: progress::overdue(&status, due_at, parse_date(&plan.period_end), now),
            status,
            last_update,
            due_at,
            problem: None,
            rating: world
                .reviews_of(&c.id)
                .into_iter()
                .max_by_key(|r| (&r.reviewed_on, r.at, &r.id))
                .map(|r| r.rating.clone()),
        };
        if let Some(id) = &c.indicator {
            j.indicator = indicators.get(id).cloned().flatten();
            if j.indicator.is_none() {
                j.problem = Some(format!("the evidence store has no indicator `{id}`"));
            }
            let area_text = c.indicator_area.as_deref().or(partnership.area.as_deref());
            j.area = area_text.and_then(|a| AreaCode::parse(a).ok());
            if j.area.is_none() {
                j.problem = Some(
                    "neither the commitment nor its partnership names the area its indicator is measured for".into(),
                );
            }
            j.baseline_period = c
                .baseline_period
                .as_deref()
                .and_then(|p| Period::parse(p).ok());
            if let (Some(_), Some(area)) = (&j.indicator, j.area) {
                let rows = state.observations(id).await?;
                // A commitment aimed at target areas is measured on them where the
                // engine has measured them (`syndemic compute`), else on the area.
                let rule = c.target_rule.as_deref().filter(|_| !c.areas.is_empty());
                let targeted = rule.map_or_else(Vec::new, |r| target_series(&rows, area, r));
                j.on_targets = rule.map(|_| !targeted.is_empty());
                let s = if targeted.is_empty() {
                    series(&rows, area)
                } else {
                    targeted
                };
                if s.is_empty() {
                    j.problem = Some(format!(
                        "the evidence store has no values of this indicator for {area}: compute or import it for that area, or measure the commitment at an area that has them"
                    ));
                }
                j.latest = s
                    .iter()
                    .rev()
                    .find_map(|o| observed(o).map(|v| (o.period, v)));
                j.points = s
                    .iter()
                    .filter(|o| {
                        j.baseline_period
                            .is_none_or(|b| o.period.sort_key() >= b.sort_key())
                    })
                    .filter_map(|o| observed(o).map(|v| (o.period, v)))
                    .collect();
                if let Some(bp) = j.baseline_period {
                    if let Some(b) = s.iter().find(|o| o.period == bp).and_then(|o| observed(o)) {
                        j.baseline = Some(b);
                        j.baseline_from_store = true;
                    }
                }
            }
            if j.baseline.is_none() {
                if let (Some(bp), Some(v)) = (j.baseline_period, c.baseline_value) {
                    j.baseline = Some(Observed {
                        day: middle_of(&bp),
                        value: v,
                        lower: None,
                        upper: None,
                    });
                }
            }
            let polarity = j
                .indicator
                .as_ref()
                .and_then(|i| i.polarity)
                .and_then(Direction::of);
            match (j.baseline, c.target_value, j.target_day) {
                (Some(b), Some(t), Some(day)) => {
                    j.direction = Direction::infer(polarity, b.value, t);
                    match Trajectory::new(
                        Point {
                            day: b.day,
                            value: b.value,
                        },
                        Point { day, value: t },
                    ) {
                        Ok(tr) => {
                            j.assessment =
                                Some(tr.judge(j.latest.as_ref().map(|(_, o)| o), polarity));
                        }
                        Err(e) => j.problem = Some(e.to_string()),
                    }
                    j.movement = movement(Some(&b), j.latest.as_ref().map(|(_, o)| o), j.direction);
                }
                _ if j.problem.is_none() => {
                    j.problem = Some(
                        "no baseline value for the baseline period, or no target value and date"
                            .into(),
                    )
                }
                _ => {}
            }
        }
        out.insert(c.id.clone(), j);
    }
    Ok(out)
}

/// The small areas within `parent` with their national IMD rank, in the edition
/// that ranks the most of them (`syndemic_place::edition`), so a parent walked
/// through 2011 lookups is never ranked by the few 2021 areas that happen to
/// share a code.
pub(crate) async fn ranked_within(
    store: &dyn Store,
    parent: AreaCode,
) -> Result<Vec<Ranked>, WebError> {
    Ok(syndemic_place::edition::ranked_within(store, parent)
        .await?
        .map(|(_, rows)| rows)
        .unwrap_or_default()
        .iter()
        .map(|d| Ranked {
            area: d.area,
            rank: d.rank,
            decile: d.decile,
        })
        .collect())
}

/// Resolves a target rule against the store: the concrete small areas it means.
pub async fn resolve_targets(
    store: &dyn Store,
    rule: &TargetRule,
) -> Result<Vec<AreaCode>, WebError> {
    let inside = match rule.within() {
        Some(parent) => ranked_within(store, parent).await?,
        None => Vec::new(),
    };
    rule.resolve(&inside)
        .map_err(|e: TargetError| WebError::Unprocessable(e.to_string()))
}

pub(crate) fn audit_entry(actor: &Actor, action: &str, subject: &str, record: &str) -> AuditEntry {
    AuditEntry {
        at: now(),
        actor: actor.id.clone(),
        org: actor.org.clone(),
        action: action.into(),
        subject: subject.into(),
        record: record.into(),
        reason: String::new(),
    }
}

/// The commitments whose next update is overdue and that `actor`'s organisation
/// owes (it leads them): the in-app reminders.
pub(crate) fn owed<'a>(
    world: &'a World,
    judged: &FxHashMap<String, Judged>,
    actor: &Actor,
) -> Vec<&'a CommitmentRecord> {
    if matches!(
        actor.role,
        Role::Analyst | Role::Referrer | Role::SystemAdmin
    ) {
        return Vec::new();
    }
    world
        .commitments
        .iter()
        .filter(|c| c.lead_org == actor.org && judged.get(&c.id).is_some_and(|j| j.overdue))
        .collect()
}

/// A short number for a page: up to 3 significant decimals.
pub(crate) fn num(v: f64) -> String {
    crate::shell::svg::fmt(v)
}

pub(crate) fn day(d: i64) -> String {
    syndemic_model::date::format_day(d)
}

/// A judgement as a tag whose colours meet contrast on every background.
pub(crate) fn judgement_tag(j: Judgement) -> maud::Markup {
    maud::html! { span class=(format!("tag j-{}", j.code())) { (j.label()) } }
}

/// A spreadsheet layout's problems as a 422 the person can act on.
pub(crate) fn layout_error(e: syndemic_partnership::layout::LayoutError) -> WebError {
    WebError::Unprocessable(e.to_string())
}

/// The frameworks commitments can be classified against: the built-in ones
/// (whether or not the store holds them) and those partnerships added.
pub(crate) async fn frameworks(
    state: &AppState,
) -> Result<Vec<syndemic_store::partnership::FrameworkRecord>, WebError> {
    let mut out: Vec<_> = syndemic_partnership::framework::built_in()
        .into_iter()
        .map(|f| syndemic_store::partnership::FrameworkRecord {
            code: f.code,
            name: f.name,
            partnership_id: None,
            objectives: f
                .objectives
                .into_iter()
                .map(|o| (o.code, o.label))
                .collect(),
        })
        .collect();
    for f in state.db.frameworks().await? {
        if !out.iter().any(|b| b.code == f.code) {
            out.push(f);
        }
    }
    Ok(out)
}
