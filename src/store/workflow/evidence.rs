//! Evidence files, for every machine alike: told by their first bytes (JPEG, PNG and PDF only),
//! stored on disk under their content hash, listed per subject and fetched one by one. Where a
//! machine keeps them is its [`Files`].

use std::path::{Path, PathBuf};

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::audit::Actor;
use crate::store::{Result, Store, StoreError, new_id, now_ms, opt_text};

/// Where a machine keeps its evidence: the table (with the shape of the case loop's
/// `attachments`), the column naming the subject, and the noun of audit actions and targets.
#[derive(Debug)]
pub struct Files {
    /// The table (`attachments`).
    pub table: &'static str,
    /// The column naming the subject (`case_id`).
    pub key: &'static str,
    /// The noun (`case`: audited as `case.attach` on `case:ID`).
    pub noun: &'static str,
}

/// An evidence file.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Attachment {
    /// Id.
    pub id: String,
    /// SHA-256 of the content, hex: the file's name on disk and its fingerprint in the record.
    pub sha256: String,
    /// The name it was uploaded under.
    pub name: String,
    /// `image/jpeg`, `image/png` or `application/pdf`.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// The step it proves, once an action used it.
    pub event_id: Option<String>,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When, ms.
    pub created_at: i64,
}

/// The kinds of file accepted as evidence, told by their first bytes (not by the name or the
/// type the browser claims).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// Where a file with this hash lives under `dir`.
pub fn path_of(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(&sha256[..2]).join(sha256)
}

fn attachment_from(r: &AnyRow) -> Result<Attachment> {
    Ok(Attachment {
        id: r.try_get("id")?,
        sha256: r.try_get("sha256")?,
        name: r.try_get("name")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size")?,
        event_id: opt_text(r, "event_id")?,
        uploaded_by: r.try_get("uploaded_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Stores an evidence file for subject `id`: the content under `dir` by its hash (written to a
/// temporary name and renamed, so a crash never leaves half a file under a real name), then the
/// row. The same content uploaded twice is kept once on disk.
#[allow(clippy::too_many_arguments)]
pub async fn save_attachment(
    store: &Store,
    dir: &Path,
    files: &Files,
    id: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
    actor: &Actor,
) -> Result<Attachment> {
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let path = path_of(dir, &sha);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        let io = StoreError::Io;
        let parent = path.parent().unwrap_or(dir);
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
        let tmp = parent.join(format!(".{sha}.{}", new_id()));
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
    }
    let a = Attachment {
        id: new_id(),
        sha256: sha,
        name: name.to_owned(),
        content_type: content_type.to_owned(),
        size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        event_id: None,
        uploaded_by: actor.name.clone(),
        created_at: now_ms(),
    };
    let mut tx = store.write().await?;
    let sql = format!(
        "insert into {} (id, sha256, name, content_type, size, {}, uploaded_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        files.table, files.key
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&a.id)
        .bind(&a.sha256)
        .bind(&a.name)
        .bind(&a.content_type)
        .bind(a.size)
        .bind(id)
        .bind(&a.uploaded_by)
        .bind(a.created_at)
        .execute(&mut *tx)
        .await?;
    crate::store::audit::append(
        &mut tx,
        actor,
        &format!("{}.attach", files.noun),
        &format!("{}:{id}", files.noun),
        &serde_json::json!({"attachment": a.id, "sha256": a.sha256, "name": name, "size": a.size}),
    )
    .await?;
    tx.commit().await?;
    Ok(a)
}

/// A subject's evidence files, oldest first.
pub async fn attachments(store: &Store, files: &Files, id: &str) -> Result<Vec<Attachment>> {
    let sql = format!(
        "select id, sha256, name, content_type, size, event_id, uploaded_by, created_at from {}
         where {} = $1 order by created_at, id",
        files.table, files.key
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(store.pool()).await?;
    rows.iter().map(attachment_from).collect()
}

/// One evidence file and the subject it belongs to.
pub async fn attachment(store: &Store, files: &Files, id: &str) -> Result<Option<(Attachment, String)>> {
    let sql = format!(
        "select id, sha256, name, content_type, size, event_id, uploaded_by, created_at, {} as subject from {} where id = $1",
        files.key, files.table
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.map(|r| Ok((attachment_from(&r)?, r.try_get("subject")?))).transpose()
}
