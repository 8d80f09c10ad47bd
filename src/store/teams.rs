//! Inspection teams (作风巡查组): members and the subtrees each team is stationed in.

use sqlx::Row;

use super::audit::{self, Actor};
use super::{Result, Store, Tx, now_ms};
use crate::domain::ids::OrgCode;

/// A team to create.
#[derive(Debug, Clone)]
pub struct NewTeam {
    /// Stable code, e.g. `XCZ01`.
    pub code: String,
    /// Name, e.g. 第一作风巡查组.
    pub name: String,
    /// Members: name, position, and the user id of those who log in.
    pub members: Vec<(String, String, Option<String>)>,
    /// Subtrees the team is stationed in.
    pub stations: Vec<OrgCode>,
}

/// Creates a team with its members and stations inside `tx`, audited.
pub async fn create(tx: &mut Tx, team: &NewTeam, actor: &Actor) -> Result<()> {
    sqlx::query("insert into inspection_teams (code, name, created_at) values ($1, $2, $3)")
        .bind(&team.code)
        .bind(&team.name)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    for (i, (name, position, user_id)) in team.members.iter().enumerate() {
        sqlx::query(
            "insert into inspection_team_members (team_code, member_no, name, position, user_id) values ($1, $2, $3, $4, $5)",
        )
        .bind(&team.code)
        .bind(i as i64 + 1)
        .bind(name)
        .bind(position)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    }
    for s in &team.stations {
        sqlx::query("insert into inspection_team_stations (team_code, org_code) values ($1, $2)")
            .bind(&team.code)
            .bind(s.as_str())
            .execute(&mut **tx)
            .await?;
    }
    audit::append(
        tx,
        actor,
        "team.create",
        &format!("team:{}", team.code),
        &serde_json::json!({"name": team.name, "members": team.members.len(), "stations": team.stations}),
    )
    .await?;
    Ok(())
}

/// Number of teams and of members.
pub async fn counts(store: &Store) -> Result<(i64, i64)> {
    let r = sqlx::query(
        "select (select cast(count(*) as bigint) from inspection_teams) as teams,
                (select cast(count(*) as bigint) from inspection_team_members) as members",
    )
    .fetch_one(store.pool())
    .await?;
    Ok((r.try_get("teams")?, r.try_get("members")?))
}
