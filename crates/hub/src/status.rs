//! The case lifecycle.
//!
//! ```text
//! received ──► contacted ──► in progress ──► closed
//!    │  └────► could not contact ──► contacted | closed
//!    └───────► declined (with a reason; final)
//! ```
//! A closed case may be reopened (back to in progress) with a reason; a declined
//! one may not — a new referral is made instead.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Received,
    Contacted,
    InProgress,
    CouldNotContact,
    Closed,
    Declined,
}

impl Status {
    pub const ALL: &'static [Status] = &[
        Status::Received,
        Status::Contacted,
        Status::InProgress,
        Status::CouldNotContact,
        Status::Closed,
        Status::Declined,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Contacted => "contacted",
            Status::InProgress => "in-progress",
            Status::CouldNotContact => "could-not-contact",
            Status::Closed => "closed",
            Status::Declined => "declined",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Received => "Received",
            Status::Contacted => "Contacted",
            Status::InProgress => "In progress",
            Status::CouldNotContact => "Could not contact",
            Status::Closed => "Closed",
            Status::Declined => "Declined",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// Whether the case is finished (closed or declined).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Declined)
    }

    /// Whether the person has been reached (the first-contact clock has stopped).
    pub fn reached(self) -> bool {
        matches!(
            self,
            Status::Contacted | Status::InProgress | Status::Closed
        )
    }

    /// The statuses a case may move to from this one.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Received => &[Status::Contacted, Status::CouldNotContact, Status::Declined],
            Status::Contacted => &[Status::InProgress, Status::Closed, Status::Declined],
            Status::InProgress => &[Status::Closed],
            Status::CouldNotContact => &[Status::Contacted, Status::Closed],
            Status::Closed => &[Status::InProgress],
            Status::Declined => &[],
        }
    }

    /// Checks a move, saying what is allowed instead.
    pub fn check_move(self, to: Status) -> Result<(), String> {
        if self.next().contains(&to) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.next().iter().map(|s| s.label()).collect();
        Err(if allowed.is_empty() {
            format!(
                "a {} case cannot change status; make a new referral instead",
                self.label().to_lowercase()
            )
        } else {
            format!(
                "a {} case cannot become {}; it can become: {}",
                self.label().to_lowercase(),
                to.label().to_lowercase(),
                allowed.join(", ")
            )
        })
    }

    /// Whether the move needs a reason recorded with it.
    pub fn move_needs_reason(self, to: Status) -> bool {
        matches!(to, Status::Declined) || matches!((self, to), (Status::Closed, Status::InProgress))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle() {
        assert!(Status::Received.check_move(Status::Contacted).is_ok());
        assert!(Status::Received.check_move(Status::Closed).is_err());
        let e = Status::Declined.check_move(Status::Received).unwrap_err();
        assert!(e.contains("new referral"), "{e}");
        let e = Status::InProgress.check_move(Status::Received).unwrap_err();
        assert!(e.contains("Closed"), "{e}");
        assert!(Status::Closed.move_needs_reason(Status::InProgress));
        // Every status but declined leads somewhere, and every one is reachable.
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(*s));
            if *s != Status::Received {
                assert!(
                    Status::ALL.iter().any(|from| from.next().contains(s)),
                    "{s:?}"
                );
            }
        }
    }
}
