//! Administration: an organisation's users (create, reset link, deactivate,
//! training dates) and API tokens (issue, revoke), and the audit log.
//! Organisation admins manage their own organisation; system admins any.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use syndemic_access::secret;
use syndemic_access::{may_grant, Action, OrgKind, Role, Scope};
use syndemic_store::hub::{TokenRecord, UserRecord};

use super::auth::RESET_SECONDS;
use super::{new_uuid, now, random_hex, security, Posted, SecurityEvent, Signed};
use crate::hub::cases::when;
use crate::shell::page as layout;
use crate::{AppState, WebError};

/// Argon2id of a new password, with a fresh salt.
pub(crate) fn hash_new_password(password: &str) -> Result<String, WebError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| WebError::Internal(format!("no random numbers: {e}")))?;
    secret::hash_password(password, &salt).map_err(WebError::Internal)
}

/// The organisation an admin manages: their own, or (a system admin) the one named.
fn managed_org(s: &Signed, asked: &str) -> Result<String, WebError> {
    s.must(Action::ManageOrgUsers)?;
    if s.actor.role == Role::SystemAdmin && !asked.is_empty() {
        return Ok(asked.to_owned());
    }
    if !asked.is_empty() && asked != s.actor.org {
        return Err(WebError::Forbidden(
            "you manage only your own organisation".into(),
        ));
    }
    Ok(s.actor.org.clone())
}

/// An administrator's action, in the audit log and the security log (by ids;
/// the log never names the person).
async fn admin_audit(
    state: &AppState,
    s: &Signed,
    action: &str,
    subject: &str,
    record: &str,
    reason: &str,
) -> Result<(), WebError> {
    let event = if action == "denied" {
        SecurityEvent::Denied
    } else {
        SecurityEvent::Admin
    };
    let detail = if subject == "user" {
        // The user's role or the action taken; never a name.
        format!("{action} {subject} {record}: {reason}")
    } else {
        format!("{action} {subject} {record}")
    };
    security(event, &s.actor.id, &s.actor.org, &detail);
    state.audit(&s.actor, action, subject, record, reason).await
}

/// The kind of an organisation, for the roles its accounts may hold.
async fn org_kind(state: &AppState, org: &str) -> Result<OrgKind, WebError> {
    let orgs = state.db.orgs().await?;
    let found = orgs
        .iter()
        .find(|o| o.id == org)
        .ok_or_else(|| WebError::NotFound(format!("no organisation `{org}`")))?;
    Ok(if found.is_hub {
        OrgKind::Hub
    } else {
        OrgKind::Partner
    })
}

async fn render(
    state: &AppState,
    s: &Signed,
    notice: Option<maud::Markup>,
) -> Result<Html<String>, WebError> {
    s.must(Action::ManageOrgUsers)?;
    let db = &state.db;
    let all = s.actor.role == Role::SystemAdmin;
    let users = db
        .users(if all { None } else { Some(&s.actor.org) })
        .await?;
    let orgs = db.orgs().await?;
    // A system admin sees (and may revoke) every organisation's tokens.
    let mut tokens = Vec::new();
    if all {
        for o in &orgs {
            tokens.extend(db.tokens(&o.id).await?);
        }
    } else {
        tokens = db.tokens(&s.actor.org).await?;
    }
    // The roles this admin may give (in their own organisation, or in any).
    let own = org_kind(state, &s.actor.org).await?;
    let roles: Vec<Role> = Role::ALL
        .iter()
        .copied()
        .filter(|r| {
            may_grant(s.actor.role, own, *r) || (all && may_grant(s.actor.role, OrgKind::Hub, *r))
        })
        .collect();
    // Actions are offered only on the accounts this admin may manage.
    let kind_of = |org: &str| {
        if orgs.iter().any(|o| o.id == org && o.is_hub) {
            OrgKind::Hub
        } else {
            OrgKind::Partner
        }
    };
    Ok(layout(
        state,
        "Users and API tokens",
        html! {
            @if let Some(n) = notice { div class="notice" role="status" { (n) } }
            @if all { p { a href="/admin/indicators" { "Indicators' small-number rules" } } }
            h2 { "Users" }
            div class="table-scroll" role="region" tabindex="0" aria-label="Users" { table {
                caption { (users.len()) " users" }
                thead { tr { th scope="col" { "User name" } th scope="col" { "Name" } th scope="col" { "Organisation" } th scope="col" { "Role" } th scope="col" { "Trained" } th scope="col" { "State" } th scope="col" { "Actions" } } }
                tbody {
                    @for u in &users {
                        tr {
                            td { (u.user_name) } td { (u.display_name) }
                            td { (orgs.iter().find(|o| o.id == u.org_id).map_or(u.org_id.as_str(), |o| o.name.as_str())) }
                            td { (u.role.label()) } td { (u.trained_on.clone().unwrap_or_default()) }
                            td { @if !u.active { "Deactivated" } @else if u.locked_until.is_some_and(|t| t > now()) { "Locked" } @else { "Active" } }
                            td {
                                @if !may_grant(s.actor.role, kind_of(&u.org_id), u.role) { "Managed by a system admin" } @else {
                                form method="post" action=(format!("/admin/users/{}", u.id)) class="inline" {
                                    input type="hidden" name="csrf" value=(s.csrf);
                                    button type="submit" name="do" value="reset" class="secondary" { "Reset link" }
                                    @if u.active { button type="submit" name="do" value="deactivate" class="secondary" { "Deactivate" } } @else { button type="submit" name="do" value="activate" class="secondary" { "Activate" } }
                                    button type="submit" name="do" value="trained" class="secondary" { "Trained today" }
                                }
                                }
                            }
                        }
                    }
                }
            } }
            h2 { "Add a user" }
            form method="post" action="/admin/users" class="stack" {
                input type="hidden" name="csrf" value=(s.csrf);
                div class="field" { label for="new-user" { "User name" } input id="new-user" name="user_name" type="text" required autocomplete="off"; }
                div class="field" { label for="new-name" { "Full name" } input id="new-name" name="display_name" type="text" required; }
                div class="field" { label for="new-role" { "Role" } select id="new-role" name="role" { @for r in &roles { option value=(r.code()) { (r.label()) } } } }
                @if all {
                    div class="field" { label for="new-org" { "Organisation" } select id="new-org" name="org" { @for o in &orgs { option value=(o.id) { (o.name) } } } }
                }
                button type="submit" { "Add the user and make a reset link" }
            }
            h2 { @if all { "API tokens of every organisation" } @else { "API tokens of your organisation" } }
            p { "For systems that refer (a practice's clinical system, a discharge system) or that report your organisation's progress on a partnership's commitments. A token may do only what it was issued for, and is shown once; keep it in the system's secret store." }
            @if tokens.is_empty() { p { "No tokens." } } @else {
                div class="table-scroll" role="region" tabindex="0" aria-label="API tokens" { table {
                    caption { "Tokens" }
                    thead { tr { th scope="col" { "Name" } @if all { th scope="col" { "Organisation" } } th scope="col" { "Scopes" } th scope="col" { "Issued" } th scope="col" { "State" } } }
                    tbody { @for t in &tokens {
                        tr { td { (t.name) } @if all { td { (orgs.iter().find(|o| o.id == t.org_id).map_or(t.org_id.as_str(), |o| o.name.as_str())) } } td { (t.scopes.join(" ")) } td { (when(t.created_at)) }
                            td { @if let Some(r) = t.revoked_at { "Revoked " (when(r)) } @else {
                                form method="post" action=(format!("/admin/tokens/{}/revoke", t.id)) class="inline" { input type="hidden" name="csrf" value=(s.csrf); button type="submit" class="secondary" { "Revoke" } }
                            } } }
                    } }
                } }
            }
            form method="post" action="/admin/tokens" class="stack" {
                input type="hidden" name="csrf" value=(s.csrf);
                div class="field" { label for="token-name" { "Token for" } input id="token-name" name="name" type="text" required; }
                fieldset class="field" {
                    legend { "It may" }
                    @for scope in Scope::ALL {
                        div { input type="checkbox" id=(format!("token-scope-{}", scope.code())) name="scopes" value=(scope.code()) checked[*scope == Scope::Referrals]; label for=(format!("token-scope-{}", scope.code())) { (scope.label()) } }
                    }
                }
                button type="submit" { "Issue a token" }
            }
        },
    ))
}

pub(crate) async fn page(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    render(&state, &s, None).await
}

async fn reset_link(state: &AppState, user: &UserRecord) -> Result<String, WebError> {
    let token = random_hex(32)?;
    state
        .db
        .create_reset(&secret::hash_token(&token), &user.id, now() + RESET_SECONDS)
        .await?;
    Ok(format!("/reset/{token}"))
}

pub(crate) async fn create_user(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let org = managed_org(&s, &form.get("org"))?;
    let role = Role::from_code(&form.get("role"))
        .ok_or_else(|| WebError::Unprocessable("choose a role".into()))?;
    if !may_grant(s.actor.role, org_kind(&state, &org).await?, role) {
        return Err(WebError::Forbidden(format!(
            "you may not make a {} of this organisation: analysts, partnership leads and system admins are made by a system admin, and only a hub has coordinators",
            role.label().to_lowercase()
        )));
    }
    let user_name = form.get("user_name");
    if user_name.is_empty()
        || user_name.len() > 100
        || !user_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c))
    {
        return Err(WebError::Unprocessable(
            "a user name is 1–100 letters, digits and . - _ @".into(),
        ));
    }
    let user = UserRecord::new(
        new_uuid()?,
        org,
        user_name,
        form.get("display_name"),
        role,
        now(),
    );
    if !state.db.create_user(&user).await? {
        return Err(WebError::Conflict(format!(
            "the user name `{}` is taken",
            user.user_name
        )));
    }
    admin_audit(&state, &s, "create", "user", &user.id, role.code()).await?;
    let link = reset_link(&state, &user).await?;
    let notice = html! { p { "Added " strong { (user.user_name) } ". Give them this one-time link to set a password (it works for 24 hours): " code { (link) } } };
    Ok((StatusCode::CREATED, render(&state, &s, Some(notice)).await?).into_response())
}

pub(crate) async fn user_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    s.must(Action::ManageOrgUsers)?;
    let db = &state.db;
    let user = db
        .user(&id)
        .await?
        .ok_or_else(|| WebError::NotFound("no such user".into()))?;
    managed_org(&s, &user.org_id)?;
    // Nobody manages an account they could not have made: an organisation admin
    // never resets or deactivates a system admin, an analyst or a partnership lead.
    if !may_grant(
        s.actor.role,
        org_kind(&state, &user.org_id).await?,
        user.role,
    ) {
        admin_audit(&state, &s, "denied", "user", &user.id, &form.get("do")).await?;
        return Err(WebError::Forbidden(format!(
            "a {} account is managed by a system admin",
            user.role.label().to_lowercase()
        )));
    }
    let what = form.get("do");
    let notice = match what.as_str() {
        "reset" => {
            let link = reset_link(&state, &user).await?;
            html! { p { "One-time reset link for " strong { (user.user_name) } " (24 hours): " code { (link) } } }
        }
        "deactivate" | "activate" => {
            if user.id == s.user.id {
                return Err(WebError::Unprocessable(
                    "you cannot deactivate yourself".into(),
                ));
            }
            db.set_user_active(&user.id, what == "activate").await?;
            html! { p { (user.user_name) " is now " (if what == "activate" { "active" } else { "deactivated; their sessions have ended" }) "." } }
        }
        "trained" => {
            let today = syndemic_hub::workdays::format_date(super::today());
            db.set_trained(&user.id, &today).await?;
            html! { p { (user.user_name) " trained on " (today) "." } }
        }
        other => {
            return Err(WebError::BadRequest(format!(
                "`{other}` is not something to do to a user"
            )))
        }
    };
    admin_audit(&state, &s, "change", "user", &user.id, &what).await?;
    Ok(render(&state, &s, Some(notice)).await?.into_response())
}

pub(crate) async fn create_token(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let org = managed_org(&s, "")?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(WebError::Unprocessable(
            "say which system the token is for".into(),
        ));
    }
    let mut scopes = Vec::new();
    for code in form.all("scopes") {
        let scope = Scope::from_code(&code).ok_or_else(|| {
            WebError::Unprocessable(format!(
                "`{code}` is not a scope: choose among {}",
                Scope::ALL
                    .iter()
                    .map(|s| s.code())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !scopes.contains(&scope.code().to_owned()) {
            scopes.push(scope.code().to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(WebError::Unprocessable(
            "choose what the token may do: make referrals, report partnership progress, or both"
                .into(),
        ));
    }
    let token = format!("synd_{}", random_hex(32)?);
    let record = TokenRecord {
        id: new_uuid()?,
        org_id: org,
        name,
        scopes,
        created_by: s.actor.id.clone(),
        created_at: now(),
        revoked_at: None,
    };
    state
        .db
        .create_token(&record, &secret::hash_token(&token))
        .await?;
    admin_audit(&state, &s, "create", "token", &record.id, &record.name).await?;
    let notice = html! { p { "Token for " strong { (record.name) } " — copy it now, it is not shown again: " code { (token) } } };
    let mut r = (StatusCode::CREATED, render(&state, &s, Some(notice)).await?).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, _): Posted,
) -> Result<Response, WebError> {
    let mut org = managed_org(&s, "")?;
    // A system admin revokes any organisation's token (a leaked key of a
    // partner's system must not wait for that partner's admin).
    if s.actor.role == Role::SystemAdmin {
        for o in state.db.orgs().await? {
            if state.db.tokens(&o.id).await?.iter().any(|t| t.id == id) {
                org = o.id;
                break;
            }
        }
    }
    if !state.db.revoke_token(&id, &org, now()).await? {
        return Err(WebError::NotFound(
            "your organisation has no such live token".into(),
        ));
    }
    admin_audit(&state, &s, "change", "token", &id, "revoked").await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/admin")]).into_response())
}

pub(crate) async fn audit(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    s.must(Action::ReadAudit)?;
    let org = (s.actor.role != Role::SystemAdmin).then(|| s.actor.org.clone());
    let entries = state.db.audit_log(org.as_deref(), 500).await?;
    state
        .audit(
            &s.actor,
            "view",
            "audit-log",
            org.as_deref().unwrap_or("all"),
            "",
        )
        .await?;
    Ok(layout(
        &state,
        "Audit log",
        html! {
            p { "Every view, change and export of personal data, newest first (the last 500). The log cannot be changed or deleted." }
            div class="table-scroll" role="region" tabindex="0" aria-label="Audit log" { table {
                caption { (entries.len()) " entries" }
                thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Organisation" } th scope="col" { "Did" } th scope="col" { "To" } th scope="col" { "Record" } th scope="col" { "Why" } } }
                tbody { @for e in &entries { tr { td { (when(e.at)) } td { (e.actor) } td { (e.org) } td { (e.action) } td { (e.subject) } td { (e.record) } td { (e.reason) } } } }
            } }
        },
    ))
}

/// The small-number rule of every indicator, and a form to set each: counts in a
/// range withheld (with secondary suppression), or none. System admins only, as
/// with `syndemic indicators set ID --disclosure`; every change is audited and
/// shows at once on every page, download and API answer.
async fn render_disclosure(
    state: &AppState,
    s: &Signed,
    notice: Option<maud::Markup>,
) -> Result<Html<String>, WebError> {
    s.must(Action::ManageSystem)?;
    let indicators: Vec<_> = state
        .db
        .indicators()
        .await?
        .into_iter()
        .filter(|i| !i.id.contains('.'))
        .collect();
    Ok(layout(
        state,
        "Small-number rules",
        html! {
            @if let Some(n) = notice { div class="notice" role="status" { (n) } }
            p { "Each indicator's counts in the range given are withheld from every page, download, API answer and export, with whatever other cell would let a reader work them out. An indicator without a rule of its own has the default: " (syndemic_store::Disclosure::DEFAULT) ". Give a range such as " code { "1-4" } " or " code { "1-9" } ", or " code { "none" } " to publish every count." }
            div class="table-scroll" role="region" tabindex="0" aria-label="Small-number rules" { table {
                caption { (indicators.len()) " indicators" }
                thead { tr { th scope="col" { "Indicator" } th scope="col" { "Id" } th scope="col" { "Rule in force" } th scope="col" { "Set the rule" } } }
                tbody {
                    @for i in &indicators {
                        @let field = format!("rule-{}", i.id);
                        tr {
                            td { (i.name) }
                            td { code { (i.id) } }
                            td {
                                (i.disclosure_rule().map_or_else(|| syndemic_store::Disclosure::NONE.to_string(), |r| r.to_string()))
                                @if i.disclosure.is_none() { " (the default)" }
                            }
                            td {
                                form method="post" action=(format!("/admin/indicators/{}", i.id)) class="inline" {
                                    input type="hidden" name="csrf" value=(s.csrf);
                                    input id=(field) aria-label=(format!("Rule for {}", i.name)) name="disclosure" type="text" size="6" required value=(i.disclosure.map_or_else(|| "1-4".to_owned(), |d| if d.is_none() { "none".to_owned() } else { format!("{}-{}", d.min, d.max) }));
                                    button type="submit" class="secondary" { "Set" }
                                }
                            }
                        }
                    }
                }
            } }
        },
    ))
}

pub(crate) async fn disclosure_page(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    render_disclosure(&state, &s, None).await
}

pub(crate) async fn set_disclosure(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    s.must(Action::ManageSystem)?;
    let Some(mut indicator) = state.db.indicator(&id).await? else {
        return Err(WebError::NotFound(format!("no indicator `{id}`")));
    };
    let rule = syndemic_store::Disclosure::parse(&form.get("disclosure"))
        .map_err(WebError::Unprocessable)?;
    let before = indicator
        .disclosure_rule()
        .unwrap_or(syndemic_store::Disclosure::NONE);
    indicator.disclosure = Some(rule);
    // Audited first: a change is never made without its entry (a commit failing
    // after it leaves the entry of a change attempted).
    security(
        SecurityEvent::Admin,
        &s.actor.id,
        &s.actor.org,
        &format!("change indicator {id}: disclosure"),
    );
    state
        .audit(
            &s.actor,
            "change",
            "indicator",
            &id,
            &format!("disclosure: {rule} (was: {before})"),
        )
        .await?;
    let mut tx = state.db.begin().await?;
    tx.put_indicator(&indicator).await?;
    tx.commit().await?;
    state.forget(&id).await;
    let notice = html! { p { (indicator.name) ": " (rule) ", from now on everywhere." } };
    Ok(render_disclosure(&state, &s, Some(notice))
        .await?
        .into_response())
}
