//! China Standard Time (UTC+8, no daylight saving) as people read it on pages, reports and
//! documents: one place for the offset and the formats, instead of a copy per page.

/// UTC+8 in milliseconds.
pub const CST_OFFSET_MS: i64 = 8 * 3600 * 1000;

fn formatted(ms: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms + CST_OFFSET_MS)
        .map(|t| t.format(format).to_string())
        .unwrap_or_default()
}

/// `2026-03-01 09:30`: how every page shows a time.
pub fn minute(ms: i64) -> String {
    formatted(ms, "%Y-%m-%d %H:%M")
}

/// `2026-03-01 09:30:15`: the audit trail's times.
pub fn second(ms: i64) -> String {
    formatted(ms, "%Y-%m-%d %H:%M:%S")
}

/// `2026年03月01日`: the date on a numbered document.
pub fn date_zh(ms: i64) -> String {
    formatted(ms, "%Y年%m月%d日")
}

/// The local date `ms` falls on.
pub fn date_of(ms: i64) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms + CST_OFFSET_MS).unwrap_or_default().date_naive()
}

/// The start of a local day, in milliseconds.
pub fn day_start(date: chrono::NaiveDate) -> Option<i64> {
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - CST_OFFSET_MS)
}

/// The start of the local month that `ms` falls in, in milliseconds.
pub fn month_start(ms: i64) -> i64 {
    use chrono::Datelike;
    let local = chrono::DateTime::from_timestamp_millis(ms + CST_OFFSET_MS).unwrap_or_default().date_naive();
    local.with_day(1).and_then(day_start).unwrap_or(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_china_standard_time() {
        // 2026-03-01T01:30:15Z is 09:30:15 in Beijing.
        let ms = 1_772_328_615_000;
        assert_eq!(minute(ms), "2026-03-01 09:30");
        assert_eq!(second(ms), "2026-03-01 09:30:15");
        assert_eq!(date_zh(ms), "2026年03月01日");
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
        assert_eq!(day_start(d).map(minute).as_deref(), Some("2026-03-01 00:00"));
    }
}
