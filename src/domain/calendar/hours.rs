//! Business hours: when a unit works, and the minutes of work between two instants.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone};

use super::{Calendar, CalendarError, cst};

/// When a unit or service centre works: weekday hours on working days, optional Saturday hours
/// (e.g. 9:00–12:00 for service centres), and an optional daily cut-off after which work
/// received counts from the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BusinessHours {
    /// Opening on working days, e.g. "09:00:00".
    #[schema(value_type = String, example = "09:00:00")]
    pub open: NaiveTime,
    /// Closing on working days, e.g. "17:00:00" (no lunch break).
    #[schema(value_type = String, example = "17:00:00")]
    pub close: NaiveTime,
    /// Opening on Saturdays that are not holidays, for units that open then.
    #[schema(value_type = Option<String>, example = "09:00:00")]
    pub saturday_open: Option<NaiveTime>,
    /// Closing on those Saturdays.
    #[schema(value_type = Option<String>, example = "12:00:00")]
    pub saturday_close: Option<NaiveTime>,
    /// Work received after this time counts from the next day (working-day clocks).
    #[schema(value_type = Option<String>, example = "17:00:00")]
    pub cutoff: Option<NaiveTime>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            open: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            close: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
            saturday_open: None,
            saturday_close: None,
            cutoff: None,
        }
    }
}

impl Calendar {
    /// Working days strictly after `a` up to and including `b` (0 when `b <= a`).
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<u32, CalendarError> {
        if b <= a {
            return Ok(0);
        }
        let (i, j) = (self.index(a)?, self.index(b)?);
        Ok(self.worked_before[j + 1] - self.worked_before[i + 1])
    }

    /// Minutes of business hours `h` between `a` and `b`.
    pub fn business_minutes_between(
        &self,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
        h: &BusinessHours,
    ) -> Result<u32, CalendarError> {
        let (a, b) = (a.with_timezone(&cst()).naive_local(), b.with_timezone(&cst()).naive_local());
        let mut total = 0i64;
        let mut day = a.date();
        while day <= b.date() {
            if let Some((open, close)) = self.hours_on(self.index(day)?, day, h) {
                let from = if day == a.date() { a.time().max(open) } else { open };
                let to = if day == b.date() { b.time().min(close) } else { close };
                if to > from {
                    total += (to - from).num_minutes();
                }
            }
            day += Duration::days(1);
        }
        Ok(total.max(0) as u32)
    }

    /// Like [`Calendar::working_days_deadline`], with a daily cut-off: work received after
    /// `cutoff` (local) counts as received on the next day.
    pub fn working_days_deadline_with_cutoff(
        &self,
        t: DateTime<FixedOffset>,
        n: u32,
        cutoff: Option<NaiveTime>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let local = t.with_timezone(&cst());
        match cutoff {
            Some(c) if local.time() > c => {
                let next = (local.date_naive() + Duration::days(1)).and_time(NaiveTime::MIN);
                let next = cst().from_local_datetime(&next).single().ok_or(CalendarError::OutOfRange)?;
                self.working_days_deadline(next, n)
            }
            _ => self.working_days_deadline(t, n),
        }
    }
}
