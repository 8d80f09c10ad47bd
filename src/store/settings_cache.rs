//! What the rating writer reads batch after batch although it rarely changes: the rated nodes'
//! ancestors (for the rollups), the offices that supervise units, their calendars and business
//! hours, the SLA policies, who is told of a new case and the active webhooks. Reading them
//! was most of a batch's round trips; a [`SettingsCache`] keeps them between batches.
//!
//! It stays correct through the settings generation (migration 0008): triggers on every table
//! behind these reads move a counter on with each change, so no write path can forget to. A
//! batch reads the counter first, inside its transaction, and starts from an empty cache when
//! it moved (or when the calendar's shipped and imported years were reloaded), so what a batch
//! uses is never older than what it would have read itself.

use std::collections::HashMap;
use std::sync::Arc;

use super::Result;
use super::cases::Recipients;
use super::rollups::Ancestors;
use crate::calendar_data::CalendarHandle;
use crate::domain::calendar::{BusinessHours, Calendar};
use crate::domain::role::Role;

/// (source, category, priority) of an SLA policy looked up.
pub(crate) type PolicyKey = (String, String, String);

/// Settings read by earlier batches, valid while the settings generation stays where it was.
#[derive(Debug, Default)]
pub struct SettingsCache {
    /// The generation they were read at; `None` before the first check.
    generation: Option<i64>,
    /// The calendar (shipped and imported years) they were read with.
    base: Option<Arc<Calendar>>,
    /// Each node's ancestors, itself included.
    pub(crate) ancestors: Ancestors,
    /// Each unit's supervising office.
    pub(crate) offices: HashMap<String, String>,
    /// Each unit's calendar (with its overrides).
    pub(crate) calendars: HashMap<String, Arc<Calendar>>,
    /// Each unit's business hours; `None` for the defaults.
    pub(crate) hours: HashMap<String, Option<BusinessHours>>,
    /// The SLA policy that matches each key.
    pub(crate) policies: HashMap<PolicyKey, super::sla::Policy>,
    /// Per role, per node: who is told (every node looked up has an entry, maybe empty).
    pub(crate) recipients: HashMap<Role, Recipients>,
    /// The active webhooks, once read.
    pub(crate) hooks: Option<Vec<crate::store::webhooks::Hook>>,
}

impl SettingsCache {
    /// Reads the settings generation on `conn` (inside the caller's transaction) and empties the
    /// cache if the settings or the calendar's years changed since it was filled.
    pub async fn check(&mut self, conn: &mut sqlx::AnyConnection, calendar: &CalendarHandle) -> Result<()> {
        let generation: i64 =
            sqlx::query_scalar("select n from settings_generation where id = 1").fetch_one(&mut *conn).await?;
        let base = calendar.get();
        let same_base = self.base.as_ref().is_some_and(|b| Arc::ptr_eq(b, &base));
        if self.generation != Some(generation) || !same_base {
            *self = SettingsCache { generation: Some(generation), base: Some(base), ..SettingsCache::default() };
        }
        Ok(())
    }

    /// The ancestors of `codes`, reading on `conn` those of codes not seen yet.
    pub(crate) async fn ancestors(&mut self, conn: &mut sqlx::AnyConnection, codes: &[&str]) -> Result<Ancestors> {
        let missing = missing(codes, &self.ancestors);
        if !missing.is_empty() {
            self.ancestors.extend(super::rollups::ancestors(conn, &missing).await?);
        }
        Ok(pick(codes, &self.ancestors))
    }
}

/// The `codes` that `map` has no entry for.
pub(crate) fn missing<'a, V>(codes: &[&'a str], map: &HashMap<String, V>) -> Vec<&'a str> {
    codes.iter().copied().filter(|c| !map.contains_key(*c)).collect()
}

/// The entries of `map` for `codes` (codes without one are left out).
pub(crate) fn pick<V: Clone>(codes: &[&str], map: &HashMap<String, V>) -> HashMap<String, V> {
    codes.iter().filter_map(|c| Some(((*c).to_owned(), map.get(*c)?.clone()))).collect()
}
