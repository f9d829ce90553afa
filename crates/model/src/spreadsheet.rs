//! Text written into a CSV file that a spreadsheet will open.
//!
//! A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` as a formula
//! (`=HYPERLINK("https://evil.example","Click")`, `@SUM(…)`, `+cmd|…`), and some
//! read a leading tab or carriage return past. Any text that reaches a download
//! from a person (a commitment's title, an organisation's name, a search) could be
//! one. OWASP's advice ("CSV Injection") is followed: such a cell is written with a
//! single quote in front, which spreadsheets show as text and do not run. A number
//! (`-3.5`, `+2`, `-1e-5`) is left as it is, so it stays a number.

use std::borrow::Cow;

/// `text` as a CSV cell a spreadsheet will not run: a leading `'` where it would
/// begin a formula; every number, and every other text, unchanged.
pub fn formula_safe(text: &str) -> Cow<'_, str> {
    let risky = text
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && !text.parse::<f64>().is_ok_and(f64::is_finite) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::formula_safe;
    use proptest::prelude::*;

    #[test]
    fn formulas_are_quoted_and_numbers_kept() {
        for (text, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            (
                "@SUM(1+1)*cmd|' /C calc'!A0",
                "'@SUM(1+1)*cmd|' /C calc'!A0",
            ),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "'\r=1+1"),
            ("-", "'-"),
            ("-inf", "'-inf"),
            ("-NaN", "'-NaN"),
            ("-3.5", "-3.5"),
            ("+2", "+2"),
            ("-1e-5", "-1e-5"),
            ("Warm homes", "Warm homes"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(formula_safe(text), written, "{text:?}");
        }
    }

    proptest! {
        /// Whatever the text, what is written never begins a formula unless it is
        /// a number, and dropping the added quote gives the text back.
        #[test]
        fn nothing_written_runs(text in ".{0,20}") {
            let written = formula_safe(&text);
            let first = written.chars().next();
            let number = written.parse::<f64>().is_ok_and(f64::is_finite);
            prop_assert!(number || !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')));
            let back = if written.len() > text.len() { &written[1..] } else { &written[..] };
            prop_assert_eq!(back, text.as_str());
        }

        /// Every finite number is written as it is.
        #[test]
        fn numbers_are_unchanged(x in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let text = x.to_string();
            prop_assert_eq!(formula_safe(&text), text.as_str());
        }
    }
}
