//! Ratings' SQL: per-region settings (`settings.rs`), the batched insert used by the group-commit writer,
//! listings for staff and counts. A rating row is written once and never updated or deleted.

mod batch;
pub mod inbox;
mod settings;

pub use batch::{Batch, Cases, Reads, Stamp, Steps, commit_batch, insert_batch};
pub use settings::{RatingSettings, ReasonDef, own_settings_below, set_settings, settings_for, settings_origin};

use sqlx::Row;
use sqlx::any::AnyRow;

use super::rating_codes::Target;
use super::{Bind, Result, Store, bind_all, opt_text};
use crate::domain::ids::{OrgCode, RatingId};
use crate::domain::rating::{Outcome, Scale, Submission};

/// Where a rating came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The form on `/r/{code}` (a QR code or invitation link).
    Page,
    /// `POST /api/v1/ratings`.
    Api,
    /// Recorded for an invitation left unrated.
    Default,
}

/// A validated rating ready to be written. Its JSON form (the rating inbox's rows) carries the
/// phone number only sealed and masked.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NewRating {
    /// Rating code, for poster ratings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_id: Option<String>,
    /// Invitation, for one-rating-per-transaction ratings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<String>,
    /// What was rated.
    pub target: Target,
    /// Two or five levels.
    pub scale: Scale,
    /// The validated fields.
    pub submission: Submission,
    /// The phone, sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_enc: Option<String>,
    /// The phone, masked (138****1234), as shown to those who may not see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_masked: Option<String>,
    /// Peppered hash of the device cookie (or user agent and address).
    pub device_hash: String,
    /// Peppered hash of the client address.
    pub address_hash: String,
    /// Page, API or default.
    pub source: Source,
    /// The reasons' Chinese labels in the region's settings, for the title of the case an
    /// unsatisfied rating opens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason_labels: Vec<String>,
    /// The request's idempotency key (peppered hash of code and key), when the client sent one:
    /// recorded with the answer in the rating's transaction ([`replayed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_key: Option<String>,
}

/// How long a rating request's idempotency key is kept: a retry within this answers the first
/// answer again.
pub const REQUEST_KEY_MS: i64 = 24 * 60 * 60 * 1000;

/// The first answer to the request `key_hash`, if a rating was stored for it within
/// [`REQUEST_KEY_MS`] before `now`.
pub async fn replayed(store: &Store, key_hash: &str, now: i64) -> Result<Option<serde_json::Value>> {
    let answer: Option<String> =
        sqlx::query_scalar("select answer from rating_requests where key_hash = $1 and created_at > $2")
            .bind(key_hash)
            .bind(now - REQUEST_KEY_MS)
            .fetch_optional(store.pool())
            .await?;
    answer.map(|a| crate::store::decode_json(&a, "rating_requests.answer")).transpose()
}

/// Deletes the request keys older than [`REQUEST_KEY_MS`]; returns how many.
pub async fn forget_request_keys(store: &Store, now: i64) -> Result<u64> {
    let done = sqlx::query("delete from rating_requests where created_at <= $1")
        .bind(now - REQUEST_KEY_MS)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected())
}

impl NewRating {
    /// Its stored `source`: qr, invitation, api or default.
    pub fn source_name(&self) -> &'static str {
        match (self.source, &self.invitation_id) {
            (Source::Default, _) => "default",
            (_, Some(_)) => "invitation",
            (Source::Page, None) => "qr",
            (Source::Api, None) => "api",
        }
    }
}

/// What was stored.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Receipt {
    /// The rating's id.
    pub id: String,
    /// What it counts as.
    pub outcome: Outcome,
    /// Abuse-rule flags; a flagged rating is stored like any other.
    pub flags: Vec<String>,
}

/// Why a rating was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The invitation was used by an earlier rating.
    InvitationUsed,
}

/// Recent code ratings `(code_id, device_hash, address_hash, created_at)` since `since`, to
/// warm the abuse tracker when a server starts.
pub async fn recent_for_abuse(store: &Store, since: i64) -> Result<Vec<(String, String, String, i64)>> {
    let waiting = inbox::received_since(store, since).await?;
    let rows = sqlx::query(
        "select id, code_id, device_hash, address_hash, created_at from ratings where created_at > $1 and code_id is not null order by created_at",
    )
    .bind(since)
    .fetch_all(store.pool())
    .await?;
    inbox::merge_recent(
        &rows,
        waiting,
        |r| {
            Ok((r.try_get("code_id")?, r.try_get("device_hash")?, r.try_get("address_hash")?, r.try_get("created_at")?))
        },
        |p| Some((p.rating.code_id?, p.rating.device_hash, p.rating.address_hash, p.stamp.at)),
        |r| r.3,
    )
}

/// A rating as shown to staff. Phone numbers are masked unless the viewer makes return visits;
/// device and address hashes are never shown.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RatingView {
    /// Id.
    pub id: String,
    /// Node rated.
    pub org_code: String,
    /// Its unit.
    pub unit_code: String,
    /// Staff rated, for personal codes and invitations.
    pub staff_no: Option<String>,
    /// two or five.
    pub scale: Scale,
    /// 1–5.
    pub level: i64,
    /// What it counts as.
    pub outcome: String,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Comment.
    pub comment: Option<String>,
    /// Phone: masked (138****1234) or, for supervisors, in full.
    pub phone: Option<String>,
    /// Abuse-rule flags.
    pub flags: Vec<String>,
    /// Recorded for an unrated invitation.
    pub defaulted: bool,
    /// qr, invitation, api or default.
    pub source: String,
    /// When, ms.
    pub created_at: i64,
    /// Excluded from statistics by an upheld appeal.
    pub excluded: bool,
    /// pending, upheld or rejected, if appealed.
    pub appeal: Option<String>,
    /// Still in the rating inbox: acknowledged and durable, but not yet in lists, statistics or
    /// cases, and not yet open to appeal (under load, for seconds; see docs/ratings.md).
    pub pending: bool,
}

const RATING_SELECT: &str = "select r.id, r.org_code, r.unit_code, r.staff_no, r.scale, r.level, r.outcome, r.reasons,
        r.comment, r.phone_enc, r.phone_masked, r.flags, r.defaulted, r.source, r.created_at,
        (select cast(count(*) as bigint) from rating_exclusions x where x.rating_id = r.id) as excluded,
        (select p.state from appeals p where p.rating_id = r.id) as appeal
     from ratings r";

fn rating_view(r: &AnyRow, reveal: Option<&crate::secrets::Sealer>) -> Result<RatingView> {
    let flags: String = r.try_get("flags")?;
    let reasons: String = r.try_get("reasons")?;
    let phone = match reveal {
        Some(sealer) => opt_text(r, "phone_enc")?.and_then(|p| sealer.open(&p)),
        None => opt_text(r, "phone_masked")?,
    };
    Ok(RatingView {
        id: r.try_get("id")?,
        org_code: r.try_get("org_code")?,
        unit_code: r.try_get("unit_code")?,
        staff_no: opt_text(r, "staff_no")?,
        scale: Scale::parse(&r.try_get::<String, _>("scale")?).unwrap_or(Scale::Two),
        level: r.try_get("level")?,
        outcome: r.try_get("outcome")?,
        reasons: crate::store::decode_json(&reasons, "ratings.reasons")?,
        comment: opt_text(r, "comment")?,
        phone,
        flags: flags.split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect(),
        defaulted: r.try_get::<i64, _>("defaulted")? != 0,
        source: r.try_get("source")?,
        created_at: r.try_get("created_at")?,
        excluded: r.try_get::<i64, _>("excluded")? > 0,
        appeal: opt_text(r, "appeal")?,
        pending: false,
    })
}

/// A rating still in the inbox, as [`get`] shows it.
fn pending_view(p: inbox::Pending, reveal: Option<&crate::secrets::Sealer>) -> RatingView {
    let r = p.rating;
    let phone = match reveal {
        Some(sealer) => r.phone_enc.as_deref().and_then(|p| sealer.open(p)),
        None => r.phone_masked.clone(),
    };
    RatingView {
        id: p.stamp.id,
        source: r.source_name().to_owned(),
        org_code: r.target.org_code,
        unit_code: r.target.unit_code,
        staff_no: r.target.staff_no,
        scale: r.scale,
        level: i64::from(r.submission.level),
        outcome: r.submission.outcome.as_str().to_owned(),
        reasons: r.submission.reasons,
        comment: r.submission.comment,
        phone,
        flags: p.flags,
        defaulted: r.source == Source::Default,
        created_at: p.stamp.at,
        excluded: false,
        appeal: None,
        pending: true,
    }
}

/// One rating.
pub async fn get(store: &Store, id: &RatingId, reveal: Option<&crate::secrets::Sealer>) -> Result<Option<RatingView>> {
    let sql = format!("{RATING_SELECT} where r.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(store.pool()).await?;
    match row {
        Some(r) => rating_view(&r, reveal).map(Some),
        // Acknowledged but not yet projected.
        None => Ok(inbox::find(store, id.as_str()).await?.map(|p| pending_view(p, reveal))),
    }
}

/// Ratings of units under `root`, newest first, optionally of one outcome, before a time.
pub async fn list(
    store: &Store,
    root: &OrgCode,
    outcome: Option<Outcome>,
    before: Option<i64>,
    limit: i64,
    reveal: Option<&crate::secrets::Sealer>,
) -> Result<Vec<RatingView>> {
    let mut binds = vec![Bind::Text(root.as_str().to_owned())];
    let kind: Option<String> = sqlx::query_scalar("select kind from org_nodes where code = $1")
        .bind(root.as_str())
        .fetch_optional(store.pool())
        .await?;
    let mut sql = if kind.as_deref() == Some("window") {
        // A window's own ratings (its code's and its staff's codes'), found by its unit's index.
        format!(
            "{RATING_SELECT} where r.unit_code = (select parent_code from org_nodes where code = $1) and r.org_code = $1"
        )
    } else {
        format!("{RATING_SELECT} join org_closure a on a.descendant = r.unit_code where a.ancestor = $1")
    };
    if let Some(o) = outcome {
        binds.push(Bind::Text(o.as_str().to_owned()));
        sql.push_str(&format!(" and r.outcome = ${}", binds.len()));
    }
    if let Some(b) = before {
        binds.push(Bind::Int(b));
        sql.push_str(&format!(" and r.created_at < ${}", binds.len()));
    }
    sql.push_str(&format!(" order by r.created_at desc, r.id desc limit {}", limit.clamp(1, 500)));
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    rows.iter().map(|r| rating_view(r, reveal)).collect()
}

/// Ratings of units under `root` received in `[from, to)` (ms), oldest first (by time, then id),
/// optionally of one outcome, and only those after `after` (time and id of the last one read, to
/// read a long period page by page); at most `limit` (the caller may ask for one more than it
/// will take, to know whether the period holds more).
pub async fn in_period(
    store: &Store,
    root: &OrgCode,
    outcome: Option<Outcome>,
    (from, to): (i64, i64),
    after: Option<(i64, &str)>,
    limit: i64,
    reveal: Option<&crate::secrets::Sealer>,
) -> Result<Vec<RatingView>> {
    let mut binds = vec![Bind::Text(root.as_str().to_owned()), Bind::Int(from), Bind::Int(to)];
    // Walk the ratings by time from the cursor and keep those of the subtree: every page then
    // reads only past the previous one. SQLite without statistics would walk each unit's
    // ratings and sort the whole period again for every page (0.46 s a page of a whole city's
    // 300,000 ratings against 0.01 s); PostgreSQL picks this walk itself once analyzed.
    let hint = store.dialect().walk_by("ratings_time");
    let mut sql = format!(
        "{RATING_SELECT}{hint} where r.unit_code in (select descendant from org_closure where ancestor = $1)
         and r.created_at >= $2 and r.created_at < $3"
    );
    if let Some(o) = outcome {
        binds.push(Bind::Text(o.as_str().to_owned()));
        sql.push_str(&format!(" and r.outcome = ${}", binds.len()));
    }
    if let Some((at, id)) = after {
        binds.push(Bind::Int(at));
        binds.push(Bind::Text(id.to_owned()));
        let (t, i) = (binds.len() - 1, binds.len());
        // `created_at >= t` on its own, so that the walk starts at the cursor instead of
        // filtering every rating before it again.
        sql.push_str(&format!(" and r.created_at >= ${t} and (r.created_at > ${t} or r.id > ${i})"));
    }
    binds.push(Bind::Int(limit.max(1)));
    sql.push_str(&format!(" order by r.created_at, r.id limit ${}", binds.len()));
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch_all(store.pool()).await?;
    rows.iter().map(|r| rating_view(r, reveal)).collect()
}

/// Counts of ratings under a node. Ratings excluded by an upheld appeal are counted only in
/// `excluded`; flagged and defaulted ratings are counted and also reported apart.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = RatingCounts)]
pub struct Counts {
    /// Ratings that count.
    pub total: i64,
    /// Of which satisfied.
    pub satisfied: i64,
    /// Of which neutral.
    pub neutral: i64,
    /// Of which unsatisfied.
    pub unsatisfied: i64,
    /// Of which flagged by the abuse rule.
    pub flagged: i64,
    /// Of which recorded by default for unrated invitations.
    pub defaulted: i64,
    /// Excluded by upheld appeals (not in `total`).
    pub excluded: i64,
    /// satisfied / total, when there is any rating.
    pub satisfaction_rate: Option<f64>,
}

/// Counts under `root` in `[from, to)` (ms).
pub async fn counts(store: &Store, root: &OrgCode, from: i64, to: i64) -> Result<Counts> {
    let r = sqlx::query(
        "select
           cast(coalesce(sum(case when x.rating_id is null then 1 else 0 end), 0) as bigint) as total,
           cast(coalesce(sum(case when x.rating_id is null and r.outcome = 'satisfied' then 1 else 0 end), 0) as bigint) as satisfied,
           cast(coalesce(sum(case when x.rating_id is null and r.outcome = 'neutral' then 1 else 0 end), 0) as bigint) as neutral,
           cast(coalesce(sum(case when x.rating_id is null and r.outcome = 'unsatisfied' then 1 else 0 end), 0) as bigint) as unsatisfied,
           cast(coalesce(sum(case when x.rating_id is null and r.flags <> '' then 1 else 0 end), 0) as bigint) as flagged,
           cast(coalesce(sum(case when x.rating_id is null and r.defaulted = 1 then 1 else 0 end), 0) as bigint) as defaulted,
           cast(coalesce(sum(case when x.rating_id is null then 0 else 1 end), 0) as bigint) as excluded
         from org_closure a join ratings r on r.unit_code = a.descendant
         left join rating_exclusions x on x.rating_id = r.id
         where a.ancestor = $1 and r.created_at >= $2 and r.created_at < $3",
    )
    .bind(root.as_str())
    .bind(from)
    .bind(to)
    .fetch_one(store.pool())
    .await?;
    let mut c = Counts {
        total: r.try_get("total")?,
        satisfied: r.try_get("satisfied")?,
        neutral: r.try_get("neutral")?,
        unsatisfied: r.try_get("unsatisfied")?,
        flagged: r.try_get("flagged")?,
        defaulted: r.try_get("defaulted")?,
        excluded: r.try_get("excluded")?,
        satisfaction_rate: None,
    };
    c.satisfaction_rate = (c.total > 0).then(|| c.satisfied as f64 / c.total as f64);
    Ok(c)
}
