//! A plan's priority and the evidence it cites. A priority is one line of the
//! plan; it cites its evidence — indicators of any source: Fingertips, computed,
//! residents' evidence — after the word `evidence:`, by id, separated by commas:
//!
//! `Feeling safe after dark — evidence: hartmoor-voices:feel_safe:agree, crime_rate`
//!
//! so a lead writes a plan's priorities and their evidence in one box, and the
//! "you said, we did" page shows each priority with what the evidence says.

/// The most indicators one priority cites.
pub const MAX_EVIDENCE: usize = 8;

/// A priority read from its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priority<'a> {
    /// The priority in words (without its evidence).
    pub text: &'a str,
    /// The ids of the indicators it cites, in order, each once.
    pub evidence: Vec<&'a str>,
}

/// Reads a priority's line: the words before the last `evidence:` (any case)
/// are the priority (a dash, bracket or comma before it dropped), the ids after
/// it its evidence. A line without `evidence:` cites nothing.
pub fn parse(line: &str) -> Priority<'_> {
    let line = line.trim();
    // ASCII lower-casing keeps every byte where it was.
    let Some(at) = line.to_ascii_lowercase().rfind("evidence:") else {
        return Priority {
            text: line,
            evidence: Vec::new(),
        };
    };
    let text = line[..at]
        .trim_end_matches(|c: char| c.is_whitespace() || "—–-([;,:".contains(c))
        .trim();
    let mut evidence: Vec<&str> = Vec::new();
    for id in line[at + "evidence:".len()..]
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|s| s.trim_matches(|c: char| ")].;".contains(c)))
        .filter(|s| !s.is_empty())
    {
        if !evidence.contains(&id) {
            evidence.push(id);
        }
    }
    Priority { text, evidence }
}

/// What is wrong with a plan's priorities, given which indicators exist: each
/// citation of an unknown indicator, and each priority citing too many — by
/// priority number (from 1).
pub fn check(priorities: &[String], exists: impl Fn(&str) -> bool) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, line) in priorities.iter().enumerate() {
        let p = parse(line);
        if p.text.is_empty() {
            problems.push(format!(
                "priority {}: say what the priority is before its evidence",
                n + 1
            ));
        }
        if p.evidence.len() > MAX_EVIDENCE {
            problems.push(format!(
                "priority {}: cites {} indicators; cite at most {MAX_EVIDENCE}",
                n + 1,
                p.evidence.len()
            ));
        }
        for id in p.evidence.iter().filter(|id| !exists(id)) {
            problems.push(format!(
                "priority {} (“{}”): cites `{id}`, which is not an indicator here — give an indicator's id as its page shows it",
                n + 1,
                p.text
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_priority_reads_its_words_and_its_evidence() {
        let p = parse(
            "Feeling safe after dark — evidence: hartmoor-voices:feel_safe:agree, crime_rate",
        );
        assert_eq!(p.text, "Feeling safe after dark");
        assert_eq!(
            p.evidence,
            ["hartmoor-voices:feel_safe:agree", "crime_rate"]
        );
        let p = parse("  Warm homes (Evidence: fuel_poverty fuel_poverty)  ");
        assert_eq!(p.text, "Warm homes");
        assert_eq!(p.evidence, ["fuel_poverty"]);
        let p = parse("Good work for local people");
        assert_eq!(p.text, "Good work for local people");
        assert!(p.evidence.is_empty());
        let p = parse("Évidence et santé — evidence: a.gap;");
        assert_eq!((p.text, p.evidence), ("Évidence et santé", vec!["a.gap"]));
    }

    #[test]
    fn unknown_indicators_and_bare_evidence_are_named_by_priority() {
        let priorities = vec![
            "Warm homes — evidence: fuel_poverty, nonsense".to_owned(),
            "evidence: fuel_poverty".to_owned(),
            "Good work".to_owned(),
        ];
        let problems = check(&priorities, |id| id == "fuel_poverty");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("priority 1 (“Warm homes”): cites `nonsense`"));
        assert!(problems[1].starts_with("priority 2: say what"));
        assert!(check(&priorities[2..], |_| false).is_empty());
    }
}
