//! The live-alert watcher: one task per server process, fed by its rating writer.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::domain::rating::AlertRule;
use crate::store::alerts::{self, TALLY_BUCKET_MS, TallyDelta, bucket_of};
use crate::store::{Store, now_ms};

/// What the alert watcher is told.
#[derive(Debug)]
pub(super) enum AlertMsg {
    /// Ratings just committed: (unit, unsatisfied, at).
    Rated(Vec<(String, bool, i64)>),
    /// Re-evaluate every open episode (of any process) as of this time, and drop old tallies.
    Tick(i64),
}

/// How long the watcher gathers what it is told before it writes and evaluates: a burst of
/// ratings costs one write and one read every quarter second, not one per batch.
pub const ALERT_GATHER: Duration = Duration::from_millis(250);

/// Counts ratings into the shared tallies (`alert_tallies`) and evaluates the rule over them
/// (see [`alerts::windows`]), so that ratings received by every server process sharing the
/// database count together; the database decides once per episode (a unique index on open
/// episodes). One round at a time, off the request path. What a round could not write is kept
/// for the next.
pub(super) async fn watch_alerts(store: Store, mut rx: mpsc::UnboundedReceiver<AlertMsg>, rule: AlertRule) {
    let mut msgs = Vec::new();
    let mut round = Round::default();
    while rx.recv_many(&mut msgs, 1024).await > 0 {
        let until = tokio::time::Instant::now() + ALERT_GATHER;
        let mut stopped = false;
        loop {
            round.take(msgs.drain(..));
            match tokio::time::timeout_at(until, rx.recv_many(&mut msgs, 1024)).await {
                Ok(0) => {
                    stopped = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        round.settle(&store, &rule).await;
        if stopped {
            break;
        }
    }
}

/// What one round of the watcher has gathered.
#[derive(Debug, Default)]
struct Round {
    /// Ratings not yet added to the tallies: (unit, bucket) → (total, unsatisfied).
    pending: BTreeMap<(String, i64), (i64, i64)>,
    /// Units rated since the last evaluation.
    touched: BTreeSet<String>,
    /// The latest tick's time, if one came.
    tick: Option<i64>,
}

impl Round {
    fn take(&mut self, msgs: impl Iterator<Item = AlertMsg>) {
        for msg in msgs {
            match msg {
                AlertMsg::Rated(rows) => {
                    for (unit, unsatisfied, at) in rows {
                        let tally = self.pending.entry((unit.clone(), bucket_of(at))).or_default();
                        tally.0 += 1;
                        tally.1 += i64::from(unsatisfied);
                        self.touched.insert(unit);
                    }
                }
                AlertMsg::Tick(at) => self.tick = Some(self.tick.map_or(at, |t| t.max(at))),
            }
        }
    }

    /// Writes the pending tallies, then opens and closes episodes by the rule.
    async fn settle(&mut self, store: &Store, rule: &AlertRule) {
        let now = self.tick.map_or_else(now_ms, |t| t.max(now_ms()));
        let since = now - rule.window_ms;
        // A bucket that has left the window no longer matters, written or not.
        self.pending.retain(|(_, bucket), _| *bucket > since);
        if !self.pending.is_empty() {
            let deltas: Vec<TallyDelta> = self
                .pending
                .iter()
                .map(|((unit, bucket), (total, unsatisfied))| TallyDelta {
                    unit: unit.clone(),
                    bucket: *bucket,
                    total: *total,
                    unsatisfied: *unsatisfied,
                })
                .collect();
            match add(store, &deltas).await {
                Ok(()) => self.pending.clear(),
                Err(e) => {
                    // Kept for the next round; evaluating now would count without them.
                    tracing::warn!(error = %e, buckets = deltas.len(), "could not write the live-alert tallies");
                    return;
                }
            }
        }
        let mut units = std::mem::take(&mut self.touched);
        if self.tick.take().is_some() {
            match alerts::open_episodes(store).await {
                Ok(open) => units.extend(open.into_iter().map(|(unit, _)| unit)),
                Err(e) => tracing::warn!(error = %e, "could not read the open alert episodes"),
            }
            if let Err(e) = alerts::prune_tallies(store, since - TALLY_BUCKET_MS).await {
                tracing::warn!(error = %e, "could not delete old live-alert tallies");
            }
        }
        let units: Vec<String> = units.into_iter().collect();
        let windows = match alerts::windows(store, &units, since).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the live-alert windows");
                self.touched.extend(units);
                return;
            }
        };
        for w in windows {
            let step = crate::domain::alert::step(rule, &w.facts(), now);
            if step == crate::domain::alert::AlertStep::Stay {
                continue;
            }
            if let Err(e) = alerts::episodes::apply(store, rule, &w, step, now).await {
                tracing::warn!(error = %e, unit = w.unit, "alert evaluation failed");
            }
        }
    }
}

async fn add(store: &Store, deltas: &[TallyDelta]) -> crate::store::Result<()> {
    let mut tx = store.write().await?;
    alerts::add_tallies(&mut tx, deltas).await?;
    tx.commit().await?;
    Ok(())
}
