//! The official calendar data compiled into the binary (`calendars/cn.toml`).

use crate::domain::calendar::{Calendar, CalendarData};

/// The data file as shipped.
pub const CN: &str = include_str!("../calendars/cn.toml");

/// Parses the shipped data; a test keeps it parseable, so a failure here is a build defect
/// and yields an empty (weekends-only, provisional) calendar rather than a crash.
pub fn load() -> Calendar {
    let data: CalendarData = toml::from_str(CN).unwrap_or_else(|e| {
        tracing::error!(error = %e, "calendars/cn.toml does not parse; using weekends only");
        CalendarData { version: "invalid".into(), years: Vec::new() }
    });
    Calendar::new(&data)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_data_parses_and_covers_2020_to_2026() {
        let data: super::CalendarData = toml::from_str(super::CN).unwrap_or_else(|e| panic!("{e}"));
        let years: Vec<i32> = data.years.iter().map(|y| y.year).collect();
        assert_eq!(years, (2020..=2026).collect::<Vec<_>>());
        assert!(data.years.iter().all(|y| y.notice.contains("国务院办公厅")));
    }
}
