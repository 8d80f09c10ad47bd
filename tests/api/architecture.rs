//! The layers stay layers (docs/architecture.md): the domain imports no I/O layer, the store
//! imports nothing above it, and SQL lives in the store. Read from the source files, so a
//! change that breaks a rule fails here whatever it compiles to.

use std::path::{Path, PathBuf};

/// A rule: files under `folder` must not contain any of `forbidden`.
struct Rule {
    folder: &'static str,
    forbidden: &'static [&'static str],
    why: &'static str,
}

const LAYERS: &[&str] = &["crate::store", "crate::web", "crate::jobs", "crate::ingest", "use sqlx", "sqlx::"];
const ABOVE_STORE: &[&str] = &["crate::web", "crate::jobs", "crate::ingest"];
const SQL: &[&str] = &["sqlx::query", "query_scalar(", "query_as(", "raw_sql("];

const RULES: &[Rule] = &[
    Rule { folder: "src/domain", forbidden: LAYERS, why: "the domain is pure: no store, web, jobs, ingest or SQL" },
    Rule { folder: "src/store", forbidden: ABOVE_STORE, why: "the store knows no layer above it" },
    Rule { folder: "src/web", forbidden: SQL, why: "SQL lives in the store" },
    Rule { folder: "src/jobs", forbidden: SQL, why: "SQL lives in the store" },
    Rule { folder: "src/ingest", forbidden: SQL, why: "SQL lives in the store" },
    Rule { folder: "src/cli", forbidden: SQL, why: "SQL lives in the store" },
];

/// Where the engine's variant may be looked at: engine differences are `Dialect` methods; only
/// the script combiner (which renders whole batches per engine), the migration runner (which
/// picks per-engine files) and the store's connect look at the variant itself.
const ENGINE_MATCHES: &[&str] = &["Dialect::Sqlite", "Dialect::Postgres"];
const ENGINE_MATCHES_ALLOWED: &[&str] =
    &["src/store/dialect.rs", "src/store/script.rs", "src/store/migrate.rs", "src/store/mod.rs"];

/// Where SQL outside `src/store` is allowed, and why: the benchmarks create, drop and query their
/// own databases as baselines; the demo generator writes months of ratings in bulk.
const SQL_ELSEWHERE: &[&str] = &["src/store", "src/bench", "src/demo_history.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` that break `forbidden` (comments aside).
fn violations(text: &str, forbidden: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| forbidden.iter().any(|f| l.contains(f)))
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn each_layer_imports_only_what_is_below_it_and_sql_stays_in_the_store() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    for rule in RULES {
        let mut files = Vec::new();
        rust_files(&root.join(rule.folder), &mut files);
        assert!(!files.is_empty(), "{} has no files", rule.folder);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for line in violations(&text, rule.forbidden) {
                broken.push(format!("{}: {line} ({})", f.strip_prefix(root).unwrap().display(), rule.why));
            }
        }
    }
    // SQL anywhere else under src/ but the named places.
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if SQL_ELSEWHERE.iter().any(|allowed| rel.starts_with(allowed)) {
            continue;
        }
        for line in violations(&std::fs::read_to_string(&f).unwrap(), SQL) {
            broken.push(format!("{rel}: {line} (SQL lives in the store)"));
        }
    }
    assert!(broken.is_empty(), "layer rules broken:\n{}", broken.join("\n"));
}

#[test]
fn engine_differences_are_dialect_methods_not_inline_matches() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut broken = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if ENGINE_MATCHES_ALLOWED.contains(&rel.as_str()) {
            continue;
        }
        for line in violations(&std::fs::read_to_string(&f).unwrap(), ENGINE_MATCHES) {
            broken.push(format!("{rel}: {line}"));
        }
    }
    assert!(broken.is_empty(), "engine variants matched outside store/dialect.rs:\n{}", broken.join("\n"));
}

#[test]
fn the_rules_catch_what_they_forbid() {
    // What a domain module importing the store, or a handler writing SQL, would look like.
    assert_eq!(violations("use crate::store::cases;\nfn f() {}", LAYERS).len(), 1);
    assert_eq!(violations("let n = sqlx::query_scalar(\"select 1\");", SQL).len(), 1);
    assert_eq!(violations("// sqlx::query in a comment", SQL).len(), 0);
    assert_eq!(violations("crate::jobs::email::job(", ABOVE_STORE).len(), 1);
    assert_eq!(violations("if d == crate::store::Dialect::Sqlite {", ENGINE_MATCHES).len(), 1);
}
