//! A commitment's delivery statuses and when its next progress update is owed.

use syndemic_model::date::julian_day;

/// The delivery statuses an update records, with their labels. `withdrawn` is
/// a commitment the board has stopped (the update says why); it and `complete`
/// end the reminders.
pub const STATUSES: [(&str, &str); 6] = [
    ("not-started", "Not started"),
    ("on-track", "On track"),
    ("at-risk", "At risk"),
    ("off-track", "Off track"),
    ("complete", "Complete"),
    ("withdrawn", "Withdrawn"),
];

/// Whether `status` ends a commitment's reporting.
pub fn is_closed(status: &str) -> bool {
    matches!(status, "complete" | "withdrawn")
}

/// When the next update is due (Unix seconds): `every_days` after the last
/// update, or after the commitment was made if it has none.
pub fn due_at(last_update: Option<i64>, created_at: i64, every_days: i64) -> i64 {
    last_update.unwrap_or(created_at) + every_days * 86_400
}

/// Whether an update is overdue at `now`: it fell due before `now`, the latest
/// status does not close the commitment, and it fell due within the plan's period
/// (`plan_end`, a Julian day) — no update falls due after a plan has ended, though
/// one that fell due before the end stays owed.
pub fn overdue(status: &str, due_at: i64, plan_end: Option<i64>, now: i64) -> bool {
    !is_closed(status) && due_at < now && plan_end.is_none_or(|end| julian_day(due_at) <= end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syndemic_model::date::parse_day as parse_date;

    const DAY: i64 = 86_400;

    #[test]
    fn reminders_follow_the_status_and_the_plan_period() {
        let made = 1_764_547_200; // 2025-12-01
        let due = due_at(None, made, 92);
        assert_eq!(due, made + 92 * DAY);
        assert_eq!(due_at(Some(made + 10 * DAY), made, 92), made + 102 * DAY);
        let end = parse_date("2028-03-31");
        assert!(!overdue("on-track", due, end, due - 1), "not yet due");
        assert!(!overdue("on-track", due, end, due), "due now is not late");
        assert!(overdue("on-track", due, end, due + 1));
        assert!(overdue("not-started", due, None, due + DAY));
        for closed in ["complete", "withdrawn"] {
            assert!(!overdue(closed, due, end, due + 400 * DAY), "{closed}");
        }
        // A plan that ended before the update fell due owes none…
        let ended = parse_date("2026-01-31");
        assert!(!overdue("at-risk", due, ended, due + 400 * DAY));
        // …but one that fell due on its last day or before stays owed.
        let last_day = Some(julian_day(due));
        assert!(overdue("at-risk", due, last_day, due + 400 * DAY));
    }

    #[test]
    fn every_status_has_a_distinct_code_and_label() {
        let codes: std::collections::BTreeSet<_> = STATUSES.iter().map(|s| s.0).collect();
        let labels: std::collections::BTreeSet<_> = STATUSES.iter().map(|s| s.1).collect();
        assert_eq!(codes.len(), STATUSES.len());
        assert_eq!(labels.len(), STATUSES.len());
        assert!(STATUSES.iter().filter(|s| is_closed(s.0)).count() == 2);
    }
}
