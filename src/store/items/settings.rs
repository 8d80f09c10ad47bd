//! The city's own ledger numbers, stored as one audited row.

use super::*;

/// The city's ledger settings (the defaults until an admin changed them).
pub async fn settings(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
) -> Result<crate::domain::item::settings::Settings> {
    let text: Option<String> =
        sqlx::query_scalar("select settings from ledger_settings where id = 1").fetch_optional(conn).await?;
    match text {
        Some(t) => {
            serde_json::from_str(&t).map_err(|e| crate::store::undecodable("ledger_settings.settings", e.to_string()))
        }
        None => Ok(crate::domain::item::settings::Settings::default()),
    }
}

/// Replaces the city's ledger settings, audited with the before and after.
pub async fn set_settings(store: &Store, new: &crate::domain::item::settings::Settings, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    let before = settings(&mut *tx).await?;
    let text =
        serde_json::to_string(new).map_err(|e| crate::store::undecodable("ledger_settings.settings", e.to_string()))?;
    sqlx::query(
        "insert into ledger_settings (id, settings, updated_by, updated_at) values (1, $1, $2, $3)
         on conflict (id) do update set settings = $1, updated_by = $2, updated_at = $3",
    )
    .bind(&text)
    .bind(&actor.name)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let change = serde_json::json!({"before": before, "after": new});
    crate::store::audit::append(&mut tx, actor, "ledger.settings", "ledger:settings", &change).await?;
    tx.commit().await?;
    Ok(())
}
