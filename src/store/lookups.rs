//! Settings that opening a case reads and that rarely change: SLA policies, webhook
//! subscriptions, business hours and calendar overrides. The rating writer keeps one
//! [`Lookups`] for its whole life, so that its batches do not spend a round trip on each of
//! them; everyone else starts from an empty one, which reads everything. A change made through
//! this process ([`Store::settings_changed`]) empties the writer's at its next batch; one made by
//! another process applies within [`LOOKUPS_TTL`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::Row;

use super::sla::Policy;
use super::{Result, Store};
use crate::domain::calendar::{BusinessHours, Override};

/// How long the writer reuses what it read.
pub const LOOKUPS_TTL: Duration = Duration::from_secs(10);

/// Read-through copies of rarely changing settings.
#[derive(Debug, Default)]
pub struct Lookups {
    read_at: Option<(Instant, u64)>,
    policies: HashMap<(String, String, String), Policy>,
    webhooks: Option<Vec<(String, String)>>,
    hours: HashMap<String, Option<BusinessHours>>,
    overrides: HashMap<String, Vec<Override>>,
}

impl Lookups {
    /// Forgets everything if the settings changed in this process or the copies are too old.
    pub fn refresh(&mut self, store: &Store) {
        let version = store.settings_version();
        if self.read_at.is_some_and(|(at, v)| v != version || at.elapsed() > LOOKUPS_TTL) {
            *self = Lookups::default();
        }
        if self.read_at.is_none() {
            self.read_at = Some((Instant::now(), version));
        }
    }

    /// The SLA policy of a kind of case.
    pub async fn policy(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        source: &str,
        category: &str,
        priority: &str,
    ) -> Result<Policy> {
        let key = (source.to_owned(), category.to_owned(), priority.to_owned());
        if let Some(p) = self.policies.get(&key) {
            return Ok(p.clone());
        }
        let p = super::sla::policy_on(conn, source, category, priority).await?;
        self.policies.insert(key, p.clone());
        Ok(p)
    }

    /// Active webhooks: (id, comma-separated events).
    pub async fn webhooks(&mut self, conn: &mut sqlx::AnyConnection) -> Result<Vec<(String, String)>> {
        if let Some(w) = &self.webhooks {
            return Ok(w.clone());
        }
        let rows = sqlx::query("select id, events from webhooks where active = 1").fetch_all(&mut *conn).await?;
        let list: Vec<(String, String)> =
            rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("events")?))).collect::<Result<_>>()?;
        self.webhooks = Some(list.clone());
        Ok(list)
    }

    /// The business hours of each unit (missing: the defaults).
    pub async fn hours(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        units: &[&str],
    ) -> Result<HashMap<String, BusinessHours>> {
        let missing: Vec<&str> = units.iter().copied().filter(|u| !self.hours.contains_key(*u)).collect();
        if !missing.is_empty() {
            let mut read = super::calendar::hours_for_many(conn, &missing).await?;
            for u in missing {
                self.hours.insert(u.to_owned(), read.remove(u));
            }
        }
        Ok(units.iter().filter_map(|u| Some(((*u).to_owned(), self.hours.get(*u).copied().flatten()?))).collect())
    }

    /// The calendar overrides in force at each unit (missing: none).
    pub async fn overrides(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        units: &[&str],
    ) -> Result<HashMap<String, Vec<Override>>> {
        let missing: Vec<&str> = units.iter().copied().filter(|u| !self.overrides.contains_key(*u)).collect();
        if !missing.is_empty() {
            let mut read = super::calendar::overrides_for_many(conn, &missing).await?;
            for u in missing {
                self.overrides.insert(u.to_owned(), read.remove(u).unwrap_or_default());
            }
        }
        Ok(units
            .iter()
            .filter_map(|u| {
                let o = self.overrides.get(*u)?;
                (!o.is_empty()).then(|| ((*u).to_owned(), o.clone()))
            })
            .collect())
    }
}
