//! The calendar against the official notices, deadlines against the walk, business hours.

use super::*;
use proptest::prelude::*;

fn cal() -> Calendar {
    let data: CalendarData =
        toml::from_str(include_str!("../../../calendars/cn.toml")).unwrap_or_else(|e| panic!("calendar data: {e}"));
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
        assert_eq!(c.day(date(s)).map(|i| (i.kind, i.name)), Ok((DayKind::Holiday, Some("春节".to_owned()))), "{s}");
    }
    assert_eq!(c.day(date("2027-02-09")).map(|i| i.kind), Ok(DayKind::Workday));
    assert!(!c.day(date("2026-10-02")).map(|d| d.provisional).unwrap_or(true));
    assert_eq!(c.day(date("2019-12-31")), Err(CalendarError::OutOfRange));
}

#[test]
fn a_regional_holiday_moves_deadlines_in_that_region_only() {
    let c = cal();
    let local =
        c.with_overrides(&[Override { date: date("2026-03-03"), kind: DayKind::Holiday, name: "地方节日".into() }]);
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
