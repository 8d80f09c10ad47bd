//! The dashboard benchmark: the demo city (3,200 units) with N ratings of history, then the city
//! dashboard's data as the endpoint builds it (from the rollups) against the same figures — by
//! child, by day, by weekday and hour — computed with a plain GROUP BY over the raw ratings, in
//! the same run, on SQLite or PostgreSQL.

use std::path::Path;
use std::time::Instant;

use sqlx::Row;

use super::{admin_sql, record_section};
use crate::domain::ids::OrgCode;
use crate::store::rollups::day_of;
use crate::store::{Store, now_ms};

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// The raw baseline: per child, per day and per weekday × hour, from the ratings themselves.
async fn raw_figures(store: &Store, root: &str, from: i64, to: i64) -> Result<(usize, i64), String> {
    let e = |e: sqlx::Error| e.to_string();
    let children = crate::store::dashboard::raw_children(store, root, from, to).await.map_err(|e| e.to_string())?;
    let (day_ms, cst) = (86_400_000_i64, 8 * 3_600_000_i64);
    let rows = sqlx::query(
        "select (r.created_at + $3) / $4 as day, ((r.created_at + $3) % $4) / 3600000 as hour,
                cast(count(*) as bigint) as ratings,
                cast(coalesce(sum(case when r.outcome = 'satisfied' then 1 else 0 end), 0) as bigint) as satisfied,
                cast(coalesce(sum(case when r.outcome = 'unsatisfied' then 1 else 0 end), 0) as bigint) as unsatisfied
         from ratings r where r.created_at >= $1 and r.created_at < $2
           and not exists (select 1 from rating_exclusions x where x.rating_id = r.id)
         group by 1, 2",
    )
    .bind(from * day_ms - cst)
    .bind(to * day_ms - cst)
    .bind(cst)
    .bind(day_ms)
    .fetch_all(store.pool())
    .await
    .map_err(e)?;
    let mut total = 0i64;
    for r in &rows {
        total += r.try_get::<i64, _>("ratings").map_err(e)?;
    }
    Ok((children.len(), total))
}

/// Runs the benchmark and prints (and optionally records) its figures.
pub async fn run(
    engine: &str,
    postgres_url: &str,
    ratings: u64,
    record: Option<&Path>,
    command: &str,
) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (url, cleanup) = super::fresh_database(engine, postgres_url, &dir.path().join("dashboard.db")).await?;
    let result = async {
        let mut config = crate::config::Config::for_database(url.clone());
        config.listen = "127.0.0.1:0".parse().map_err(|_| "listen address")?;
        config.run_jobs = false;
        config.files_dir = dir.path().join("files");
        let app = crate::startup::App::build(config).await.map_err(|e| e.to_string())?;
        let store = app.store().clone();
        eprintln!("loading the demo city …");
        crate::demo::load(&store, crate::demo::DemoOptions { units: 3200, progress: false })
            .await
            .map_err(|e| e.to_string())?;
        eprintln!("generating {ratings} ratings over 365 days …");
        let started = Instant::now();
        crate::demo_history::generate(&store, ratings, 365, 0, true).await.map_err(|e| e.to_string())?;
        let load_s = started.elapsed().as_secs_f64();
        if engine == "postgres" {
            sqlx::raw_sql("analyze").execute(store.pool()).await.map_err(|e| e.to_string())?;
        }
        let rollup_rows: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from rating_days")
            .fetch_one(store.pool())
            .await
            .map_err(|e| e.to_string())?;
        let root = OrgCode::parse("XN").map_err(|e| e.0)?;
        let today = day_of(now_ms());
        let mut lines = Vec::new();
        for (label, days) in [("last 30 days", 30), ("last quarter (90 days)", 90), ("whole year", 366)] {
            let period = crate::web::dashboard::Period { from: today - days + 1, to: today + 1 };
            let mut fast = Vec::new();
            let mut shown = 0;
            for _ in 0..15 {
                let t = Instant::now();
                let d = crate::web::dashboard::build(app.state(), &root, period, "day").await.map_err(|e| e.to_string())?;
                fast.push(t.elapsed().as_secs_f64() * 1000.0);
                shown = d.totals.ratings;
            }
            let mut slow = Vec::new();
            let mut counted = 0;
            for _ in 0..3 {
                let t = Instant::now();
                let (_, total) = raw_figures(&store, root.as_str(), period.from, period.to).await?;
                slow.push(t.elapsed().as_secs_f64() * 1000.0);
                counted = total;
            }
            if shown != counted {
                return Err(format!("{label}: the rollups say {shown} ratings, the raw rows {counted}"));
            }
            let (fast, slow) = (median(fast), median(slow));
            eprintln!("{label}: dashboard {fast:.1} ms, raw GROUP BY {slow:.1} ms");
            lines.push(format!(
                "| {label} | {shown} | **{fast:.1}** | {slow:.1} | {:.0}× |",
                slow / fast.max(0.001)
            ));
        }
        let engine_name = if engine == "postgres" { "PostgreSQL" } else { "SQLite" };
        Ok::<_, String>(format!(
            "{ratings} ratings over 365 days for 3,200 units (8,055 windows) on {engine_name}, generated with their rollups in {load_s:.0} s ({rollup_rows} per-node-day rows).\n\n\
             | city dashboard, period | ratings in period | dashboard data p50 ms (15 runs; rollups) | same figures by GROUP BY over raw ratings, p50 ms (3 runs) | ratio |\n|---|---|---|---|---|\n{}\n\n\
             \"Dashboard data\" is everything `GET /api/v1/dashboard?under=XN` returns (rates, by child, trend by day, heatmap, reasons, funnel, alerts, overdue cases, accountability counts), built by the handler's own function. The baseline computes by child, by day and by weekday × hour straight from `ratings`. Target: p50 < 100 ms.\n",
            lines.join("\n")
        ))
    }
    .await;
    if let Some(name) = cleanup {
        admin_sql(postgres_url, &format!("drop database if exists {name} with (force)")).await?;
    }
    let report = result?;
    println!("{report}");
    if let Some(path) = record {
        let engine_name = if engine == "postgres" { "PostgreSQL" } else { "SQLite" };
        record_section(
            path,
            &format!("dashboard {engine}"),
            &format!("City dashboard on {engine_name}"),
            command,
            &report,
        )?;
    }
    Ok(report)
}
