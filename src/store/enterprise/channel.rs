//! A project's channel: the firm's users and the project's cadres talk in it (text, photos,
//! files). A message the firm marks as a problem opens a desk request in the same transaction;
//! the request's moves appear in the channel as messages too, so the conversation reads whole.

use sqlx::Row;

use crate::store::workflow::Files;
use crate::store::{Result, Tx, new_id};

/// Where a project's files are kept (photos and files posted in its channel or with a report).
pub const FILES: Files = Files { table: "project_attachments", key: "project_id", noun: "project" };

/// A message.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ChannelMessage)]
pub struct Message {
    /// Id.
    pub id: String,
    /// Position in the channel, from 1.
    pub seq: i64,
    /// Who wrote it (login name).
    pub author: String,
    /// Their role.
    pub author_role: String,
    /// Their name.
    pub author_name: String,
    /// The text.
    pub body: String,
    /// The desk request it raised or answered, if any.
    pub request_id: Option<String>,
    /// That request's number.
    pub request_number: Option<String>,
    /// Files posted with it.
    pub files: Vec<File>,
    /// Posted, ms.
    pub created_at: i64,
}

/// A file posted in the channel.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ChannelFile)]
pub struct File {
    /// Id (download at `/api/v1/projects/{code}/files/{id}`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
}

/// Appends a message to project `project`'s channel inside `tx`, with the files (uploaded to the
/// project and not yet posted) it carries; returns its id and position.
#[allow(clippy::too_many_arguments)]
pub async fn append(
    tx: &mut Tx,
    project: &str,
    author: (&str, &str, &str),
    body: &str,
    request: Option<&str>,
    files: &[String],
    now: i64,
) -> Result<(String, i64), crate::store::workflow::ApplyError> {
    // The project's counter row, updated first: concurrent posts in one channel queue on it
    // instead of taking the same position.
    let seq: i64 =
        sqlx::query_scalar("update projects set message_seq = message_seq + 1 where id = $1 returning message_seq")
            .bind(project)
            .fetch_one(&mut **tx)
            .await?;
    let id = new_id();
    sqlx::query(
        "insert into channel_messages (id, project_id, seq, author, author_role, author_name, body, request_id, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(project)
    .bind(seq)
    .bind(author.0)
    .bind(author.1)
    .bind(author.2)
    .bind(body)
    .bind(request)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for file in files {
        let linked = sqlx::query(
            "update project_attachments set event_id = $3 where id = $1 and project_id = $2 and event_id is null",
        )
        .bind(file)
        .bind(project)
        .bind(&id)
        .execute(&mut **tx)
        .await?;
        if linked.rows_affected() != 1 {
            return Err(crate::store::workflow::invalid(
                "attachments",
                format!("{file} is not an unposted file uploaded to this project"),
            ));
        }
    }
    Ok((id, seq))
}

/// The messages of project `project` after position `after`, oldest first, at most `limit`.
pub async fn since(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any> + Copy,
    project: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Message>> {
    let rows = sqlx::query(
        "select m.*, r.number as request_number from channel_messages m left join desk_requests r on r.id = m.request_id
         where m.project_id = $1 and m.seq > $2 order by m.seq limit $3",
    )
    .bind(project)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let files = sqlx::query(
        "select id, name, content_type, size, event_id from project_attachments
         where project_id = $1 and event_id in (select id from channel_messages where project_id = $1 and seq > $2)
         order by created_at, id",
    )
    .bind(project)
    .bind(after)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let mut mine = Vec::new();
            for f in &files {
                if f.try_get::<Option<String>, _>("event_id")?.as_deref() == Some(id.as_str()) {
                    mine.push(File {
                        id: f.try_get("id")?,
                        name: f.try_get("name")?,
                        content_type: f.try_get("content_type")?,
                        size: f.try_get("size")?,
                    });
                }
            }
            Ok(Message {
                id,
                seq: r.try_get("seq")?,
                author: r.try_get("author")?,
                author_role: r.try_get("author_role")?,
                author_name: r.try_get("author_name")?,
                body: r.try_get("body")?,
                request_id: r.try_get("request_id")?,
                request_number: r.try_get("request_number")?,
                files: mine,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The last `n` messages of project `project`, oldest first.
pub async fn latest(pool: &sqlx::AnyPool, project: &str, n: i64) -> Result<Vec<Message>> {
    let last: i64 =
        sqlx::query_scalar("select cast(coalesce(max(seq), 0) as bigint) from channel_messages where project_id = $1")
            .bind(project)
            .fetch_one(pool)
            .await?;
    since(pool, project, (last - n).max(0), n).await
}

/// The position of the last message of project `project` (0 when none).
pub async fn last_seq(pool: &sqlx::AnyPool, project: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("select cast(coalesce(max(seq), 0) as bigint) from channel_messages where project_id = $1")
        .bind(project)
        .fetch_one(pool)
        .await?)
}
