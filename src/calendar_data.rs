//! The official calendar data compiled into the binary (`calendars/cn.toml`).

use crate::domain::calendar::{Calendar, CalendarData};

/// The data file as shipped.
pub const CN: &str = include_str!("../calendars/cn.toml");

/// The shipped data; a test keeps it parseable, so a failure here is a build defect and yields
/// no years (weekends only, provisional) rather than a crash.
pub fn shipped() -> CalendarData {
    toml::from_str(CN).unwrap_or_else(|e| {
        tracing::error!(error = %e, "calendars/cn.toml does not parse; using weekends only");
        CalendarData { version: "invalid".into(), years: Vec::new() }
    })
}

/// The calendar of the shipped data alone.
pub fn load() -> Calendar {
    Calendar::new(&shipped())
}

/// The calendar in force, swapped whole when a notice is imported.
#[derive(Debug)]
pub struct CalendarHandle {
    current: std::sync::RwLock<std::sync::Arc<Calendar>>,
}

impl CalendarHandle {
    /// A handle holding `cal`.
    pub fn new(cal: Calendar) -> CalendarHandle {
        CalendarHandle { current: std::sync::RwLock::new(std::sync::Arc::new(cal)) }
    }

    /// The calendar now.
    pub fn get(&self) -> std::sync::Arc<Calendar> {
        self.current.read().map(|c| c.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The calendar of the region holding `org_code`: this one with the overrides of the node
    /// and its ancestors.
    pub async fn for_node(
        &self,
        store: &crate::store::Store,
        org_code: &str,
    ) -> Result<std::sync::Arc<Calendar>, crate::store::StoreError> {
        let overrides = crate::store::calendar::overrides_for(store, org_code).await?;
        let base = self.get();
        if overrides.is_empty() {
            return Ok(base);
        }
        Ok(std::sync::Arc::new(base.with_overrides(&overrides)))
    }

    /// [`CalendarHandle::for_node`] of many nodes with one query (inside the caller's transaction).
    pub async fn for_nodes(
        &self,
        conn: &mut sqlx::AnyConnection,
        org_codes: &[&str],
    ) -> Result<std::collections::HashMap<String, std::sync::Arc<Calendar>>, crate::store::StoreError> {
        let overrides = crate::store::calendar::overrides_for_many(conn, org_codes).await?;
        let base = self.get();
        Ok(org_codes
            .iter()
            .map(|code| {
                let cal = match overrides.get(*code) {
                    Some(o) if !o.is_empty() => std::sync::Arc::new(base.with_overrides(o)),
                    _ => base.clone(),
                };
                ((*code).to_owned(), cal)
            })
            .collect())
    }

    /// Rebuilds from the shipped data and the imported years; returns the calendar in force.
    pub async fn reload(
        &self,
        store: &crate::store::Store,
    ) -> Result<std::sync::Arc<Calendar>, crate::store::StoreError> {
        let cal = std::sync::Arc::new(crate::store::calendar::effective(store, &shipped()).await?);
        if let Ok(mut c) = self.current.write() {
            *c = cal.clone();
        }
        Ok(cal)
    }
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
