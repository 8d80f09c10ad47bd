//! The live-alert watcher: one task per server, fed by the rating writer.

use std::collections::BTreeSet;

use tokio::sync::mpsc;

use crate::domain::rating::AlertRule;
use crate::store::{Store, alerts, now_ms};

/// What the alert watcher is told.
#[derive(Debug)]
pub(super) enum AlertMsg {
    /// Ratings just committed: (unit, unsatisfied, at).
    Rated(Vec<(String, bool, i64)>),
    /// Re-evaluate every unit with an open episode as of this time.
    Tick(i64),
}

/// The live-alert rule over a sliding window kept in memory per unit (warmed from the
/// database at start), so that evaluating it costs no query; the database is touched only
/// when an episode opens or closes. One evaluation at a time, off the request path.
pub(super) async fn watch_alerts(store: Store, mut rx: mpsc::UnboundedReceiver<AlertMsg>, rule: AlertRule) {
    let mut windows: std::collections::HashMap<String, std::collections::VecDeque<(i64, bool)>> = Default::default();
    let mut open: std::collections::HashMap<String, String> = Default::default();
    match alerts::recent(&store, now_ms() - rule.window_ms).await {
        Ok(rows) => {
            for (unit, unsatisfied, at) in rows {
                windows.entry(unit).or_default().push_back((at, unsatisfied));
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not warm the alert windows"),
    }
    match alerts::open_episodes(&store).await {
        Ok(rows) => open.extend(rows),
        Err(e) => tracing::warn!(error = %e, "could not read open alert episodes"),
    }
    let mut msgs = Vec::new();
    while rx.recv_many(&mut msgs, 1024).await > 0 {
        let mut touched = BTreeSet::new();
        let mut now = now_ms();
        for msg in msgs.drain(..) {
            match msg {
                AlertMsg::Rated(rows) => {
                    for (unit, unsatisfied, at) in rows {
                        windows.entry(unit.clone()).or_default().push_back((at, unsatisfied));
                        touched.insert(unit);
                    }
                }
                AlertMsg::Tick(at) => {
                    now = now.max(at);
                    touched.extend(open.keys().cloned());
                }
            }
        }
        for unit in touched {
            let window = windows.entry(unit.clone()).or_default();
            while window.front().is_some_and(|(at, _)| *at <= now - rule.window_ms) {
                window.pop_front();
            }
            let total = window.len() as i64;
            let unsatisfied = window.iter().filter(|(_, u)| *u).count() as i64;
            if window.is_empty() {
                windows.remove(&unit);
            }
            let result = match (rule.breached(total, unsatisfied), open.get(&unit)) {
                (true, None) => alerts::open(&store, &unit, total, unsatisfied, now).await.map(|id| {
                    open.insert(unit.clone(), id);
                }),
                (false, Some(id)) => alerts::close(&store, id, now).await.map(|()| {
                    open.remove(&unit);
                }),
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, unit, "alert evaluation failed");
            }
        }
    }
}
