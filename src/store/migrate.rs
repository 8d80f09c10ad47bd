//! Embedded, numbered migrations, applied in order, each in its own transaction. An applied
//! migration is never edited: its checksum is stored and checked at every start.

use super::{Dialect, Result, Store, StoreError, now_ms, secret_hash};

/// One migration.
#[derive(Debug)]
pub struct Migration {
    /// Order and identity.
    pub version: i64,
    /// Short name.
    pub name: &'static str,
    /// Portable SQL, several statements.
    pub sql: &'static str,
    /// PostgreSQL's own text, where the portable one cannot serve (triggers).
    pub postgres: Option<&'static str>,
}

impl Migration {
    /// The text to apply on `dialect`.
    pub fn sql_for(&self, dialect: Dialect) -> &'static str {
        match (dialect, self.postgres) {
            (Dialect::Postgres, Some(sql)) => sql,
            _ => self.sql,
        }
    }
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../../migrations/0001_foundation.sql"),
        postgres: None,
    },
    Migration { version: 2, name: "ratings", sql: include_str!("../../migrations/0002_ratings.sql"), postgres: None },
    Migration { version: 3, name: "jobs", sql: include_str!("../../migrations/0003_jobs.sql"), postgres: None },
    Migration { version: 4, name: "sla", sql: include_str!("../../migrations/0004_sla.sql"), postgres: None },
    Migration { version: 5, name: "calendar", sql: include_str!("../../migrations/0005_calendar.sql"), postgres: None },
    Migration { version: 6, name: "cases", sql: include_str!("../../migrations/0006_cases.sql"), postgres: None },
    Migration { version: 7, name: "rollups", sql: include_str!("../../migrations/0007_rollups.sql"), postgres: None },
    Migration {
        version: 8,
        name: "settings_generation",
        sql: include_str!("../../migrations/0008_settings_generation.sql"),
        postgres: Some(include_str!("../../migrations/0008_settings_generation.postgres.sql")),
    },
    Migration {
        version: 9,
        name: "rating_inbox",
        sql: include_str!("../../migrations/0009_rating_inbox.sql"),
        postgres: Some(include_str!("../../migrations/0009_rating_inbox.postgres.sql")),
    },
    Migration {
        version: 10,
        name: "rating_inbox_storage",
        sql: include_str!("../../migrations/0010_rating_inbox_storage.sql"),
        postgres: Some(include_str!("../../migrations/0010_rating_inbox_storage.postgres.sql")),
    },
    Migration {
        version: 11,
        name: "alert_tallies",
        sql: include_str!("../../migrations/0011_alert_tallies.sql"),
        postgres: None,
    },
    Migration {
        version: 12,
        name: "poster_builds",
        sql: include_str!("../../migrations/0012_poster_builds.sql"),
        postgres: None,
    },
    Migration {
        version: 13,
        name: "login_failures",
        sql: include_str!("../../migrations/0013_login_failures.sql"),
        postgres: None,
    },
    Migration {
        version: 14,
        name: "secret_fingerprint",
        sql: include_str!("../../migrations/0014_secret_fingerprint.sql"),
        postgres: None,
    },
    Migration {
        version: 15,
        name: "alert_hysteresis",
        sql: include_str!("../../migrations/0015_alert_hysteresis.sql"),
        postgres: None,
    },
    Migration {
        version: 16,
        name: "audit_keyed",
        sql: include_str!("../../migrations/0016_audit_keyed.sql"),
        postgres: None,
    },
    Migration {
        version: 17,
        name: "rating_requests",
        sql: include_str!("../../migrations/0017_rating_requests.sql"),
        postgres: None,
    },
    Migration {
        version: 18,
        name: "supervision",
        sql: include_str!("../../migrations/0018_supervision.sql"),
        postgres: None,
    },
    Migration {
        version: 19,
        name: "enterprise",
        sql: include_str!("../../migrations/0019_enterprise.sql"),
        postgres: None,
    },
];

pub(super) async fn run(store: &Store) -> Result<usize> {
    sqlx::raw_sql(
        "create table if not exists schema_migrations (
            version bigint primary key,
            name text not null,
            checksum text not null,
            applied_at bigint not null
        )",
    )
    .execute(store.pool())
    .await?;
    let mut applied = 0;
    for m in MIGRATIONS {
        let mut tx = store.write().await?;
        if let Some(lock) = store.dialect().migration_lock() {
            // Several server processes may start at once; one migrates, the others wait.
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        let sql = m.sql_for(store.dialect());
        let checksum = secret_hash(sql);
        let stored: Option<String> = sqlx::query_scalar("select checksum from schema_migrations where version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
        match stored {
            Some(c) if c == checksum => continue,
            Some(_) => {
                return Err(StoreError::Migration {
                    version: m.version,
                    name: m.name,
                    reason: "was changed after it was applied; migrations must never be edited".into(),
                });
            }
            None => {}
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(|e| StoreError::Migration {
            version: m.version,
            name: m.name,
            reason: e.to_string(),
        })?;
        sqlx::query("insert into schema_migrations (version, name, checksum, applied_at) values ($1, $2, $3, $4)")
            .bind(m.version)
            .bind(m.name)
            .bind(checksum)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        applied += 1;
    }
    Ok(applied)
}
