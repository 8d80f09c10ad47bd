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
    let now = now_ms();
    sqlx::query("insert into inspection_teams (code, name, created_at) values ($1, $2, $3)")
        .bind(&team.code)
        .bind(&team.name)
        .bind(now)
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
        station(tx, &team.code, s, now).await?;
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

/// Stations team `team` in subtree `org` from `now` (the current station and its period).
async fn station(tx: &mut Tx, team: &str, org: &OrgCode, now: i64) -> Result<()> {
    sqlx::query("insert into inspection_team_stations (team_code, org_code) values ($1, $2)")
        .bind(team)
        .bind(org.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query("insert into inspection_station_periods (team_code, org_code, started_at) values ($1, $2, $3)")
        .bind(team)
        .bind(org.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A team, its members and where it is stationed now.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Team {
    /// Code, e.g. `XCZ01`.
    pub code: String,
    /// Name.
    pub name: String,
    /// Members in order (the first is the leader, 组长).
    pub members: Vec<Member>,
    /// The subtrees it is stationed in now.
    pub stations: Vec<Station>,
}

/// A team member.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = TeamMember)]
pub struct Member {
    /// Name.
    pub name: String,
    /// Position in the team (组长, 副组长, 组员).
    pub position: String,
    /// Their login, if they have one.
    pub username: Option<String>,
}

/// A station period: a subtree, from when, until when (open while current).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = TeamStation)]
pub struct Station {
    /// The subtree's root.
    pub org_code: String,
    /// Its name.
    pub org_name: String,
    /// Stationed from, ms.
    pub started_at: i64,
    /// Until, ms (none while current).
    pub ended_at: Option<i64>,
}

fn station_from(r: &sqlx::any::AnyRow) -> Result<Station> {
    Ok(Station {
        org_code: r.try_get("org_code")?,
        org_name: r.try_get("org_name")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

/// Every team, by code, with members and current stations.
pub async fn list(store: &Store) -> Result<Vec<Team>> {
    let codes: Vec<(String, String)> =
        sqlx::query_as("select code, name from inspection_teams order by code").fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(codes.len());
    for (code, name) in codes {
        let members = sqlx::query(
            "select m.name, m.position, u.username from inspection_team_members m left join users u on u.id = m.user_id
             where m.team_code = $1 order by m.member_no",
        )
        .bind(&code)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Member {
                name: r.try_get("name")?,
                position: r.try_get("position")?,
                username: crate::store::opt_text(r, "username")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let stations = history(store, &code).await?.into_iter().filter(|s| s.ended_at.is_none()).collect();
        out.push(Team { code, name, members, stations });
    }
    Ok(out)
}

/// A team by code.
pub async fn get(store: &Store, code: &str) -> Result<Option<Team>> {
    Ok(list(store).await?.into_iter().find(|t| t.code == code))
}

/// Where team `code` was and is stationed, newest first.
pub async fn history(store: &Store, code: &str) -> Result<Vec<Station>> {
    let rows = sqlx::query(
        "select p.org_code, n.name as org_name, p.started_at, p.ended_at from inspection_station_periods p
         join org_nodes n on n.code = p.org_code where p.team_code = $1 order by p.started_at desc, p.org_code",
    )
    .bind(code)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(station_from).collect()
}

/// The teams user `user_id` belongs to (codes).
pub async fn of_user(store: &Store, user_id: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select distinct team_code from inspection_team_members where user_id = $1 order by team_code",
    )
    .bind(user_id)
    .fetch_all(store.pool())
    .await?)
}

/// Rotates team `code` to `stations`: the current periods end, new ones start, and the scopes
/// of the members who log in become the new stations (an inspector acts within the team's
/// current stations). Audited. Answers false when there is no such team.
pub async fn rotate(store: &Store, code: &str, stations: &[OrgCode], actor: &Actor) -> Result<bool> {
    let now = now_ms();
    let mut tx = store.write().await?;
    let exists: Option<String> = sqlx::query_scalar("select code from inspection_teams where code = $1")
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(false);
    }
    let before: Vec<String> =
        sqlx::query_scalar("select org_code from inspection_team_stations where team_code = $1 order by org_code")
            .bind(code)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("update inspection_station_periods set ended_at = $2 where team_code = $1 and ended_at is null")
        .bind(code)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from inspection_team_stations where team_code = $1").bind(code).execute(&mut *tx).await?;
    for s in stations {
        station(&mut tx, code, s, now).await?;
    }
    let members: Vec<String> = sqlx::query_scalar(
        "select distinct user_id from inspection_team_members where team_code = $1 and user_id is not null",
    )
    .bind(code)
    .fetch_all(&mut *tx)
    .await?;
    for user in &members {
        sqlx::query("delete from user_scopes where user_id = $1").bind(user).execute(&mut *tx).await?;
        for s in stations {
            sqlx::query("insert into user_scopes (user_id, org_code) values ($1, $2)")
                .bind(user)
                .bind(s.as_str())
                .execute(&mut *tx)
                .await?;
        }
    }
    let after: Vec<&str> = stations.iter().map(OrgCode::as_str).collect();
    audit::append(
        &mut tx,
        actor,
        "team.rotate",
        &format!("team:{code}"),
        &serde_json::json!({"before": before, "after": after, "members_rescoped": members.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
