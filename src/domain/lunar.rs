//! The Chinese lunisolar calendar, computed from astronomy, for the provisional years: new moons
//! (Meeus, *Astronomical Algorithms*, ch. 49) and the sun's longitude (ch. 25, low precision),
//! in China Standard Time. Enough to date 春节, 清明, 端午 and 中秋 to the day; an official
//! notice, when it comes, replaces the result.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

const J2000: f64 = 2451545.0;

fn to_cst(jde: f64) -> NaiveDateTime {
    // Julian ephemeris day to UTC (ΔT ≈ 69 s in this period), then UTC+8.
    let unix_days = jde - 2440587.5 - 69.0 / 86400.0 + 8.0 / 24.0;
    let secs = (unix_days * 86400.0).round() as i64;
    chrono::DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc()).unwrap_or_default()
}

fn sin_d(x: f64) -> f64 {
    x.to_radians().sin()
}

/// The JDE of new moon number `k` (k = 0 near 2000-01-06).
fn new_moon(k: f64) -> f64 {
    let t = k / 1236.85;
    let jde = 2451550.09766 + 29.530588861 * k + 0.00015437 * t * t - 0.000000150 * t * t * t;
    let e = 1.0 - 0.002516 * t - 0.0000074 * t * t;
    let m = 2.5534 + 29.10535670 * k - 0.0000014 * t * t;
    let mp = 201.5643 + 385.81693528 * k + 0.0107582 * t * t;
    let f = 160.7108 + 390.67050284 * k - 0.0016118 * t * t;
    let om = 124.7746 - 1.56375588 * k + 0.0020672 * t * t;
    let corr = -0.40720 * sin_d(mp)
        + 0.17241 * e * sin_d(m)
        + 0.01608 * sin_d(2.0 * mp)
        + 0.01039 * sin_d(2.0 * f)
        + 0.00739 * e * sin_d(mp - m)
        - 0.00514 * e * sin_d(mp + m)
        + 0.00208 * e * e * sin_d(2.0 * m)
        - 0.00111 * sin_d(mp - 2.0 * f)
        - 0.00057 * sin_d(mp + 2.0 * f)
        + 0.00056 * e * sin_d(2.0 * mp + m)
        - 0.00042 * sin_d(3.0 * mp)
        + 0.00042 * e * sin_d(m + 2.0 * f)
        + 0.00038 * e * sin_d(m - 2.0 * f)
        - 0.00024 * e * sin_d(2.0 * mp - m)
        - 0.00017 * sin_d(om);
    jde + corr
}

/// The sun's apparent longitude (degrees) at `jde`.
fn sun_longitude(jde: f64) -> f64 {
    let t = (jde - J2000) / 36525.0;
    let l0 = 280.46646 + 36000.76983 * t + 0.0003032 * t * t;
    let m = 357.52911 + 35999.05029 * t - 0.0001537 * t * t;
    let c =
        (1.914602 - 0.004817 * t) * sin_d(m) + (0.019993 - 0.000101 * t) * sin_d(2.0 * m) + 0.000289 * sin_d(3.0 * m);
    let om = 125.04 - 1934.136 * t;
    (l0 + c - 0.00569 - 0.00478 * sin_d(om)).rem_euclid(360.0)
}

/// The JDE when the sun reaches `longitude` (degrees) near `guess`.
fn solar_term(longitude: f64, guess: f64) -> f64 {
    let mut jde = guess;
    for _ in 0..50 {
        let diff = ((longitude - sun_longitude(jde) + 540.0).rem_euclid(360.0)) - 180.0;
        if diff.abs() < 1e-6 {
            break;
        }
        jde += diff * 365.2422 / 360.0;
    }
    jde
}

fn jde_of(date: NaiveDate) -> f64 {
    let unix_days = (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as f64;
    unix_days + 2440587.5
}

/// The CST day of the solar term at `longitude` in `year`.
fn term_day(year: i32, longitude: f64, month: u32) -> NaiveDate {
    let guess = jde_of(NaiveDate::from_ymd_opt(year, month, 15).unwrap_or_default());
    to_cst(solar_term(longitude, guess)).date()
}

/// New-moon days (CST) from shortly before `from` to shortly after `to`.
fn new_moon_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let k0 = ((jde_of(from) - 2451550.1) / 29.530588861).floor() - 1.0;
    let mut out = Vec::new();
    let mut k = k0;
    loop {
        let d = to_cst(new_moon(k)).date();
        if d > to + Duration::days(30) {
            break;
        }
        out.push(d);
        k += 1.0;
    }
    out
}

/// The lunar months (start day, number, leap) from the month holding the winter solstice of
/// `year - 1` to the one holding that of `year`.
fn months(year: i32) -> Vec<(NaiveDate, u32, bool)> {
    let ws0 = term_day(year - 1, 270.0, 12);
    let ws1 = term_day(year, 270.0, 12);
    let moons = new_moon_days(ws0 - Duration::days(35), ws1 + Duration::days(35));
    // Month 11 begins at the last new moon on or before the solstice.
    let start = moons.iter().rposition(|d| *d <= ws0).unwrap_or(0);
    let end = moons.iter().rposition(|d| *d <= ws1).unwrap_or(moons.len() - 1);
    let leap_year = end - start == 13;
    // Principal terms (中气: multiples of 30° of solar longitude) from that solstice on.
    let ws0_jde = solar_term(270.0, jde_of(ws0));
    let principal: Vec<NaiveDate> = (0..14)
        .map(|k| {
            let lon = (270.0 + 30.0 * f64::from(k)).rem_euclid(360.0);
            to_cst(solar_term(lon, ws0_jde + 30.44 * f64::from(k))).date()
        })
        .collect();
    let mut out = Vec::new();
    let mut number = 11u32;
    let mut leap_used = false;
    for i in start..end {
        let (a, b) = (moons[i], moons[i + 1]);
        // A month without a principal term (a multiple of 30° of solar longitude) is the leap
        // month, in a year of 13 months; the first such month only.
        let has_principal = principal.iter().any(|d| *d >= a && *d < b);
        let leap = leap_year && !leap_used && !has_principal && i > start;
        if leap {
            leap_used = true;
            out.push((a, number, true));
        } else {
            if i > start {
                number = number % 12 + 1;
            }
            out.push((a, number, false));
        }
    }
    out
}

/// 正月初一 of `year`.
pub fn spring_festival(year: i32) -> Option<NaiveDate> {
    months(year).into_iter().find(|(d, n, leap)| *n == 1 && !leap && d.year() == year).map(|(d, _, _)| d)
}

fn lunar_day(year: i32, month: u32, day: i64) -> Option<NaiveDate> {
    let ms = months(year + 1);
    let ms0 = months(year);
    ms0.into_iter()
        .chain(ms)
        .find(|(d, n, leap)| *n == month && !leap && d.year() == year)
        .map(|(d, _, _)| d + Duration::days(day - 1))
}

/// 端午 (5th month, 5th day) of `year`.
pub fn dragon_boat(year: i32) -> Option<NaiveDate> {
    lunar_day(year, 5, 5)
}

/// 中秋 (8th month, 15th day) of `year`.
pub fn mid_autumn(year: i32) -> Option<NaiveDate> {
    lunar_day(year, 8, 15)
}

/// 清明: the day the sun reaches 15°.
pub fn qingming(year: i32) -> NaiveDate {
    term_day(year, 15.0, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn the_festivals_of_known_years_come_out_right() {
        // Years with official notices: the computation must agree with them.
        assert_eq!(spring_festival(2024), Some(d("2024-02-10")));
        assert_eq!(spring_festival(2025), Some(d("2025-01-29")));
        assert_eq!(spring_festival(2026), Some(d("2026-02-17")));
        assert_eq!(qingming(2024), d("2024-04-04"));
        assert_eq!(qingming(2026), d("2026-04-05"));
        assert_eq!(dragon_boat(2025), Some(d("2025-05-31")));
        assert_eq!(dragon_boat(2026), Some(d("2026-06-19")));
        assert_eq!(mid_autumn(2024), Some(d("2024-09-17")));
        assert_eq!(mid_autumn(2026), Some(d("2026-09-25")));
        assert_eq!(spring_festival(2027), Some(d("2027-02-06")));
        assert_eq!(spring_festival(2033), Some(d("2033-01-31")));
        assert_eq!(spring_festival(2034), Some(d("2034-02-19")));
        for (year, cny) in [
            (2028, "2028-01-26"),
            (2029, "2029-02-13"),
            (2030, "2030-02-03"),
            (2031, "2031-01-23"),
            (2032, "2032-02-11"),
            (2035, "2035-02-08"),
        ] {
            assert_eq!(spring_festival(year), Some(d(cny)), "{year}");
        }
    }

    #[test]
    fn every_computed_festival_of_2020_to_2026_is_a_holiday_in_the_official_notices() {
        let cal = crate::calendar_data::load();
        for year in 2020..=2026 {
            let days = [spring_festival(year), dragon_boat(year), mid_autumn(year), Some(qingming(year))];
            for day in days.into_iter().flatten() {
                let kind = cal.day(day).map(|i| i.kind);
                assert_eq!(kind, Ok(super::super::calendar::DayKind::Holiday), "{year}: {day}");
            }
        }
    }
}
