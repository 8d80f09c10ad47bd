//! Poster builds' SQL: a build started from the admin page, its progress (written by the process
//! that draws it, read by any) and its end. The file itself lives under `files_dir`.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, now_ms, opt_text};

/// A build is shown as interrupted when its process has not written for this long.
pub const STALE_MS: i64 = 30_000;

/// Finished builds (and their files) are kept this long.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;

/// What a build makes.
#[derive(Debug, Clone)]
pub struct NewBuild {
    /// Id (also the file's name).
    pub id: String,
    /// Root of the subtree.
    pub root_code: String,
    /// `a5` or `a4`.
    pub paper: String,
    /// `html` or `zip`.
    pub format: String,
}

/// A build as stored.
#[derive(Debug, Clone)]
pub struct Build {
    /// Id.
    pub id: String,
    /// Who started it (username).
    pub requested_by: String,
    /// Root of the subtree.
    pub root_code: String,
    /// `a5` or `a4`.
    pub paper: String,
    /// `html` or `zip`.
    pub format: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// Posters to draw (0 until listed).
    pub total: i64,
    /// Posters drawn so far.
    pub drawn: i64,
    /// The file's size once done.
    pub size: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was started, ms.
    pub created_at: i64,
    /// When its process last wrote, ms.
    pub updated_at: i64,
    /// When it ended, ms.
    pub finished_at: Option<i64>,
}

impl Build {
    /// Queued or running, and its process stopped writing: it will never end.
    pub fn interrupted(&self, now: i64) -> bool {
        matches!(self.state.as_str(), "queued" | "running") && now - self.updated_at > STALE_MS
    }
}

const COLUMNS: &str =
    "id, requested_by, root_code, paper, format, state, total, drawn, size, error, created_at, updated_at, finished_at";

fn build_from(r: &AnyRow) -> Result<Build> {
    Ok(Build {
        id: r.try_get("id")?,
        requested_by: r.try_get("requested_by")?,
        root_code: r.try_get("root_code")?,
        paper: r.try_get("paper")?,
        format: r.try_get("format")?,
        state: r.try_get("state")?,
        total: r.try_get("total")?,
        drawn: r.try_get("drawn")?,
        size: r.try_get("size")?,
        error: opt_text(r, "error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

/// Records a queued build and its audit row, in one transaction.
pub async fn create(store: &Store, actor: &Actor, b: &NewBuild) -> Result<()> {
    let now = now_ms();
    let mut tx = store.write().await?;
    sqlx::query(
        "insert into poster_builds (id, requested_by, root_code, paper, format, state, total, drawn, created_at, updated_at)
         values ($1, $2, $3, $4, $5, 'queued', 0, 0, $6, $6)",
    )
    .bind(&b.id)
    .bind(&actor.name)
    .bind(&b.root_code)
    .bind(&b.paper)
    .bind(&b.format)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        actor,
        "posters.build",
        &format!("org:{}", b.root_code),
        &serde_json::json!({"build": b.id, "paper": b.paper, "format": b.format}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One build.
pub async fn get(store: &Store, id: &str) -> Result<Option<Build>> {
    let sql = format!("select {COLUMNS} from poster_builds where id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.as_ref().map(build_from).transpose()
}

/// A requester's builds, newest first.
pub async fn recent(store: &Store, requested_by: &str, limit: i64) -> Result<Vec<Build>> {
    let sql = format!(
        "select {COLUMNS} from poster_builds where requested_by = $1 order by created_at desc, id desc limit $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(requested_by).bind(limit).fetch_all(store.pool()).await?;
    rows.iter().map(build_from).collect()
}

/// The build started drawing `total` posters.
pub async fn start(store: &Store, id: &str, total: i64) -> Result<()> {
    sqlx::query("update poster_builds set state = 'running', total = $2, updated_at = $3 where id = $1")
        .bind(id)
        .bind(total)
        .bind(now_ms())
        .execute(store.pool())
        .await?;
    Ok(())
}

/// The build is alive and has drawn `drawn` posters.
pub async fn progress(store: &Store, id: &str, drawn: i64) -> Result<()> {
    sqlx::query(
        "update poster_builds set drawn = $2, updated_at = $3 where id = $1 and state in ('queued', 'running')",
    )
    .bind(id)
    .bind(drawn)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The build's file is in place.
pub async fn finish(store: &Store, id: &str, size: i64) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "update poster_builds set state = 'done', drawn = total, size = $2, updated_at = $3, finished_at = $3
         where id = $1",
    )
    .bind(id)
    .bind(size)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The build failed for `error`.
pub async fn fail(store: &Store, id: &str, error: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "update poster_builds set state = 'failed', error = $2, updated_at = $3, finished_at = $3 where id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Deletes the builds that ended (or were interrupted) before `before`; returns them, so that
/// their files can be removed.
pub async fn expire(store: &Store, before: i64) -> Result<Vec<Build>> {
    let sql = format!(
        "select {COLUMNS} from poster_builds
         where (finished_at is not null and finished_at < $1) or (finished_at is null and updated_at < $1)"
    );
    let old: Vec<Build> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(before)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(build_from)
        .collect::<Result<_>>()?;
    for b in &old {
        sqlx::query("delete from poster_builds where id = $1").bind(&b.id).execute(store.pool()).await?;
    }
    Ok(old)
}
