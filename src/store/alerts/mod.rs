//! Live alerts: a unit whose recent ratings breach the alert rule opens one episode, told to
//! its unit heads and to supervisors through the in-app inbox; the rule and its hysteresis are
//! `domain::alert`. This module keeps the tallies and reads the windows and episodes;
//! [`episodes`] applies the rule's steps.

pub mod episodes;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::domain::ids::OrgCode;

/// An alert episode.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Alert {
    /// Id.
    pub id: String,
    /// The unit.
    pub unit_code: String,
    /// The unit's name.
    pub unit_name: String,
    /// Opened, ms.
    pub opened_at: i64,
    /// Closed, ms (absent while open).
    pub closed_at: Option<i64>,
    /// Ratings in the window when it opened.
    pub total: i64,
    /// Of which unsatisfied.
    pub unsatisfied: i64,
    /// What happened to the episode, oldest first.
    pub history: Vec<AlertEvent>,
}

/// One entry of an episode's history.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AlertEvent {
    /// When, ms.
    pub at: i64,
    /// `opened`, `notified` (told again), `clearing` (the window fell well below the threshold),
    /// `breaching` (it rose again before the episode closed), `reopened`, `closed`.
    pub kind: String,
    /// Ratings in the window then.
    pub total: i64,
    /// Of which unsatisfied.
    pub unsatisfied: i64,
}

/// Live alerts count ratings in buckets this long (ms): a rating counts while its bucket's start
/// lies within the rule's window, so the window reaches back between the window less one
/// bucket and the whole window (14½ to 15 minutes with the default rule).
pub const TALLY_BUCKET_MS: i64 = 30_000;

/// The start of the bucket that holds a rating received at `at`.
pub fn bucket_of(at: i64) -> i64 {
    at - at.rem_euclid(TALLY_BUCKET_MS)
}

/// Ratings to add to (or, negative, take from) one unit's tally in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyDelta {
    /// The unit.
    pub unit: String,
    /// The bucket's start ([`bucket_of`]).
    pub bucket: i64,
    /// Ratings.
    pub total: i64,
    /// Of which unsatisfied.
    pub unsatisfied: i64,
}

/// Adds `deltas` to the live-alert tallies on `conn` (a transaction of the caller's). Rows are
/// written in the order given: callers pass them sorted by unit and bucket, so that two server
/// processes adding to the same rows take their locks in the same order.
pub async fn add_tallies(conn: &mut sqlx::AnyConnection, deltas: &[TallyDelta]) -> Result<()> {
    // Four parameters a row; well under either engine's limit per statement.
    for chunk in deltas.chunks(1000) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
            .collect();
        let sql = format!(
            "insert into alert_tallies (unit_code, bucket, total, unsatisfied) values {}
             on conflict (unit_code, bucket) do update
             set total = alert_tallies.total + excluded.total,
                 unsatisfied = alert_tallies.unsatisfied + excluded.unsatisfied",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for d in chunk {
            query = query.bind(&d.unit).bind(d.bucket).bind(d.total).bind(d.unsatisfied);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One unit's ratings in the window and its open episode, read in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitWindow {
    /// The unit.
    pub unit: String,
    /// Ratings counted in the window.
    pub total: i64,
    /// Of which unsatisfied.
    pub unsatisfied: i64,
    /// The unit's open episode, if any.
    pub open: Option<String>,
    /// Since when the open episode's window has been clear.
    pub clear_since: Option<i64>,
    /// The unit's last closed episode and when it closed.
    pub last_closed: Option<(String, i64)>,
    /// When the unit's people were last told of an episode.
    pub last_notified_at: Option<i64>,
}

impl UnitWindow {
    /// The facts the alert rule decides on.
    pub fn facts(&self) -> crate::domain::alert::AlertFacts {
        crate::domain::alert::AlertFacts {
            total: self.total,
            unsatisfied: self.unsatisfied,
            open: self.open.as_ref().map(|_| crate::domain::alert::OpenEpisode { clear_since: self.clear_since }),
            last_closed_at: self.last_closed.as_ref().map(|(_, at)| *at),
            last_notified_at: self.last_notified_at,
        }
    }
}

/// For each of `units`: the ratings counted in buckets after `since` and the unit's open episode,
/// as one statement sees them (an episode another process opened is seen with the ratings it
/// counted).
pub async fn windows(store: &Store, units: &[String], since: i64) -> Result<Vec<UnitWindow>> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let list = store.dialect().json_texts();
    let sql = format!(
        "select u.unit_code,
           coalesce((select cast(sum(t.total) as bigint) from alert_tallies t
                     where t.unit_code = u.unit_code and t.bucket > $2), 0) as total,
           coalesce((select cast(sum(t.unsatisfied) as bigint) from alert_tallies t
                     where t.unit_code = u.unit_code and t.bucket > $2), 0) as unsatisfied,
           (select a.id from alerts a where a.unit_code = u.unit_code and a.closed_at is null) as open_id,
           (select a.clear_since from alerts a where a.unit_code = u.unit_code and a.closed_at is null) as clear_since,
           (select a.id from alerts a where a.unit_code = u.unit_code and a.closed_at is not null
             order by a.closed_at desc limit 1) as last_closed_id,
           (select max(a.closed_at) from alerts a where a.unit_code = u.unit_code) as last_closed_at,
           (select max(a.notified_at) from alerts a where a.unit_code = u.unit_code) as last_notified_at
         from (select value as unit_code from ({list}) l) u"
    );
    let units = serde_json::to_string(units)?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(units).bind(since).fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(UnitWindow {
                unit: r.try_get("unit_code")?,
                total: r.try_get("total")?,
                unsatisfied: r.try_get("unsatisfied")?,
                open: super::opt_text(r, "open_id")?,
                clear_since: r.try_get("clear_since")?,
                last_closed: match (
                    super::opt_text(r, "last_closed_id")?,
                    r.try_get::<Option<i64>, _>("last_closed_at")?,
                ) {
                    (Some(id), Some(at)) => Some((id, at)),
                    _ => None,
                },
                last_notified_at: r.try_get("last_notified_at")?,
            })
        })
        .collect()
}

/// Deletes the tallies of buckets that start at or before `before`; returns how many.
pub async fn prune_tallies(store: &Store, before: i64) -> Result<u64> {
    let done = sqlx::query("delete from alert_tallies where bucket <= $1").bind(before).execute(store.pool()).await?;
    Ok(done.rows_affected())
}

/// Open episodes: (unit, alert id).
pub async fn open_episodes(store: &Store) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("select unit_code, id from alerts where closed_at is null").fetch_all(store.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("unit_code")?, r.try_get("id")?))).collect()
}

fn alert_from(r: &AnyRow) -> Result<Alert> {
    Ok(Alert {
        id: r.try_get("id")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("name")?,
        opened_at: r.try_get("opened_at")?,
        closed_at: r.try_get("closed_at")?,
        total: r.try_get("total")?,
        unsatisfied: r.try_get("unsatisfied")?,
        history: Vec::new(),
    })
}

/// Alerts of units under `root`, newest first.
pub async fn list(store: &Store, root: &OrgCode, open_only: bool) -> Result<Vec<Alert>> {
    let sql = format!(
        "select l.id, l.unit_code, n.name, l.opened_at, l.closed_at, l.total, l.unsatisfied
         from alerts l join org_closure a on a.descendant = l.unit_code join org_nodes n on n.code = l.unit_code
         where a.ancestor = $1 {} order by l.opened_at desc limit 200",
        if open_only { "and l.closed_at is null" } else { "" }
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(root.as_str()).fetch_all(store.pool()).await?;
    let mut alerts = rows.iter().map(alert_from).collect::<Result<Vec<_>>>()?;
    for a in &mut alerts {
        a.history = episodes::history(store, &a.id).await?;
    }
    Ok(alerts)
}

/// An inbox message.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Message {
    /// Id.
    pub id: String,
    /// alert, …
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Where to look.
    pub link: String,
    /// When, ms.
    pub created_at: i64,
    /// Read, ms.
    pub read_at: Option<i64>,
}

/// A user's inbox, newest first.
pub async fn inbox(store: &Store, user_id: &str) -> Result<Vec<Message>> {
    let rows = sqlx::query(
        "select id, kind, title, body, link, created_at, read_at from inbox where user_id = $1 order by created_at desc limit 200",
    )
    .bind(user_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Message {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                link: r.try_get("link")?,
                created_at: r.try_get("created_at")?,
                read_at: r.try_get("read_at")?,
            })
        })
        .collect()
}
