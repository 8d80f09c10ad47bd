//! What changes the calendar: a region's own days (overrides) and the check of an official
//! year's notice before it is imported.

use chrono::{Datelike, Duration, NaiveDate};

use super::{Calendar, DayKind, FIRST_YEAR, LAST_YEAR, YearNotice, weekend};
use crate::domain::FieldError;

/// A region's own day: a local holiday, or a day worked there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Override {
    /// The day.
    #[schema(value_type = String, example = "2027-02-07")]
    pub date: NaiveDate,
    /// holiday, adjusted_workday or workday.
    pub kind: DayKind,
    /// Its name, e.g. 藏历新年.
    pub name: String,
}

impl Calendar {
    /// This calendar with a region's overrides applied (days outside the table are ignored).
    pub fn with_overrides(&self, overrides: &[Override]) -> Calendar {
        let mut cal = self.clone();
        for o in overrides {
            let Ok(i) = cal.index(o.date) else { continue };
            let id = match cal.names.iter().position(|n| *n == o.name) {
                Some(p) => p as u16,
                None => {
                    cal.names.push(o.name.clone());
                    (cal.names.len() - 1) as u16
                }
            };
            cal.days[i].kind = o.kind;
            cal.days[i].name = id;
        }
        let mut n = 0u32;
        cal.working.clear();
        for (i, d) in cal.days.iter().enumerate() {
            cal.worked_before[i] = n;
            if d.kind.working() {
                cal.working.push(i as u32);
                n += 1;
            }
        }
        cal.worked_before[cal.days.len()] = n;
        if !overrides.is_empty() {
            cal.version = format!("{}+local", cal.version);
        }
        cal
    }
}

impl YearNotice {
    /// Checks a notice before it replaces a year: the year is covered, dates fall in it (元旦
    /// may start on 31 December before), ranges run forward and do not overlap, adjusted working
    /// days are weekend days and not holidays.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(FIRST_YEAR..=LAST_YEAR).contains(&self.year) {
            errors.push(FieldError::new("year", format!("from {FIRST_YEAR} to {LAST_YEAR}")));
        }
        if self.notice.trim().is_empty() {
            errors.push(FieldError::new("notice", "name the notice the dates come from"));
        }
        let in_year = |d: &NaiveDate| d.year() == self.year || (d.year() == self.year - 1 && d.month() == 12);
        let mut days: Vec<NaiveDate> = Vec::new();
        for (i, (name, from, to)) in self.holidays.iter().enumerate() {
            if name.trim().is_empty() || from > to || !in_year(from) || !in_year(to) || (*to - *from).num_days() > 14 {
                errors.push(FieldError::new(
                    format!("holidays[{i}]"),
                    "a name and a range of at most 15 days within the year",
                ));
                continue;
            }
            let mut d = *from;
            while d <= *to {
                if days.contains(&d) {
                    errors.push(FieldError::new(format!("holidays[{i}]"), format!("{d} is listed twice")));
                }
                days.push(d);
                d += Duration::days(1);
            }
        }
        for (i, (name, d)) in self.workdays.iter().enumerate() {
            if name.trim().is_empty() || !in_year(d) {
                errors.push(FieldError::new(format!("workdays[{i}]"), "a name and a date within the year"));
            } else if !weekend(*d) {
                errors.push(FieldError::new(format!("workdays[{i}]"), format!("{d} is not a Saturday or Sunday")));
            } else if days.contains(d) {
                errors.push(FieldError::new(format!("workdays[{i}]"), format!("{d} is also a holiday")));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}
