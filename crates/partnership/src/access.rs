//! Who may do what with a partnership's records.
//!
//! The hub's roles and organisations decide, as they do for referrals:
//!
//! - **Read** a partnership, its plans, commitments, updates, reviews and
//!   scorecards: anyone signed in whose organisation is a member of it, of a
//!   partnership nested in it, or of one it is nested in (a town partnership's
//!   members read the county's plan, and the county's read the town's); a system
//!   admin reads every partnership.
//! - **Manage plans** (plans, commitments, milestones, frameworks, members) and
//!   **review** commitments at the board: a partnership lead (the role) of an
//!   organisation that leads the partnership, or leads one it is nested in.
//! - **Report progress** on a commitment: a partnership lead, organisation admin,
//!   coordinator or caseworker of the organisation leading it or of one
//!   contributing to it, or that organisation's API token (which reaches these
//!   routes only with the `partnership` scope); and whoever may manage the plan.
//! - **Edit an organisation's partner profile and anchor measures**: its own
//!   organisation admin, or a system admin.
//! - **Import the place's business data**: a partnership lead or a system admin.
//!
//! Analysts and referrers read; they change nothing here.

use serde::Serialize;
use syndemic_access::{Actor, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberRole {
    /// Leads the partnership (chairs the board, owns its plans).
    Lead,
    Member,
}

impl MemberRole {
    pub fn code(self) -> &'static str {
        match self {
            MemberRole::Lead => "lead",
            MemberRole::Member => "member",
        }
    }

    pub fn from_code(code: &str) -> Option<MemberRole> {
        match code.trim().to_ascii_lowercase().as_str() {
            "lead" => Some(MemberRole::Lead),
            "member" => Some(MemberRole::Member),
            _ => None,
        }
    }
}

/// The organisations around one partnership that access depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Family {
    /// Members of the partnership, of those nested in it and of those it is nested in.
    pub readers: Vec<String>,
    /// Leads of the partnership and of those it is nested in.
    pub leads: Vec<String>,
}

pub fn may_read(actor: &Actor, family: &Family) -> bool {
    actor.role == Role::SystemAdmin || family.readers.contains(&actor.org)
}

pub fn may_manage(actor: &Actor, family: &Family) -> bool {
    actor.role == Role::PartnershipLead && family.leads.contains(&actor.org)
}

/// Whether `actor` may report progress on a commitment led by `lead` with
/// `contributors`.
pub fn may_update(actor: &Actor, family: &Family, lead: &str, contributors: &[String]) -> bool {
    if may_manage(actor, family) {
        return true;
    }
    (actor.is_token()
        || matches!(
            actor.role,
            Role::PartnershipLead | Role::OrgAdmin | Role::Coordinator | Role::Caseworker
        ))
        && may_read(actor, family)
        && (actor.org == lead || contributors.contains(&actor.org))
}

/// Who runs a partnership — sets up its members, or nests a new partnership in
/// it: its lead, or a system admin (who sets up a partnership's first lead).
pub fn may_run(actor: &Actor, family: &Family) -> bool {
    actor.role == Role::SystemAdmin || may_manage(actor, family)
}

/// The organisation that leads a partnership `actor` makes: a partnership lead's
/// own; a system admin's partnership gets its lead when members are added.
pub fn founding_lead(actor: &Actor) -> Option<&str> {
    (actor.role == Role::PartnershipLead).then_some(actor.org.as_str())
}

/// Who may import the partners' sheet (organisations of every sector, and their
/// memberships): a system admin.
pub fn may_import_partners(actor: &Actor) -> bool {
    actor.role == Role::SystemAdmin
}

pub fn may_edit_org(actor: &Actor, org: &str) -> bool {
    actor.role == Role::SystemAdmin || (actor.role == Role::OrgAdmin && actor.org == org)
}

/// Who may make a partnership: a system admin, or a partnership lead (whose
/// organisation leads what they make).
pub fn may_create_partnership(actor: &Actor) -> bool {
    matches!(actor.role, Role::SystemAdmin | Role::PartnershipLead)
}

/// Who may import anchor measures and social value: an organisation's admin (for
/// their own organisation) or a system admin.
pub fn may_import_anchor_measures(actor: &Actor) -> bool {
    matches!(actor.role, Role::OrgAdmin | Role::SystemAdmin)
}

pub fn may_import_place_data(actor: &Actor) -> bool {
    matches!(actor.role, Role::SystemAdmin | Role::PartnershipLead)
}

/// Who may run a residents' survey — enter paper responses, import another
/// tool's, read (and so moderate) residents' free text: a partnership lead or a
/// system admin, signed in (never an API token). Everyone else signed in reads
/// its aggregates only; anyone may answer it.
pub fn may_run_surveys(actor: &Actor) -> bool {
    !actor.is_token() && matches!(actor.role, Role::SystemAdmin | Role::PartnershipLead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_leads_and_admins_run_surveys() {
        for role in Role::ALL {
            let allowed = matches!(role, Role::SystemAdmin | Role::PartnershipLead);
            assert_eq!(may_run_surveys(&actor(*role, "o")), allowed, "{role:?}");
        }
        assert!(!may_run_surveys(&Actor::token("t", "o".into())));
    }

    fn actor(role: Role, org: &str) -> Actor {
        Actor {
            id: format!("{}-{org}", role.code()),
            org: org.into(),
            role,
        }
    }

    #[test]
    fn the_matrix_of_partnership_access() {
        let family = Family {
            readers: vec!["council".into(), "nhs".into(), "charity".into()],
            leads: vec!["council".into()],
        };
        let contributors = vec!["charity".to_owned()];
        for role in Role::ALL {
            for org in ["council", "nhs", "charity", "outsider"] {
                let a = actor(*role, org);
                assert_eq!(
                    may_read(&a, &family),
                    org != "outsider" || *role == Role::SystemAdmin,
                    "{role:?} of {org} reading"
                );
                assert_eq!(
                    may_manage(&a, &family),
                    *role == Role::PartnershipLead && org == "council",
                    "{role:?} of {org} managing"
                );
                // The commitment is led by the NHS, with the charity contributing.
                let update = may_update(&a, &family, "nhs", &contributors);
                let expect = (*role == Role::PartnershipLead && org == "council")
                    || (matches!(
                        role,
                        Role::PartnershipLead
                            | Role::OrgAdmin
                            | Role::Coordinator
                            | Role::Caseworker
                    ) && matches!(org, "nhs" | "charity"));
                assert_eq!(update, expect, "{role:?} of {org} updating");
                assert_eq!(
                    may_edit_org(&a, "nhs"),
                    *role == Role::SystemAdmin || (*role == Role::OrgAdmin && org == "nhs")
                );
                assert_eq!(
                    may_create_partnership(&a),
                    matches!(role, Role::SystemAdmin | Role::PartnershipLead),
                    "{role:?} making a partnership"
                );
                assert_eq!(
                    may_run(&a, &family),
                    *role == Role::SystemAdmin
                        || (*role == Role::PartnershipLead && org == "council"),
                    "{role:?} of {org} running the partnership"
                );
                assert_eq!(
                    founding_lead(&a),
                    (*role == Role::PartnershipLead).then_some(org),
                    "{role:?} of {org} founding"
                );
                assert_eq!(
                    may_import_partners(&a),
                    *role == Role::SystemAdmin,
                    "{role:?} importing partners"
                );
                assert_eq!(
                    may_import_anchor_measures(&a),
                    matches!(role, Role::OrgAdmin | Role::SystemAdmin),
                    "{role:?} importing anchor measures"
                );
            }
        }
        // An outsider's partnership lead cannot update even a commitment naming them.
        let outsider = actor(Role::PartnershipLead, "outsider");
        assert!(!may_update(&outsider, &family, "outsider", &[]));
    }

    #[test]
    fn an_organisations_token_reports_on_its_own_commitments_only() {
        let family = Family {
            readers: vec!["council".into(), "nhs".into(), "charity".into()],
            leads: vec!["council".into()],
        };
        let token = |org: &str| Actor::token("t1", org.into());
        let contributors = vec!["charity".to_owned()];
        assert!(token("nhs").is_token());
        assert!(may_update(&token("nhs"), &family, "nhs", &contributors));
        assert!(may_update(&token("charity"), &family, "nhs", &contributors));
        // The leading council's token does not manage: only a person leads.
        assert!(!may_update(
            &token("council"),
            &family,
            "nhs",
            &contributors
        ));
        assert!(!may_manage(&token("council"), &family));
        assert!(!may_update(&token("outsider"), &family, "outsider", &[]));
        // A referrer in person reports nothing.
        assert!(!may_update(
            &actor(Role::Referrer, "nhs"),
            &family,
            "nhs",
            &contributors
        ));
    }
}
