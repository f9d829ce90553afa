//! Contradictions between the three voices that judge a commitment: what its
//! lead reports (the latest progress status), what the data says (the
//! indicator's latest value against the trajectory), and what the board agreed
//! (the latest review's rating). A board paper must not read "on track" in one
//! column and "off track" in the next without anyone saying why, so each pair
//! that disagrees outright is named for the board to resolve.
//!
//! Each voice is read as good, a concern, bad, or silent: on track, complete
//! and green are good; at risk and amber are a concern; off track and red are
//! bad; not started, withdrawn, no data, no direction and a difference that is
//! not significant say nothing either way. Only good against bad is a
//! contradiction: a concern beside either is a difference of degree.

use crate::trajectory::Judgement;

/// How a voice reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sense {
    Good,
    Concern,
    Bad,
    Silent,
}

fn lead_sense(status: &str) -> Sense {
    match status {
        "on-track" | "complete" => Sense::Good,
        "at-risk" => Sense::Concern,
        "off-track" => Sense::Bad,
        _ => Sense::Silent,
    }
}

fn data_sense(j: Judgement) -> Sense {
    match j {
        Judgement::OnTrack => Sense::Good,
        Judgement::OffTrack => Sense::Bad,
        Judgement::NotSignificant | Judgement::NoData | Judgement::NoDirection => Sense::Silent,
    }
}

fn board_sense(rating: &str) -> Sense {
    match rating {
        "green" | "complete" => Sense::Good,
        "amber" => Sense::Concern,
        "red" => Sense::Bad,
        _ => Sense::Silent,
    }
}

fn opposed(a: Sense, b: Sense) -> bool {
    matches!(
        (a, b),
        (Sense::Good, Sense::Bad) | (Sense::Bad, Sense::Good)
    )
}

/// The contradictions among a commitment's lead status, data judgement and
/// board rating (each where there is one), in words, lead–data, lead–board,
/// data–board.
pub fn contradictions(
    lead_status: Option<&str>,
    data: Judgement,
    board_rating: Option<&str>,
) -> Vec<String> {
    let lead = lead_status.map_or(Sense::Silent, lead_sense);
    let d = data_sense(data);
    let board = board_rating.map_or(Sense::Silent, board_sense);
    let lead_words = |s: Sense| match s {
        Sense::Good => "the lead reports it on track",
        _ => "the lead reports it off track",
    };
    let data_words = |s: Sense| match s {
        Sense::Good => "the data shows it on its trajectory",
        _ => "the data shows it off its trajectory",
    };
    let board_words = |s: Sense| match s {
        Sense::Good => "the board rated it green",
        _ => "the board rated it red",
    };
    let mut out = Vec::new();
    if opposed(lead, d) {
        out.push(format!("{}, but {}", lead_words(lead), data_words(d)));
    }
    if opposed(lead, board) {
        out.push(format!("{}, but {}", lead_words(lead), board_words(board)));
    }
    if opposed(d, board) {
        out.push(format!("{}, but {}", data_words(d), board_words(board)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_against_bad_is_named_and_degrees_are_not() {
        assert_eq!(
            contradictions(Some("on-track"), Judgement::OffTrack, Some("green")),
            [
                "the lead reports it on track, but the data shows it off its trajectory",
                "the data shows it off its trajectory, but the board rated it green",
            ]
        );
        assert_eq!(
            contradictions(Some("off-track"), Judgement::NoData, Some("green")),
            ["the lead reports it off track, but the board rated it green"]
        );
        assert!(contradictions(Some("at-risk"), Judgement::OffTrack, Some("amber")).is_empty());
        assert!(
            contradictions(Some("on-track"), Judgement::NotSignificant, Some("amber")).is_empty()
        );
        assert!(contradictions(None, Judgement::OnTrack, None).is_empty());
        assert!(
            contradictions(Some("not-started"), Judgement::OffTrack, Some("complete")).len() == 1
        );
    }
}
