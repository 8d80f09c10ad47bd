//! The burden meter: what a unit received in a month, and the data requests it was sent (the same
//! data of the same unit for the same period is asked once).

use super::*;

/// What a unit received in a month (the burden meter): visits made, sheets issued, items
/// assigned, data requested, counted from the first of the month (China time) to `now`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Burden {
    /// Visits (明察 and issued 暗访).
    pub visits: i64,
    /// Feedback sheets.
    pub sheets: i64,
    /// Items assigned to it as lead unit.
    pub items: i64,
    /// Data requests (报送要求).
    pub requests: i64,
}

/// [`Burden`] of `unit` in the month of `now`. Sealed visits are not counted (the unit would
/// learn of them from the count).
pub async fn burden(store: &Store, unit: &str, now: i64) -> Result<Burden> {
    let from = crate::domain::time::month_start(now);
    let r = sqlx::query(
        "select (select cast(count(*) as bigint) from inspection_visits where unit_code = $1 and sealed = 0 and visited_at >= $2) as visits,
                (select cast(count(*) as bigint) from feedback_sheets where unit_code = $1 and created_at >= $2) as sheets,
                (select cast(count(*) as bigint) from items where unit_code = $1 and created_at >= $2) as items,
                (select cast(count(*) as bigint) from data_requests where unit_code = $1 and created_at >= $2) as requests",
    )
    .bind(unit)
    .bind(from)
    .fetch_one(store.pool())
    .await?;
    Ok(Burden {
        visits: r.try_get("visits")?,
        sheets: r.try_get("sheets")?,
        items: r.try_get("items")?,
        requests: r.try_get("requests")?,
    })
}

/// A data request (报送要求).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DataRequest {
    /// Id.
    pub id: String,
    /// The unit asked.
    pub unit_code: String,
    /// What data (normalised).
    pub topic: String,
    /// The period it covers, YYYY-MM.
    pub period: String,
    /// What exactly.
    pub detail: String,
    /// Due, ms.
    pub due_at: i64,
    /// Who asked.
    pub requested_by: String,
    /// Asked, ms.
    pub created_at: i64,
}

/// A topic as compared: trimmed, inner spaces collapsed, lower case.
pub fn topic_key(topic: &str) -> String {
    topic.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

const REQUEST_COLUMNS: &str =
    "id, unit_code, topic, period, detail, due_at, requested_by, created_at from data_requests";

fn request_from(r: &AnyRow) -> Result<DataRequest> {
    Ok(DataRequest {
        id: r.try_get("id")?,
        unit_code: r.try_get("unit_code")?,
        topic: r.try_get("topic")?,
        period: r.try_get("period")?,
        detail: r.try_get("detail")?,
        due_at: r.try_get("due_at")?,
        requested_by: r.try_get("requested_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Records a request for `topic` of `unit` for `period`, audited; or, when the same data was
/// asked of the unit for the period already, writes nothing and answers that request.
pub async fn request_data(
    store: &Store,
    unit: &str,
    topic: &str,
    period: &str,
    detail: &str,
    due_at: i64,
    actor: &Actor,
) -> Result<std::result::Result<DataRequest, DataRequest>> {
    let key = topic_key(topic);
    let earlier = |store: &Store| {
        let sql = format!("select {REQUEST_COLUMNS} where unit_code = $1 and topic = $2 and period = $3");
        let (unit, key, period) = (unit.to_owned(), key.clone(), period.to_owned());
        let pool = store.pool().clone();
        async move {
            let row =
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(unit).bind(key).bind(period).fetch_optional(&pool).await?;
            row.as_ref().map(request_from).transpose()
        }
    };
    if let Some(first) = earlier(store).await? {
        return Ok(Err(first));
    }
    let id = new_id();
    let mut tx = store.write().await?;
    let inserted = sqlx::query(
        "insert into data_requests (id, unit_code, topic, period, detail, due_at, requested_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (unit_code, topic, period) do nothing",
    )
    .bind(&id)
    .bind(unit)
    .bind(&key)
    .bind(period)
    .bind(detail)
    .bind(due_at)
    .bind(&actor.name)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        drop(tx);
        return earlier(store).await?.map(Err).ok_or(StoreError::Missing("the earlier request"));
    }
    let change = serde_json::json!({"unit": unit, "topic": key, "period": period});
    audit::append(&mut tx, actor, "data_request.create", &format!("data_request:{id}"), &change).await?;
    tx.commit().await?;
    let sql = format!("select {REQUEST_COLUMNS} where id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&id).fetch_one(store.pool()).await?;
    Ok(Ok(request_from(&row)?))
}

/// The data requests of `unit`, newest first.
pub async fn data_requests(store: &Store, unit: &str, limit: i64) -> Result<Vec<DataRequest>> {
    let sql = format!(
        "select {REQUEST_COLUMNS} where unit_code = $1 order by created_at desc, id limit {}",
        limit.clamp(1, 500)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(unit).fetch_all(store.pool()).await?;
    rows.iter().map(request_from).collect()
}
