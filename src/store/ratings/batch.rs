//! The group-commit writer's batch: ratings, their rollups, the cases of the unsatisfied ones and
//! the audit rows, in a few round trips, with the fallback that never loses a rating to its case.

use super::{NewRating, Receipt, Refusal, Source};
use crate::domain::rating::Outcome;
use crate::store::audit::{self, Actor};
use crate::store::script::Script;
use crate::store::settings_cache::SettingsCache;
use crate::store::{Bind, Result, Store, new_id, now_ms};

/// Where a batch's time went, step by step (for `/metrics` and the benchmark).
#[derive(Debug, Clone, Copy, Default)]
pub struct Steps {
    /// Opening the transaction and checking the kept settings ([`SettingsCache::check`]).
    pub begin: std::time::Duration,
    /// Reading what the cache did not have.
    pub reads: std::time::Duration,
    /// The script: ratings, rollups, cases.
    pub writes: std::time::Duration,
    /// The audit rows.
    pub audit: std::time::Duration,
    /// The commit.
    pub commit: std::time::Duration,
    /// Committing ratings to the rating inbox instead (one statement).
    pub inbox: std::time::Duration,
}

impl Steps {
    /// The steps by name, in order.
    pub fn named(&self) -> [(&'static str, std::time::Duration); 6] {
        [
            ("begin", self.begin),
            ("reads", self.reads),
            ("writes", self.writes),
            ("audit", self.audit),
            ("commit", self.commit),
            ("inbox", self.inbox),
        ]
    }
}

/// A rating's id and the time it was received (its `created_at`, and the start of its case's
/// clocks).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// The rating's id.
    pub id: String,
    /// When it was received, ms since the epoch.
    pub at: i64,
}

impl Stamp {
    /// A new id, received at `at`.
    pub fn fresh(at: i64) -> Stamp {
        Stamp { id: new_id(), at }
    }
}

/// What [`commit_batch`] writes: `items[i]` with `stamps[i]` and the abuse-rule flags `flags[i]`
/// (missing flags are none), and the inbox rows they were read from, deleted in the same
/// transaction.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The ratings.
    pub items: &'a [NewRating],
    /// Their ids and times.
    pub stamps: &'a [Stamp],
    /// Their flags.
    pub flags: &'a [Vec<String>],
    /// The `rating_inbox` rows they come from (none for ratings written directly).
    pub inbox: &'a [i64],
}

/// Writes a batch of ratings in one transaction on `conn` and commits it: the rows, their
/// rollups, the cases of the unsatisfied ones and the audit rows (see [`insert_batch`]), and
/// deletes the inbox rows they came from. Should opening the cases fail, the whole transaction
/// is rolled back and the batch written again without them, each unsatisfied rating with a
/// `case.open` job that opens its case later (and retries): a rating is never lost to a
/// failure of its case. The failure is logged.
pub async fn commit_batch(
    store: &Store,
    conn: &mut sqlx::AnyConnection,
    calendar: &crate::calendar_data::CalendarHandle,
    batch: Batch<'_>,
    cache: &mut SettingsCache,
    steps: &mut Steps,
) -> Result<Vec<std::result::Result<Receipt, Refusal>>> {
    let items = batch.items;
    let mut last = None;
    for cases in [Cases::Open, Cases::Queue] {
        let attempt = async {
            let t = std::time::Instant::now();
            let mut tx = store.write_on(conn).await?;
            cache.check(&mut tx, calendar).await?;
            steps.begin += t.elapsed();
            let t = std::time::Instant::now();
            let reads = Reads::through(&mut tx, calendar, items, cases, cache).await?;
            steps.reads += t.elapsed();
            let results = insert_batch(&mut tx, calendar, batch, &reads, steps).await?;
            let t = std::time::Instant::now();
            tx.commit().await?;
            steps.commit += t.elapsed();
            Ok::<_, crate::store::StoreError>(results)
        }
        .await;
        match attempt {
            Ok(results) => return Ok(results),
            Err(e) => {
                if cases == Cases::Open {
                    tracing::warn!(error = %e, ratings = items.len(), "a rating batch failed; writing it again with its cases queued as case.open jobs");
                }
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or(crate::store::StoreError::NotCommitted))
}

/// What a batch does about the cases of its unsatisfied ratings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cases {
    /// Opens them in the batch's own transaction.
    Open,
    /// Queues a `case.open` job for each.
    Queue,
}

/// What a batch reads before it writes: the rated nodes' ancestors (for the rollups) and, when
/// it opens cases, what opening them needs (the cases module's `Reads`).
#[derive(Debug)]
pub struct Reads {
    up: crate::store::rollups::Ancestors,
    cases: Option<crate::store::cases::Reads>,
}

impl Reads {
    /// Reads them for `items` on `conn`, one query after another, taking from `cache` what
    /// earlier batches read (the caller has checked it in this transaction:
    /// [`SettingsCache::check`]).
    pub async fn through(
        conn: &mut sqlx::AnyConnection,
        calendar: &crate::calendar_data::CalendarHandle,
        items: &[NewRating],
        cases: Cases,
        cache: &mut SettingsCache,
    ) -> Result<Reads> {
        let mut codes: Vec<&str> = items.iter().map(|i| i.target.org_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        let up = cache.ancestors(conn, &codes).await?;
        let cases = match cases {
            Cases::Open => {
                let news =
                    new_cases(items.iter().filter(|i| i.submission.outcome == Outcome::Unsatisfied).map(|i| (i, "")));
                Some(crate::store::cases::Reads::through(conn, calendar, &news, cache).await?)
            }
            Cases::Queue => None,
        };
        Ok(Reads { up, cases })
    }
}

/// The cases of unsatisfied ratings, each with its rating's id.
fn new_cases<'a>(ratings: impl Iterator<Item = (&'a NewRating, &'a str)>) -> Vec<crate::store::cases::NewCase> {
    ratings
        .map(|(item, id)| {
            let comment = item.submission.comment.as_deref().unwrap_or_default();
            crate::store::cases::rating_case(id, (&item.target).into(), &item.reason_labels, comment)
        })
        .collect()
}

/// Writes a batch of ratings in the caller's transaction, in a few round trips however large
/// the batch, with what [`Reads`] read: one script with the rows, their rollups, the cases
/// of the unsatisfied ones (or, where `reads` has no case reads, their `case.open` jobs) and
/// the deletion of the batch's inbox rows, then the audit rows, last. An invitation already
/// used refuses its rating and nothing else.
pub async fn insert_batch(
    conn: &mut sqlx::AnyConnection,
    calendar: &crate::calendar_data::CalendarHandle,
    batch: Batch<'_>,
    reads: &Reads,
    steps: &mut Steps,
) -> Result<Vec<std::result::Result<Receipt, Refusal>>> {
    let Batch { items, stamps, flags, inbox } = batch;
    let now = now_ms();
    let mut out = Vec::with_capacity(items.len());
    let mut rows = Vec::with_capacity(items.len());
    let mut audit_rows = Vec::with_capacity(items.len());
    let mut requests = Vec::new();
    let mut script = Script::new();
    for (i, (item, stamp)) in items.iter().zip(stamps).enumerate() {
        let (id, at) = (stamp.id.clone(), stamp.at);
        if let Some(inv) = &item.invitation_id {
            let used =
                sqlx::query("update invitations set used_at = $2, rating_id = $3 where id = $1 and used_at is null")
                    .bind(inv)
                    .bind(at)
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
            if used.rows_affected() == 0 {
                out.push(Err(Refusal::InvitationUsed));
                continue;
            }
        }
        let flags: Vec<String> = flags.get(i).cloned().unwrap_or_default();
        let s = &item.submission;
        let source = item.source_name();
        let text = |v: &Option<String>| v.clone().map_or(Bind::Null, Bind::Text);
        rows.push(vec![
            Bind::Text(id.clone()),
            text(&item.code_id),
            text(&item.invitation_id),
            Bind::Text(item.target.org_code.clone()),
            Bind::Text(item.target.unit_code.clone()),
            text(&item.target.staff_no),
            Bind::Text(item.scale.as_str().to_owned()),
            Bind::Int(i64::from(s.level)),
            Bind::Text(s.outcome.as_str().to_owned()),
            Bind::Text(serde_json::to_string(&s.reasons).unwrap_or_else(|_| "[]".into())),
            text(&s.comment),
            text(&item.phone_enc),
            text(&item.phone_masked),
            Bind::Text(item.device_hash.clone()),
            Bind::Text(item.address_hash.clone()),
            Bind::Text(flags.join(",")),
            Bind::Int(i64::from(item.source == Source::Default)),
            Bind::Text(source.to_owned()),
            Bind::Int(at),
        ]);
        audit_rows.push((
            "rating.submit".to_owned(),
            format!("rating:{id}"),
            serde_json::json!({"unit": item.target.unit_code, "org": item.target.org_code, "outcome": s.outcome, "source": source, "flags": flags}),
        ));
        if let Some(key) = &item.request_key {
            let answer = serde_json::json!({"id": id, "outcome": s.outcome, "scale": item.scale, "flags": flags});
            requests.push(vec![
                Bind::Text(key.clone()),
                Bind::Text(id.clone()),
                Bind::Text(answer.to_string()),
                Bind::Int(at),
            ]);
        }
        out.push(Ok(Receipt { id, outcome: s.outcome, flags }));
    }
    if !inbox.is_empty() {
        let seqs = serde_json::to_string(inbox).unwrap_or_else(|_| "[]".into());
        script.push(super::inbox::delete_sql(crate::store::Dialect::of(conn)), vec![Bind::Text(seqs)]);
    }
    script.insert(
        "insert into ratings (id, code_id, invitation_id, org_code, unit_code, staff_no, scale, level, outcome, reasons,
             comment, phone_enc, phone_masked, device_hash, address_hash, flags, defaulted, source, created_at)",
        19,
        &rows,
        "",
    );
    script.insert(
        "insert into rating_requests (key_hash, rating_id, answer, created_at)",
        4,
        &requests,
        " on conflict (key_hash) do nothing",
    );
    let stored: Vec<(&NewRating, &Receipt, i64)> = items
        .iter()
        .zip(&out)
        .zip(stamps)
        .filter_map(|((item, r), stamp)| Some((item, r.as_ref().ok()?, stamp.at)))
        .collect();
    let deltas: Vec<crate::store::rollups::RatingDelta> = stored
        .iter()
        .map(|(item, _, at)| crate::store::rollups::RatingDelta {
            org_code: item.target.org_code.clone(),
            at: *at,
            outcome: item.submission.outcome,
            defaulted: item.source == Source::Default,
            invited: item.invitation_id.is_some() && item.source != Source::Default,
            reasons: item.submission.reasons.clone(),
            sign: 1,
        })
        .collect();
    crate::store::rollups::add_ratings_to(&mut script, &deltas, &reads.up);
    let unsatisfied: Vec<_> = stored.into_iter().filter(|(_, r, _)| r.outcome == Outcome::Unsatisfied).collect();
    let mut case_audit = Vec::new();
    match &reads.cases {
        Some(case_reads) => {
            // A case's clocks start when its rating was received.
            let news = new_cases(unsatisfied.iter().map(|(item, r, _)| (*item, r.id.as_str())));
            let at: Vec<i64> = unsatisfied.iter().map(|(_, _, at)| *at).collect();
            case_audit =
                crate::store::cases::insert(&mut script, calendar, &news, case_reads, &Actor::system(), &at)?.1;
        }
        None => {
            let jobs: Vec<crate::store::jobs::NewJob> = unsatisfied
                .iter()
                .map(|(_, r, _)| crate::store::jobs::NewJob {
                    kind: crate::store::jobs::CASE_OPEN,
                    payload: serde_json::json!({"rating": r.id}),
                    dedupe_key: Some(format!("case.open:{}", r.id)),
                    run_at: now,
                    max_attempts: 20,
                })
                .collect();
            crate::store::jobs::enqueue_into(&mut script, &jobs);
        }
    }
    let t = std::time::Instant::now();
    script.run(conn).await?;
    steps.writes += t.elapsed();
    let t = std::time::Instant::now();
    let citizen = Actor { name: "citizen".into(), client_addr: String::new() };
    audit::append_as(conn, &[(&citizen, &audit_rows), (&Actor::system(), &case_audit)]).await?;
    steps.audit += t.elapsed();
    Ok(out)
}
