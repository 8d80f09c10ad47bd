//! Appeals (申诉复核): a unit head asks for a rating to be reviewed; a supervisor decides. An
//! upheld appeal writes an exclusion row: the rating itself is never edited or deleted.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, Actor};
use super::{Bind, Result, Store, StoreError, Tx, bind_all, new_id, now_ms, opt_text};
use crate::domain::appeal::AppealState;
use crate::domain::ids::OrgCode;

/// An appeal.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Appeal {
    /// Id.
    pub id: String,
    /// The rating appealed.
    pub rating_id: String,
    /// The rated unit.
    pub unit_code: String,
    /// Why the unit thinks the rating should not count.
    pub reason: String,
    /// Who filed it.
    pub filed_by: String,
    /// When, ms.
    pub filed_at: i64,
    /// pending, upheld or rejected.
    pub state: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When, ms.
    pub decided_at: Option<i64>,
    /// The decision's reasoning.
    pub decision_note: Option<String>,
}

fn appeal_from(r: &AnyRow) -> Result<Appeal> {
    Ok(Appeal {
        id: r.try_get("id")?,
        rating_id: r.try_get("rating_id")?,
        unit_code: r.try_get("unit_code")?,
        reason: r.try_get("reason")?,
        filed_by: r.try_get("filed_by")?,
        filed_at: r.try_get("filed_at")?,
        state: r.try_get("state")?,
        decided_by: opt_text(r, "decided_by")?,
        decided_at: r.try_get("decided_at")?,
        decision_note: opt_text(r, "decision_note")?,
    })
}

const COLUMNS: &str =
    "id, rating_id, unit_code, reason, filed_by, filed_at, state, decided_by, decided_at, decision_note";

/// Why an appeal could not be filed or decided.
#[derive(Debug, thiserror::Error)]
pub enum AppealError {
    /// The rating has been appealed already (one appeal per rating).
    #[error("this rating has already been appealed")]
    AlreadyAppealed,
    /// The appeal was decided already.
    #[error("this appeal has already been decided")]
    AlreadyDecided,
    /// No such appeal.
    #[error("no such appeal")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Files an appeal for a rating of `unit_code`, audited.
pub async fn file(
    store: &Store,
    rating_id: &str,
    unit_code: &str,
    reason: &str,
    actor: &Actor,
) -> Result<Appeal, AppealError> {
    let mut tx = store.write().await?;
    let filed_at = now_ms();
    let id =
        file_in(&mut tx, rating_id, unit_code, reason, actor, filed_at).await?.ok_or(AppealError::AlreadyAppealed)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Appeal {
        id,
        rating_id: rating_id.to_owned(),
        unit_code: unit_code.to_owned(),
        reason: reason.to_owned(),
        filed_by: actor.name.clone(),
        filed_at,
        state: AppealState::Pending.as_str().into(),
        decided_by: None,
        decided_at: None,
        decision_note: None,
    })
}

/// Files a pending appeal inside `tx`, audited, unless the rating has one (one per rating):
/// then writes nothing and answers `None`. Used by [`file`] and by a case verified as malicious.
pub(crate) async fn file_in(
    tx: &mut Tx,
    rating_id: &str,
    unit_code: &str,
    reason: &str,
    actor: &Actor,
    now: i64,
) -> Result<Option<String>> {
    let taken: Option<String> = sqlx::query_scalar("select id from appeals where rating_id = $1")
        .bind(rating_id)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Ok(None);
    }
    let id = new_id();
    let inserted = sqlx::query(
        "insert into appeals (id, rating_id, unit_code, reason, filed_by, filed_at, state) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(rating_id)
    .bind(unit_code)
    .bind(reason)
    .bind(&actor.name)
    .bind(now)
    .bind(AppealState::Pending.as_str())
    .execute(&mut **tx)
    .await;
    match inserted.map_err(StoreError::from) {
        Err(StoreError::Duplicate) => return Ok(None),
        other => other?,
    };
    audit::append(
        tx,
        actor,
        "appeal.file",
        &format!("rating:{rating_id}"),
        &serde_json::json!({"appeal": id, "reason": reason}),
    )
    .await?;
    Ok(Some(id))
}

/// One appeal.
pub async fn get(store: &Store, id: &str) -> Result<Option<Appeal>> {
    let sql = format!("select {COLUMNS} from appeals where id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(appeal_from).transpose()
}

/// The appeal of a rating, if it has one (one per rating).
pub async fn of_rating(store: &Store, rating_id: &str) -> Result<Option<Appeal>> {
    let sql = format!("select {COLUMNS} from appeals where rating_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(rating_id).fetch_optional(store.pool()).await?;
    row.as_ref().map(appeal_from).transpose()
}

/// Decides a pending appeal; an upheld one excludes the rating from statistics by a recorded
/// decision. Guarded so that two deciders cannot both win.
pub async fn decide(store: &Store, id: &str, upheld: bool, note: &str, actor: &Actor) -> Result<Appeal, AppealError> {
    let mut tx = store.write().await?;
    let now = now_ms();
    // Decided from pending only: the guarded update below refuses any other state.
    let from = AppealState::Pending;
    let state = from.decide(upheld).ok_or(AppealError::AlreadyDecided)?;
    let done = sqlx::query(
        "update appeals set state = $2, decided_by = $3, decided_at = $4, decision_note = $5 where id = $1 and state = $6",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(&actor.name)
    .bind(now)
    .bind(note)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    if done.rows_affected() == 0 {
        let exists: Option<String> = sqlx::query_scalar("select id from appeals where id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        return Err(if exists.is_some() { AppealError::AlreadyDecided } else { AppealError::NotFound });
    }
    let rating_id: String = sqlx::query_scalar("select rating_id from appeals where id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    if state.excludes() {
        sqlx::query("insert into rating_exclusions (rating_id, appeal_id, excluded_at) values ($1, $2, $3)")
            .bind(&rating_id)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        // Out of the statistics: out of the rollups, in the same transaction.
        let row =
            sqlx::query("select org_code, created_at, outcome, defaulted, source, reasons from ratings where id = $1")
                .bind(&rating_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        super::rollups::add_ratings(&mut tx, &[super::rollups::delta_of(&row, -1)?]).await?;
        // And out of the live alerts, if it still counts there.
        let counted = sqlx::query(
            "select unit_code, created_at, outcome from ratings where id = $1 and flags = '' and defaulted = 0",
        )
        .bind(&rating_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if let Some(r) = counted {
            let at: i64 = r.try_get("created_at").map_err(StoreError::from)?;
            if at > now - crate::domain::rating::AlertRule::default().window_ms - super::alerts::TALLY_BUCKET_MS {
                let unsatisfied = r.try_get::<String, _>("outcome").map_err(StoreError::from)? == "unsatisfied";
                let delta = super::alerts::TallyDelta {
                    unit: r.try_get("unit_code").map_err(StoreError::from)?,
                    bucket: super::alerts::bucket_of(at),
                    total: -1,
                    unsatisfied: -i64::from(unsatisfied),
                };
                super::alerts::add_tallies(&mut tx, &[delta]).await.map_err(AppealError::from)?;
            }
        }
    }
    audit::append(
        &mut tx,
        actor,
        "appeal.decide",
        &format!("rating:{rating_id}"),
        &serde_json::json!({"appeal": id, "before": from.as_str(), "after": state.as_str(), "note": note}),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    get(store, id).await?.ok_or(AppealError::NotFound)
}

/// Appeals of units under `root`, oldest first, optionally in one state.
pub async fn list(store: &Store, root: &OrgCode, state: Option<&str>) -> Result<Vec<Appeal>> {
    let mut binds = vec![Bind::Text(root.as_str().to_owned())];
    let mut sql = format!(
        "select {} from appeals p join org_closure a on a.descendant = p.unit_code where a.ancestor = $1",
        COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
    );
    if let Some(s) = state {
        binds.push(Bind::Text(s.to_owned()));
        sql.push_str(" and p.state = $2");
    }
    sql.push_str(" order by p.filed_at limit 500");
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    rows.iter().map(appeal_from).collect()
}
