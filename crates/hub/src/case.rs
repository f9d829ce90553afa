//! A case's rules: what one change to a referral may do, decided from the case as
//! it stands, with no database. The store reads the referral inside its write
//! transaction (on SQLite after `BEGIN IMMEDIATE`), asks [`apply`], and carries
//! out the [`Effect`] it answers — or refuses with its reason — so a rule cannot
//! be checked on a stale row or skipped by a caller.

use crate::need::OutcomeCode;
use crate::referral::MAX_NOTE;
use crate::status::Status;
use crate::workdays::{format_date, parse_date};

/// One change to a referral, recorded on its timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Status {
        to: Status,
        reason: String,
    },
    /// A note; `contact` marks a contact with the person (call, visit, message).
    Note {
        text: String,
        contact: bool,
    },
    /// Accept to a service, reroute, or refer onward: routes the case to it.
    Route {
        service_id: String,
        service_org: Option<String>,
        reason: String,
    },
    Decline {
        reason: String,
    },
    Assign {
        user_id: Option<String>,
    },
    Outcome {
        code: OutcomeCode,
        value: Option<f64>,
    },
    /// Replace an outcome recorded in error by the right one, saying why.
    CorrectOutcome {
        outcome_id: String,
        code: OutcomeCode,
        value: Option<f64>,
        reason: String,
    },
    /// Void an outcome recorded in error (it stays on record, uncounted), saying why.
    VoidOutcome {
        outcome_id: String,
        reason: String,
    },
    AddTask {
        title: String,
        due: String,
    },
    DoneTask {
        task_id: String,
    },
    WithdrawConsent {
        reason: String,
    },
    /// The coordinator confirms (or rejects) that the linked referral is the same person.
    ConfirmLink {
        same_person: bool,
    },
    /// The person was referred onward: a new referral (`reference`) to another
    /// service, open beside this one. Recorded here as an onward-referral outcome.
    Onward {
        reference: String,
        service_id: String,
        reason: String,
    },
}

impl Change {
    /// The kind of timeline entry the change makes.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Status { .. } => "status",
            Change::Note { contact: true, .. } => "contact",
            Change::Note { .. } => "note",
            Change::Route { .. } => "route",
            Change::Decline { .. } => "decline",
            Change::Assign { .. } => "assign",
            Change::Outcome { .. } => "outcome",
            Change::CorrectOutcome { .. } => "outcome-corrected",
            Change::VoidOutcome { .. } => "outcome-voided",
            Change::AddTask { .. } => "task",
            Change::DoneTask { .. } => "task-done",
            Change::WithdrawConsent { .. } => "consent-withdrawn",
            Change::ConfirmLink { .. } => "link",
            Change::Onward { .. } => "onward",
        }
    }
}

/// What the rules need to know of a case as it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub status: Status,
    /// The service it is routed to, if any.
    pub service_id: Option<String>,
    /// Its personal data was erased.
    pub erased: bool,
    pub consent_withdrawn: bool,
    /// It is linked to an earlier referral (a possible repeat).
    pub linked: bool,
}

/// What a change does to the records, once the rules allow it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Set the status; `reached` marks the first contact, `closed` the end.
    Status {
        to: Status,
        reached: bool,
        closed: bool,
    },
    /// Only the timeline entry.
    Timeline,
    /// Accept to the service (triage accepted), unassigned.
    Route {
        service_id: String,
        service_org: Option<String>,
    },
    /// Declined at triage: the case is closed.
    Decline,
    Assign {
        user_id: Option<String>,
    },
    /// Record an outcome, its value checked against the code's range.
    Outcome {
        code: OutcomeCode,
        value: Option<f64>,
    },
    /// Void a standing outcome of this case (the store refuses one that is not),
    /// and, for a correction, record its replacement.
    VoidOutcome {
        outcome_id: String,
        reason: String,
        replacement: Option<(OutcomeCode, Option<f64>)>,
    },
    /// Add a task due on an ISO day.
    AddTask {
        title: String,
        due: String,
    },
    /// Finish an open task (the store refuses one that is not open).
    DoneTask {
        task_id: String,
    },
    WithdrawConsent,
    ConfirmLink {
        same_person: bool,
    },
}

/// The change allowed: what to write, and the timeline entry's text and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub effect: Effect,
    pub body: Option<String>,
    pub data: Option<String>,
}

/// The reason a correction must give, trimmed, or what to do.
fn reason_for(reason: &str, doing: &str) -> Result<String, String> {
    trimmed(reason).ok_or_else(|| format!("give a reason for {doing} an outcome"))
}

fn trimmed(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Decides one change against the case as it stands: the effect to carry out and
/// the timeline entry, or the reason it is refused (shown to the person).
pub fn apply(case: &Case, change: &Change) -> Result<Decided, String> {
    if case.erased {
        return Err("the referral's personal data was erased".into());
    }
    let decided = |effect, body, data| Ok(Decided { effect, body, data });
    match change {
        Change::Status { to, reason } => {
            case.status.check_move(*to)?;
            if case.status.move_needs_reason(*to) && reason.trim().is_empty() {
                return Err(format!(
                    "give a reason for making the case {}",
                    to.label().to_lowercase()
                ));
            }
            if case.service_id.is_none() && *to != Status::Declined {
                return Err("route the referral to a service before working it".into());
            }
            decided(
                Effect::Status {
                    to: *to,
                    reached: to.reached(),
                    closed: to.is_final(),
                },
                trimmed(reason),
                Some(format!("{}→{}", case.status.code(), to.code())),
            )
        }
        Change::Note { text, .. } => {
            let text = text.trim();
            if text.is_empty() {
                return Err("a note needs some text".into());
            }
            if text.chars().count() > MAX_NOTE {
                return Err(format!("a note is at most {MAX_NOTE} characters"));
            }
            decided(Effect::Timeline, Some(text.to_owned()), None)
        }
        Change::Route {
            service_id,
            service_org,
            reason,
        } => {
            if case.status.is_final() {
                return Err(format!(
                    "a {} case cannot be routed",
                    case.status.label().to_lowercase()
                ));
            }
            let from = case.service_id.clone().unwrap_or_default();
            decided(
                Effect::Route {
                    service_id: service_id.clone(),
                    service_org: service_org.clone(),
                },
                trimmed(reason),
                Some(format!("{from}→{service_id}")),
            )
        }
        Change::Decline { reason } => {
            if reason.trim().is_empty() {
                return Err("give a reason for declining".into());
            }
            case.status.check_move(Status::Declined)?;
            decided(Effect::Decline, Some(reason.trim().to_owned()), None)
        }
        Change::Assign { user_id } => decided(
            Effect::Assign {
                user_id: user_id.clone(),
            },
            None,
            user_id.clone(),
        ),
        Change::Outcome { code, value } => {
            let value = code.check_value(*value)?;
            decided(
                Effect::Outcome { code: *code, value },
                Some(code.label().to_owned()),
                Some(format!(
                    "{}={}",
                    code.code(),
                    value.map(|v| v.to_string()).unwrap_or_default()
                )),
            )
        }
        Change::CorrectOutcome {
            outcome_id,
            code,
            value,
            reason,
        } => {
            let reason = reason_for(reason, "correcting")?;
            let value = code.check_value(*value)?;
            decided(
                Effect::VoidOutcome {
                    outcome_id: outcome_id.clone(),
                    reason: reason.clone(),
                    replacement: Some((*code, value)),
                },
                Some(reason),
                Some(format!(
                    "{}={}",
                    code.code(),
                    value.map(|v| v.to_string()).unwrap_or_default()
                )),
            )
        }
        Change::VoidOutcome { outcome_id, reason } => {
            let reason = reason_for(reason, "voiding")?;
            decided(
                Effect::VoidOutcome {
                    outcome_id: outcome_id.clone(),
                    reason: reason.clone(),
                    replacement: None,
                },
                Some(reason),
                None,
            )
        }
        Change::AddTask { title, due } => {
            let title = title.trim();
            if title.is_empty() {
                return Err("a task needs a title".into());
            }
            let due = format_date(parse_date(due)?);
            decided(
                Effect::AddTask {
                    title: title.to_owned(),
                    due: due.clone(),
                },
                Some(title.to_owned()),
                Some(due),
            )
        }
        Change::DoneTask { task_id } => decided(
            Effect::DoneTask {
                task_id: task_id.clone(),
            },
            None,
            Some(task_id.clone()),
        ),
        Change::WithdrawConsent { reason } => {
            if case.consent_withdrawn {
                return Err("consent was withdrawn already".into());
            }
            decided(Effect::WithdrawConsent, trimmed(reason), None)
        }
        Change::Onward {
            reference,
            service_id,
            reason,
        } => {
            if case.consent_withdrawn {
                return Err("consent was withdrawn: the person cannot be referred onward".into());
            }
            decided(
                Effect::Outcome {
                    code: OutcomeCode::OnwardReferral,
                    value: None,
                },
                trimmed(reason),
                Some(format!("{reference}→{service_id}")),
            )
        }
        Change::ConfirmLink { same_person } => {
            if !case.linked {
                return Err("the referral is linked to no other".into());
            }
            decided(
                Effect::ConfirmLink {
                    same_person: *same_person,
                },
                None,
                Some(
                    if *same_person {
                        "same person"
                    } else {
                        "not the same person"
                    }
                    .into(),
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(status: Status, routed: bool) -> Case {
        Case {
            status,
            service_id: routed.then(|| "svc".to_owned()),
            erased: false,
            consent_withdrawn: false,
            linked: false,
        }
    }

    fn status(to: Status, reason: &str) -> Change {
        Change::Status {
            to,
            reason: reason.into(),
        }
    }

    #[test]
    fn an_onward_referral_is_an_outcome_of_the_case_it_leaves_open() {
        let open = case(Status::InProgress, true);
        let onward = Change::Onward {
            reference: "R-1".into(),
            service_id: "svc-2".into(),
            reason: " befriending too ".into(),
        };
        let d = apply(&open, &onward).unwrap();
        assert_eq!(
            d.effect,
            Effect::Outcome {
                code: OutcomeCode::OnwardReferral,
                value: None
            }
        );
        assert_eq!(d.data.as_deref(), Some("R-1→svc-2"));
        assert_eq!(d.body.as_deref(), Some("befriending too"));
        let withdrawn = Case {
            consent_withdrawn: true,
            ..open
        };
        assert!(apply(&withdrawn, &onward).is_err());
    }

    #[test]
    fn an_outcome_is_corrected_or_voided_only_with_a_reason() {
        let closed = case(Status::Closed, true);
        let void = |reason: &str| Change::VoidOutcome {
            outcome_id: "o1".into(),
            reason: reason.into(),
        };
        assert_eq!(
            apply(&closed, &void("  ")).unwrap_err(),
            "give a reason for voiding an outcome"
        );
        let done = apply(&closed, &void(" recorded twice ")).unwrap();
        assert_eq!(
            done.effect,
            Effect::VoidOutcome {
                outcome_id: "o1".into(),
                reason: "recorded twice".into(),
                replacement: None
            }
        );
        let correct = |value: f64| Change::CorrectOutcome {
            outcome_id: "o1".into(),
            code: OutcomeCode::Ons4Close,
            value: Some(value),
            reason: "typed 70 for 7".into(),
        };
        assert!(
            apply(&closed, &correct(70.0)).is_err(),
            "the range still holds"
        );
        let fixed = apply(&closed, &correct(7.0)).unwrap();
        assert_eq!(fixed.data.as_deref(), Some("ons4-close=7"));
        assert_eq!(correct(7.0).kind(), "outcome-corrected");
    }

    #[test]
    fn a_case_is_worked_only_once_routed_and_declined_only_with_a_reason() {
        let new = case(Status::Received, false);
        assert_eq!(
            apply(&new, &status(Status::Contacted, "")).unwrap_err(),
            "route the referral to a service before working it"
        );
        assert_eq!(
            apply(&new, &Change::Decline { reason: " ".into() }).unwrap_err(),
            "give a reason for declining"
        );
        let declined = apply(
            &new,
            &Change::Decline {
                reason: " not eligible ".into(),
            },
        )
        .unwrap();
        assert_eq!(declined.effect, Effect::Decline);
        assert_eq!(declined.body.as_deref(), Some("not eligible"));
        let routed = case(Status::Received, true);
        let contacted = apply(&routed, &status(Status::Contacted, "")).unwrap();
        assert_eq!(
            contacted.effect,
            Effect::Status {
                to: Status::Contacted,
                reached: true,
                closed: false
            }
        );
        assert_eq!(contacted.body, None);
    }

    #[test]
    fn a_final_case_is_not_routed_and_an_erased_one_not_changed() {
        let closed = case(Status::Closed, true);
        let route = Change::Route {
            service_id: "other".into(),
            service_org: None,
            reason: String::new(),
        };
        assert!(apply(&closed, &route)
            .unwrap_err()
            .contains("cannot be routed"));
        let erased = Case {
            erased: true,
            ..case(Status::Received, true)
        };
        let note = Change::Note {
            text: "hello".into(),
            contact: false,
        };
        assert_eq!(
            apply(&erased, &note).unwrap_err(),
            "the referral's personal data was erased"
        );
    }

    #[test]
    fn notes_tasks_consent_and_links_are_checked() {
        let c = case(Status::InProgress, true);
        let empty = Change::Note {
            text: "  ".into(),
            contact: true,
        };
        assert_eq!(apply(&c, &empty).unwrap_err(), "a note needs some text");
        let long = Change::Note {
            text: "x".repeat(MAX_NOTE + 1),
            contact: false,
        };
        assert!(apply(&c, &long).is_err());
        let task = Change::AddTask {
            title: "Call back".into(),
            due: "2026-12-24".into(),
        };
        assert_eq!(
            apply(&c, &task).unwrap().data.as_deref(),
            Some("2026-12-24")
        );
        let bad_day = Change::AddTask {
            title: "Call back".into(),
            due: "24/12/2026".into(),
        };
        assert!(apply(&c, &bad_day).unwrap_err().contains("YYYY-MM-DD"));
        let withdrawn = Case {
            consent_withdrawn: true,
            ..c.clone()
        };
        let again = Change::WithdrawConsent {
            reason: String::new(),
        };
        assert_eq!(
            apply(&withdrawn, &again).unwrap_err(),
            "consent was withdrawn already"
        );
        let link = Change::ConfirmLink { same_person: true };
        assert_eq!(
            apply(&c, &link).unwrap_err(),
            "the referral is linked to no other"
        );
        let linked = Case { linked: true, ..c };
        assert_eq!(
            apply(&linked, &link).unwrap().data.as_deref(),
            Some("same person")
        );
    }
}
