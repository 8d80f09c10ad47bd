//! Users, their scopes, sessions, API tokens and failed-login backoff.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError, Tx, new_id, now_ms, opt_text};
use crate::domain::ids::{NewPassword, OrgCode, Username};
use crate::domain::role::Role;

mod sessions;
mod tokens;

pub use sessions::{
    NewSession, SESSION_IDLE_MS, SESSION_MAX_MS, SessionInfo, close_session, find_session, locked_until, open_session,
    record_failed_login,
};
pub use tokens::{TokenInfo, create_token, find_token, list_tokens, revoke_token};

/// A user as the rest of the product sees them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Preferred language (`zh-CN` or `en`), if set.
    pub locale: Option<String>,
    /// Disabled users cannot log in or use tokens.
    pub disabled: bool,
    /// Roots of the org subtrees this user may see and act in.
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<OrgCode>,
}

/// Hashes a password with Argon2id and a random salt. CPU-heavy: call off the async runtime.
pub fn hash_password(password: &NewPassword) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored hash. CPU-heavy: call off the async runtime.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash of no real password, verified against when the username is unknown so that a
/// missing user takes as long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2fG6DJa6U5iGpvdEMFvPvbtqRrMJPJ0bHLPtrA7Lz2E"
}

async fn scopes_of(store_or_tx: impl sqlx::Executor<'_, Database = sqlx::Any>, user_id: &str) -> Result<Vec<OrgCode>> {
    let rows = sqlx::query("select org_code from user_scopes where user_id = $1 order by org_code")
        .bind(user_id)
        .fetch_all(store_or_tx)
        .await?;
    rows.iter()
        .map(|r| {
            OrgCode::parse(&r.try_get::<String, _>(0)?)
                .map_err(|e| crate::store::undecodable("user_scopes.org_code", e.0))
        })
        .collect()
}

fn user_from_row(r: &AnyRow, scopes: Vec<OrgCode>) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| crate::store::undecodable("users.role", format!("{role:?}")))?,
        locale: opt_text(r, "locale")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        scopes,
    })
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.locale, u.disabled";

/// A user and their password hash, by username.
pub async fn by_username(store: &Store, username: &str) -> Result<Option<(User, String)>> {
    let sql = format!("select {USER_COLUMNS}, u.password_hash from users u where u.username = $1");
    let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(store.pool()).await? else {
        return Ok(None);
    };
    let id: String = r.try_get("id")?;
    let scopes = scopes_of(store.pool(), &id).await?;
    Ok(Some((user_from_row(&r, scopes)?, r.try_get("password_hash")?)))
}

/// A user by id.
pub async fn by_id(store: &Store, id: &str) -> Result<Option<User>> {
    let sql = format!("select {USER_COLUMNS} from users u where u.id = $1");
    let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await? else {
        return Ok(None);
    };
    let scopes = scopes_of(store.pool(), id).await?;
    Ok(Some(user_from_row(&r, scopes)?))
}

/// Every user, by username.
pub async fn list(store: &Store) -> Result<Vec<User>> {
    let sql = format!("select {USER_COLUMNS} from users u order by u.username");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get("id")?;
        out.push(user_from_row(&r, scopes_of(store.pool(), &id).await?)?);
    }
    Ok(out)
}

/// What is needed to create a user; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// Name shown to people.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Subtree roots; each must exist.
    pub scopes: Vec<OrgCode>,
    /// Argon2 hash.
    pub password_hash: String,
    /// Address for email notifications.
    pub email: Option<String>,
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The username is taken.
    #[error("username {0} is already taken")]
    Taken(String),
    /// A scope is not in the org tree.
    #[error("scope {0} is not in the org tree")]
    UnknownScope(String),
    /// No scope was given.
    #[error("a user needs at least one scope")]
    NoScope,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a user with their scopes inside `tx`, audited.
pub async fn create(tx: &mut Tx, new: &NewUser, actor: &Actor) -> Result<User, CreateUserError> {
    if new.scopes.is_empty() {
        return Err(CreateUserError::NoScope);
    }
    let taken: Option<String> = sqlx::query_scalar("select id from users where username = $1")
        .bind(new.username.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::from)?;
    if taken.is_some() {
        return Err(CreateUserError::Taken(new.username.to_string()));
    }
    for scope in &new.scopes {
        let found: Option<String> = sqlx::query_scalar("select code from org_nodes where code = $1")
            .bind(scope.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(StoreError::from)?;
        if found.is_none() {
            return Err(CreateUserError::UnknownScope(scope.to_string()));
        }
    }
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "insert into users (id, username, display_name, role, password_hash, locale, disabled, created_at, password_changed_at, email)
         values ($1, $2, $3, $4, $5, null, 0, $6, $6, $7)",
    )
    .bind(&id)
    .bind(new.username.as_str())
    .bind(&new.display_name)
    .bind(new.role.as_str())
    .bind(&new.password_hash)
    .bind(now)
    .bind(&new.email)
    .execute(&mut **tx)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Duplicate => CreateUserError::Taken(new.username.to_string()),
        other => CreateUserError::Store(other),
    })?;
    let mut scopes = new.scopes.clone();
    scopes.sort();
    scopes.dedup();
    for scope in &scopes {
        sqlx::query("insert into user_scopes (user_id, org_code) values ($1, $2)")
            .bind(&id)
            .bind(scope.as_str())
            .execute(&mut **tx)
            .await
            .map_err(StoreError::from)?;
    }
    audit::append(
        tx,
        actor,
        "user.create",
        &format!("user:{}", new.username),
        &serde_json::json!({
            "after": {"role": new.role, "display_name": new.display_name, "scopes": scopes}
        }),
    )
    .await?;
    Ok(User {
        id,
        username: new.username.to_string(),
        display_name: new.display_name.clone(),
        role: new.role,
        locale: None,
        disabled: false,
        scopes,
    })
}

/// What a password change ended.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct PasswordChanged {
    /// Sessions ended (every browser logged in as the user, the one that changed it included).
    pub sessions_ended: u64,
    /// API tokens revoked: a token made under the old password is as good as the password.
    pub tokens_revoked: u64,
}

/// Replaces a user's password hash, ends all their sessions and revokes their API tokens,
/// audited.
pub async fn set_password(tx: &mut Tx, user: &User, password_hash: &str, actor: &Actor) -> Result<PasswordChanged> {
    let now = now_ms();
    sqlx::query("update users set password_hash = $2, password_changed_at = $3 where id = $1")
        .bind(&user.id)
        .bind(password_hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let sessions = sqlx::query("delete from sessions where user_id = $1").bind(&user.id).execute(&mut **tx).await?;
    let tokens = sqlx::query("update api_tokens set revoked_at = $2 where user_id = $1 and revoked_at is null")
        .bind(&user.id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let changed = PasswordChanged { sessions_ended: sessions.rows_affected(), tokens_revoked: tokens.rows_affected() };
    audit::append(
        tx,
        actor,
        "user.password_change",
        &format!("user:{}", user.username),
        &serde_json::json!({"sessions_ended": changed.sessions_ended, "tokens_revoked": changed.tokens_revoked}),
    )
    .await?;
    Ok(changed)
}

/// Sets a user's preferred language, audited.
pub async fn set_locale(tx: &mut Tx, user: &User, locale: &str, actor: &Actor) -> Result<()> {
    sqlx::query("update users set locale = $2 where id = $1").bind(&user.id).bind(locale).execute(&mut **tx).await?;
    audit::append(
        tx,
        actor,
        "user.locale",
        &format!("user:{}", user.username),
        &serde_json::json!({"before": user.locale, "after": locale}),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let p = NewPassword::parse("correct horse battery").unwrap_or_else(|e| panic!("{e}"));
        let h = hash_password(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("anything", decoy_hash()));
    }
}
