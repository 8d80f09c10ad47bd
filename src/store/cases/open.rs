//! Opening cases. One case at a time (by hand, or by the `case.open` job) and the cases of a
//! whole rating batch (inside the rating writer's transaction) go through the same
//! [`insert`]: a few multi-row statements however many cases, so that opening the cases of
//! hundreds of unsatisfied ratings a second costs the writer little.

use std::collections::HashMap;

use sqlx::Row;

use super::Case;
use super::notify::{self, Audience, Notice};
use crate::calendar_data::CalendarHandle;
use crate::domain::case::effects::Document;
use crate::domain::case::{Source, State};
use crate::domain::ids::{CaseId, OrgCode};
use crate::store::audit::{self, Actor};
use crate::store::rollups::Ancestors;
use crate::store::script::Script;
use crate::store::settings_cache::{PolicyKey, SettingsCache, missing, pick};
use crate::store::sla::{self, NewClock};
use crate::store::{Bind, NodeSetting, Result, Store, StoreError, fetch_for_codes, new_id, now_ms, opt_text};

/// A case to open.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// Where it came from.
    pub source: Source,
    /// Category (`*` matches any SLA policy).
    pub category: String,
    /// Priority.
    pub priority: String,
    /// One line.
    pub title: String,
    /// What happened.
    pub description: String,
    /// The responsible unit.
    pub unit_code: String,
    /// The rating behind it.
    pub rating_id: Option<String>,
}

/// The office that supervises `unit`: the nearest configured ancestor's, or the unit's
/// region (the node just below the top), or the top itself.
pub(crate) async fn office_for(conn: &mut sqlx::AnyConnection, unit: &str) -> Result<String> {
    places(conn, &[unit]).await?.0.remove(unit).ok_or(StoreError::Missing("the unit's place"))
}

/// [`office_for`] of many units in one query, with their ancestors (for the rollups).
async fn places(conn: &mut sqlx::AnyConnection, units: &[&str]) -> Result<(HashMap<String, String>, Ancestors)> {
    let rows = fetch_for_codes(
        conn,
        "select a.descendant, a.ancestor, n.depth, o.office_code from org_closure a
         join org_nodes n on n.code = a.ancestor left join case_offices o on o.org_code = a.ancestor
         where a.descendant in ({codes})",
        units,
    )
    .await?;
    // Per unit: the nearest configured ancestor's office by depth, and the fallback node by rank.
    type Ranked = Option<(i64, String)>;
    let mut best: HashMap<String, (Ranked, Ranked)> = HashMap::new();
    let mut up = Ancestors::new();
    for r in rows {
        let unit: String = r.try_get("descendant")?;
        let ancestor: String = r.try_get("ancestor")?;
        let depth: i64 = r.try_get("depth")?;
        up.entry(unit.clone()).or_default().push(ancestor.clone());
        let entry = best.entry(unit).or_default();
        if let Some(office) = opt_text(&r, "office_code")?
            && entry.0.as_ref().is_none_or(|(d, _)| depth > *d)
        {
            entry.0 = Some((depth, office));
        }
        // The region (depth 1) comes first, then the shallowest node.
        let rank = if depth == 1 { -1 } else { depth };
        if entry.1.as_ref().is_none_or(|(d, _)| rank < *d) {
            entry.1 = Some((rank, ancestor));
        }
    }
    let offices = best
        .into_iter()
        .filter_map(|(unit, (configured, fallback))| Some((unit, configured.or(fallback)?.1)))
        .collect();
    Ok((offices, up))
}

/// Sets the office that supervises the cases of `org_code`'s subtree, audited.
pub async fn set_office(store: &Store, org_code: &OrgCode, office: &OrgCode, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    let before: Option<String> = sqlx::query_scalar("select office_code from case_offices where org_code = $1")
        .bind(org_code.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let setting = NodeSetting {
        table: "case_offices",
        org_code: org_code.as_str(),
        columns: &["office_code"],
        values: vec![Bind::Text(office.as_str().to_owned())],
    };
    let change = serde_json::json!({"before": before, "after": office});
    crate::store::replace_node_setting(tx, setting, actor, "case.office", &change).await
}

/// A case [`insert`] wrote.
#[derive(Debug, Clone)]
pub(crate) struct Opened {
    /// Its id.
    pub id: String,
    /// The office it was routed to.
    pub office: String,
    /// Its opening event and the body of its feedback sheet, for sources that issue one.
    pub feedback: Option<(String, serde_json::Value)>,
}

/// What opening cases reads before it writes: for the cases' units, their supervising offices
/// and ancestors (for the rollups), calendars and business hours; the SLA policies that match;
/// and who the opening notices reach.
#[derive(Debug)]
pub(crate) struct Reads {
    offices: HashMap<String, String>,
    up: Ancestors,
    calendars: HashMap<String, std::sync::Arc<crate::domain::calendar::Calendar>>,
    hours: HashMap<String, crate::domain::calendar::BusinessHours>,
    policies: HashMap<PolicyKey, sla::Policy>,
    audience: Audience,
}

fn units_of(news: &[NewCase]) -> Vec<&str> {
    let mut units: Vec<&str> = news.iter().map(|n| n.unit_code.as_str()).collect();
    units.sort_unstable();
    units.dedup();
    units
}

fn policy_key(n: &NewCase) -> PolicyKey {
    (n.source.as_str().to_owned(), n.category.clone(), n.priority.clone())
}

impl Reads {
    /// Reads them on `conn`, one query after another (inside the caller's transaction).
    pub(crate) async fn on(
        conn: &mut sqlx::AnyConnection,
        calendar: &CalendarHandle,
        news: &[NewCase],
    ) -> Result<Reads> {
        Reads::through(conn, calendar, news, &mut SettingsCache::default()).await
    }

    /// [`Reads::on`], taking from `cache` what earlier batches read and reading the rest into it
    /// (the caller has checked the cache in this transaction: [`SettingsCache::check`]).
    pub(crate) async fn through(
        conn: &mut sqlx::AnyConnection,
        calendar: &CalendarHandle,
        news: &[NewCase],
        cache: &mut SettingsCache,
    ) -> Result<Reads> {
        let units = units_of(news);
        let unplaced = missing(&units, &cache.offices);
        if !unplaced.is_empty() {
            let (offices, up) = places(conn, &unplaced).await?;
            cache.offices.extend(offices);
            cache.ancestors.extend(up);
        }
        let uncalendared = missing(&units, &cache.calendars);
        if !uncalendared.is_empty() {
            cache.calendars.extend(calendar.for_nodes(conn, &uncalendared).await?);
        }
        let unhoured = missing(&units, &cache.hours);
        if !unhoured.is_empty() {
            let mut found = crate::store::calendar::hours_for_many(conn, &unhoured).await?;
            cache.hours.extend(unhoured.iter().map(|u| ((*u).to_owned(), found.remove(*u))));
        }
        let mut policies = HashMap::new();
        for n in news {
            let key = policy_key(n);
            if !cache.policies.contains_key(&key) {
                let policy = sla::policy_on(conn, &key.0, &key.1, &key.2).await?;
                cache.policies.insert(key.clone(), policy);
            }
            if let Some(policy) = cache.policies.get(&key) {
                policies.insert(key, policy.clone());
            }
        }
        let hours = units.iter().filter_map(|u| Some(((*u).to_owned(), (*cache.hours.get(*u)?)?))).collect();
        let mut reads = Reads {
            offices: pick(&units, &cache.offices),
            up: pick(&units, &cache.ancestors),
            calendars: pick(&units, &cache.calendars),
            hours,
            policies,
            audience: Audience::default(),
        };
        let opening = reads.opening(news);
        reads.audience = Audience::read_through(conn, &notices(news, &opening), cache).await?;
        Ok(reads)
    }

    /// The ids, offices and opening notices the cases will have (ids are made here).
    fn opening(&self, news: &[NewCase]) -> Vec<(String, String)> {
        news.iter().map(|n| (new_id(), self.offices.get(&n.unit_code).cloned().unwrap_or_default())).collect()
    }
}

/// The opening notices of `news`, given each case's (id, office).
fn notices<'a>(news: &'a [NewCase], opening: &'a [(String, String)]) -> Vec<Notice<'a>> {
    news.iter()
        .zip(opening)
        .map(|(n, (id, office))| Notice {
            case_id: id,
            title: &n.title,
            tell: State::Open.awaits(),
            state: State::Open,
            unit: &n.unit_code,
            office,
            action: "open",
        })
        .collect()
}

/// Writes new cases into `script`, with what [`Reads`] read: routes each to its supervising
/// office, starts the whole case's clock and the acknowledgement clock from the matching SLA
/// policy (on its region's calendar and business hours), writes the first timeline entries,
/// feedback sheets for inspection and enterprise sources, the rollup counts and the notices to
/// the units. `at[i]` is when `news[i]` came in (its clocks start then). Returns the cases and
/// their audit entries, which the caller appends last in its transaction (every transaction
/// takes the audit chain's head last, so they cannot deadlock over it). A rating that has a
/// case already fails the script with [`StoreError::Duplicate`].
pub(crate) fn insert(
    script: &mut Script,
    calendar: &CalendarHandle,
    news: &[NewCase],
    reads: &Reads,
    actor: &Actor,
    at: &[i64],
) -> Result<(Vec<Opened>, Vec<audit::Entry>)> {
    if at.len() != news.len() {
        return Err(StoreError::Misuse("a time for each new case"));
    }
    if news.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let Reads { offices, up, calendars, hours, policies, audience } = reads;
    let ids: Vec<String> = news.iter().map(|_| new_id()).collect();
    let subjects: Vec<(String, String)> =
        ids.iter().map(|id| (format!("case:{id}:resolution"), format!("case:{id}:acknowledge"))).collect();
    let default_hours = crate::domain::calendar::BusinessHours::default();
    let base = calendar.get();
    let mut clocks = Vec::with_capacity(news.len() * 2);
    for ((n, (whole, ack)), now) in news.iter().zip(&subjects).zip(at.iter().copied()) {
        let policy = policies.get(&policy_key(n)).ok_or(StoreError::Missing("an SLA policy for the case"))?;
        let cal = calendars.get(&n.unit_code).unwrap_or(&base);
        let hours = hours.get(&n.unit_code).unwrap_or(&default_hours);
        let clock = |subject, clock| NewClock {
            subject,
            unit_code: Some(n.unit_code.as_str()),
            handler: None,
            clock,
            started_at: now,
        };
        clocks.push((clock(whole.as_str(), policy.resolution), cal.as_ref(), hours));
        clocks.push((clock(ack.as_str(), policy.acknowledge), cal.as_ref(), hours));
    }
    let started = sla::start_into(script, &crate::domain::sla::Thresholds::default(), &clocks)?;
    let mut opened = Vec::with_capacity(news.len());
    let mut cases = Vec::with_capacity(news.len());
    let mut events = Vec::with_capacity(news.len());
    let mut entries = Vec::with_capacity(news.len());
    for (i, ((n, id), now)) in news.iter().zip(&ids).zip(at.iter().copied()).enumerate() {
        let office = offices.get(&n.unit_code).cloned().ok_or(StoreError::Missing("the unit's case office"))?;
        let (clock_id, due) = &started[2 * i];
        let (step_clock, step_due) = &started[2 * i + 1];
        cases.push(vec![
            Bind::Text(id.clone()),
            Bind::Text(n.source.as_str().to_owned()),
            Bind::Text(n.category.clone()),
            Bind::Text(n.priority.clone()),
            Bind::Text(n.title.clone()),
            Bind::Text(n.description.clone()),
            Bind::Text(n.unit_code.clone()),
            Bind::Text(office.clone()),
            n.rating_id.clone().map_or(Bind::Null, Bind::Text),
            Bind::Text(State::Open.as_str().to_owned()),
            Bind::Int(1),
            Bind::Int(0),
            Bind::Text(actor.name.clone()),
            Bind::Int(now),
            Bind::Int(now),
            Bind::Int(*due),
            Bind::Text(clock_id.clone()),
            Bind::Text("acknowledge".into()),
            Bind::Int(*step_due),
            Bind::Text(step_clock.clone()),
        ]);
        let event_id = new_id();
        events.push(vec![
            Bind::Text(event_id.clone()),
            Bind::Text(id.clone()),
            Bind::Int(1),
            Bind::Text("open".into()),
            Bind::Text("new".into()),
            Bind::Text(State::Open.as_str().to_owned()),
            Bind::Text(actor.name.clone()),
            Bind::Text("system".into()),
            Bind::Text(n.description.clone()),
            Bind::Text(serde_json::json!({"source": n.source, "office": office}).to_string()),
            Bind::Int(now),
        ]);
        entries.push((
            "case.open".to_owned(),
            format!("case:{id}"),
            serde_json::json!({"source": n.source, "unit": n.unit_code, "office": office, "rating": n.rating_id}),
        ));
        let feedback = n
            .source
            .issues_feedback_sheet()
            .then(|| (event_id.clone(), serde_json::json!({"title": n.title, "description": n.description})));
        opened.push(Opened { id: id.clone(), office, feedback });
    }
    script.insert(
        "insert into cases (id, source, category, priority, title, description, unit_code, office_code, rating_id, state,
             version, reopened, created_by, created_at, updated_at, due_at, clock_id, step, step_due_at, step_clock_id)",
        20,
        &cases,
        "",
    );
    script.insert(
        "insert into case_events (id, case_id, seq, action, from_state, to_state, actor, actor_role, note, data, created_at)",
        11,
        &events,
        "",
    );
    let opened_count: &[(&str, i64)] = &[("opened", 1)];
    let counts: Vec<crate::store::rollups::CaseChange> =
        news.iter().zip(at).map(|(n, now)| (n.unit_code.as_str(), *now, opened_count)).collect();
    crate::store::rollups::add_cases_to(script, &counts, up);
    let opening: Vec<(String, String)> = opened.iter().map(|o| (o.id.clone(), o.office.clone())).collect();
    notify::notify_to(script, &notices(news, &opening), audience);
    Ok((opened, entries))
}

/// Issues the numbered feedback sheets of cases [`insert`] opened, once its script has run.
pub(crate) async fn issue_feedback(conn: &mut sqlx::AnyConnection, opened: &[Opened], now: i64) -> Result<()> {
    for o in opened {
        if let Some((event, body)) = &o.feedback {
            crate::store::workflow::issue_document(
                conn,
                &super::apply::TABLES,
                &o.id,
                Some(event),
                Document::FeedbackSheet,
                &o.office,
                body,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// Opens a case, all in one transaction (see `insert` here). For a rating that has a case
/// already, returns `None`.
pub async fn open(store: &Store, calendar: &CalendarHandle, new: &NewCase, actor: &Actor) -> Result<Option<Case>> {
    let mut tx = store.write().await?;
    if let Some(rating) = &new.rating_id {
        let exists: Option<String> = sqlx::query_scalar("select id from cases where rating_id = $1")
            .bind(rating)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Ok(None);
        }
    }
    let now = now_ms();
    let mut script = Script::new();
    let news = std::slice::from_ref(new);
    let reads = Reads::on(&mut tx, calendar, news).await?;
    let (opened, entries) = insert(&mut script, calendar, news, &reads, actor, &[now])?;
    match script.run(&mut tx).await {
        Ok(()) => {}
        // Another runner opened this rating's case first.
        Err(StoreError::Duplicate) if new.rating_id.is_some() => return Ok(None),
        Err(e) => return Err(e),
    }
    issue_feedback(&mut tx, &opened, now).await?;
    audit::append_many(&mut tx, actor, &entries).await?;
    tx.commit().await?;
    match opened.first() {
        Some(o) => super::get(store, &CaseId::stored(o.id.clone())).await,
        None => Ok(None),
    }
}
