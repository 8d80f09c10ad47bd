//! The engine behind the pool, and every SQL fragment that differs between SQLite and
//! PostgreSQL, as methods: the rest of the store writes portable SQL and asks the dialect for
//! the few pieces that cannot be (outside this file only the script combiner, which renders
//! whole batches per engine, and the migration runner, which picks per-engine files, look at
//! the variant itself).

/// Which engine is behind the pool, and the SQL fragments that differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded SQLite (one writer at a time).
    Sqlite,
    /// PostgreSQL (many writers; several server processes may share it).
    Postgres,
}

impl Dialect {
    /// The engine behind a connection.
    pub fn of(conn: &sqlx::AnyConnection) -> Dialect {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") { Dialect::Postgres } else { Dialect::Sqlite }
    }

    /// The engine's name, as shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        }
    }

    /// The statement that opens a write transaction. SQLite takes the write lock up front so
    /// that two writers never deadlock upgrading a read lock.
    pub(super) fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// The statement that opens a read transaction seeing one snapshot throughout (SQLite's
    /// read transactions always do).
    pub fn begin_snapshot(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ",
        }
    }

    /// The locking clause that lets several workers claim different rows at once
    /// (PostgreSQL); SQLite has one writer at a time and needs none.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " for update skip locked",
        }
    }

    /// Whether several writers may run at once, so work that must not overlap needs a lock of
    /// its own (PostgreSQL); SQLite's single writer serializes them already.
    pub fn concurrent_writers(self) -> bool {
        self == Dialect::Postgres
    }

    /// A subquery of one text column `value`, the strings of the JSON array bound to `$1`.
    pub fn json_texts(self) -> &'static str {
        match self {
            Dialect::Sqlite => "select value from json_each($1)",
            Dialect::Postgres => "select value from json_array_elements_text(cast($1 as json))",
        }
    }

    /// A subquery of one integer column `value`, the numbers of the JSON array bound to `$1`.
    pub fn json_ints(self) -> &'static str {
        match self {
            Dialect::Sqlite => "select value from json_each($1)",
            Dialect::Postgres => "select cast(value as bigint) from json_array_elements_text(cast($1 as json))",
        }
    }

    /// What follows a table's name in `from` to walk it by `index`: SQLite without statistics
    /// may choose a worse walk; PostgreSQL picks this one itself once analyzed.
    pub fn walk_by(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!(" indexed by {index}"),
            Dialect::Postgres => String::new(),
        }
    }

    /// The statement that writes everything logged so far into the database files.
    pub fn checkpoint(self) -> &'static str {
        match self {
            Dialect::Sqlite => "pragma wal_checkpoint(truncate)",
            Dialect::Postgres => "checkpoint",
        }
    }

    /// Whether the store's own task must copy the write-ahead log into the database (SQLite,
    /// whose automatic checkpoints would fall on the writer's path).
    pub fn needs_checkpointer(self) -> bool {
        self == Dialect::Sqlite
    }

    /// The setting for a connection that loads many rows at random places of large indexes
    /// (a larger page cache on SQLite; PostgreSQL's shared buffers serve already).
    pub fn bulk_load(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => Some("pragma cache_size = -262144"),
            Dialect::Postgres => None,
        }
    }

    /// The statement that serializes migrations across processes starting at once, inside the
    /// transaction (PostgreSQL); SQLite's write transaction is exclusive already.
    pub fn migration_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("select pg_advisory_xact_lock(7345127001)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_has_its_own_fragment_where_they_differ() {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            assert!(d.json_texts().contains("$1") && d.json_ints().contains("$1"));
            assert_eq!(d.walk_by("ratings_time").is_empty(), d == Dialect::Postgres);
            assert_eq!(d.migration_lock().is_some(), d.concurrent_writers());
        }
        assert_ne!(Dialect::Sqlite.begin_write(), Dialect::Postgres.begin_write());
    }
}
