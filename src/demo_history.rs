//! A realistic rating history for the demo city and the dashboard benchmark
//! (`pingyi demo --ratings N`): ratings spread over the past days with office-hour and weekday
//! peaks, busy and quiet units, good and poor ones, five levels in the five-level region;
//! their rollups computed as they are generated and written in bulk; and, for the unsatisfied
//! ratings of the last few days, the `case.open` jobs the server turns into cases. Deterministic.

use std::collections::HashMap;

use indicatif::ProgressBar;
use sqlx::Row;

use crate::demo::Rng;
use crate::store::rollups::{day_of, day_start_ms, hour_of};
use crate::store::{Bind, Store, StoreError, insert_batched, new_id, now_ms};

/// What was generated.
#[derive(Debug, Clone, Copy, Default)]
pub struct History {
    /// Ratings written.
    pub ratings: u64,
    /// Of which unsatisfied.
    pub unsatisfied: u64,
    /// Cases to open (jobs queued).
    pub cases_queued: u64,
}

struct Target {
    org: u32,
    unit: u32,
    five: bool,
    quality: f64,
}

/// Hours of the day weighted like a service hall: a morning and an afternoon peak.
const HOUR_WEIGHTS: [u32; 24] = [0, 0, 0, 0, 0, 0, 0, 1, 6, 10, 12, 9, 4, 3, 8, 11, 10, 7, 3, 1, 1, 0, 0, 0];
const REASONS: [&str; 4] = ["hard_to_enter", "unfriendly", "harsh_words", "not_done"];

/// Generates `n` ratings over the `days` days up to now, and queues cases for the unsatisfied
/// ones of the last `case_days` days.
pub async fn generate(store: &Store, n: u64, days: i64, case_days: i64, progress: bool) -> Result<History, StoreError> {
    let nodes: Vec<(String, String, Option<String>)> =
        sqlx::query("select code, kind, parent_code from org_nodes order by code")
            .fetch_all(store.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("code")?, r.try_get("kind")?, r.try_get("parent_code")?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let index: HashMap<&str, u32> =
        nodes.iter().enumerate().map(|(i, (c, _, _))| (c.as_str(), u32::try_from(i).unwrap_or(0))).collect();
    let mut up: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
    for r in sqlx::query("select ancestor, descendant from org_closure").fetch_all(store.pool()).await? {
        let (a, d): (String, String) = (r.try_get("ancestor")?, r.try_get("descendant")?);
        if let (Some(&a), Some(&d)) = (index.get(a.as_str()), index.get(d.as_str())) {
            up[d as usize].push(a);
        }
    }
    let mut rng = Rng(0x5EED_2026);
    let mut targets = Vec::new();
    let mut weights = Vec::new();
    for (i, (code, kind, parent)) in nodes.iter().enumerate() {
        if kind != "window" {
            continue;
        }
        let Some(&unit) = parent.as_deref().and_then(|p| index.get(p)) else { continue };
        // Busy service halls and quiet village stations; most units good, a few poor.
        let busy = 0.2 + 8.0 * rng.unit().powi(3);
        let quality = if rng.unit() < 0.08 { 0.55 + 0.25 * rng.unit() } else { 0.86 + 0.13 * rng.unit() };
        targets.push(Target { org: u32::try_from(i).unwrap_or(0), unit, five: code.contains("-CX-"), quality });
        weights.push(busy);
    }
    if targets.is_empty() {
        return Ok(History::default());
    }
    // Cumulative weights for picking a target in O(log n).
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut sum = 0.0;
    for w in &weights {
        sum += w;
        cumulative.push(sum);
    }
    let hour_total: u32 = HOUR_WEIGHTS.iter().sum();
    let now = now_ms();
    let today = day_of(now);
    let bar = if progress { ProgressBar::new(n) } else { ProgressBar::hidden() };
    let mut days_rollup: HashMap<(u32, i64), [i64; 4]> = HashMap::new();
    let mut hours_rollup: HashMap<(u32, i64, i64), i64> = HashMap::new();
    let mut reasons_rollup: HashMap<(u32, i64, u8), i64> = HashMap::new();
    let mut history = History::default();
    let mut conn = store.dedicated_connection().await?;
    if let Some(setting) = store.dialect().bulk_load() {
        // Random times make every index insert land somewhere else in a file of gigabytes: a
        // larger page cache for this bulk load keeps the indexes' upper levels in memory.
        sqlx::raw_sql(setting).execute(&mut conn).await?;
    }
    let mut written = 0u64;
    const CHUNK: u64 = 20_000;
    while written < n {
        let take = CHUNK.min(n - written);
        let mut rows = Vec::with_capacity(take as usize);
        let mut jobs = Vec::new();
        for _ in 0..take {
            let pick = rng.unit() * sum;
            let t = &targets[cumulative.partition_point(|c| *c < pick).min(targets.len() - 1)];
            let mut day = today - i64::try_from(rng.below(usize::try_from(days).unwrap_or(1))).unwrap_or(0);
            // Fewer people on weekends.
            if (day + 3).rem_euclid(7) >= 5 && rng.unit() < 0.6 {
                day -= 2;
            }
            let mut h = u32::try_from(rng.below(hour_total as usize)).unwrap_or(0);
            let mut hour = 0i64;
            for (i, w) in HOUR_WEIGHTS.iter().enumerate() {
                if h < *w {
                    hour = i64::try_from(i).unwrap_or(0);
                    break;
                }
                h -= w;
            }
            let minute = i64::try_from(rng.below(3_600_000)).unwrap_or(0);
            let mut at = day_start_ms(day) + hour * 3_600_000 + minute;
            // Today's hours still to come go to the same hour a week earlier.
            if at >= now {
                at -= 7 * 86_400_000;
            }
            let happy = rng.unit() < t.quality;
            let (level, outcome) = match (t.five, happy) {
                (false, true) => (5, "satisfied"),
                (false, false) => (1, "unsatisfied"),
                (true, true) => (if rng.unit() < 0.7 { 5 } else { 4 }, "satisfied"),
                (true, false) => match rng.below(3) {
                    0 => (3, "neutral"),
                    1 => (2, "unsatisfied"),
                    _ => (1, "unsatisfied"),
                },
            };
            let mut reasons = Vec::new();
            if outcome == "unsatisfied" {
                let first = rng.below(4);
                reasons.push(first as u8);
                if rng.unit() < 0.3 {
                    let second = (first + 1 + rng.below(3)) % 4;
                    reasons.push(second as u8);
                }
            }
            let day = day_of(at);
            let hour = hour_of(at);
            for &node in &up[t.org as usize] {
                let c = days_rollup.entry((node, day)).or_default();
                c[0] += 1;
                match outcome {
                    "satisfied" => c[1] += 1,
                    "neutral" => c[2] += 1,
                    _ => c[3] += 1,
                }
                if outcome == "unsatisfied" {
                    *hours_rollup.entry((node, day, hour)).or_default() += 1;
                    for r in &reasons {
                        *reasons_rollup.entry((node, day, *r)).or_default() += 1;
                    }
                }
            }
            let id = new_id();
            if outcome == "unsatisfied" {
                history.unsatisfied += 1;
                if day > today - case_days {
                    jobs.push(vec![
                        Bind::Text(new_id()),
                        Bind::Text(crate::store::jobs::CASE_OPEN.to_owned()),
                        Bind::Text(serde_json::json!({"rating": id}).to_string()),
                        Bind::Int(now),
                        Bind::Int(0),
                        Bind::Int(20),
                        Bind::Text("queued".into()),
                        Bind::Int(now),
                        Bind::Int(now),
                    ]);
                }
            }
            let reason_codes: Vec<&str> = reasons.iter().map(|r| REASONS[*r as usize]).collect();
            rows.push(vec![
                Bind::Text(id),
                Bind::Text(nodes[t.org as usize].0.clone()),
                Bind::Text(nodes[t.unit as usize].0.clone()),
                Bind::Text(if t.five { "five" } else { "two" }.into()),
                Bind::Int(level),
                Bind::Text(outcome.into()),
                Bind::Text(serde_json::to_string(&reason_codes).unwrap_or_else(|_| "[]".into())),
                Bind::Text(format!("{:016x}", rng.next())),
                Bind::Text(format!("{:016x}", rng.next())),
                Bind::Text(String::new()),
                Bind::Int(0),
                Bind::Text("qr".into()),
                Bind::Int(at),
            ]);
        }
        history.cases_queued += jobs.len() as u64;
        let mut tx = store.write_on(&mut conn).await?;
        insert_batched(
            &mut tx,
            "insert into ratings (id, org_code, unit_code, scale, level, outcome, reasons, device_hash, address_hash, flags,
                 defaulted, source, created_at)",
            13,
            &rows,
        )
        .await?;
        insert_batched(
            &mut tx,
            "insert into jobs (id, kind, payload, run_at, attempts, max_attempts, state, created_at, updated_at)",
            9,
            &jobs,
        )
        .await?;
        tx.commit().await?;
        written += take;
        bar.inc(take);
    }
    bar.finish_and_clear();
    // The rollups, in bulk: added to whatever is there already.
    let mut tx = store.write_on(&mut conn).await?;
    let name = |i: u32| nodes[i as usize].0.clone();
    let rows: Vec<Vec<Bind>> = days_rollup
        .into_iter()
        .map(|((node, day), c)| {
            let mut row = vec![Bind::Text(name(node)), Bind::Int(day)];
            row.extend(c.iter().map(|v| Bind::Int(*v)));
            row.extend([Bind::Int(0), Bind::Int(0), Bind::Int(0)]);
            row
        })
        .collect();
    crate::store::rollups::add_rows(&mut tx, "rating_days", &rows).await?;
    let rows: Vec<Vec<Bind>> = hours_rollup
        .into_iter()
        .map(|((node, day, hour), v)| vec![Bind::Text(name(node)), Bind::Int(day), Bind::Int(hour), Bind::Int(v)])
        .collect();
    crate::store::rollups::add_rows(&mut tx, "rating_hours", &rows).await?;
    let rows: Vec<Vec<Bind>> = reasons_rollup
        .into_iter()
        .map(|((node, day, r), v)| {
            vec![Bind::Text(name(node)), Bind::Int(day), Bind::Text(REASONS[r as usize].into()), Bind::Int(v)]
        })
        .collect();
    crate::store::rollups::add_rows(&mut tx, "rating_reasons", &rows).await?;
    crate::store::audit::append_many(
        &mut tx,
        &crate::store::audit::Actor::system(),
        &[("demo.ratings".into(), "ratings".into(), serde_json::json!({"generated": n, "days": days}))],
    )
    .await?;
    tx.commit().await?;
    history.ratings = n;
    Ok(history)
}

/// Problems the demo's enterprise user (青海高原光伏科技有限公司) raised itself: an enterprise user
/// sees only the cases it filed, so without these its login would show an empty case list.
/// Added with the rating history (`serve --demo`, `demo --ratings`), not to the test city.
/// Returns how many were opened (none when the enterprise has cases already).
pub async fn enterprise_cases(
    store: &Store,
    calendar: &crate::calendar_data::CalendarHandle,
) -> Result<usize, StoreError> {
    let filed: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from cases where created_by = 'enterprise'")
        .fetch_one(store.pool())
        .await
        .map_err(StoreError::from)?;
    if filed > 0 {
        return Ok(0);
    }
    let units: Vec<String> = sqlx::query_scalar(
        "select code from org_nodes where kind = 'unit' and code like 'XN-CD-%' order by code limit 3",
    )
    .fetch_all(store.pool())
    .await
    .map_err(StoreError::from)?;
    let problems = [
        ("营业执照经营范围变更两周未办结", "3 月 2 日提交变更材料，窗口称已受理，至今无进展，也无人告知缺什么材料。"),
        ("厂房用电增容报装排队过长", "新生产线需增容至 800 千伏安，报装后一个月未安排现场勘查，影响投产。"),
        ("园区道路开口施工许可审批慢", "厂区大门需在园区道路开口，申请已满 10 个工作日，仍未收到许可或补正通知。"),
    ];
    let actor = crate::store::audit::Actor { name: "enterprise".into(), client_addr: String::new() };
    let mut opened = 0;
    for (unit, (title, description)) in units.iter().zip(problems) {
        let new = crate::store::cases::NewCase {
            source: crate::domain::case::Source::Enterprise,
            category: "general".into(),
            priority: "normal".into(),
            title: title.into(),
            description: description.into(),
            unit_code: unit.clone(),
            rating_id: None,
        };
        if crate::store::cases::open(store, calendar, &new, &actor).await?.is_some() {
            opened += 1;
        }
    }
    Ok(opened)
}
