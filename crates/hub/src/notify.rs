//! Who is told of a change to a referral, and in what words.
//!
//! Two people follow a referral: the **referrer** who made it, and the
//! **caseworker** it is assigned to. A change tells
//! - the referrer of the milestones they see on their own page (a status change,
//!   acceptance by a service, a decline, an onward referral, consent withdrawn) —
//!   never of notes, tasks or outcomes, which are the service's casework;
//! - the caseworker holding the case of every change someone else makes to it;
//! - whoever a case is assigned to, that it now is theirs, and whoever it was
//!   taken from, that it no longer is;
//!
//! and never tells the person who made the change. Each user is told once per
//! change, as referrer if they are both.
//!
//! The words ([`Topic::sentence`]) name no person and quote nothing typed into
//! the case: they may go by e-mail, which leaves the system. The in-app list adds
//! the referral's reference and a link, behind sign-in.

use crate::case::Change;
use crate::status::Status;

/// Why a user follows a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The user who made the referral.
    Referrer,
    /// The user it is (or was) assigned to.
    Caseworker,
}

impl Audience {
    pub fn code(self) -> &'static str {
        match self {
            Audience::Referrer => "referrer",
            Audience::Caseworker => "caseworker",
        }
    }

    pub fn from_code(code: &str) -> Option<Audience> {
        [Audience::Referrer, Audience::Caseworker]
            .into_iter()
            .find(|a| a.code() == code)
    }
}

/// What happened, in words fit for an e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// The status moved to this one.
    Status(Status),
    /// A service accepted the referral, or it was routed to another.
    Accepted,
    Declined,
    /// The person was referred onward to another service as well.
    Onward,
    ConsentWithdrawn,
    /// The case was assigned to the user told.
    AssignedToYou,
    /// The case was taken from the user told.
    Unassigned,
    /// Another change (a note, a task, an outcome) by someone else.
    Updated,
}

impl Topic {
    /// The code kept with a notification.
    pub fn code(self) -> String {
        match self {
            Topic::Status(s) => format!("status:{}", s.code()),
            Topic::Accepted => "accepted".into(),
            Topic::Declined => "declined".into(),
            Topic::Onward => "onward".into(),
            Topic::ConsentWithdrawn => "consent-withdrawn".into(),
            Topic::AssignedToYou => "assigned".into(),
            Topic::Unassigned => "unassigned".into(),
            Topic::Updated => "updated".into(),
        }
    }

    pub fn from_code(code: &str) -> Option<Topic> {
        if let Some(s) = code.strip_prefix("status:") {
            return Status::from_code(s).map(Topic::Status);
        }
        Some(match code {
            "accepted" => Topic::Accepted,
            "declined" => Topic::Declined,
            "onward" => Topic::Onward,
            "consent-withdrawn" => Topic::ConsentWithdrawn,
            "assigned" => Topic::AssignedToYou,
            "unassigned" => Topic::Unassigned,
            "updated" => Topic::Updated,
            _ => return None,
        })
    }

    /// One sentence for `audience`, naming no person and quoting nothing typed.
    pub fn sentence(self, audience: Audience) -> String {
        let whose = match audience {
            Audience::Referrer => "A referral you made",
            Audience::Caseworker => "A case assigned to you",
        };
        match self {
            Topic::Status(Status::Closed) => format!("{whose} was closed."),
            Topic::Status(Status::InProgress) => format!("{whose} is in progress."),
            Topic::Status(s) => format!("{whose} is now: {}.", s.label().to_lowercase()),
            Topic::Accepted => format!("{whose} was accepted by a service."),
            Topic::Declined => format!("{whose} was declined; the reason is on its page."),
            Topic::Onward => format!("{whose} was referred onward to another service as well."),
            Topic::ConsentWithdrawn => format!("{whose}: the person withdrew their consent."),
            Topic::AssignedToYou => "A case was assigned to you.".into(),
            Topic::Unassigned => "A case you held was assigned to someone else.".into(),
            Topic::Updated => format!("{whose} was updated by a colleague."),
        }
    }
}

/// Who follows a referral as it stands before the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followers<'a> {
    /// The user (or API token) that made it.
    pub referrer: &'a str,
    pub assigned_to: Option<&'a str>,
}

/// One user to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub user: String,
    pub audience: Audience,
    pub topic: Topic,
}

/// Who is told of `change` to a referral followed by `followers`, made by `actor`.
pub fn notices(change: &Change, followers: &Followers<'_>, actor: &str) -> Vec<Notice> {
    let mut out: Vec<Notice> = Vec::new();
    let mut tell = |user: &str, audience: Audience, topic: Topic| {
        if user != actor && !out.iter().any(|n| n.user == user) {
            out.push(Notice {
                user: user.to_owned(),
                audience,
                topic,
            });
        }
    };
    let milestone = match change {
        Change::Status { to, .. } => Some(Topic::Status(*to)),
        Change::Route { .. } => Some(Topic::Accepted),
        Change::Decline { .. } => Some(Topic::Declined),
        Change::Onward { .. } => Some(Topic::Onward),
        Change::WithdrawConsent { .. } => Some(Topic::ConsentWithdrawn),
        _ => None,
    };
    if let Change::Assign { user_id } = change {
        if let Some(new) = user_id.as_deref() {
            tell(new, Audience::Caseworker, Topic::AssignedToYou);
        }
        if let Some(old) = followers.assigned_to {
            if user_id.as_deref() != Some(old) {
                tell(old, Audience::Caseworker, Topic::Unassigned);
            }
        }
        return out;
    }
    if let Some(topic) = milestone {
        tell(followers.referrer, Audience::Referrer, topic);
    }
    if let Some(holder) = followers.assigned_to {
        let topic = match change {
            // Routing to another service takes the case from its caseworker.
            Change::Route { .. } => Topic::Unassigned,
            _ => milestone.unwrap_or(Topic::Updated),
        };
        tell(holder, Audience::Caseworker, topic);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::need::OutcomeCode;

    const GP: &str = "gp-user";
    const CW: &str = "caseworker";
    const COORD: &str = "coordinator";

    fn followers(assigned: Option<&'static str>) -> Followers<'static> {
        Followers {
            referrer: GP,
            assigned_to: assigned,
        }
    }

    fn told(n: &[Notice]) -> Vec<(&str, Audience, Topic)> {
        n.iter()
            .map(|n| (n.user.as_str(), n.audience, n.topic))
            .collect()
    }

    #[test]
    fn the_referrer_hears_of_milestones_and_the_caseworker_of_everything_else() {
        let status = Change::Status {
            to: Status::Contacted,
            reason: String::new(),
        };
        assert_eq!(
            told(&notices(&status, &followers(Some(CW)), COORD)),
            vec![
                (GP, Audience::Referrer, Topic::Status(Status::Contacted)),
                (CW, Audience::Caseworker, Topic::Status(Status::Contacted)),
            ]
        );
        let note = Change::Note {
            text: "Rang twice".into(),
            contact: true,
        };
        assert_eq!(
            told(&notices(&note, &followers(Some(CW)), COORD)),
            vec![(CW, Audience::Caseworker, Topic::Updated)]
        );
        let outcome = Change::Outcome {
            code: OutcomeCode::OnwardReferral,
            value: None,
        };
        assert!(notices(&outcome, &followers(None), COORD).is_empty());
    }

    #[test]
    fn nobody_is_told_of_their_own_change_and_nobody_twice() {
        let close = Change::Status {
            to: Status::Closed,
            reason: String::new(),
        };
        assert_eq!(
            told(&notices(&close, &followers(Some(CW)), CW)),
            vec![(GP, Audience::Referrer, Topic::Status(Status::Closed))]
        );
        // The referrer is also the caseworker: told once, as referrer.
        let same = Followers {
            referrer: CW,
            assigned_to: Some(CW),
        };
        assert_eq!(notices(&close, &same, COORD).len(), 1);
        assert_eq!(
            notices(&close, &same, COORD)[0].audience,
            Audience::Referrer
        );
    }

    #[test]
    fn assignment_tells_the_new_holder_and_the_old() {
        let to_b = Change::Assign {
            user_id: Some("b".into()),
        };
        assert_eq!(
            told(&notices(&to_b, &followers(Some("a")), COORD)),
            vec![
                ("b", Audience::Caseworker, Topic::AssignedToYou),
                ("a", Audience::Caseworker, Topic::Unassigned),
            ]
        );
        // Taking a case oneself tells only the one it was taken from.
        assert_eq!(
            told(&notices(&to_b, &followers(Some("a")), "b")),
            vec![("a", Audience::Caseworker, Topic::Unassigned)]
        );
        // Assigning to the same person again tells nobody else.
        let again = Change::Assign {
            user_id: Some("a".into()),
        };
        assert!(notices(&again, &followers(Some("a")), "a").is_empty());
        let route = Change::Route {
            service_id: "s".into(),
            service_org: None,
            reason: String::new(),
        };
        assert_eq!(
            told(&notices(&route, &followers(Some("a")), COORD)),
            vec![
                (GP, Audience::Referrer, Topic::Accepted),
                ("a", Audience::Caseworker, Topic::Unassigned),
            ]
        );
    }

    #[test]
    fn every_topic_reads_back_from_its_code_and_its_words_name_nobody() {
        let mut topics = vec![
            Topic::Accepted,
            Topic::Declined,
            Topic::Onward,
            Topic::ConsentWithdrawn,
            Topic::AssignedToYou,
            Topic::Unassigned,
            Topic::Updated,
        ];
        topics.extend(Status::ALL.iter().map(|s| Topic::Status(*s)));
        for t in topics {
            assert_eq!(Topic::from_code(&t.code()), Some(t));
            for a in [Audience::Referrer, Audience::Caseworker] {
                assert_eq!(Audience::from_code(a.code()), Some(a));
                let s = t.sentence(a);
                assert!(s.ends_with('.'), "{s}");
                assert!(!s.contains("{"), "{s}");
            }
        }
        assert_eq!(Topic::from_code("status:nonsense"), None);
        assert_eq!(Topic::from_code("nonsense"), None);
    }
}
