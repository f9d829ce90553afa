//! Whether a commitment's indicator is where its plan said it would be.
//!
//! A commitment linked to an indicator has a **baseline** (a value in a period) and a
//! **target** (a value by a date). Its **trajectory** is the straight line between
//! them, in time: at day `t`,
//!
//! ```text
//! trajectory(t) = baseline + (target − baseline) × (t − t_baseline) / (t_target − t_baseline)
//! ```
//!
//! held at the baseline before the baseline and at the target after the target date
//! (the target was to be reached by then, and kept). A period is placed on the line
//! at its middle day (a financial year 2024/25 at 30 September 2024; a date at
//! itself), so a baseline and a latest value of the same kind of period are one
//! whole period apart.
//!
//! The latest value is then judged against the trajectory at the latest period:
//!
//! - **not significant** when the latest 95 % confidence interval contains the
//!   trajectory value — the data cannot tell the two apart;
//! - otherwise **on track** when the value is at or better than the trajectory
//!   (higher or lower as the indicator's polarity says), **off track** when worse.
//!
//! A value without an interval (a count) is judged on the value alone. This is the
//! comparison OHID Fingertips makes against a benchmark ("similar" when the
//! interval contains the benchmark), with the trajectory as the benchmark.
//!
//! Whether the indicator has **moved the right way** since the baseline is judged
//! the same way against the baseline's value, and is called significant only when
//! the two 95 % intervals do not overlap (a conservative test: intervals that
//! overlap slightly can still differ at the 5 % level).

use serde::Serialize;
use syndemic_model::date::day_of;
use syndemic_model::{Period, Polarity};

/// Which way is better for an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

impl Direction {
    /// The direction an indicator's polarity gives; `None` for one that makes no
    /// judgement.
    pub fn of(polarity: Polarity) -> Option<Direction> {
        match polarity {
            Polarity::HigherIsBetter => Some(Direction::HigherIsBetter),
            Polarity::LowerIsBetter => Some(Direction::LowerIsBetter),
            Polarity::NoJudgement => None,
        }
    }

    /// The indicator's polarity where it has one; otherwise the way the target
    /// points from the baseline; `None` when neither says (a target equal to its
    /// baseline on an indicator with no polarity).
    pub fn infer(polarity: Option<Direction>, baseline: f64, target: f64) -> Option<Direction> {
        polarity.or(if target > baseline {
            Some(Direction::HigherIsBetter)
        } else if target < baseline {
            Some(Direction::LowerIsBetter)
        } else {
            None
        })
    }

    /// Whether `a` is at or better than `b`.
    fn at_or_better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::HigherIsBetter => a >= b,
            Direction::LowerIsBetter => a <= b,
        }
    }
}

/// A value at a day (a Julian day number).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub day: i64,
    pub value: f64,
}

/// An observed value with its 95 % confidence limits, where it has them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Observed {
    pub day: i64,
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl Observed {
    fn interval(&self) -> Option<(f64, f64)> {
        match (self.lower, self.upper) {
            (Some(l), Some(u)) if l.is_finite() && u.is_finite() => Some((l.min(u), l.max(u))),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Judgement {
    OnTrack,
    /// The latest interval contains the trajectory value.
    NotSignificant,
    OffTrack,
    /// No latest value to judge.
    NoData,
    /// Neither a polarity nor a target that differs from the baseline says which
    /// way is better.
    NoDirection,
}

impl Judgement {
    pub const ALL: [Judgement; 5] = [
        Judgement::OnTrack,
        Judgement::NotSignificant,
        Judgement::OffTrack,
        Judgement::NoData,
        Judgement::NoDirection,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Judgement::OnTrack => "on-track",
            Judgement::NotSignificant => "not-significant",
            Judgement::OffTrack => "off-track",
            Judgement::NoData => "no-data",
            Judgement::NoDirection => "no-direction",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Judgement::OnTrack => "On track",
            Judgement::NotSignificant => "Not significant",
            Judgement::OffTrack => "Off track",
            Judgement::NoData => "No data yet",
            Judgement::NoDirection => "Not judged (no direction)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrajectoryError {
    #[error("the target date must come after the baseline period")]
    TargetBeforeBaseline,
    #[error("the {0} must be a finite number")]
    NotFinite(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Trajectory {
    pub baseline: Point,
    pub target: Point,
}

/// A judgement of the latest value, with the trajectory value it was judged against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Assessment {
    pub expected: f64,
    pub judgement: Judgement,
}

impl Trajectory {
    pub fn new(baseline: Point, target: Point) -> Result<Trajectory, TrajectoryError> {
        if !baseline.value.is_finite() {
            return Err(TrajectoryError::NotFinite("baseline"));
        }
        if !target.value.is_finite() {
            return Err(TrajectoryError::NotFinite("target"));
        }
        if target.day <= baseline.day {
            return Err(TrajectoryError::TargetBeforeBaseline);
        }
        Ok(Trajectory { baseline, target })
    }

    /// The trajectory's value at `day`.
    pub fn at(&self, day: i64) -> f64 {
        if day <= self.baseline.day {
            return self.baseline.value;
        }
        if day >= self.target.day {
            return self.target.value;
        }
        let f = (day - self.baseline.day) as f64 / (self.target.day - self.baseline.day) as f64;
        self.baseline.value + (self.target.value - self.baseline.value) * f
    }

    /// The latest value judged against the trajectory at its day.
    pub fn judge(&self, latest: Option<&Observed>, polarity: Option<Direction>) -> Assessment {
        let Some(latest) = latest else {
            return Assessment {
                expected: self.baseline.value,
                judgement: Judgement::NoData,
            };
        };
        let expected = self.at(latest.day);
        let judgement = match Direction::infer(polarity, self.baseline.value, self.target.value) {
            _ if !latest.value.is_finite() => Judgement::NoData,
            None => Judgement::NoDirection,
            Some(_)
                if latest
                    .interval()
                    .is_some_and(|(l, u)| l <= expected && expected <= u) =>
            {
                Judgement::NotSignificant
            }
            Some(d) if d.at_or_better(latest.value, expected) => Judgement::OnTrack,
            Some(_) => Judgement::OffTrack,
        };
        Assessment {
            expected,
            judgement,
        }
    }
}

/// How the indicator moved from its baseline to its latest value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Movement {
    Better,
    Worse,
    NoChange,
    /// Either value lacks an interval, or the two intervals overlap.
    NotSignificant,
    NoData,
}

impl Movement {
    pub fn label(self) -> &'static str {
        match self {
            Movement::Better => "Better (significant)",
            Movement::Worse => "Worse (significant)",
            Movement::NoChange => "No change",
            Movement::NotSignificant => "No significant change",
            Movement::NoData => "No data",
        }
    }
}

/// Whether the latest value is significantly better or worse than the baseline:
/// significant only when the two 95 % intervals do not overlap.
pub fn movement(
    baseline: Option<&Observed>,
    latest: Option<&Observed>,
    direction: Option<Direction>,
) -> Movement {
    let (Some(b), Some(l), Some(d)) = (baseline, latest, direction) else {
        return Movement::NoData;
    };
    if b.day == l.day {
        return Movement::NoChange;
    }
    match (b.interval(), l.interval()) {
        (Some((bl, bu)), Some((ll, lu))) if lu < bl || ll > bu => {
            if d.at_or_better(l.value, b.value) {
                Movement::Better
            } else {
                Movement::Worse
            }
        }
        _ => Movement::NotSignificant,
    }
}

/// The middle day of a period: halfway between its first day and the first day
/// after it.
pub fn middle_of(period: &Period) -> i64 {
    let (y, m, d) = period.start();
    let start = day_of(y, m, d).unwrap_or(0);
    let months = i64::from(period.months());
    let total = i64::from(m) - 1 + months;
    let end = day_of(
        y + (total.div_euclid(12)) as i32,
        (total.rem_euclid(12) + 1) as u8,
        1,
    )
    .unwrap_or(start);
    if months == 0 {
        start
    } else {
        start + (end - start) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use syndemic_model::date::{format_day, parse_day as parse_date};

    fn obs(day: i64, value: f64, lower: f64, upper: f64) -> Observed {
        Observed {
            day,
            value,
            lower: Some(lower),
            upper: Some(upper),
        }
    }

    fn line() -> Trajectory {
        // From 20.0 at day 0 down to 10.0 at day 1000: lower is better.
        Trajectory::new(
            Point {
                day: 0,
                value: 20.0,
            },
            Point {
                day: 1000,
                value: 10.0,
            },
        )
        .unwrap()
    }

    #[test]
    fn the_line_runs_from_baseline_to_target_and_holds_outside() {
        let t = line();
        assert_eq!(t.at(-5), 20.0);
        assert_eq!(t.at(0), 20.0);
        assert_eq!(t.at(500), 15.0);
        assert_eq!(t.at(250), 17.5);
        assert_eq!(t.at(1000), 10.0);
        assert_eq!(t.at(2000), 10.0);
    }

    #[test]
    fn judged_by_polarity_with_the_interval_first() {
        let t = line();
        let lower = Some(Direction::LowerIsBetter);
        // Expected 15.0 at day 500.
        let on = t.judge(Some(&obs(500, 13.0, 12.0, 14.0)), lower);
        assert_eq!((on.expected, on.judgement), (15.0, Judgement::OnTrack));
        let off = t.judge(Some(&obs(500, 17.0, 16.0, 18.0)), lower);
        assert_eq!(off.judgement, Judgement::OffTrack);
        // The interval holds 15.0: not significant, however the value falls.
        let ns = t.judge(Some(&obs(500, 16.0, 14.0, 18.0)), lower);
        assert_eq!(ns.judgement, Judgement::NotSignificant);
        let ns = t.judge(Some(&obs(500, 14.5, 15.0, 16.0)), lower);
        assert_eq!(
            ns.judgement,
            Judgement::NotSignificant,
            "a limit on the line"
        );
        // Exactly on the line without an interval is on track.
        let exact = Observed {
            day: 500,
            value: 15.0,
            lower: None,
            upper: None,
        };
        assert_eq!(t.judge(Some(&exact), lower).judgement, Judgement::OnTrack);
        // Higher is better turns the judgement round.
        let higher = Some(Direction::HigherIsBetter);
        let off = t.judge(Some(&obs(500, 13.0, 12.0, 14.0)), higher);
        assert_eq!(off.judgement, Judgement::OffTrack);
        // No polarity: the target's direction says lower is better.
        let inferred = t.judge(Some(&obs(500, 13.0, 12.0, 14.0)), None);
        assert_eq!(inferred.judgement, Judgement::OnTrack);
        assert_eq!(t.judge(None, lower).judgement, Judgement::NoData);
    }

    #[test]
    fn a_flat_target_without_polarity_is_not_judged() {
        let t = Trajectory::new(
            Point { day: 0, value: 5.0 },
            Point {
                day: 10,
                value: 5.0,
            },
        )
        .unwrap();
        let j = t.judge(Some(&obs(5, 4.0, 3.0, 4.5)), None);
        assert_eq!(j.judgement, Judgement::NoDirection);
    }

    #[test]
    fn a_target_must_come_after_its_baseline() {
        let p = Point {
            day: 10,
            value: 1.0,
        };
        assert_eq!(
            Trajectory::new(p, p),
            Err(TrajectoryError::TargetBeforeBaseline)
        );
        assert!(Trajectory::new(
            Point {
                day: 0,
                value: f64::NAN
            },
            p
        )
        .is_err());
    }

    #[test]
    fn periods_sit_at_their_middle_day() {
        let fy = Period::parse("2024/25").unwrap();
        assert_eq!(format_day(middle_of(&fy)), "2024-09-30");
        let y = Period::parse("2019").unwrap();
        assert_eq!(format_day(middle_of(&y)), "2019-07-02");
        let pooled = Period::parse("2017 - 19").unwrap();
        assert_eq!(format_day(middle_of(&pooled)), "2018-07-02");
        let d = Period::parse("2021-03-21").unwrap();
        assert_eq!(format_day(middle_of(&d)), "2021-03-21");
        let q = Period::parse("2024/25 Q4").unwrap();
        assert_eq!(format_day(middle_of(&q)), "2025-02-15");
        assert_eq!(
            parse_date("2030-03-31").map(format_day).as_deref(),
            Some("2030-03-31")
        );
        assert_eq!(parse_date("2030-02-30"), None);
        assert_eq!(parse_date("soon"), None);
    }

    #[test]
    fn movement_needs_intervals_apart() {
        let lower = Some(Direction::LowerIsBetter);
        let b = obs(0, 20.0, 19.0, 21.0);
        assert_eq!(
            movement(Some(&b), Some(&obs(9, 15.0, 14.0, 16.0)), lower),
            Movement::Better
        );
        assert_eq!(
            movement(Some(&b), Some(&obs(9, 25.0, 24.0, 26.0)), lower),
            Movement::Worse
        );
        assert_eq!(
            movement(Some(&b), Some(&obs(9, 18.5, 17.0, 19.5)), lower),
            Movement::NotSignificant
        );
        assert_eq!(movement(Some(&b), Some(&b), lower), Movement::NoChange);
        assert_eq!(movement(None, Some(&b), lower), Movement::NoData);
    }

    proptest! {
        #[test]
        fn the_trajectory_lies_between_baseline_and_target(
            b in -1e6f64..1e6, t in -1e6f64..1e6, span in 1i64..20_000, at in -1000i64..30_000
        ) {
            let tr = Trajectory::new(Point { day: 0, value: b }, Point { day: span, value: t }).unwrap();
            let v = tr.at(at);
            prop_assert!(v.is_finite());
            prop_assert!(v >= b.min(t) - 1e-6 && v <= b.max(t) + 1e-6);
        }

        #[test]
        fn an_interval_around_the_line_is_never_on_or_off_track(
            b in -1e3f64..1e3, t in -1e3f64..1e3, day in 0i64..1000, half in 0.0f64..50.0, shift in -1.0f64..1.0
        ) {
            let tr = Trajectory::new(Point { day: 0, value: b }, Point { day: 1000, value: t }).unwrap();
            let e = tr.at(day);
            let value = e + shift * half;
            let o = obs(day, value, e - half, e + half);
            let j = tr.judge(Some(&o), Some(Direction::HigherIsBetter)).judgement;
            prop_assert_eq!(j, Judgement::NotSignificant);
        }

        #[test]
        fn better_than_the_line_by_more_than_the_interval_is_on_track(
            b in -1e3f64..1e3, t in -1e3f64..1e3, day in 0i64..1000, half in 0.0f64..50.0, gap in 0.001f64..100.0
        ) {
            let tr = Trajectory::new(Point { day: 0, value: b }, Point { day: 1000, value: t }).unwrap();
            let e = tr.at(day);
            let up = obs(day, e + half + gap, e + gap, e + 2.0 * half + gap);
            prop_assert_eq!(tr.judge(Some(&up), Some(Direction::HigherIsBetter)).judgement, Judgement::OnTrack);
            prop_assert_eq!(tr.judge(Some(&up), Some(Direction::LowerIsBetter)).judgement, Judgement::OffTrack);
        }
    }
}
