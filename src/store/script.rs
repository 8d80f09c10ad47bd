//! Many writes in one round trip. The rating writer's batch touches a dozen tables (ratings,
//! rollups, cases, clocks, timeline, inbox, jobs, audit); sent one statement at a time, each
//! waits for the database and for a thread to be scheduled again, and under load those waits,
//! not the writes, bound the batch. A [`Script`] collects the statements and sends them
//! together: on SQLite as one multi-statement query, on PostgreSQL as one statement whose
//! writes are data-modifying `with` clauses. Statements are numbered `$1…` each on its own;
//! the script renumbers them.
//!
//! Multi-row inserts carry their rows as one JSON parameter (an array of arrays), unpacked by
//! the database (`json_each` on SQLite, `jsonb_array_elements` on PostgreSQL). So an insert's
//! text does not depend on how many rows it carries, a script's text repeats from batch to
//! batch, and each engine parses and plans it once per connection instead of every time: on
//! PostgreSQL that planning was half of a rating batch's time.

use super::{Bind, Dialect, Result, bind_all};

/// The most parameters one round trip carries (SQLite numbers at most 32,766; PostgreSQL
/// allows 65,535 per statement).
const MAX_PARAMS: usize = 30_000;

/// The most rows one insert statement carries (its JSON parameter stays a few hundred KiB).
const ROWS_PER_INSERT: usize = 2_000;

/// PostgreSQL: the most bytes (about) one round trip sends. Where TCP_NODELAY could not be set
/// (see `store::nodelay`), a message longer than one loopback segment (64 KiB) ends in a
/// partial segment held back until the server acknowledges the first, which it delays by
/// 40 ms: one stall per oversized round trip. Smaller round trips never wait.
const MAX_BYTES_PG: usize = 1024 * 1024;

/// How a column's values are written and read back from JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
}

#[derive(Debug)]
enum Part {
    /// A statement with its own `$1…` parameters.
    Sql(String, Vec<Bind>),
    /// `head` (`insert into t (a, b)`), rows as a JSON array of arrays, `tail` (`on conflict …`).
    Rows { head: String, kinds: Vec<Kind>, tail: String, json: String },
}

impl Part {
    fn params(&self) -> usize {
        match self {
            Part::Sql(_, binds) => binds.len(),
            Part::Rows { .. } => 1,
        }
    }

    fn wire_size(&self) -> usize {
        match self {
            Part::Sql(sql, binds) => sql.len() + binds.iter().map(Bind::wire_size).sum::<usize>(),
            Part::Rows { head, tail, json, .. } => head.len() + tail.len() + json.len(),
        }
    }

    /// The statement's text for `dialect` and its values, numbered from `$1`.
    fn render(self, dialect: Dialect) -> (String, Vec<Bind>) {
        match self {
            Part::Sql(sql, binds) => (sql, binds),
            Part::Rows { head, kinds, tail, json } => (rows_sql(dialect, &head, &kinds, &tail), vec![Bind::Text(json)]),
        }
    }
}

/// `head select … from <the rows of $1> tail`, each column read from its place in the row.
fn rows_sql(dialect: Dialect, head: &str, kinds: &[Kind], tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + 80 + kinds.len() * 28);
    sql.push_str(head);
    sql.push_str(" select ");
    for (i, kind) in kinds.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        match (dialect, kind) {
            // SQLite's `->>` gives an SQL integer for a JSON integer, text for a string.
            (Dialect::Sqlite, _) => sql.push_str(&format!("r.value ->> {i}")),
            (Dialect::Postgres, Kind::Text) => sql.push_str(&format!("r.v ->> {i}")),
            (Dialect::Postgres, Kind::Int) => sql.push_str(&format!("cast(r.v ->> {i} as bigint)")),
        }
    }
    match dialect {
        // `where true`: SQLite needs a where clause before an upsert's `on conflict`.
        Dialect::Sqlite => sql.push_str(" from json_each($1) as r where true"),
        Dialect::Postgres => sql.push_str(" from jsonb_array_elements(cast($1 as jsonb)) as r(v)"),
    }
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail);
    }
    sql
}

/// The rows as a JSON array of arrays.
fn rows_json(rows: &[Vec<Bind>]) -> String {
    let mut out = String::with_capacity(rows.iter().map(|r| r.iter().map(Bind::wire_size).sum::<usize>() + 4).sum());
    out.push('[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (j, value) in row.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            match value {
                Bind::Text(s) => push_json_str(&mut out, s),
                Bind::Int(n) => out.push_str(&n.to_string()),
                Bind::Null | Bind::NullInt => out.push_str("null"),
            }
        }
        out.push(']');
    }
    out.push(']');
    out
}

/// `s` as a JSON string.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes to send together, in order. No statement may depend on the rows another one of the
/// same script changes (on PostgreSQL they see one snapshot), and no two may change the same row.
#[derive(Debug, Default)]
pub(crate) struct Script {
    parts: Vec<Part>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Script {
        Script::default()
    }

    /// Adds one statement, numbered `$1…` on its own.
    pub fn push(&mut self, sql: String, binds: Vec<Bind>) {
        self.parts.push(Part::Sql(sql, binds));
    }

    /// Adds a multi-row insert of `rows` (each `cols` values) after `head`
    /// (`insert into t (a, b)`), with any `tail` (`on conflict …`). A column is read back as an
    /// integer where any row gives it one ([`Bind::Int`], [`Bind::NullInt`]), else as text.
    pub fn insert(&mut self, head: &str, cols: usize, rows: &[Vec<Bind>], tail: &str) {
        if rows.is_empty() {
            return;
        }
        let kinds: Vec<Kind> = (0..cols)
            .map(|c| {
                let int = rows.iter().any(|r| matches!(r.get(c), Some(Bind::Int(_) | Bind::NullInt)));
                if int { Kind::Int } else { Kind::Text }
            })
            .collect();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            self.parts.push(Part::Rows {
                head: head.to_owned(),
                kinds: kinds.clone(),
                tail: tail.to_owned(),
                json: rows_json(chunk),
            });
        }
    }

    /// Sends the statements in as few round trips as the parameter limit allows.
    pub async fn run(self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        let dialect = Dialect::of(conn);
        let max_bytes = if dialect == Dialect::Postgres { MAX_BYTES_PG } else { usize::MAX };
        let mut group: Vec<(String, Vec<Bind>)> = Vec::new();
        let (mut params, mut bytes) = (0, 0);
        for part in self.parts {
            let (n, size) = (part.params(), part.wire_size());
            if !group.is_empty() && (params + n > MAX_PARAMS || bytes + size > max_bytes) {
                send(conn, dialect, std::mem::take(&mut group)).await?;
                (params, bytes) = (0, 0);
            }
            params += n;
            bytes += size;
            group.push(part.render(dialect));
        }
        if !group.is_empty() {
            send(conn, dialect, group).await?;
        }
        Ok(())
    }

    /// Sends each statement on its own (for callers that need the count) and returns how many
    /// rows they changed in all.
    pub async fn run_counting(self, conn: &mut sqlx::AnyConnection) -> Result<u64> {
        let dialect = Dialect::of(conn);
        let mut changed = 0;
        for part in self.parts {
            let (sql, binds) = combine(dialect, vec![part.render(dialect)]);
            changed +=
                bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).execute(&mut *conn).await?.rows_affected();
        }
        Ok(changed)
    }
}

async fn send(conn: &mut sqlx::AnyConnection, dialect: Dialect, group: Vec<(String, Vec<Bind>)>) -> Result<()> {
    let (sql, binds) = combine(dialect, group);
    // Rows travel as JSON, so the same kind of batch gives the same text: its prepared form is
    // kept (on PostgreSQL a generic plan after a few runs) instead of parsed and planned anew.
    bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).execute(&mut *conn).await?;
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

#[cfg(test)]
mod rows_tests {
    use super::*;

    #[test]
    fn rows_travel_as_one_json_array_whatever_their_count() {
        let rows = vec![
            vec![Bind::Text("a\"b\\c\nd\u{1}é".into()), Bind::Int(-9_223_372_036_854_775_807), Bind::Null],
            vec![Bind::Text(String::new()), Bind::NullInt, Bind::Text("x".into())],
        ];
        let json = rows_json(&rows);
        assert_eq!(json, r#"[["a\"b\\c\nd\u0001é",-9223372036854775807,null],["",null,"x"]]"#);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(parsed[0][0], "a\"b\\c\nd\u{1}é");

        let mut one = Script::new();
        one.insert("insert into t (a, b, c)", 3, &rows[..1], "on conflict (a) do nothing");
        let mut two = Script::new();
        two.insert("insert into t (a, b, c)", 3, &rows, "on conflict (a) do nothing");
        let [Part::Rows { kinds, .. }] = &two.parts[..] else { panic!("one insert part") };
        assert_eq!(kinds, &[Kind::Text, Kind::Int, Kind::Text]);
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let a = one.parts.first().map(|p| rows_sql(dialect, "h", &kinds_of(p), "t"));
            let b = two.parts.first().map(|p| rows_sql(dialect, "h", &kinds_of(p), "t"));
            assert_eq!(a, b, "the text does not depend on the row count");
        }
        assert_eq!(
            rows_sql(Dialect::Postgres, "insert into t (a, b)", &[Kind::Text, Kind::Int], ""),
            "insert into t (a, b) select r.v ->> 0, cast(r.v ->> 1 as bigint) from jsonb_array_elements(cast($1 as jsonb)) as r(v)"
        );
        assert_eq!(
            rows_sql(Dialect::Sqlite, "insert into t (a, b)", &[Kind::Text, Kind::Int], "on conflict (a) do nothing"),
            "insert into t (a, b) select r.value ->> 0, r.value ->> 1 from json_each($1) as r where true on conflict (a) do nothing"
        );
        let mut none = Script::new();
        none.insert("insert into t (a)", 1, &[], "");
        assert!(none.parts.is_empty());
    }

    fn kinds_of(part: &Part) -> Vec<Kind> {
        match part {
            Part::Rows { kinds, .. } => kinds.clone(),
            Part::Sql(..) => Vec::new(),
        }
    }
}
