//! Colours and the escalation ladder, run by the minute's sweep: each open item's colour is
//! worked out from its deadline and its progress against plan (`domain::item::ladder::Rule`);
//! when it changes, the new colour is stored, and a slip entered (blue, yellow, red) is recorded
//! on the item's timeline. The ladder counts the slips of the lead unit over all its items
//! (Guangyuan's two yellows, Longchang's three reds in a row are counted per unit), and each
//! rung climbed is a numbered, printable document (督办函, 约谈, 移送) on the item's timeline
//! and a notice to whoever acts on it. Nobody sets a colour by hand.

use sqlx::Row;

use super::apply::{TABLES, tell};
use crate::domain::item::ladder::{Colour, Rule, Rung, Standing, planned_with};
use crate::domain::role::Role;
use crate::store::{Result, Store, Tx, new_id};

/// An open item as the sweep reads it.
#[derive(Debug, Clone)]
pub struct Open {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Number.
    pub number: String,
    /// Lead unit.
    pub unit: String,
    /// Its name.
    pub unit_name: String,
    /// Supervising office.
    pub office: String,
    /// State.
    pub state: String,
    /// Responsible person.
    pub person: String,
    /// Progress.
    pub progress: i64,
    /// Assigned.
    pub started_at: i64,
    /// Deadline.
    pub deadline_at: i64,
    /// Colour in force.
    pub colour: String,
}

/// The items whose move is the unit's (assigned, in progress), oldest first: a reported item
/// waits for its verifier, and its unit is not escalated for that.
async fn open_items(store: &Store) -> Result<Vec<Open>> {
    let rows = sqlx::query(
        "select i.id, i.title, coalesce(i.number, '') as number, i.unit_code, u.name as unit_name, i.office_code,
                i.state, i.responsible_person, i.progress, i.started_at, i.deadline_at, i.colour
         from items i join org_nodes u on u.code = i.unit_code where i.state in ('assigned', 'in_progress')
         order by i.started_at, i.id",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Open {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                number: r.try_get("number")?,
                unit: r.try_get("unit_code")?,
                unit_name: r.try_get("unit_name")?,
                office: r.try_get("office_code")?,
                state: r.try_get("state")?,
                person: r.try_get("responsible_person")?,
                progress: r.try_get("progress")?,
                started_at: r.try_get("started_at")?,
                deadline_at: r.try_get("deadline_at")?,
                colour: r.try_get("colour")?,
            })
        })
        .collect()
}

/// The colour `item` should have at `now` under `rule`, against its plan (its milestones).
pub fn colour_of(item: &Open, milestones: &[(i64, u8)], rule: &Rule, now: i64) -> Colour {
    let planned = planned_with(item.started_at, item.deadline_at, milestones, now);
    let actual = u8::try_from(item.progress.clamp(0, 100)).unwrap_or(0);
    rule.colour(Standing { now, deadline: item.deadline_at, planned, actual })
}

/// One pass: every open item whose colour changed gets it, with its slip and rungs. Returns
/// how many changed.
pub async fn sweep(store: &Store, rule: &Rule, now: i64) -> Result<usize> {
    let mut changed = 0;
    let plans = super::plans_of(store).await?;
    for item in open_items(store).await? {
        let colour = colour_of(&item, plans.get(&item.id).map_or(&[][..], Vec::as_slice), rule, now);
        if colour.as_str() != item.colour && enter(store, &item, colour, rule, now).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// The slips the lead unit `unit` entered before, oldest first (over all its items).
async fn slips_of(tx: &mut Tx, unit: &str) -> Result<Vec<Colour>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "select e.note from item_events e join items i on i.id = e.item_id
         where i.unit_code = $1 and e.action = 'colour' order by e.created_at, e.id",
    )
    .bind(unit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().filter_map(|c| Colour::parse(c)).collect())
}

/// Moves `item` to `colour` at `now` (if nobody did first): stores it and, for a slip, records
/// it and climbs the rungs it reaches. Answers whether it moved.
pub async fn enter(store: &Store, item: &Open, colour: Colour, rule: &Rule, now: i64) -> Result<bool> {
    let mut tx = store.write().await?;
    let moved = sqlx::query(
        "update items set colour = $2, colours = colours || $3
         where id = $1 and colour = $4 and state in ('assigned', 'in_progress')",
    )
    .bind(&item.id)
    .bind(colour.as_str())
    .bind(format!("{},", colour.as_str()))
    .bind(&item.colour)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Ok(false);
    }
    if colour != Colour::Green {
        let before = slips_of(&mut tx, &item.unit).await?;
        let rungs = rule.rungs(&before, colour);
        let event = event(&mut tx, item, colour, &rungs, now).await?;
        for rung in &rungs {
            let body = serde_json::json!({
                "title": item.title, "number": item.number, "unit": item.unit_name, "colour": colour.as_str(),
                "responsible_person": item.person, "deadline_at": item.deadline_at, "slips_before": before.len(),
            });
            crate::store::workflow::issue_document(
                &mut tx,
                &TABLES,
                &item.id,
                Some(&event),
                *rung,
                &item.office,
                &body,
                now,
            )
            .await?;
            for role in rung.told() {
                tell(&mut tx, &item.id, &item.title, Some(*role), &item.unit, &format!("rung.{}", rung.as_str()))
                    .await?;
            }
        }
        if rungs.is_empty() && colour != Colour::Blue {
            tell(&mut tx, &item.id, &item.title, Some(Role::UnitHead), &item.unit, "colour").await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Records the slip on the item's timeline (the colour in `note`, the rungs in `data`).
async fn event(tx: &mut Tx, item: &Open, colour: Colour, rungs: &[Rung], now: i64) -> Result<String> {
    let seq: i64 =
        sqlx::query_scalar("select cast(coalesce(max(seq), 0) + 1 as bigint) from item_events where item_id = $1")
            .bind(&item.id)
            .fetch_one(&mut **tx)
            .await?;
    let id = new_id();
    let data = serde_json::json!({"rungs": rungs.iter().map(|r| r.as_str()).collect::<Vec<_>>()});
    sqlx::query(
        "insert into item_events (id, item_id, seq, action, from_state, to_state, actor, actor_role, note, data, created_at)
         values ($1, $2, $3, 'colour', $4, $4, 'system', 'system', $5, $6, $7)",
    )
    .bind(&id)
    .bind(&item.id)
    .bind(seq)
    .bind(&item.state)
    .bind(colour.as_str())
    .bind(data.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}
