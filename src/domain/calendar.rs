//! The working-day calendar and deadline arithmetic. Pure: the official data comes in as
//! parsed notices, and every computation is on a precomputed table of days, so finding "the
//! Nth working day after d" is two array look-ups.
//!
//! Times are China Standard Time (UTC+8, no daylight saving): a deadline of N working days
//! ends at 23:59:59 local on the Nth working day after the day of receipt.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};

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
    pub fn validate(&self) -> Result<(), Vec<super::FieldError>> {
        use super::FieldError;
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cal() -> Calendar {
        let data: CalendarData =
            toml::from_str(include_str!("../../calendars/cn.toml")).unwrap_or_else(|e| panic!("calendar data: {e}"));
        Calendar::new(&data)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_2026_notice_is_followed() {
        let c = cal();
        for s in ["2026-02-14", "2026-02-28", "2026-10-10"] {
            let d = c.day(date(s)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((d.kind, d.working, d.provisional), (DayKind::AdjustedWorkday, true, false), "{s}");
        }
        let mut d = date("2026-02-15");
        while d <= date("2026-02-23") {
            assert_eq!(c.day(d).map(|i| i.kind), Ok(DayKind::Holiday), "{d}");
            d += Duration::days(1);
        }
        let mut d = date("2026-10-01");
        while d <= date("2026-10-07") {
            assert!(!c.day(d).map(|i| i.working).unwrap_or(true), "{d}");
            d += Duration::days(1);
        }
        assert_eq!(c.day(date("2026-10-01")).map(|i| i.name), Ok(Some("国庆节".to_owned())));
    }

    #[test]
    fn three_working_days_from_30_september_2026_end_on_saturday_10_october() {
        let c = cal();
        let t = DateTime::parse_from_rfc3339("2026-09-30T10:00:00+08:00").unwrap_or_else(|e| panic!("{e}"));
        let due = c.working_days_deadline(t, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(due.to_rfc3339(), "2026-10-10T23:59:59+08:00");
        assert_eq!(due.weekday(), Weekday::Sat);
    }

    #[test]
    fn a_time_given_in_utc_counts_from_its_local_day() {
        let c = cal();
        // 2026-09-29 20:00 UTC is already 30 September in China.
        let t = DateTime::parse_from_rfc3339("2026-09-29T20:00:00Z").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.working_days_deadline(t, 3).map(|d| d.to_rfc3339()), Ok("2026-10-10T23:59:59+08:00".to_owned()));
    }

    #[test]
    fn business_minutes_skip_nights_weekends_and_holidays() {
        let c = cal();
        let h = BusinessHours::default();
        let t = DateTime::parse_from_rfc3339("2026-09-30T16:30:00+08:00").unwrap_or_else(|e| panic!("{e}"));
        // 30 minutes on the 30th, then the holiday week, then 30 minutes on Thursday 8 October.
        let due = c.business_minutes_deadline(t, 60, &h).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(due.to_rfc3339(), "2026-10-08T09:30:00+08:00");
        let night = DateTime::parse_from_rfc3339("2026-03-02T22:00:00+08:00").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.business_minutes_deadline(night, 10, &h).map(|d| d.to_rfc3339()),
            Ok("2026-03-03T09:10:00+08:00".to_owned())
        );
    }

    #[test]
    fn a_centre_open_on_saturday_mornings_counts_them() {
        let c = cal();
        let nine = NaiveTime::from_hms_opt(9, 0, 0);
        let noon = NaiveTime::from_hms_opt(12, 0, 0);
        let centre = BusinessHours { saturday_open: nine, saturday_close: noon, ..BusinessHours::default() };
        // Friday 6 March 2026, 16:30: 30 minutes on Friday, then Saturday morning for a centre.
        let t = DateTime::parse_from_rfc3339("2026-03-06T16:30:00+08:00").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.business_minutes_deadline(t, 60, &centre).map(|d| d.to_rfc3339()),
            Ok("2026-03-07T09:30:00+08:00".to_owned())
        );
        assert_eq!(
            c.business_minutes_deadline(t, 60, &BusinessHours::default()).map(|d| d.to_rfc3339()),
            Ok("2026-03-09T09:30:00+08:00".to_owned())
        );
        // A Saturday inside a holiday (2026-10-03) stays closed.
        let holiday = DateTime::parse_from_rfc3339("2026-09-30T16:30:00+08:00").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.business_minutes_deadline(holiday, 60, &centre).map(|d| d.to_rfc3339()),
            Ok("2026-10-08T09:30:00+08:00".to_owned())
        );
    }

    #[test]
    fn years_without_a_notice_are_provisional_with_the_fixed_holidays() {
        let c = cal();
        let d = c.day(date("2027-10-02")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((d.kind, d.provisional), (DayKind::Holiday, true));
        // 春节 2027: 除夕 5 February to 初三 8 February, computed.
        for s in ["2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"] {
            assert_eq!(
                c.day(date(s)).map(|i| (i.kind, i.name)),
                Ok((DayKind::Holiday, Some("春节".to_owned()))),
                "{s}"
            );
        }
        assert_eq!(c.day(date("2027-02-09")).map(|i| i.kind), Ok(DayKind::Workday));
        assert!(!c.day(date("2026-10-02")).map(|d| d.provisional).unwrap_or(true));
        assert_eq!(c.day(date("2019-12-31")), Err(CalendarError::OutOfRange));
    }

    #[test]
    fn a_regional_holiday_moves_deadlines_in_that_region_only() {
        let c = cal();
        let local =
            c.with_overrides(&[Override {
                date: date("2026-03-03"), kind: DayKind::Holiday, name: "地方节日".into()
            }]);
        assert_eq!(c.nth_working_day_after(date("2026-03-02"), 1), Ok(date("2026-03-03")));
        assert_eq!(local.nth_working_day_after(date("2026-03-02"), 1), Ok(date("2026-03-04")));
        assert_eq!(local.day(date("2026-03-03")).map(|d| d.name), Ok(Some("地方节日".to_owned())));
        assert_eq!(local.version(), "cn-2026.1+local");
    }

    proptest! {
        #[test]
        fn deadlines_are_monotonic_land_on_working_days_and_add_up(
            offset in 0i64..(365 * 7), n in 0u32..200, m in 0u32..200
        ) {
            let c = cal();
            let d = date("2020-01-01") + Duration::days(offset);
            let a = c.nth_working_day_after(d, n).unwrap_or_else(|e| panic!("{e}"));
            let b = c.nth_working_day_after(d, n + m).unwrap_or_else(|e| panic!("{e}"));
            prop_assert!(a <= b);
            if n > 0 {
                prop_assert!(a > d);
                prop_assert!(c.day(a).map(|i| i.working).unwrap_or(false), "{} is not a working day", a);
            }
            prop_assert_eq!(c.nth_working_day_after(a, m).unwrap_or_else(|e| panic!("{e}")), b);
            prop_assert_eq!(nth_working_day_after_by_walking(&c, d, n).unwrap_or_else(|e| panic!("{e}")), a);
        }
    }
}
