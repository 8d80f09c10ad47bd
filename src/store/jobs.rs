//! The job table: enqueue (in the caller's transaction, so a job exists exactly when the change
//! that asked for it committed), claim (several workers, each job to one), finish, retry with
//! backoff, dead-letter.

use sqlx::Row;

use super::{Bind, Result, Store, new_id, now_ms, opt_text};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Stable kind, e.g. `email`, `webhook`.
    pub kind: &'static str,
    /// JSON payload.
    pub payload: serde_json::Value,
    /// Enqueuing the same key again does nothing.
    pub dedupe_key: Option<String>,
    /// Not before this time, ms.
    pub run_at: i64,
    /// Attempts before the job is dead.
    pub max_attempts: i64,
}

/// Enqueues jobs inside the caller's transaction, with one multi-row insert. A job whose
/// dedupe key exists already (or comes earlier in `jobs`) is skipped. Returns how many were added.
pub async fn enqueue(conn: &mut sqlx::AnyConnection, jobs: &[NewJob]) -> Result<usize> {
    let mut script = super::script::Script::new();
    enqueue_into(&mut script, jobs);
    Ok(script.run_counting(conn).await? as usize)
}

/// [`enqueue`] into a script.
pub(crate) fn enqueue_into(script: &mut super::script::Script, jobs: &[NewJob]) {
    script.insert(INSERT, 10, &rows(jobs), SKIP_SAME_KEY);
}

const INSERT: &str =
    "insert into jobs (id, kind, payload, dedupe_key, run_at, attempts, max_attempts, state, created_at, updated_at)";
const SKIP_SAME_KEY: &str = "on conflict (dedupe_key) do nothing";

fn rows(jobs: &[NewJob]) -> Vec<Vec<Bind>> {
    let now = now_ms();
    jobs.iter()
        .map(|job| {
            vec![
                Bind::Text(new_id()),
                Bind::Text(job.kind.to_owned()),
                Bind::Text(job.payload.to_string()),
                job.dedupe_key.clone().map_or(Bind::Null, Bind::Text),
                Bind::Int(job.run_at),
                Bind::Int(0),
                Bind::Int(job.max_attempts),
                Bind::Text("queued".into()),
                Bind::Int(now),
                Bind::Int(now),
            ]
        })
        .collect()
}

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Payload.
    pub payload: serde_json::Value,
    /// This attempt's number, from 1.
    pub attempt: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
}

/// Claims up to `limit` due jobs for `worker` until `now + lease_ms`. Jobs whose lease expired
/// (a worker died) are claimed again. Each job goes to one worker: PostgreSQL skips rows other
/// workers hold; SQLite has one writer at a time.
pub async fn claim(store: &Store, worker: &str, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<Claimed>> {
    let mut tx = store.write().await?;
    let sql = format!(
        "update jobs set state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, updated_at = $3
         where id in (select id from jobs
                      where (state = 'queued' and run_at <= $3) or (state = 'running' and locked_until < $3)
                      order by run_at limit $4{})
         returning id, kind, payload, attempts, max_attempts",
        store.dialect().skip_locked()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(worker)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| {
            let payload: String = r.try_get("payload")?;
            Ok(Claimed {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                attempt: r.try_get("attempts")?,
                max_attempts: r.try_get("max_attempts")?,
            })
        })
        .collect()
}

/// Marks a job done (only if `worker` still holds it).
pub async fn finish(store: &Store, id: &str, worker: &str) -> Result<bool> {
    let done = sqlx::query(
        "update jobs set state = 'done', locked_by = null, locked_until = null, updated_at = $3 where id = $1 and locked_by = $2",
    )
    .bind(id)
    .bind(worker)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The wait before attempt `attempt + 1`: 10 s doubling, at most one hour.
pub fn backoff_ms(attempt: i64) -> i64 {
    (10_000i64 << attempt.clamp(0, 20) as u32).min(3_600_000)
}

/// Records a failed attempt: the job is retried after a backoff, or, out of attempts, dead.
pub async fn fail(store: &Store, job: &Claimed, worker: &str, error: &str, now: i64) -> Result<()> {
    let dead = job.attempt >= job.max_attempts;
    sqlx::query(
        "update jobs set state = $3, run_at = $4, last_error = $5, locked_by = null, locked_until = null, updated_at = $6
         where id = $1 and locked_by = $2",
    )
    .bind(&job.id)
    .bind(worker)
    .bind(if dead { "dead" } else { "queued" })
    .bind(now + backoff_ms(job.attempt))
    .bind(error.chars().take(1000).collect::<String>())
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// A job as listed to admins.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// queued, running, done or dead.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// Last error.
    pub last_error: Option<String>,
    /// Payload (JSON text).
    pub payload: String,
    /// Next run, ms.
    pub run_at: i64,
}

/// Jobs in `state`, newest first.
pub async fn list(store: &Store, state: &str, limit: i64) -> Result<Vec<JobView>> {
    let rows = sqlx::query(
        "select id, kind, state, attempts, last_error, payload, run_at from jobs where state = $1 order by updated_at desc limit $2",
    )
    .bind(state)
    .bind(limit.clamp(1, 500))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(JobView {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                last_error: opt_text(r, "last_error")?,
                payload: r.try_get("payload")?,
                run_at: r.try_get("run_at")?,
            })
        })
        .collect()
}

/// Puts a dead job back in the queue (an admin retrying it).
pub async fn retry_dead(store: &Store, id: &str) -> Result<bool> {
    let done = sqlx::query(
        "update jobs set state = 'queued', attempts = 0, run_at = $2, updated_at = $2 where id = $1 and state = 'dead'",
    )
    .bind(id)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The outbox kind of an email (run by `jobs::email`).
pub const EMAIL: &str = "email";

/// An email's payload in the outbox.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Email {
    /// The address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The text.
    pub body: String,
}

/// An email to enqueue (five attempts), with the key that keeps it from being sent twice.
pub fn email(to: &str, subject: &str, body: &str, dedupe_key: Option<String>) -> NewJob {
    NewJob {
        kind: EMAIL,
        payload: serde_json::json!(Email { to: to.to_owned(), subject: subject.to_owned(), body: body.to_owned() }),
        dedupe_key,
        run_at: super::now_ms(),
        max_attempts: 5,
    }
}

/// The outbox kind that opens the case of an unsatisfied rating (run by `jobs::case_open`);
/// payload `{"rating": ID}`.
pub const CASE_OPEN: &str = "case.open";
