//! The audit trail's SQL: append a row in the caller's transaction, list with filters,
//! verify the whole chain, re-key a chain written before keyed hashes, take and check
//! checkpoints.

use std::sync::OnceLock;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Bind, Result, Store, StoreError, Tx, bind_all, now_ms};
use crate::domain::audit::{AuditKey, AuditRow, ChainBreak, ChainVerifier, Checkpoint, CheckpointBreak, Hashing};

/// The audit key of this process. It is the one piece of configuration the store keeps in a
/// process-wide cell, and the reason is where it is needed: every change appends its audit row
/// inside its own transaction, from some forty places that hold only that transaction. The key
/// is derived from the server secret, which one process has exactly one of (checked against the
/// database at startup), so the cell is written once, by `startup` and the command line, and a
/// second, different key is refused.
static KEY: OnceLock<AuditKey> = OnceLock::new();

/// Installs this process's audit key; refuses a different key once one is installed.
pub fn install_key(key: AuditKey) -> std::result::Result<(), String> {
    let installed = KEY.get_or_init(|| key.clone());
    if *installed == key { Ok(()) } else { Err("this process already has another audit key".into()) }
}

/// The hashing of a chain whose head says `keyed`.
fn hashing(keyed: i64) -> Result<Hashing> {
    if keyed == 0 {
        return Ok(Hashing::Plain);
    }
    KEY.get()
        .cloned()
        .map(Hashing::Keyed)
        .ok_or_else(|| StoreError::Audit("this process has no audit key; it cannot append to a keyed chain".into()))
}

/// Who made a change and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Username, `system`, or `cli`.
    pub name: String,
    /// Client address for changes over HTTP; empty otherwise.
    pub client_addr: String,
}

impl Actor {
    /// A change made by the command line on this machine.
    pub fn cli() -> Actor {
        Actor { name: "cli".into(), client_addr: String::new() }
    }

    /// A change made by the server itself (jobs, sweeps).
    pub fn system() -> Actor {
        Actor { name: "system".into(), client_addr: String::new() }
    }
}

/// Appends one audit row inside `tx`, chained to the previous one; returns its seq.
///
/// Must run in the same transaction as the change it records.
pub async fn append(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    target: &str,
    summary: &serde_json::Value,
) -> Result<i64> {
    // Taking the head row first serialises appenders on PostgreSQL (row lock) and SQLite
    // (single writer), so each row chains to the one committed before it.
    let head = sqlx::query("update audit_head set seq = seq + 1 where id = 1 returning seq, hash, keyed")
        .fetch_one(&mut **tx)
        .await?;
    let hashing = hashing(head.try_get("keyed")?)?;
    let mut row = AuditRow {
        seq: head.try_get("seq")?,
        at: now_ms(),
        actor: actor.name.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        summary: summary.to_string(),
        client_addr: actor.client_addr.clone(),
        prev_hash: head.try_get("hash")?,
        hash: String::new(),
    };
    row.hash = row.compute_hash(&hashing);
    sqlx::query(
        "insert into audit_log (seq, at, actor, action, target, summary, client_addr, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(row.seq)
    .bind(row.at)
    .bind(&row.actor)
    .bind(&row.action)
    .bind(&row.target)
    .bind(&row.summary)
    .bind(&row.client_addr)
    .bind(&row.prev_hash)
    .bind(&row.hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("update audit_head set hash = $1 where id = 1").bind(&row.hash).execute(&mut **tx).await?;
    Ok(row.seq)
}

/// An entry to append: action, target, summary.
pub type Entry = (String, String, serde_json::Value);

/// Appends rows in one go, chained in order: one update of the head and one script with the
/// rows and the new head hash.
pub async fn append_many(conn: &mut sqlx::AnyConnection, actor: &Actor, entries: &[Entry]) -> Result<()> {
    append_as(conn, &[(actor, entries)]).await
}

/// [`append_many`] for entries of several actors, in the order given.
pub async fn append_as(conn: &mut sqlx::AnyConnection, groups: &[(&Actor, &[Entry])]) -> Result<()> {
    let count: usize = groups.iter().map(|(_, e)| e.len()).sum();
    if count == 0 {
        return Ok(());
    }
    let head = sqlx::query("update audit_head set seq = seq + $1 where id = 1 returning seq, hash, keyed")
        .bind(count as i64)
        .fetch_one(&mut *conn)
        .await?;
    let hashing = hashing(head.try_get("keyed")?)?;
    let last: i64 = head.try_get("seq")?;
    let mut prev: String = head.try_get("hash")?;
    let at = now_ms();
    let mut rows = Vec::with_capacity(count);
    let entries = groups.iter().flat_map(|(actor, entries)| entries.iter().map(move |e| (*actor, e)));
    for (i, (actor, (action, target, summary))) in entries.enumerate() {
        let mut row = AuditRow {
            seq: last - count as i64 + 1 + i as i64,
            at,
            actor: actor.name.clone(),
            action: action.clone(),
            target: target.clone(),
            summary: summary.to_string(),
            client_addr: actor.client_addr.clone(),
            prev_hash: prev,
            hash: String::new(),
        };
        row.hash = row.compute_hash(&hashing);
        prev = row.hash.clone();
        rows.push(vec![
            Bind::Int(row.seq),
            Bind::Int(row.at),
            Bind::Text(row.actor),
            Bind::Text(row.action),
            Bind::Text(row.target),
            Bind::Text(row.summary),
            Bind::Text(row.client_addr),
            Bind::Text(row.prev_hash),
            Bind::Text(row.hash),
        ]);
    }
    let mut script = super::script::Script::new();
    script.insert(
        "insert into audit_log (seq, at, actor, action, target, summary, client_addr, prev_hash, hash)",
        9,
        &rows,
        "",
    );
    script.push("update audit_head set hash = $1 where id = 1".into(), vec![Bind::Text(prev)]);
    script.run(conn).await
}

fn from_row(r: &AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        summary: r.try_get("summary")?,
        client_addr: r.try_get("client_addr")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

const COLUMNS: &str = "seq, at, actor, action, target, summary, client_addr, prev_hash, hash";

/// Filters for browsing the trail; every field is optional.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Action, or an action prefix ending in `.` (e.g. `session.`).
    pub action: Option<String>,
    /// Target contains this text (case-insensitive).
    pub target: Option<String>,
    /// At or after, ms.
    pub from: Option<i64>,
    /// Before, ms.
    pub to: Option<i64>,
    /// Only rows with seq below this (the next page).
    pub before_seq: Option<i64>,
    /// At most this many rows (1–500).
    pub limit: i64,
}

/// Rows matching `f`, newest first.
pub async fn list(store: &Store, f: &AuditFilter) -> Result<Vec<AuditRow>> {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    let mut push = |clause: &str, b: Bind| {
        binds.push(b);
        clauses.push(clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(a) = &f.actor {
        push("actor = ?", Bind::Text(a.clone()));
    }
    if let Some(a) = &f.action {
        if a.ends_with('.') {
            push("action like ?", Bind::Text(format!("{}%", a.replace('%', "").replace('_', "\\_"))));
        } else {
            push("action = ?", Bind::Text(a.clone()));
        }
    }
    if let Some(t) = &f.target {
        push("lower(target) like lower(?)", Bind::Text(format!("%{}%", t.replace('%', ""))));
    }
    if let Some(v) = f.from {
        push("at >= ?", Bind::Int(v));
    }
    if let Some(v) = f.to {
        push("at < ?", Bind::Int(v));
    }
    if let Some(v) = f.before_seq {
        push("seq < ?", Bind::Int(v));
    }
    let mut sql = format!("select {COLUMNS} from audit_log");
    if !clauses.is_empty() {
        sql.push_str(" where ");
        sql.push_str(&clauses.join(" and "));
    }
    sql.push_str(&format!(" order by seq desc limit {}", f.limit.clamp(1, 500)));
    bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?.iter().map(from_row).collect()
}

/// The outcome of verifying the chain.
#[derive(Debug)]
pub enum Verdict {
    /// Every row checks out; this many rows.
    Intact(i64),
    /// The first break found.
    Broken(ChainBreak),
}

/// Reads the whole trail in order, in pages, and checks every link (under `key` once the chain
/// is keyed) and the head.
pub async fn verify(store: &Store, key: &AuditKey) -> Result<Verdict> {
    // Rows appended while this runs are past the head read here and are left for next time.
    let head = sqlx::query("select seq, hash, keyed from audit_head where id = 1").fetch_one(store.pool()).await?;
    let (head_seq, head_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    let keyed: i64 = head.try_get("keyed")?;
    let hashing = if keyed == 0 { Hashing::Plain } else { Hashing::Keyed(key.clone()) };
    let mut verifier = ChainVerifier::new(hashing);
    let mut after = 0i64;
    loop {
        let rows = page(store.pool(), after, head_seq).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            after = row.seq;
            if let Err(b) = verifier.push(row) {
                return Ok(Verdict::Broken(b));
            }
        }
    }
    Ok(match verifier.finish(head_seq, &head_hash) {
        Ok(n) => Verdict::Intact(n),
        Err(b) => Verdict::Broken(b),
    })
}

/// Up to 5,000 rows after `after`, up to `last`, in order.
async fn page<'c>(conn: impl sqlx::Executor<'c, Database = sqlx::Any>, after: i64, last: i64) -> Result<Vec<AuditRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from audit_log where seq > $1 and seq <= $2 order by seq limit 5000"
    )))
    .bind(after)
    .bind(last)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Re-keys a chain written before keyed hashes, once: checks its plain hashes, recomputes every
/// row's hash under `key` in one transaction, marks the head keyed and appends an
/// `audit.rekeyed` row. Returns the rows re-keyed, or `None` when the chain was keyed already. A
/// broken plain chain is not re-keyed (that would bless the break): the error names the break.
pub async fn rekey(store: &Store, key: &AuditKey) -> Result<Option<i64>> {
    let keyed: i64 = sqlx::query_scalar("select keyed from audit_head where id = 1").fetch_one(store.pool()).await?;
    if keyed != 0 {
        return Ok(None);
    }
    let mut tx = store.write().await?;
    let head = sqlx::query("select seq, hash, keyed from audit_head where id = 1").fetch_one(&mut *tx).await?;
    if head.try_get::<i64, _>("keyed")? != 0 {
        return Ok(None);
    }
    let (head_seq, head_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    let mut plain = ChainVerifier::new(Hashing::Plain);
    let keyed_hashing = Hashing::Keyed(key.clone());
    let mut prev = crate::domain::audit::GENESIS_HASH.to_owned();
    let mut after = 0;
    loop {
        let rows = page(&mut *tx, after, head_seq).await?;
        if rows.is_empty() {
            break;
        }
        let mut updates = Vec::with_capacity(rows.len());
        for row in rows {
            after = row.seq;
            plain.push(row.clone()).map_err(|b| StoreError::Audit(format!("not re-keyed: {b}")))?;
            let mut keyed_row = AuditRow { prev_hash: prev, ..row };
            keyed_row.hash = keyed_row.compute_hash(&keyed_hashing);
            prev = keyed_row.hash.clone();
            updates.push((keyed_row.seq, keyed_row.prev_hash, keyed_row.hash));
        }
        for (seq, prev_hash, hash) in updates {
            sqlx::query("update audit_log set prev_hash = $2, hash = $3 where seq = $1")
                .bind(seq)
                .bind(prev_hash)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
    }
    let rows = plain.finish(head_seq, &head_hash).map_err(|b| StoreError::Audit(format!("not re-keyed: {b}")))?;
    sqlx::query("update audit_head set hash = $1, keyed = 1 where id = 1").bind(&prev).execute(&mut *tx).await?;
    install_key(key.clone()).map_err(StoreError::Audit)?;
    // A new database's empty chain is simply keyed from its first row; an old one says it was.
    if rows > 0 {
        append(&mut tx, &Actor::system(), "audit.rekeyed", "audit", &serde_json::json!({"rows": rows})).await?;
    }
    tx.commit().await?;
    Ok(Some(rows))
}

/// A signed checkpoint of the chain's head now.
pub async fn checkpoint(store: &Store, key: &AuditKey) -> Result<Checkpoint> {
    let head = sqlx::query("select seq, hash from audit_head where id = 1").fetch_one(store.pool()).await?;
    Ok(Checkpoint::sign(head.try_get("seq")?, &head.try_get::<String, _>("hash")?, now_ms(), key))
}

/// Checks the chain as stored against `checkpoint` (see [`Checkpoint::check`]).
pub async fn check_checkpoint(
    store: &Store,
    key: &AuditKey,
    checkpoint: &Checkpoint,
) -> Result<std::result::Result<(), CheckpointBreak>> {
    let head_seq: i64 = sqlx::query_scalar("select seq from audit_head where id = 1").fetch_one(store.pool()).await?;
    let hash: Option<String> = sqlx::query_scalar("select hash from audit_log where seq = $1")
        .bind(checkpoint.seq)
        .fetch_optional(store.pool())
        .await?;
    Ok(checkpoint.check(key, hash.as_deref(), head_seq))
}
