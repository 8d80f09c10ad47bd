//! SQL for SQLite and PostgreSQL: one set of portable queries (`$1` placeholders, BIGINT
//! integers and millisecond timestamps, INTEGER 0/1 flags, text ids), one module per aggregate.
//! The few fragments that differ between the engines live in [`Dialect`].

pub mod alerts;
pub mod appeals;
pub mod audit;
pub mod calendar;
pub mod cases;
pub mod dashboard;
mod dialect;
pub mod enterprise;
pub mod fingerprint;
pub use dialect::Dialect;
mod error;
pub use error::{Result, StoreError};
mod json;
pub use json::{decode_json, undecodable};
pub mod inspection;
pub mod invitations;
pub mod items;
pub mod jobs;
pub mod meetings;
mod migrate;
mod nodelay;
pub mod org;
pub mod poster_builds;
pub mod rating_codes;
pub mod ratings;
pub mod rollups;
pub(crate) mod script;
pub mod settings_cache;
pub mod sla;
pub mod teams;
pub mod users;
pub mod webhooks;
pub mod workflow;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row};

use crate::config::DatabaseUrl;

pub use migrate::MIGRATIONS;

/// A transaction on either engine.
pub type Tx = sqlx::Transaction<'static, Any>;

/// Set on every SQLite connection: write-ahead log (readers never block the writer), commits
/// that survive a crash of the process (not of the machine) without an fsync each, a wait
/// instead of an error when the file is locked, and foreign keys enforced.
const SQLITE_PRAGMAS: &str =
    "pragma journal_mode = wal; pragma synchronous = normal; pragma busy_timeout = 10000; pragma foreign_keys = on;";

/// The handle every layer above uses to reach the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// Shared by the store's clones (the rating writer, jobs and housekeeping each hold one).
    url: std::sync::Arc<str>,
}

/// PostgreSQL over TCP: the server's port (its connections get TCP_NODELAY, see [`nodelay`]).
fn tcp_port(url: &str) -> Option<u16> {
    let options: sqlx::postgres::PgConnectOptions = url.parse().ok()?;
    (options.get_socket().is_none() && !options.get_host().starts_with('/')).then(|| options.get_port())
}

impl Store {
    /// Connects (creating a missing SQLite file, in WAL mode) without running migrations.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
                }
                Dialect::Sqlite
            }
            DatabaseUrl::Postgres(_) => Dialect::Postgres,
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        options = match dialect {
            Dialect::Sqlite => options.max_connections(8).after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::raw_sql(SQLITE_PRAGMAS).execute(conn).await?;
                    Ok(())
                })
            }),
            Dialect::Postgres => {
                let port = tcp_port(&url.connect_url());
                options.max_connections(16).after_connect(move |_conn, _meta| {
                    Box::pin(async move {
                        if let Some(port) = port {
                            nodelay::set_for_peer_port(port);
                        }
                        Ok(())
                    })
                })
            }
        };
        let pool = options.connect(&url.connect_url()).await?;
        Ok(Store { pool, dialect, url: url.connect_url().into() })
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &DatabaseUrl) -> Result<Store> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the embedded migrations that have not run yet; returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        migrate::run(self).await
    }

    /// The engine behind this store.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The connection pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection of its own, outside the pool, for a long-lived writer: its page cache
    /// stays warm instead of being discarded each time another pooled connection writes.
    pub async fn dedicated_connection(&self) -> Result<sqlx::AnyConnection> {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&self.url).await?;
        if self.dialect == Dialect::Sqlite {
            sqlx::raw_sql(SQLITE_PRAGMAS).execute(&mut conn).await?;
        } else if let Some(port) = tcp_port(&self.url) {
            nodelay::set_for_peer_port(port);
        }
        Ok(conn)
    }

    /// Opens a write transaction on a dedicated connection.
    pub async fn write_on<'c>(&self, conn: &'c mut sqlx::AnyConnection) -> Result<sqlx::Transaction<'c, Any>> {
        use sqlx::Connection;
        Ok(conn.begin_with(self.dialect.begin_write()).await?)
    }

    /// Opens a write transaction.
    pub async fn write(&self) -> Result<Tx> {
        Ok(self.pool.begin_with(self.dialect.begin_write()).await?)
    }

    /// SQLite: turns off automatic checkpoints on `conn` (the rating writer's own connection, so
    /// that no commit of it pays for copying the log); nothing on PostgreSQL.
    pub async fn without_autocheckpoint(&self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        if self.dialect == Dialect::Sqlite {
            sqlx::query("pragma wal_autocheckpoint = 0").execute(conn).await?;
        }
        Ok(())
    }

    /// SQLite: copies the write-ahead log into the database file without waiting for readers or
    /// blocking the writer; nothing on PostgreSQL.
    pub async fn checkpoint_passive(&self) -> Result<()> {
        if self.dialect == Dialect::Sqlite {
            sqlx::query("pragma wal_checkpoint(passive)").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (the SQLite file is left consistent).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch, the one time representation stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new random id: 26 characters, time-ordered (48 bits of milliseconds, 80 random bits),
/// Crockford base32, so ids sort by creation and are safe in URLs.
pub fn new_id() -> String {
    let ms = u128::from(now_ms().max(0).unsigned_abs()) & ((1 << 48) - 1);
    let value = (ms << 80) | (rand::random::<u128>() & ((1 << 80) - 1));
    (0..26).rev().map(|i| ID_ALPHABET[((value >> (i * 5)) & 31) as usize] as char).collect()
}

const ID_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// When an id made by [`new_id`] was made (ms); `None` for anything else.
pub fn id_time(id: &str) -> Option<i64> {
    if id.len() != 26 {
        return None;
    }
    let mut value: u128 = 0;
    for (i, c) in id.bytes().enumerate() {
        let digit = ID_ALPHABET.iter().position(|a| *a == c)? as u128;
        // 26 digits carry 130 bits: the first holds only the top 3 of the 128.
        if i == 0 && digit > 7 {
            return None;
        }
        value = (value << 5) | digit;
    }
    i64::try_from(value >> 80).ok()
}

/// A new random secret as hex (for session ids, CSRF and API tokens).
pub fn new_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    hex::encode(buf)
}

/// The SHA-256 of a secret, as hex: what is stored instead of the secret itself.
pub fn secret_hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// Reads an optional text column.
pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    /// A null text.
    Null,
    /// A null integer.
    NullInt,
}

impl Bind {
    /// About how many bytes the value takes on the wire.
    pub(crate) fn wire_size(&self) -> usize {
        match self {
            Bind::Text(s) => 4 + s.len(),
            Bind::Int(_) => 12,
            Bind::Null | Bind::NullInt => 4,
        }
    }
}

/// A query on either engine.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Binds each value in order.
pub(crate) fn bind_all<'q>(mut q: AnyQuery<'q>, binds: impl IntoIterator<Item = Bind>) -> AnyQuery<'q> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s),
            Bind::Int(i) => q.bind(i),
            Bind::Null => q.bind(None::<String>),
            Bind::NullInt => q.bind(None::<i64>),
        };
    }
    q
}

/// A node's row of a per-node settings table (keyed by `org_code`): the other columns and their values.
pub(crate) struct NodeSetting<'a> {
    /// The table.
    pub table: &'a str,
    /// The node.
    pub org_code: &'a str,
    /// The columns besides `org_code` and `updated_at`.
    pub columns: &'a [&'a str],
    /// Their values, in order.
    pub values: Vec<Bind>,
}

/// Replaces a node's setting in `tx` (its row deleted, the new one inserted with the time),
/// appends the audit row `action` with `change` (its before and after) and commits.
pub(crate) async fn replace_node_setting(
    mut tx: Tx,
    setting: NodeSetting<'_>,
    actor: &audit::Actor,
    action: &str,
    change: &serde_json::Value,
) -> Result<()> {
    let NodeSetting { table, org_code, columns, values } = setting;
    sqlx::query(sqlx::AssertSqlSafe(format!("delete from {table} where org_code = $1")))
        .bind(org_code)
        .execute(&mut *tx)
        .await?;
    let head = format!("insert into {table} (org_code, {}, updated_at)", columns.join(", "));
    let mut row = vec![Bind::Text(org_code.to_owned())];
    row.extend(values);
    row.push(Bind::Int(now_ms()));
    insert_batched(&mut tx, &head, columns.len() + 2, &[row]).await?;
    audit::append(&mut tx, actor, action, &format!("org:{org_code}"), change).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts `rows` (each a vector of `cols` binds) after `head` (`insert into t (a, b)`): a
/// [`script::Script`] insert, the rows travelling as JSON, in as few round trips as its limits allow.
pub(crate) async fn insert_batched(
    conn: &mut sqlx::AnyConnection,
    head: &str,
    cols: usize,
    rows: &[Vec<Bind>],
) -> Result<()> {
    let mut script = script::Script::new();
    script.insert(head, cols, rows, "");
    script.run(conn).await
}

/// Runs `sql` for many codes at once: `{codes}` in it is replaced by a list of placeholders,
/// in chunks that stay under the parameter limits; returns every chunk's rows.
pub(crate) async fn fetch_for_codes(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    codes: &[&str],
) -> Result<Vec<sqlx::any::AnyRow>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(512) {
        // Lists padded to a power of two (repeating the last code) keep the number of distinct
        // statement texts, and so of statements to prepare, small.
        let size = chunk.len().next_power_of_two().max(4);
        let ps: Vec<String> = (1..=size).map(|i| format!("${i}")).collect();
        let sql = sql.replace("{codes}", &ps.join(","));
        let padded = chunk.iter().chain(std::iter::repeat_n(&chunk[chunk.len() - 1], size - chunk.len()));
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), padded.map(|c| Bind::Text((*c).to_owned())))
            .fetch_all(&mut *conn)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_26_characters_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
    }

    #[test]
    fn an_id_tells_when_it_was_made() {
        let before = now_ms();
        let t = id_time(&new_id()).unwrap_or_else(|| panic!("a new id has a time"));
        assert!(before <= t && t <= now_ms(), "{before} {t}");
        for other in ["PENDING01", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "0123456789ABCDEFGHJKMNPQRI", ""] {
            assert_eq!(id_time(other), None, "{other}");
        }
        assert_eq!(id_time("00000000010000000000000000"), Some(1), "1 ms");
    }
}
