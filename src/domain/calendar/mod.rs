//! The working-day calendar and deadline arithmetic. Pure: the official data comes in as
//! parsed notices, and every computation is on a precomputed table of days, so finding "the
//! Nth working day after d" is two array look-ups.
//!
//! Times are China Standard Time (UTC+8, no daylight saving): a deadline of N working days
//! ends at 23:59:59 local on the Nth working day after the day of receipt.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};

mod hours;
mod notices;

pub use hours::BusinessHours;
pub use notices::Override;

/// China Standard Time.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()))
}

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday, not a holiday.
    Workday,
    /// Saturday or Sunday, not an adjusted working day.
    Weekend,
    /// A public holiday.
    Holiday,
    /// A weekend day worked in exchange for a holiday (调休上班).
    AdjustedWorkday,
}

impl DayKind {
    /// Whether people work that day.
    pub fn working(self) -> bool {
        matches!(self, DayKind::Workday | DayKind::AdjustedWorkday)
    }
}

/// One year's notice: holidays (name, first day, last day) and adjusted working days.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct YearNotice {
    /// The year.
    pub year: i32,
    /// The notice's title.
    pub notice: String,
    /// (name, from, to), inclusive.
    pub holidays: Vec<(String, NaiveDate, NaiveDate)>,
    /// (name, date).
    pub workdays: Vec<(String, NaiveDate)>,
}

/// The data file: a version and the notices.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CalendarData {
    /// Changes whenever the data does; recorded with every deadline.
    pub version: String,
    /// One entry per year with an official notice.
    #[serde(rename = "year")]
    pub years: Vec<YearNotice>,
}

/// A day as answered by the calendar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DayInfo {
    /// The date.
    #[schema(value_type = String, example = "2026-10-10")]
    pub date: NaiveDate,
    /// Its kind.
    pub kind: DayKind,
    /// Whether people work.
    pub working: bool,
    /// The holiday it belongs to, for holidays and adjusted working days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// True for years without an official notice yet (computed from the holiday law).
    pub provisional: bool,
}

#[derive(Debug, Clone, Copy)]
struct Day {
    kind: DayKind,
    name: u16,
    provisional: bool,
}

/// The first year the table covers.
pub const FIRST_YEAR: i32 = 2020;
/// The last year the table covers.
pub const LAST_YEAR: i32 = 2035;

/// Why a computation has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The date is outside the years the calendar covers.
    #[error("dates from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31 only")]
    OutOfRange,
}

/// The calendar: every day from [`FIRST_YEAR`] to [`LAST_YEAR`], with an index of working days.
#[derive(Debug, Clone)]
pub struct Calendar {
    version: String,
    start: NaiveDate,
    days: Vec<Day>,
    names: Vec<String>,
    /// `worked_before[i]`: working days among `days[..i]`.
    worked_before: Vec<u32>,
    /// Index into `days` of each working day, in order.
    working: Vec<u32>,
}

fn weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Calendar {
    /// Builds the calendar from the official notices; other years are provisional: weekends
    /// and the holidays of the current law (元旦 1 Jan, 春节 除夕 to 初三, 清明, 劳动节 1–2 May,
    /// 端午, 中秋, 国庆节 1–3 Oct), the lunar ones and 清明 computed; no adjusted working days,
    /// which only a notice sets.
    pub fn new(data: &CalendarData) -> Calendar {
        let start = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap_or_default();
        let end = NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap_or_default();
        let count = (end - start).num_days() as usize + 1;
        let official: std::collections::HashSet<i32> = data.years.iter().map(|y| y.year).collect();
        let mut names = vec![String::new()];
        let mut days: Vec<Day> = (0..count)
            .map(|i| {
                let d = start + Duration::days(i as i64);
                Day {
                    kind: if weekend(d) { DayKind::Weekend } else { DayKind::Workday },
                    name: 0,
                    provisional: !official.contains(&d.year()),
                }
            })
            .collect();
        let name_id = |names: &mut Vec<String>, n: &str| -> u16 {
            match names.iter().position(|x| x == n) {
                Some(i) => i as u16,
                None => {
                    names.push(n.to_owned());
                    (names.len() - 1) as u16
                }
            }
        };
        let set = |days: &mut Vec<Day>, d: NaiveDate, kind: DayKind, name: u16| {
            let i = (d - start).num_days();
            if i >= 0 && (i as usize) < days.len() {
                days[i as usize].kind = kind;
                days[i as usize].name = name;
            }
        };
        for y in &data.years {
            for (name, from, to) in &y.holidays {
                let id = name_id(&mut names, name);
                let mut d = *from;
                while d <= *to {
                    set(&mut days, d, DayKind::Holiday, id);
                    d += Duration::days(1);
                }
            }
            for (name, d) in &y.workdays {
                let id = name_id(&mut names, name);
                set(&mut days, *d, DayKind::AdjustedWorkday, id);
            }
        }
        for year in FIRST_YEAR..=LAST_YEAR {
            if official.contains(&year) {
                continue;
            }
            for (name, month, from, to) in [("元旦", 1, 1, 1), ("劳动节", 5, 1, 2), ("国庆节", 10, 1, 3)] {
                let id = name_id(&mut names, name);
                for day in from..=to {
                    if let Some(d) = NaiveDate::from_ymd_opt(year, month, day) {
                        set(&mut days, d, DayKind::Holiday, id);
                    }
                }
            }
            // The lunar festivals and 清明, computed: 春节 is 除夕 and the first three days.
            let mut lunar = Vec::new();
            if let Some(cny) = super::lunar::spring_festival(year) {
                lunar.extend((-1..=2).map(|k| ("春节", cny + Duration::days(k))));
            }
            lunar.push(("清明节", super::lunar::qingming(year)));
            lunar.extend(super::lunar::dragon_boat(year).map(|d| ("端午节", d)));
            lunar.extend(super::lunar::mid_autumn(year).map(|d| ("中秋节", d)));
            for (name, d) in lunar {
                let id = name_id(&mut names, name);
                set(&mut days, d, DayKind::Holiday, id);
            }
        }
        let mut worked_before = Vec::with_capacity(count + 1);
        let mut working = Vec::new();
        let mut n = 0u32;
        for (i, d) in days.iter().enumerate() {
            worked_before.push(n);
            if d.kind.working() {
                working.push(i as u32);
                n += 1;
            }
        }
        worked_before.push(n);
        Calendar { version: data.version.clone(), start, days, names, worked_before, working }
    }

    /// The data version, recorded with every deadline.
    pub fn version(&self) -> &str {
        &self.version
    }

    fn index(&self, d: NaiveDate) -> Result<usize, CalendarError> {
        let i = (d - self.start).num_days();
        if i < 0 || i as usize >= self.days.len() { Err(CalendarError::OutOfRange) } else { Ok(i as usize) }
    }

    fn date_at(&self, i: usize) -> NaiveDate {
        self.start + Duration::days(i as i64)
    }

    /// What kind of day `d` is.
    pub fn day(&self, d: NaiveDate) -> Result<DayInfo, CalendarError> {
        let day = self.days[self.index(d)?];
        Ok(DayInfo {
            date: d,
            kind: day.kind,
            working: day.kind.working(),
            name: (day.name != 0).then(|| self.names[day.name as usize].clone()),
            provisional: day.provisional,
        })
    }

    /// The Nth working day after `d` (the day `d` itself never counts). N = 0 gives `d`.
    pub fn nth_working_day_after(&self, d: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let i = self.index(d)?;
        if n == 0 {
            return Ok(d);
        }
        let rank = self.worked_before[i + 1] as usize + n as usize - 1;
        let at = *self.working.get(rank).ok_or(CalendarError::OutOfRange)? as usize;
        Ok(self.date_at(at))
    }

    /// Whether any day from `from` to `to` (inclusive) is provisional.
    pub fn any_provisional(&self, from: NaiveDate, to: NaiveDate) -> bool {
        let (Ok(a), Ok(b)) = (self.index(from), self.index(to)) else { return true };
        self.days[a.min(b)..=a.max(b)].iter().any(|d| d.provisional)
    }

    /// "N working days from t": the end (23:59:59 local) of the Nth working day after the day
    /// of `t`.
    pub fn working_days_deadline(
        &self,
        t: DateTime<FixedOffset>,
        n: u32,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let local = t.with_timezone(&cst());
        let day = self.nth_working_day_after(local.date_naive(), n)?;
        let end = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
        cst().from_local_datetime(&end).single().ok_or(CalendarError::OutOfRange)
    }

    /// The hours `h` give for day `i` (`date`): working days use the weekday hours; a Saturday
    /// that is no holiday uses the Saturday hours of units that open then.
    fn hours_on(&self, i: usize, date: NaiveDate, h: &BusinessHours) -> Option<(NaiveTime, NaiveTime)> {
        let kind = self.days[i].kind;
        if kind.working() {
            Some((h.open, h.close))
        } else if kind == DayKind::Weekend && date.weekday() == Weekday::Sat {
            h.saturday_open.zip(h.saturday_close)
        } else {
            None
        }
    }

    /// `n` minutes of business hours `h` after `t`. Time outside business hours does not count.
    pub fn business_minutes_deadline(
        &self,
        t: DateTime<FixedOffset>,
        n: u32,
        h: &BusinessHours,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let mut local = t.with_timezone(&cst()).naive_local();
        let mut left = i64::from(n);
        loop {
            let date = local.date();
            let i = self.index(date)?;
            if let Some((open, close)) = self.hours_on(i, date, h) {
                let start = local.time().max(open);
                if start < close {
                    let available = (close - start).num_minutes();
                    if left <= available {
                        let due = date.and_time(start) + Duration::minutes(left);
                        return cst().from_local_datetime(&due).single().ok_or(CalendarError::OutOfRange);
                    }
                    left -= available;
                }
            }
            local = (date + Duration::days(1)).and_time(NaiveTime::MIN);
        }
    }
}

/// A naive day-by-day walk, the obvious algorithm: kept as the benchmark's baseline and as a
/// test oracle.
pub fn nth_working_day_after_by_walking(cal: &Calendar, d: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
    let mut day = d;
    let mut left = n;
    while left > 0 {
        day += Duration::days(1);
        if cal.day(day)?.working {
            left -= 1;
        }
    }
    Ok(day)
}

#[cfg(test)]
mod tests;
