//! Many writes in one round trip. The rating writer's batch touches a dozen tables (ratings,
//! rollups, cases, clocks, timeline, inbox, jobs, audit); sent one statement at a time, each
//! waits for the database and for a thread to be scheduled again, and under load those waits,
//! not the writes, bound the batch. A [`Script`] collects the statements and sends them
//! together: on SQLite as one multi-statement query, on PostgreSQL as one statement whose
//! writes are data-modifying `with` clauses. Statements are numbered `$1…` each on its own;
//! the script renumbers them.

use super::{BATCH_PARAMS, Bind, Dialect, Result, bind_all, insert_values_sql};

/// The most parameters one round trip carries (SQLite numbers at most 32,766; PostgreSQL
/// allows 65,535 per statement).
const MAX_PARAMS: usize = 30_000;

/// PostgreSQL: the most bytes (about) one round trip sends. The driver leaves Nagle's algorithm
/// on, so a message longer than one loopback segment (64 KiB) ends in a partial segment held
/// back until the server acknowledges the first, which it delays by 40 ms: one stall per
/// oversized round trip. Smaller round trips never wait.
const MAX_BYTES_PG: usize = 1024 * 1024;

/// Writes to send together, in order. No statement may depend on the rows another one of the
/// same script changes (on PostgreSQL they see one snapshot), and no two may change the same row.
#[derive(Debug, Default)]
pub(crate) struct Script {
    parts: Vec<(String, Vec<Bind>)>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Script {
        Script::default()
    }

    /// Adds one statement, numbered `$1…` on its own.
    pub fn push(&mut self, sql: String, binds: Vec<Bind>) {
        self.parts.push((sql, binds));
    }

    /// Adds a multi-row insert of `rows` (each `cols` values) after `head`
    /// (`insert into t (a, b)`), with any `tail` (`on conflict …`).
    pub fn insert(&mut self, head: &str, cols: usize, rows: &[Vec<Bind>], tail: &str) {
        for chunk in rows.chunks((BATCH_PARAMS / cols).max(1)) {
            let mut sql = insert_values_sql(head, chunk.len(), cols);
            if !tail.is_empty() {
                sql.push(' ');
                sql.push_str(tail);
            }
            self.push(sql, chunk.iter().flatten().cloned().collect());
        }
    }

    /// Sends the statements in as few round trips as the parameter limit allows.
    pub async fn run(self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        let dialect = Dialect::of(conn);
        let max_bytes = if dialect == Dialect::Postgres { MAX_BYTES_PG } else { usize::MAX };
        let mut group: Vec<(String, Vec<Bind>)> = Vec::new();
        let (mut params, mut bytes) = (0, 0);
        for part in self.parts {
            let size = part.0.len() + part.1.iter().map(Bind::wire_size).sum::<usize>();
            if !group.is_empty() && (params + part.1.len() > MAX_PARAMS || bytes + size > max_bytes) {
                send(conn, dialect, std::mem::take(&mut group)).await?;
                (params, bytes) = (0, 0);
            }
            params += part.1.len();
            bytes += size;
            group.push(part);
        }
        if !group.is_empty() {
            send(conn, dialect, group).await?;
        }
        Ok(())
    }
}

async fn send(conn: &mut sqlx::AnyConnection, dialect: Dialect, group: Vec<(String, Vec<Bind>)>) -> Result<()> {
    let (sql, binds) = combine(dialect, group);
    // The text differs from batch to batch, so caching its prepared form would only evict others.
    bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false), binds).execute(&mut *conn).await?;
    Ok(())
}

/// One query text for the statements, placeholders renumbered, and their values in order.
/// On SQLite, where each distinct `$n` in a statement costs a search of the earlier ones as it
/// is parsed (quadratic in a statement's parameters, and scripts are parsed every time),
/// placeholders become anonymous `?` where they appear once each, in order.
fn combine(dialect: Dialect, group: Vec<(String, Vec<Bind>)>) -> (String, Vec<Bind>) {
    let single = group.len() == 1;
    let mut sql = String::new();
    let mut binds = Vec::new();
    for (i, (part, values)) in group.into_iter().enumerate() {
        let part = match dialect {
            Dialect::Sqlite => anonymous(&part).unwrap_or_else(|| renumber(&part, binds.len())),
            Dialect::Postgres => renumber(&part, binds.len()),
        };
        match dialect {
            _ if single => sql.push_str(&part),
            Dialect::Sqlite => {
                sql.push_str(&part);
                sql.push_str(";\n");
            }
            Dialect::Postgres => {
                sql.push_str(if i == 0 { "with " } else { ",\n" });
                sql.push_str(&format!("w{i} as ({part})"));
            }
        }
        binds.extend(values);
    }
    if dialect == Dialect::Postgres && !single {
        sql.push_str("\nselect 1");
    }
    (sql, binds)
}

/// `sql` with every `$n` made `$(n + offset)`. Our statements carry values only as
/// parameters, so a `$` followed by digits is always a placeholder.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + sql.len() / 4);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut n = 0usize;
        let mut digits = false;
        while let Some(&(_, d)) = chars.peek() {
            let Some(v) = d.to_digit(10) else { break };
            n = n * 10 + v as usize;
            digits = true;
            chars.next();
        }
        if digits {
            out.push_str(&(n + offset).to_string());
        }
    }
    out
}

/// `sql` with `$1, $2, …` made `?`, if they appear exactly in that order; `None` otherwise.
fn anonymous(sql: &str) -> Option<String> {
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        let mut digits = false;
        while let Some(v) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + v as usize;
            digits = true;
            chars.next();
        }
        if !digits {
            out.push(c);
            continue;
        }
        if n != expected {
            return None;
        }
        expected += 1;
        out.push('?');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_past_the_earlier_statements() {
        assert_eq!(renumber("values ($1, $2), ($3, $10)", 5), "values ($6, $7), ($8, $15)");
        assert_eq!(renumber("set a = $1 where b = $2", 0), "set a = $1 where b = $2");
        let group = vec![
            ("insert into a (x) values ($1)".to_owned(), vec![Bind::Int(1)]),
            ("update b set y = $1 where z = $2".to_owned(), vec![Bind::Int(2), Bind::Int(3)]),
        ];
        let (sqlite, binds) = combine(Dialect::Sqlite, group.clone());
        assert_eq!(sqlite, "insert into a (x) values (?);\nupdate b set y = ? where z = ?;\n");
        assert_eq!(binds.len(), 3);
        // Out of order or repeated, numbered placeholders are kept (renumbered).
        assert_eq!(anonymous("where a = $2 and b = $1"), None);
        assert_eq!(anonymous("where a = $1 or b = $1"), None);
        let mixed = vec![
            ("a = $1".to_owned(), vec![Bind::Int(1)]),
            ("y = $2 or z = $1".to_owned(), vec![Bind::Int(2), Bind::Int(3)]),
        ];
        assert_eq!(combine(Dialect::Sqlite, mixed).0, "a = ?;\ny = $3 or z = $2;\n");
        let (pg, _) = combine(Dialect::Postgres, group);
        assert_eq!(
            pg,
            "with w0 as (insert into a (x) values ($1)),\nw1 as (update b set y = $2 where z = $3)\nselect 1"
        );
    }
}
