//! Which way is better for an indicator: the one polarity every crate shares.

/// Which way is better for an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Polarity {
    HigherIsBetter,
    LowerIsBetter,
    /// Neither direction is better (e.g. a population count): higher or lower is
    /// reported without judgement.
    NoJudgement,
}

impl Polarity {
    /// The polarity's key as stored and exchanged.
    pub fn key(self) -> &'static str {
        match self {
            Polarity::HigherIsBetter => "higher-is-better",
            Polarity::LowerIsBetter => "lower-is-better",
            Polarity::NoJudgement => "no-judgement",
        }
    }

    pub fn from_key(key: &str) -> Option<Polarity> {
        [
            Polarity::HigherIsBetter,
            Polarity::LowerIsBetter,
            Polarity::NoJudgement,
        ]
        .into_iter()
        .find(|p| p.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::Polarity;

    #[test]
    fn keys_round_trip() {
        for p in [
            Polarity::HigherIsBetter,
            Polarity::LowerIsBetter,
            Polarity::NoJudgement,
        ] {
            assert_eq!(Polarity::from_key(p.key()), Some(p));
        }
        assert_eq!(Polarity::from_key("high"), None);
    }
}
