//! Roles, and what each may do with which organisation's records.
//!
//! Access is decided twice on every request: by role (may this kind of user do
//! this at all?) and by organisation (is this record one of theirs?). Both are
//! pure functions here, so the web layer calls them on every route and the
//! authorisation matrix is tested exhaustively without a server.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Makes referrals and follows what became of them.
    Referrer,
    /// Works the cases routed to their organisation's services.
    Caseworker,
    /// Triages and routes every referral that reaches their hub.
    Coordinator,
    /// Sees pseudonymised aggregates only.
    Analyst,
    /// Manages their organisation's users and API tokens.
    OrgAdmin,
    /// Manages organisations and the directory; sees no case.
    SystemAdmin,
    /// Manages the action plans of the partnerships their organisation leads and
    /// records the board's reviews; sees no case.
    PartnershipLead,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Referrer,
        Role::Caseworker,
        Role::Coordinator,
        Role::Analyst,
        Role::OrgAdmin,
        Role::SystemAdmin,
        Role::PartnershipLead,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Referrer => "referrer",
            Role::Caseworker => "caseworker",
            Role::Coordinator => "coordinator",
            Role::Analyst => "analyst",
            Role::OrgAdmin => "org-admin",
            Role::SystemAdmin => "system-admin",
            Role::PartnershipLead => "partnership-lead",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Referrer => "Referrer",
            Role::Caseworker => "Caseworker",
            Role::Coordinator => "Hub coordinator",
            Role::Analyst => "Analyst",
            Role::OrgAdmin => "Organisation admin",
            Role::SystemAdmin => "System admin",
            Role::PartnershipLead => "Partnership lead",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.code() == code)
    }
}

/// Someone acting: a signed-in user, or a referring system's API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id, or `token:{id}` for an API token.
    pub id: String,
    pub org: String,
    pub role: Role,
}

/// How an API token's actor id begins: `token:{token id}`.
pub const TOKEN_ACTOR: &str = "token:";

impl Actor {
    /// An organisation's API token acting, with a referrer's role: what else it
    /// may do is decided by its scopes and by [`Actor::is_token`].
    pub fn token(token_id: &str, org: String) -> Actor {
        Actor {
            id: format!("{TOKEN_ACTOR}{token_id}"),
            org,
            role: Role::Referrer,
        }
    }

    /// Whether this is an organisation's API token rather than a person.
    pub fn is_token(&self) -> bool {
        self.id.starts_with(TOKEN_ACTOR)
    }
}

/// What an organisation's API token may be used for: each API route needs one
/// scope, and a token carries those it was issued with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Make referrals and follow them (`/api/v1/referrals`), as a referrer.
    Referrals,
    /// Read the partnerships its organisation belongs to and report progress on
    /// the commitments it leads or contributes to (the partnership API).
    Partnership,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[Scope::Referrals, Scope::Partnership];

    pub fn code(self) -> &'static str {
        match self {
            Scope::Referrals => "referrals",
            Scope::Partnership => "partnership",
        }
    }

    /// What the scope lets a system do, for the form that issues tokens.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Referrals => "Make referrals and follow them",
            Scope::Partnership => "Read our partnerships and report progress on our commitments",
        }
    }

    pub fn from_code(code: &str) -> Option<Scope> {
        Scope::ALL.iter().copied().find(|s| s.code() == code)
    }
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Make a referral (the front door, `POST /api/v1/referrals`).
    Refer,
    /// See the referrals one made, their status and outcome.
    SeeOwnReferrals,
    /// List the cases one may work.
    ListCases,
    /// Open a case: the person's details, timeline and flags (audited).
    ViewCase,
    /// Change status, add notes, tasks and outcomes, assign.
    WorkCase,
    /// Accept, reroute or decline a referral; confirm a repeat.
    Triage,
    /// Export a case (FHIR, subject access) — audited.
    ExportCase,
    /// Hub reports: counts, never a person.
    Reports,
    /// Manage users and tokens of one's organisation.
    ManageOrgUsers,
    /// Manage organisations, the directory and every user.
    ManageSystem,
    /// Read the audit log.
    ReadAudit,
}

/// What kind of organisation an account belongs to, for the roles it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    /// Runs a hub that receives referrals (a council's, a primary care network's).
    Hub,
    /// Any other partner: a GP practice, a charity running services, a business.
    Partner,
}

/// Whether a user of role `granter` may give an account of an organisation of
/// `kind` the role `role` — and so whether they may act on (reset, deactivate) an
/// account that holds it: nobody manages an account they could not have made.
///
/// | granter        | Hub organisation                                  | Partner organisation              |
/// |----------------|---------------------------------------------------|-----------------------------------|
/// | system admin   | every role                                        | every role but hub coordinator    |
/// | org admin      | referrer, caseworker, hub coordinator, org admin  | referrer, caseworker, org admin   |
/// | anyone else    | none                                              | none                              |
///
/// Analysts (who read every hub's reports), partnership leads (who steer a
/// partnership's plan) and system admins work across organisations: only a system
/// admin makes them. A coordinator triages a hub's referrals, so only a hub has
/// one. An organisation admin's powers stop at their own organisation, which the
/// web layer checks besides (`managed_org`).
pub fn may_grant(granter: Role, kind: OrgKind, role: Role) -> bool {
    use Role::*;
    if role == Coordinator && kind != OrgKind::Hub {
        return false;
    }
    match granter {
        SystemAdmin => true,
        OrgAdmin => matches!(role, Referrer | Caseworker | Coordinator | OrgAdmin),
        _ => false,
    }
}

/// Whether a role may do an action at all.
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        Refer | SeeOwnReferrals => matches!(role, Referrer | Caseworker | Coordinator),
        ListCases | ViewCase | WorkCase => matches!(role, Caseworker | Coordinator),
        Triage | ExportCase => role == Coordinator,
        Reports => matches!(role, Coordinator | Analyst),
        ManageOrgUsers => matches!(role, OrgAdmin | SystemAdmin),
        ManageSystem => role == SystemAdmin,
        ReadAudit => matches!(role, OrgAdmin | SystemAdmin),
    }
}

/// What the hub's reports show an actor whose role allows `Action::Reports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportView {
    /// Their own hub's referrals, counted in full (a coordinator).
    OwnHub,
    /// Every hub's referrals, counts of 1 to 4 written `<5` (an analyst, who
    /// works across the place and sees no case).
    EveryHubWithheld,
}

/// What the hub's reports show `role`, or `None` where the role sees no reports.
pub fn report_view(role: Role) -> Option<ReportView> {
    match role {
        Role::Coordinator => Some(ReportView::OwnHub),
        Role::Analyst => Some(ReportView::EveryHubWithheld),
        _ => None,
    }
}

/// The organisations a referral belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseScope {
    /// The hub it was sent to.
    pub hub_org: String,
    pub referrer_org: String,
    /// Who made it (a user id or `token:{id}`).
    pub referrer: String,
    /// The organisation running the service it was routed to, if routed.
    pub service_org: Option<String>,
}

/// Whether `actor` may do `action` to the referral in `scope`: the role must
/// allow it, and the referral must be the actor's — sent to their hub (a
/// coordinator), routed to their organisation's service (a caseworker), or made
/// by them (its referrer, who sees status and outcome only).
pub fn may(actor: &Actor, action: Action, scope: &CaseScope) -> bool {
    if !role_allows(actor.role, action) {
        return false;
    }
    match action {
        Action::SeeOwnReferrals => actor.id == scope.referrer && actor.org == scope.referrer_org,
        Action::ViewCase | Action::WorkCase | Action::ListCases => match actor.role {
            Role::Coordinator => actor.org == scope.hub_org,
            Role::Caseworker => scope.service_org.as_deref() == Some(actor.org.as_str()),
            _ => false,
        },
        Action::Triage | Action::ExportCase => actor.org == scope.hub_org,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, org: &str) -> Actor {
        Actor {
            id: format!("{}-{org}", role.code()),
            org: org.into(),
            role,
        }
    }

    #[test]
    fn cases_are_seen_by_their_hub_their_service_and_no_one_else() {
        let scope = CaseScope {
            hub_org: "hub".into(),
            referrer_org: "gp".into(),
            referrer: "referrer-gp".into(),
            service_org: Some("charity".into()),
        };
        for role in Role::ALL {
            for org in ["hub", "gp", "charity", "other"] {
                let a = actor(*role, org);
                let view = may(&a, Action::ViewCase, &scope);
                let expect = matches!(
                    (role, org),
                    (Role::Coordinator, "hub") | (Role::Caseworker, "charity")
                );
                assert_eq!(view, expect, "{role:?} of {org} viewing");
                let triage = may(&a, Action::Triage, &scope);
                assert_eq!(triage, matches!((role, org), (Role::Coordinator, "hub")));
                let own = may(&a, Action::SeeOwnReferrals, &scope);
                assert_eq!(own, matches!((role, org), (Role::Referrer, "gp")));
            }
        }
        // Not yet routed: no caseworker sees it.
        let unrouted = CaseScope {
            service_org: None,
            ..scope
        };
        assert!(!may(
            &actor(Role::Caseworker, "charity"),
            Action::ViewCase,
            &unrouted
        ));
        // Only a system admin makes system admins, analysts and partnership
        // leads; only admins grant at all; only a hub has coordinators.
        for kind in [OrgKind::Hub, OrgKind::Partner] {
            for granter in Role::ALL {
                for role in Role::ALL {
                    let cross_organisation = matches!(
                        role,
                        Role::SystemAdmin | Role::Analyst | Role::PartnershipLead
                    );
                    let expect = match granter {
                        Role::SystemAdmin => true,
                        Role::OrgAdmin => !cross_organisation,
                        _ => false,
                    } && (*role != Role::Coordinator || kind == OrgKind::Hub);
                    assert_eq!(
                        may_grant(*granter, kind, *role),
                        expect,
                        "{granter:?} granting {role:?} in a {kind:?}"
                    );
                }
            }
        }
        // Analysts and admins never see a case.
        for r in [Role::Analyst, Role::OrgAdmin, Role::SystemAdmin] {
            assert!(!role_allows(r, Action::ViewCase));
        }
    }

    #[test]
    fn reports_are_seen_by_their_roles_only() {
        for role in Role::ALL {
            assert_eq!(
                report_view(*role).is_some(),
                role_allows(*role, Action::Reports),
                "{role:?}"
            );
        }
        assert_eq!(report_view(Role::Coordinator), Some(ReportView::OwnHub));
        assert_eq!(
            report_view(Role::Analyst),
            Some(ReportView::EveryHubWithheld)
        );
    }
}
