//! The benchmarks (`pingyi bench …`) run end to end at a small scale on both engines: each
//! prints its figures, records them in its own section of a Markdown file (replacing the older
//! figures, keeping the other sections) and leaves no database behind. The figures themselves
//! are not judged here (tests do not time things); the accounting is: no errors, and every
//! rating acknowledged with 201 is in the database.

use std::process::Command;

use crate::helpers::{Engine, pg_admin_url};

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

/// A Markdown file with an older section for `key` and a section of another benchmark.
fn record_file(dir: &std::path::Path, key: &str) -> std::path::PathBuf {
    let path = dir.join("BENCHMARKS.md");
    let text = format!(
        "# Benchmarks\n\n<!-- bench {key} begin -->\nold figures\n<!-- bench {key} end -->\n\n\
         <!-- bench other begin -->\nanother benchmark's figures\n<!-- bench other end -->\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `pingyi bench {args} --record {file}` (with the engine's arguments) in `dir`; returns
/// its standard output followed by its standard error, after checking that it succeeded and recorded its section `key` in
/// place of the older one, once, with the command, keeping the other section.
fn bench(dir: &std::path::Path, engine: Option<Engine>, args: &[&str], key: &str, title: &str) -> String {
    let file = record_file(dir, key);
    let mut c = Command::new(env!("CARGO_BIN_EXE_pingyi"));
    c.arg("bench").args(args).arg("--record").arg(&file).current_dir(dir);
    if let Some(engine) = engine {
        c.args(["--engine", engine_name(engine)]);
        if engine == Engine::Postgres {
            c.args(["--postgres-url", &pg_admin_url()]);
        }
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "pingyi bench {args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let recorded = std::fs::read_to_string(&file).unwrap();
    assert_eq!(recorded.matches(&format!("<!-- bench {key} begin -->")).count(), 1, "{recorded}");
    assert!(!recorded.contains("old figures"), "the older figures are replaced: {recorded}");
    assert!(recorded.contains("another benchmark's figures"), "the other section is kept: {recorded}");
    assert!(recorded.contains(&format!("### {title}\n\nCommand: `pingyi bench {}", args[0])), "{recorded}");
    format!("{stdout}{}", String::from_utf8_lossy(&out.stderr))
}

/// Held by each benchmark test on an engine, so that two benchmarks do not share the cores and
/// the server at once (`cargo test` runs the tests of this binary as threads of one process).
static ONE_POSTGRES_BENCH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The bench databases on the PostgreSQL server (each run creates one and drops it).
async fn bench_databases() -> Vec<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap();
    sqlx::query_scalar("select datname from pg_database where datname like 'pingyi\\_bench\\_%' order by datname")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

/// `n` in "… {n} {label}" of `text`.
fn number_before(text: &str, label: &str) -> u64 {
    let at = text.find(label).unwrap_or_else(|| panic!("{label:?} not in {text}"));
    let digits: String = text[..at].trim_end().chars().rev().take_while(|c| c.is_ascii_digit()).collect();
    digits.chars().rev().collect::<String>().parse().unwrap_or_else(|e| panic!("{label:?} in {text}: {e}"))
}

async fn the_rating_benchmark_runs_and_accounts_for_every_rating(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let _one = ONE_POSTGRES_BENCH.lock().await;
    let title =
        if engine == Engine::Postgres { "Rating ingestion on PostgreSQL" } else { "Rating ingestion on SQLite" };
    let key = format!("ratings {}", engine_name(engine));
    let args = ["ratings", "--seconds", "1", "--connections", "4", "--rate", "50"];
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || bench(&dir, Some(engine), &args, &key, title)
    })
    .await
    .unwrap();
    // The four phases (no-op, ratings, no-op again, the fixed rate), each without errors.
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("| GET ") || l.starts_with("| POST "))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    for row in &rows {
        assert!(row[2].parse::<f64>().unwrap() > 0.0, "requests answered: {row:?}");
        assert_eq!(row[7], "0", "no errors: {row:?}");
    }
    let stored = number_before(&out, "ratings in the database");
    let acknowledged = number_before(&out, "acknowledged with 201");
    assert!(acknowledged > 0 && stored == acknowledged, "{out}");
    if engine == Engine::Postgres {
        assert!(out.contains("connections to PostgreSQL went over"), "{out}");
        // Its own database, by the name it printed: another run on the same server may hold others.
        let name =
            out.split("benchmark database ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or_default();
        assert!(name.starts_with("pingyi_bench_"), "{out}");
        assert!(!bench_databases().await.iter().any(|d| d == name), "the bench database {name} is dropped");
    }
}

async fn the_dashboard_and_sla_benchmarks_run(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let _one = ONE_POSTGRES_BENCH.lock().await;
    let name = if engine == Engine::Postgres { "PostgreSQL" } else { "SQLite" };
    let e = engine_name(engine);
    let (dashboard, sla) = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            let dashboard = bench(
                &dir,
                Some(engine),
                &["dashboard", "--ratings", "1000"],
                &format!("dashboard {e}"),
                &format!("City dashboard on {name}"),
            );
            let sla = bench(
                &dir,
                Some(engine),
                &["sla-sweep", "--clocks", "1000"],
                &format!("sla-sweep {e}"),
                &format!("SLA sweep on {name}"),
            );
            (dashboard, sla)
        }
    })
    .await
    .unwrap();
    assert!(dashboard.contains("p50 < 100 ms"), "{dashboard}");
    assert!(sla.contains("1000 open clocks on"), "{sla}");
    if engine == Engine::Postgres {
        let left = bench_databases().await;
        for out in [&dashboard, &sla] {
            let name =
                out.split("benchmark database ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or_default();
            assert!(name.starts_with("pingyi_bench_"), "{out}");
            assert!(!left.iter().any(|d| d == name), "the bench database {name} is dropped");
        }
    }
}

#[test]
fn the_deadline_benchmark_runs_and_checks_both_methods_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = bench(dir.path(), None, &["deadlines", "--count", "1000"], "deadlines", "Deadline computations");
    assert!(out.contains("(results checked equal)"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rating_benchmark_runs_sqlite() {
    the_rating_benchmark_runs_and_accounts_for_every_rating(Engine::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
async fn the_rating_benchmark_runs_postgres() {
    the_rating_benchmark_runs_and_accounts_for_every_rating(Engine::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_sla_benchmarks_run_sqlite() {
    the_dashboard_and_sla_benchmarks_run(Engine::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run: set PINGYI_TEST_POSTGRES_URL (as .ci/run does)")]
async fn the_dashboard_and_sla_benchmarks_run_postgres() {
    the_dashboard_and_sla_benchmarks_run(Engine::Postgres).await
}
