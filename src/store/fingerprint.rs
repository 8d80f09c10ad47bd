//! The server secret's fingerprint, kept beside the data it sealed, so that a server started
//! with another secret refuses to start (see `startup::check_secret`).

use super::{Result, Store, now_ms};

/// How the secret a process runs with compares with the one the data was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    /// The same secret.
    Same,
    /// None was recorded yet (a new database, or one from before fingerprints): this one is now.
    Recorded,
    /// Another secret wrote this data.
    Differs,
}

/// Compares `fingerprint` with the recorded one. With none recorded, `reads_sealed` says whether
/// this secret opens the sealed values already stored (a database from before fingerprints): if
/// it does not, the secret differs and nothing is recorded.
pub async fn check(store: &Store, fingerprint: &str, reads_sealed: impl FnOnce(&str) -> bool) -> Result<SecretCheck> {
    let recorded: Option<String> = sqlx::query_scalar("select fingerprint from secret_fingerprint where id = 1")
        .fetch_optional(store.pool())
        .await?;
    if let Some(recorded) = recorded {
        return Ok(if recorded == fingerprint { SecretCheck::Same } else { SecretCheck::Differs });
    }
    let sample: Option<String> = sqlx::query_scalar(
        "select phone_enc from ratings where phone_enc is not null order by created_at desc limit 1",
    )
    .fetch_optional(store.pool())
    .await?;
    if sample.is_some_and(|s| !reads_sealed(&s)) {
        return Ok(SecretCheck::Differs);
    }
    let mut tx = store.write().await?;
    // Two processes starting at once: the first row wins, and the second process compares again.
    let inserted = sqlx::query(
        "insert into secret_fingerprint (id, fingerprint, recorded_at) values (1, $1, $2) on conflict (id) do nothing",
    )
    .bind(fingerprint)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if inserted.rows_affected() == 1 {
        return Ok(SecretCheck::Recorded);
    }
    let recorded: String =
        sqlx::query_scalar("select fingerprint from secret_fingerprint where id = 1").fetch_one(store.pool()).await?;
    Ok(if recorded == fingerprint { SecretCheck::Same } else { SecretCheck::Differs })
}
