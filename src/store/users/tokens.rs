//! API bearer tokens: issued once, stored as a hash, listed without the secret, revoked.

use sqlx::Row;

use super::{User, by_id};
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, Tx, new_id, new_secret, now_ms, secret_hash};

/// An API token as listed (never the secret).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// Stable id, used to revoke.
    pub id: String,
    /// Owner's username.
    pub username: String,
    /// Label.
    pub name: String,
    /// Created, ms.
    pub created_at: i64,
    /// Last used, ms.
    pub last_used_at: Option<i64>,
    /// Revoked, ms.
    pub revoked_at: Option<i64>,
}

/// Issues a bearer token for `user`; the secret is returned once and only its hash is kept.
pub async fn create_token(tx: &mut Tx, user: &User, name: &str, actor: &Actor) -> Result<(String, String)> {
    let id = new_id();
    let token = format!("pyt_{}", new_secret(32));
    sqlx::query("insert into api_tokens (id, user_id, name, token_hash, created_at) values ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(&user.id)
        .bind(name)
        .bind(secret_hash(&token))
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    audit::append(
        tx,
        actor,
        "token.create",
        &format!("token:{id}"),
        &serde_json::json!({"user": user.username, "name": name}),
    )
    .await?;
    Ok((id, token))
}

/// The user behind a bearer token, if the token is live and the user enabled.
pub async fn find_token(store: &Store, token: &str) -> Result<Option<User>> {
    let Some(r) =
        sqlx::query("select id, user_id, last_used_at from api_tokens where token_hash = $1 and revoked_at is null")
            .bind(secret_hash(token))
            .fetch_optional(store.pool())
            .await?
    else {
        return Ok(None);
    };
    let now = now_ms();
    let last: Option<i64> = r.try_get("last_used_at")?;
    if last.is_none_or(|t| now - t > 60_000) {
        let id: String = r.try_get("id")?;
        sqlx::query("update api_tokens set last_used_at = $2 where id = $1")
            .bind(id)
            .bind(now)
            .execute(store.pool())
            .await?;
    }
    let user_id: String = r.try_get("user_id")?;
    Ok(by_id(store, &user_id).await?.filter(|u| !u.disabled))
}

/// Revokes a token by id; false when there is no live token with that id.
pub async fn revoke_token(tx: &mut Tx, id: &str, actor: &Actor) -> Result<bool> {
    let done = sqlx::query("update api_tokens set revoked_at = $2 where id = $1 and revoked_at is null")
        .bind(id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    audit::append(tx, actor, "token.revoke", &format!("token:{id}"), &serde_json::json!({})).await?;
    Ok(true)
}

/// Tokens of one user, or of everyone.
pub async fn list_tokens(store: &Store, username: Option<&str>) -> Result<Vec<TokenInfo>> {
    let rows = sqlx::query(
        "select t.id, u.username, t.name, t.created_at, t.last_used_at, t.revoked_at
         from api_tokens t join users u on u.id = t.user_id
         where $1 = '' or u.username = $1 order by t.created_at",
    )
    .bind(username.unwrap_or(""))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                username: r.try_get("username")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}
