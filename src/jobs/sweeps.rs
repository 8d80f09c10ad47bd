//! The minute's background work that needs no state of a server process: SLA colours and
//! escalations (every ten seconds too), supervision items' colours and their ladder, key projects' colours, rating request keys past their day, default ratings for invitations left
//! unrated, and the calendar notices other processes imported. `pingyi serve` (with jobs on)
//! and `pingyi worker` both run [`spawn_every_minute`]; running it in several processes is
//! safe, since each sweep claims its rows with guarded updates.

use std::sync::Arc;
use std::time::Duration;

use crate::calendar_data::CalendarHandle;
use crate::store::{Store, StoreError, invitations, now_ms};

/// How many clocks one SLA sweep pass looks at.
const SLA_BATCH: i64 = 1000;

/// One pass of the sweeps at `now`. Returns how many default ratings were recorded.
pub async fn sweeps(store: &Store, calendar: &CalendarHandle, now: i64) -> Result<usize, StoreError> {
    // SLA clocks whose colour changed: record it and send the escalation notices.
    loop {
        let changes =
            crate::store::sla::sweep(store, &crate::domain::sla::Thresholds::default(), now, SLA_BATCH).await?;
        if changes.len() < SLA_BATCH as usize {
            break;
        }
    }
    // Supervision items whose colour changed: the slip, and the rungs of the ladder it reaches.
    let rule = crate::store::items::settings(store.pool()).await?.rule();
    crate::store::items::ladder::sweep(store, &rule, now).await?;
    // Key projects whose colour time alone changed (a missed start, the plan moving on).
    crate::store::enterprise::projects::sweep(store, now).await?;
    // Rating request keys older than a day answer nothing any more.
    crate::store::ratings::forget_request_keys(store, now).await?;
    invitations::record_defaults(store, calendar, now).await
}

/// How often the SLA clocks alone are swept: a desk request's reply clock is ten minutes long,
/// so its warnings cannot wait for the minute's sweep.
const CLOCK_TICK: Duration = Duration::from_secs(10);

/// Every minute: reload the calendar (notices imported by the CLI or other servers), then run
/// the [`sweeps`]; every ten seconds between them, the SLA clocks. Live alerts are re-evaluated
/// by each process's rating writer itself.
pub fn spawn_every_minute(store: Store, calendar: Arc<CalendarHandle>) {
    let clocks = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CLOCK_TICK);
        loop {
            tick.tick().await;
            let thresholds = crate::domain::sla::Thresholds::default();
            if let Err(e) = crate::store::sla::sweep(&clocks, &thresholds, now_ms(), SLA_BATCH).await {
                tracing::warn!(error = %e, "clock sweep failed");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = calendar.reload(&store).await {
                tracing::warn!(error = %e, "calendar reload failed");
            }
            if let Err(e) = sweeps(&store, &calendar, now_ms()).await {
                tracing::warn!(error = %e, "sweep failed");
            }
        }
    });
}
