//! The rating inbox. Under load the rating writer commits each batch of ratings as rows of
//! `rating_inbox` (each a JSON array of up to [`ROW_RATINGS`] whole validated ratings, each with
//! its id, time and abuse flags) in a single-statement transaction, and answers 201: the
//! ratings are durable.
//! In its quiet moments the writer projects the rows into ratings, rollups, cases and the
//! audit log with [`super::commit_batch`], which deletes the rows in the same transaction that
//! writes their ratings, so a rating is projected exactly once, also across a crash. A row
//! whose body cannot be read back is kept with an error, never dropped.

use sqlx::Row;

use super::{Batch, NewRating, Stamp, Steps, commit_batch};
use crate::store::settings_cache::SettingsCache;
use crate::store::{Dialect, Result, Store};

/// A rating waiting in the inbox.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    /// Its id and the time it was received.
    pub stamp: Stamp,
    /// The abuse-rule flags it tripped when it was received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// The rating.
    pub rating: NewRating,
}

/// Deletes the inbox rows whose `seq` is in the JSON array `$1`.
pub(crate) fn delete_sql(dialect: Dialect) -> String {
    format!("delete from rating_inbox where seq in ({})", dialect.json_ints())
}

/// The most ratings one inbox row holds: a projection takes whole rows, so this bounds how
/// long one projection transaction keeps newer ratings waiting, also after an extreme burst.
pub const ROW_RATINGS: usize = 32;

/// Commits `pending` (received at `at`) to the inbox on `conn` in one statement (its own
/// transaction): one row per [`ROW_RATINGS`] ratings.
pub async fn append(conn: &mut sqlx::AnyConnection, at: i64, pending: &[Pending]) -> Result<()> {
    let rows: Vec<&[Pending]> = pending.chunks(ROW_RATINGS).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<String> =
        (0..rows.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
    let sql = format!("insert into rating_inbox (received_at, ratings, body) values {}", values.join(", "));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        let body = serde_json::to_string(row)?;
        query = query.bind(at).bind(i64::try_from(row.len()).unwrap_or(i64::MAX)).bind(body);
    }
    query.execute(conn).await?;
    Ok(())
}

/// How many ratings wait to be projected, and when the oldest was received.
pub async fn backlog(store: &Store) -> Result<(i64, Option<i64>)> {
    let row = sqlx::query(
        "select cast(coalesce(sum(ratings), 0) as bigint) as n, min(received_at) as oldest
         from rating_inbox where error is null",
    )
    .fetch_one(store.pool())
    .await?;
    Ok((row.try_get("n")?, row.try_get("oldest")?))
}

/// The inbox ratings received after `since` (ms), oldest first: ratings acknowledged but not
/// yet projected, which the abuse rule and the live-alert windows count like the others when
/// they warm up at start. Rows that cannot be read back are left to projection, which sets
/// them aside.
pub async fn received_since(store: &Store, since: i64) -> Result<Vec<Pending>> {
    let rows = sqlx::query("select body from rating_inbox where error is null and received_at > $1 order by seq")
        .bind(since)
        .fetch_all(store.pool())
        .await?;
    let mut pending = Vec::new();
    for row in rows {
        if let Ok(batch) = serde_json::from_str::<Vec<Pending>>(&row.try_get::<String, _>("body")?) {
            pending.extend(batch);
        }
    }
    pending.sort_by_key(|p| p.stamp.at);
    Ok(pending)
}

/// Recent ratings for a warm-up, oldest first: `rows` read from `ratings` (each with its `id`)
/// after `waiting` was read from the inbox, through `from_row`, then the waiting ratings not
/// among them through `from_pending` (`None`: it does not count). Reading the inbox first means
/// a rating projected between the two reads is found in both and counted once, not in neither.
pub fn merge_recent<T>(
    rows: &[sqlx::any::AnyRow],
    waiting: Vec<Pending>,
    from_row: impl Fn(&sqlx::any::AnyRow) -> Result<T>,
    from_pending: impl Fn(Pending) -> Option<T>,
    at: impl Fn(&T) -> i64,
) -> Result<Vec<T>> {
    let mut seen = std::collections::HashSet::new();
    let mut recent = Vec::with_capacity(rows.len() + waiting.len());
    for r in rows {
        seen.insert(r.try_get::<String, _>("id")?);
        recent.push(from_row(r)?);
    }
    recent.extend(waiting.into_iter().filter(|p| !seen.contains(&p.stamp.id)).filter_map(from_pending));
    recent.sort_by_key(|r| at(r));
    Ok(recent)
}

/// The rating `id` if it is still in the inbox. Only the rows received within a minute of the
/// time the id carries are searched, so asking for an unknown id costs little however large
/// the inbox; anything that is not an id is not looked for.
pub async fn find(store: &Store, id: &str) -> Result<Option<Pending>> {
    let Some(made) = crate::store::id_time(id) else { return Ok(None) };
    let rows = sqlx::query(
        "select body from rating_inbox
         where error is null and received_at >= $2 and received_at <= $3 and body like $1",
    )
    .bind(format!("%\"{id}\"%"))
    .bind(made - 60_000)
    .bind(made + 60_000)
    .fetch_all(store.pool())
    .await?;
    for row in rows {
        if let Ok(batch) = serde_json::from_str::<Vec<Pending>>(&row.try_get::<String, _>("body")?)
            && let Some(p) = batch.into_iter().find(|p| p.stamp.id == id)
        {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// How many ratings are in inbox rows that could not be read back (kept with their error for
/// an operator).
pub async fn unreadable(store: &Store) -> Result<i64> {
    Ok(sqlx::query_scalar("select cast(coalesce(sum(ratings), 0) as bigint) from rating_inbox where error is not null")
        .fetch_one(store.pool())
        .await?)
}

/// What one [`project`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Projected {
    /// Ratings written and taken out of the inbox.
    pub ratings: usize,
    /// Ratings in rows set aside because their body could not be read.
    pub unreadable: usize,
    /// When the last projected batch was received (the rest of the inbox is no older).
    pub last_at: Option<i64>,
    /// Rows are left.
    pub more: bool,
    /// Nothing was done: another server process is projecting (PostgreSQL).
    pub busy: bool,
}

/// The PostgreSQL advisory lock a projection holds, so that of several server processes on one
/// database one projects at a time: the others would read the same rows and fail on their
/// ratings' ids. (SQLite is written by one process in practice, and one writer at a time.)
pub const PROJECTION_LOCK: i64 = 7_345_127_002;

/// Projects the oldest inbox rows, about `limit` ratings (at least one row), in one
/// transaction on `conn` (see the module's documentation). On PostgreSQL, while another
/// process holds [`PROJECTION_LOCK`], does nothing and says it was `busy`.
pub async fn project(
    store: &Store,
    conn: &mut sqlx::AnyConnection,
    calendar: &crate::calendar_data::CalendarHandle,
    cache: &mut SettingsCache,
    steps: &mut Steps,
    limit: usize,
) -> Result<Projected> {
    if !Dialect::of(conn).concurrent_writers() {
        return project_rows(store, conn, calendar, cache, steps, limit).await;
    }
    let locked: bool =
        sqlx::query_scalar("select pg_try_advisory_lock($1)").bind(PROJECTION_LOCK).fetch_one(&mut *conn).await?;
    if !locked {
        return Ok(Projected { busy: true, more: true, ..Projected::default() });
    }
    let done = project_rows(store, conn, calendar, cache, steps, limit).await;
    // After a failure too (the caller drops a failed connection, which also releases it).
    let unlocked = sqlx::query("select pg_advisory_unlock($1)").bind(PROJECTION_LOCK).execute(&mut *conn).await;
    let done = done?;
    unlocked?;
    Ok(done)
}

async fn project_rows(
    store: &Store,
    conn: &mut sqlx::AnyConnection,
    calendar: &crate::calendar_data::CalendarHandle,
    cache: &mut SettingsCache,
    steps: &mut Steps,
    limit: usize,
) -> Result<Projected> {
    let limit_rows = i64::try_from(limit).unwrap_or(i64::MAX);
    let read = std::time::Instant::now();
    let heads = sqlx::query("select seq, ratings from rating_inbox where error is null order by seq limit $1")
        .bind(limit_rows + 1)
        .fetch_all(&mut *conn)
        .await?;
    let mut done = Projected::default();
    let (mut last, mut count) = (None, 0i64);
    for (i, row) in heads.iter().enumerate() {
        let n: i64 = row.try_get("ratings")?;
        if i > 0 && count + n > limit_rows {
            done.more = true;
            break;
        }
        count += n;
        last = Some(row.try_get::<i64, _>("seq")?);
        done.more = i + 1 < heads.len();
    }
    let Some(last) = last else { return Ok(done) };
    let rows =
        sqlx::query("select seq, received_at, body from rating_inbox where error is null and seq <= $1 order by seq")
            .bind(last)
            .fetch_all(&mut *conn)
            .await?;
    steps.inbox += read.elapsed();
    let (mut seqs, mut stamps, mut flags, mut items) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        let seq: i64 = row.try_get("seq")?;
        let body: String = row.try_get("body")?;
        match serde_json::from_str::<Vec<Pending>>(&body) {
            Ok(batch) => {
                seqs.push(seq);
                done.last_at = Some(row.try_get("received_at")?);
                for p in batch {
                    stamps.push(p.stamp);
                    flags.push(p.flags);
                    items.push(p.rating);
                }
            }
            Err(e) => {
                tracing::error!(seq, error = %e, "a rating inbox row cannot be read; kept with its error");
                let n =
                    sqlx::query_scalar::<_, i64>("update rating_inbox set error = $2 where seq = $1 returning ratings")
                        .bind(seq)
                        .bind(e.to_string())
                        .fetch_one(&mut *conn)
                        .await?;
                done.unreadable += usize::try_from(n).unwrap_or(0);
            }
        }
    }
    if !seqs.is_empty() {
        let batch = Batch { items: &items, stamps: &stamps, flags: &flags, inbox: &seqs };
        commit_batch(store, conn, calendar, batch, cache, steps).await?;
        done.ratings = items.len();
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rating::{Outcome, Phone, Scale, Submission};
    use crate::store::rating_codes::Target;
    use crate::store::ratings::Source;

    fn pending() -> Pending {
        let phone = Phone::parse("13912345678").unwrap_or_else(|e| panic!("{e}"));
        let target = Target {
            id: "c1".into(),
            org_code: "U-1-W1".into(),
            org_name: "窗口一".into(),
            unit_code: "U-1".into(),
            unit_name: "一局".into(),
            staff_no: None,
            staff_name: None,
            closed: false,
            expired: false,
        };
        Pending {
            stamp: Stamp { id: "R1".into(), at: 1_700_000_000_000 },
            flags: vec!["repeat_device".into()],
            rating: NewRating {
                code_id: Some("c1".into()),
                invitation_id: None,
                target,
                scale: Scale::Two,
                submission: Submission {
                    level: 1,
                    outcome: Outcome::Unsatisfied,
                    reasons: vec!["not_done".into()],
                    comment: Some("排队太久".into()),
                    phone: Some(phone.clone()),
                },
                phone_enc: Some("sealed".into()),
                phone_masked: Some(phone.masked()),
                device_hash: "d".into(),
                address_hash: "a".into(),
                source: Source::Api,
                reason_labels: vec!["事难办".into()],
                request_key: None,
            },
        }
    }

    #[test]
    fn an_inbox_row_never_holds_the_phone_in_the_clear() {
        let json = serde_json::to_string(&pending()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!json.contains("13912345678"), "{json}");
        assert!(json.contains("139****5678") && json.contains("sealed"), "{json}");
    }

    #[test]
    fn empty_fields_are_left_out_of_an_inbox_row_and_rows_that_spell_them_out_still_read() {
        // A satisfied rating without comment, phone, staff or flags, as most are.
        let mut p = pending();
        p.flags.clear();
        p.rating.submission =
            Submission { level: 5, outcome: Outcome::Satisfied, reasons: Vec::new(), comment: None, phone: None };
        (p.rating.phone_enc, p.rating.phone_masked, p.rating.reason_labels) = (None, None, Vec::new());
        let json = serde_json::to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        for absent in ["null", "false", "[]", "flags", "invitation_id", "staff_no", "comment", "reason_labels"] {
            assert!(!json.contains(absent), "{absent} in {json}");
        }
        // The form rows were written in before (every field spelled out) reads the same.
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        old["flags"] = serde_json::json!([]);
        for (field, value) in
            [("invitation_id", "null"), ("phone_enc", "null"), ("phone_masked", "null"), ("reason_labels", "[]")]
        {
            old["rating"][field] = serde_json::from_str(value).unwrap_or_else(|e| panic!("{e}"));
        }
        for (field, value) in [("staff_no", "null"), ("staff_name", "null"), ("closed", "false"), ("expired", "false")]
        {
            old["rating"]["target"][field] = serde_json::from_str(value).unwrap_or_else(|e| panic!("{e}"));
        }
        old["rating"]["submission"]["reasons"] = serde_json::json!([]);
        old["rating"]["submission"]["comment"] = serde_json::Value::Null;
        let old = old.to_string();
        assert!(old.len() > json.len() + 150, "{} against {}: {old}", old.len(), json.len());
        let (a, b): (Pending, Pending) = (
            serde_json::from_str(&old).unwrap_or_else(|e| panic!("{e}")),
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(serde_json::to_string(&a).ok(), serde_json::to_string(&b).ok());
        assert_eq!(serde_json::to_string(&a).ok(), Some(json));
    }

    #[test]
    fn an_inbox_row_reads_back_as_the_rating_it_was() {
        let p = pending();
        let json = serde_json::to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        let back: Pending = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((back.stamp, back.flags), (p.stamp, p.flags));
        let (a, b) = (back.rating, p.rating);
        assert_eq!((a.submission.phone, b.submission.phone.is_some()), (None, true), "only the sealed phone travels");
        assert_eq!((&a.submission.reasons, &a.submission.comment), (&b.submission.reasons, &b.submission.comment));
        assert_eq!((a.submission.outcome, a.scale, a.source), (b.submission.outcome, b.scale, b.source));
        assert_eq!((a.phone_enc, a.phone_masked, a.reason_labels), (b.phone_enc, b.phone_masked, b.reason_labels));
        assert_eq!((a.target.org_code, a.target.unit_name), (b.target.org_code, b.target.unit_name));
    }
}
