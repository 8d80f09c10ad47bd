//! The city's own numbers for the ledger: the colour thresholds and the ladder (`Rule`), the
//! default working days per source, when the re-checks fall and how long a closing is watched for
//! recurrences. Defaults are the source's practice (see docs/supervision.md); an admin changes
//! them for the city, and every change is checked here first.

use std::collections::BTreeMap;

use super::Source;
use super::ladder::Rule;
use crate::domain::FieldError;

/// The ledger's numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Blue when the deadline is this many days away or fewer.
    pub blue_days: i64,
    /// Yellow when this many points behind the plan or more.
    pub yellow_behind: i64,
    /// Red when more than this many points behind (or overdue).
    pub red_behind: i64,
    /// Every Nth yellow of a unit brings a supervision letter (0: never).
    pub yellows_for_letter: usize,
    /// N reds in a row of a unit bring a referral (0: never).
    pub reds_for_referral: usize,
    /// Working days an item gets unless a deadline is named, per source.
    #[schema(value_type = Object)]
    pub source_days: BTreeMap<String, u32>,
    /// Re-checks after closing, in days (one or two).
    pub recheck_days: Vec<i64>,
    /// A new item of the same unit and category this many days after a closing is a recurrence.
    pub recurrence_days: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        let r = Rule::default();
        Settings {
            blue_days: r.blue_days,
            yellow_behind: r.yellow_behind,
            red_behind: r.red_behind,
            yellows_for_letter: r.yellows_for_letter,
            reds_for_referral: r.reds_for_referral,
            source_days: Source::ALL.iter().map(|s| (s.as_str().to_owned(), s.default_days())).collect(),
            recheck_days: super::RECHECK_AFTER_DAYS.to_vec(),
            recurrence_days: super::RECURRENCE_WINDOW_DAYS,
        }
    }
}

impl Settings {
    /// The colour and ladder rule.
    pub fn rule(&self) -> Rule {
        Rule {
            blue_days: self.blue_days,
            yellow_behind: self.yellow_behind,
            red_behind: self.red_behind,
            yellows_for_letter: self.yellows_for_letter,
            reds_for_referral: self.reds_for_referral,
        }
    }

    /// The working days an item from `source` gets by default.
    pub fn days_for(&self, source: Source) -> u32 {
        self.source_days.get(source.as_str()).copied().unwrap_or_else(|| source.default_days())
    }

    /// Every number that does not make sense, named.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut need = |ok: bool, field: &str, message: &str| {
            if !ok {
                errors.push(FieldError::new(field, message));
            }
        };
        need((0..=30).contains(&self.blue_days), "blue_days", "days from 0 to 30");
        need((1..=100).contains(&self.yellow_behind), "yellow_behind", "points from 1 to 100");
        need(
            self.red_behind >= self.yellow_behind && self.red_behind <= 100,
            "red_behind",
            "points from yellow_behind to 100",
        );
        need(self.yellows_for_letter <= 10, "yellows_for_letter", "from 0 (never) to 10");
        need(self.reds_for_referral <= 10, "reds_for_referral", "from 0 (never) to 10");
        for (k, d) in &self.source_days {
            need(Source::parse(k).is_some(), "source_days", "a ledger source");
            need((1..=super::MAX_DAYS).contains(d), "source_days", "working days from 1 to 120");
        }
        need(
            (1..=2).contains(&self.recheck_days.len()) && self.recheck_days.iter().all(|d| (1..=365).contains(d)),
            "recheck_days",
            "one or two re-checks, 1 to 365 days after closing",
        );
        need((0..=730).contains(&self.recurrence_days), "recurrence_days", "days from 0 to 730");
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_sources_practice_and_nonsense_is_named() {
        let s = Settings::default();
        assert!(s.check().is_empty());
        assert_eq!(s.rule(), Rule::default());
        assert_eq!(s.days_for(Source::Media), 3);
        assert_eq!(s.recheck_days, [30, 90]);
        let bad = Settings { red_behind: 5, recheck_days: vec![], blue_days: -1, ..Settings::default() };
        let fields: Vec<String> = bad.check().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["blue_days", "red_behind", "recheck_days"]);
    }
}
