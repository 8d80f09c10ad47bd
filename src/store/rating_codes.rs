//! Rating codes' SQL: signing keys (rotated without invalidating printed posters), one live
//! code per unit or window, revocation and reissue, and what a code or invitation points at.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, Actor};
use super::{Bind, Result, Store, Tx, insert_batched, now_ms, opt_text};
use crate::domain::ids::OrgCode;
use crate::domain::rating::{self, SigningKey, TokenKind};

/// Reads every signing key, oldest first.
pub async fn load_keys(store: &Store) -> Result<Vec<SigningKey>> {
    let rows = sqlx::query("select id, secret from signing_keys order by id").fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            let secret: String = r.try_get("secret")?;
            let bytes: [u8; 32] = hex::decode(secret)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| crate::store::undecodable("signing_keys.secret", "not 32 bytes of hex"))?;
            Ok(SigningKey { id: id as u8, secret: bytes })
        })
        .collect()
}

/// Makes sure a signing key exists; returns all keys.
pub async fn ensure_key(store: &Store) -> Result<Vec<SigningKey>> {
    let keys = load_keys(store).await?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    let mut tx = store.write().await?;
    let n: i64 = sqlx::query_scalar("select cast(count(*) as bigint) from signing_keys").fetch_one(&mut *tx).await?;
    if n == 0 {
        insert_key(&mut tx, 1, &Actor::system()).await?;
    }
    tx.commit().await?;
    load_keys(store).await
}

async fn insert_key(tx: &mut Tx, id: i64, actor: &Actor) -> Result<()> {
    let secret: [u8; 32] = rand::random();
    sqlx::query("insert into signing_keys (id, secret, created_at) values ($1, $2, $3)")
        .bind(id)
        .bind(hex::encode(secret))
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    audit::append(tx, actor, "signing_key.create", &format!("signing_key:{id}"), &serde_json::json!({})).await?;
    Ok(())
}

/// Adds a new signing key used for every code issued from now on; old codes stay valid.
/// Returns the new key's number, or `None` when all 255 are used.
pub async fn rotate_key(store: &Store, actor: &Actor) -> Result<Option<i64>> {
    let mut tx = store.write().await?;
    let max: Option<i64> = sqlx::query_scalar("select max(id) from signing_keys").fetch_one(&mut *tx).await?;
    let next = max.unwrap_or(0) + 1;
    if next > 255 {
        return Ok(None);
    }
    insert_key(&mut tx, next, actor).await?;
    tx.commit().await?;
    Ok(Some(next))
}

fn random_id() -> [u8; 8] {
    rand::random()
}

/// What a rating code or invitation points at, with names for the page.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Target {
    /// The code's or invitation's id.
    pub id: String,
    /// The node rated (unit or window).
    pub org_code: String,
    /// Its name.
    pub org_name: String,
    /// The unit it belongs to.
    pub unit_code: String,
    /// The unit's name.
    pub unit_name: String,
    /// The staff member rated, if the code is personal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_no: Option<String>,
    /// Staff name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_name: Option<String>,
    /// Revoked (codes) or already used (invitations).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    /// Invitations only: expired.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
}

/// The nearest unit at or above `org_code`.
pub(crate) async fn unit_of(tx: &mut Tx, org_code: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        // `cross join` keeps SQLite walking up from the node (a few closure rows) instead of
        // through every unit by the kind index (as it does without statistics); PostgreSQL
        // plans it as the same inner join.
        "select a.ancestor from org_closure a cross join org_nodes n
         where a.descendant = $1 and n.code = a.ancestor and n.kind = 'unit' order by a.distance limit 1",
    )
    .bind(org_code)
    .fetch_optional(&mut **tx)
    .await?)
}

const TARGET_SELECT: &str = "select c.id, c.org_code, o.name as org_name, u.code as unit_code, u.name as unit_name,
        c.staff_no, s.name as staff_name";

fn target_from(r: &AnyRow, closed: bool, expired: bool) -> Result<Target> {
    Ok(Target {
        id: r.try_get("id")?,
        org_code: r.try_get("org_code")?,
        org_name: r.try_get("org_name")?,
        unit_code: r.try_get("unit_code")?,
        unit_name: r.try_get("unit_name")?,
        staff_no: opt_text(r, "staff_no")?,
        staff_name: opt_text(r, "staff_name")?,
        closed,
        expired,
    })
}

/// The target of a rating code by id.
pub async fn code_target(store: &Store, id: &str) -> Result<Option<Target>> {
    let sql = format!(
        "{TARGET_SELECT}, c.revoked_at from rating_codes c
         join org_nodes o on o.code = c.org_code
         join org_closure a on a.descendant = c.org_code
         cross join org_nodes u
         left join staff s on s.staff_no = c.staff_no
         where c.id = $1 and u.code = a.ancestor and u.kind = 'unit' order by a.distance limit 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.map(|r| {
        let revoked: Option<i64> = r.try_get("revoked_at")?;
        target_from(&r, revoked.is_some(), false)
    })
    .transpose()
}

/// The target of an invitation by id.
pub async fn invitation_target(store: &Store, id: &str) -> Result<Option<Target>> {
    let sql = format!(
        "{TARGET_SELECT}, c.used_at, c.expires_at from invitations c
         join org_nodes o on o.code = c.org_code
         join org_nodes u on u.code = c.unit_code
         left join staff s on s.staff_no = c.staff_no
         where c.id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    row.map(|r| {
        let used: Option<i64> = r.try_get("used_at")?;
        let expires: i64 = r.try_get("expires_at")?;
        target_from(&r, used.is_some(), expires <= now_ms())
    })
    .transpose()
}

/// A live rating code.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CodeView {
    /// Id.
    pub id: String,
    /// The signed token in `/r/{token}`.
    pub token: String,
    /// Unit or window.
    pub org_code: String,
    /// Staff member, for personal codes.
    pub staff_no: Option<String>,
    /// Issued, ms.
    pub created_at: i64,
}

fn code_view(r: &AnyRow) -> Result<CodeView> {
    Ok(CodeView {
        id: r.try_get("id")?,
        token: r.try_get("token")?,
        org_code: r.try_get("org_code")?,
        staff_no: opt_text(r, "staff_no")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The live code of a node (not personal codes).
pub async fn live_code(store: &Store, org_code: &str) -> Result<Option<CodeView>> {
    let row = sqlx::query(
        "select id, token, org_code, staff_no, created_at from rating_codes
         where org_code = $1 and staff_no is null and revoked_at is null",
    )
    .bind(org_code)
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(code_view).transpose()
}

/// The live personal codes of the staff attached to `root` or below it.
pub async fn staff_codes_under(store: &Store, root: &str) -> Result<Vec<CodeView>> {
    let rows = sqlx::query(
        "select c.id, c.token, c.org_code, c.staff_no, c.created_at from org_closure a
         join rating_codes c on c.org_code = a.descendant
         where a.ancestor = $1 and c.staff_no is not null and c.revoked_at is null",
    )
    .bind(root)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(code_view).collect()
}

/// The live personal code of a staff member, issuing one (audited) when there is none.
/// Returns `None` when there is no such staff member.
pub async fn staff_code(store: &Store, key: &SigningKey, staff_no: &str, actor: &Actor) -> Result<Option<CodeView>> {
    let org: Option<String> = sqlx::query_scalar("select org_code from staff where staff_no = $1")
        .bind(staff_no)
        .fetch_optional(store.pool())
        .await?;
    let Some(org) = org else { return Ok(None) };
    let mut tx = store.write().await?;
    let existing = sqlx::query(
        "select id, token, org_code, staff_no, created_at from rating_codes where staff_no = $1 and revoked_at is null",
    )
    .bind(staff_no)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(r) = existing {
        return Ok(Some(code_view(&r)?));
    }
    let raw = random_id();
    let code = CodeView {
        id: hex::encode(raw),
        token: rating::sign(key, TokenKind::Code, raw),
        org_code: org,
        staff_no: Some(staff_no.to_owned()),
        created_at: now_ms(),
    };
    sqlx::query("insert into rating_codes (id, token, org_code, staff_no, created_at) values ($1, $2, $3, $4, $5)")
        .bind(&code.id)
        .bind(&code.token)
        .bind(&code.org_code)
        .bind(staff_no)
        .bind(code.created_at)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        actor,
        "rating_code.issue",
        &format!("staff:{staff_no}"),
        &serde_json::json!({"code": code.id, "key": key.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(code))
}

/// A live code with the names a poster prints.
#[derive(Debug, Clone)]
pub struct PosterRow {
    /// The code.
    pub code: CodeView,
    /// The node's name.
    pub name: String,
    /// unit or window.
    pub kind: String,
    /// The name of the unit at or above the node.
    pub unit_name: String,
}

/// Live codes of every unit and window under `root`, by code: for posters.
pub async fn live_codes_under(store: &Store, root: &OrgCode) -> Result<Vec<PosterRow>> {
    let rows = sqlx::query(
        "select c.id, c.token, c.org_code, c.staff_no, c.created_at, n.name, n.kind,
                (select u.name from org_closure a2 cross join org_nodes u
                  where a2.descendant = n.code and u.code = a2.ancestor and u.kind = 'unit'
                  order by a2.distance limit 1) as unit_name
         from org_closure a
         join org_nodes n on n.code = a.descendant
         join rating_codes c on c.org_code = n.code and c.staff_no is null and c.revoked_at is null
         where a.ancestor = $1 order by n.code",
    )
    .bind(root.as_str())
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PosterRow {
                code: code_view(r)?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                unit_name: opt_text(r, "unit_name")?.unwrap_or_default(),
            })
        })
        .collect()
}

/// Issues a code for every unit and window under `root` that has none; returns how many.
pub async fn issue_missing_codes(store: &Store, key: &SigningKey, root: &OrgCode, actor: &Actor) -> Result<usize> {
    let mut tx = store.write().await?;
    let missing: Vec<String> = sqlx::query_scalar(
        "select n.code from org_closure a join org_nodes n on n.code = a.descendant
         where a.ancestor = $1 and n.kind in ('unit', 'window')
           and not exists (select 1 from rating_codes c where c.org_code = n.code and c.staff_no is null and c.revoked_at is null)
         order by n.code",
    )
    .bind(root.as_str())
    .fetch_all(&mut *tx)
    .await?;
    let now = now_ms();
    let rows: Vec<Vec<Bind>> = missing
        .iter()
        .map(|code| {
            let id = random_id();
            vec![
                Bind::Text(hex::encode(id)),
                Bind::Text(rating::sign(key, TokenKind::Code, id)),
                Bind::Text(code.clone()),
                Bind::Int(now),
            ]
        })
        .collect();
    insert_batched(&mut tx, "insert into rating_codes (id, token, org_code, created_at)", 4, &rows).await?;
    if !missing.is_empty() {
        audit::append(
            &mut tx,
            actor,
            "rating_code.issue",
            &format!("org:{root}"),
            &serde_json::json!({"issued": missing.len(), "key": key.id}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(missing.len())
}

/// Revokes the live code of a node (a lost or defaced poster) and issues a new one.
/// Returns the new code, or `None` when the node has no live code.
pub async fn reissue_code(store: &Store, key: &SigningKey, org_code: &str, actor: &Actor) -> Result<Option<CodeView>> {
    let mut tx = store.write().await?;
    let old: Option<String> = sqlx::query_scalar(
        "select id from rating_codes where org_code = $1 and staff_no is null and revoked_at is null",
    )
    .bind(org_code)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(old) = old else { return Ok(None) };
    let raw = random_id();
    let new = CodeView {
        id: hex::encode(raw),
        token: rating::sign(key, TokenKind::Code, raw),
        org_code: org_code.to_owned(),
        staff_no: None,
        created_at: now_ms(),
    };
    sqlx::query("update rating_codes set revoked_at = $2, replaced_by = $3 where id = $1 and revoked_at is null")
        .bind(&old)
        .bind(new.created_at)
        .bind(&new.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("insert into rating_codes (id, token, org_code, created_at) values ($1, $2, $3, $4)")
        .bind(&new.id)
        .bind(&new.token)
        .bind(org_code)
        .bind(new.created_at)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        actor,
        "rating_code.reissue",
        &format!("org:{org_code}"),
        &serde_json::json!({"revoked": old, "issued": new.id, "key": key.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(new))
}
