//! Users, their scopes, sessions, API tokens and failed-login backoff.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError, Tx, new_id, new_secret, now_ms, opt_text, secret_hash};
use crate::domain::ids::{NewPassword, OrgCode, Username};
use crate::domain::role::Role;

/// How long a session lasts without use.
pub const SESSION_IDLE_MS: i64 = 12 * 60 * 60 * 1000;
/// How long a session lasts at most.
pub const SESSION_MAX_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Failed logins allowed before backoff starts.
pub const FREE_FAILURES: i64 = 5;

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
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.0.into())))
        })
        .collect()
}

fn user_from_row(r: &AnyRow, scopes: Vec<OrgCode>) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Database(sqlx::Error::Decode(format!("unknown role {role:?}").into())))?,
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

/// Replaces a user's password hash, ends all their sessions, audited.
pub async fn set_password(tx: &mut Tx, user: &User, password_hash: &str, actor: &Actor) -> Result<()> {
    sqlx::query("update users set password_hash = $2, password_changed_at = $3 where id = $1")
        .bind(&user.id)
        .bind(password_hash)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    let ended = sqlx::query("delete from sessions where user_id = $1").bind(&user.id).execute(&mut **tx).await?;
    audit::append(
        tx,
        actor,
        "user.password_change",
        &format!("user:{}", user.username),
        &serde_json::json!({"sessions_ended": ended.rows_affected()}),
    )
    .await?;
    Ok(())
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

/// A logged-in session: the secret goes to the browser, only its hash is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie value.
    pub token: String,
    /// The session's CSRF token, for forms and the `X-CSRF-Token` header.
    pub csrf: String,
}

/// Opens a session for `user` inside `tx`, audited as a login.
pub async fn open_session(tx: &mut Tx, user: &User, actor: &Actor) -> Result<NewSession> {
    let token = new_secret(32);
    let csrf = new_secret(24);
    let now = now_ms();
    sqlx::query(
        "insert into sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, client_addr)
         values ($1, $2, $3, $4, $4, $5, $6)",
    )
    .bind(secret_hash(&token))
    .bind(&user.id)
    .bind(&csrf)
    .bind(now)
    .bind(now + SESSION_IDLE_MS)
    .bind(&actor.client_addr)
    .execute(&mut **tx)
    .await?;
    sqlx::query("delete from login_throttle where username = $1").bind(&user.username).execute(&mut **tx).await?;
    audit::append(tx, actor, "session.login", &format!("user:{}", user.username), &serde_json::json!({})).await?;
    Ok(NewSession { token, csrf })
}

/// A live session found by its cookie.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The user.
    pub user: User,
    /// Hash of the cookie value (the session's key).
    pub id_hash: String,
    /// The session's CSRF token.
    pub csrf: String,
}

/// The live session behind a cookie value, if any. Extends an idle session at most every
/// minute, never past its maximum age.
pub async fn find_session(store: &Store, token: &str) -> Result<Option<SessionInfo>> {
    let id_hash = secret_hash(token);
    let now = now_ms();
    let Some(r) = sqlx::query(
        "select user_id, csrf_token, created_at, last_seen_at from sessions where id_hash = $1 and expires_at > $2",
    )
    .bind(&id_hash)
    .bind(now)
    .fetch_optional(store.pool())
    .await?
    else {
        return Ok(None);
    };
    let user_id: String = r.try_get("user_id")?;
    let Some(user) = by_id(store, &user_id).await?.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    let last_seen: i64 = r.try_get("last_seen_at")?;
    if now - last_seen > 60_000 {
        let created: i64 = r.try_get("created_at")?;
        sqlx::query("update sessions set last_seen_at = $2, expires_at = $3 where id_hash = $1")
            .bind(&id_hash)
            .bind(now)
            .bind((now + SESSION_IDLE_MS).min(created + SESSION_MAX_MS))
            .execute(store.pool())
            .await?;
    }
    Ok(Some(SessionInfo { user, id_hash, csrf: r.try_get("csrf_token")? }))
}

/// Ends a session, audited as a logout.
pub async fn close_session(tx: &mut Tx, session: &SessionInfo, actor: &Actor) -> Result<()> {
    sqlx::query("delete from sessions where id_hash = $1").bind(&session.id_hash).execute(&mut **tx).await?;
    audit::append(tx, actor, "session.logout", &format!("user:{}", session.user.username), &serde_json::json!({}))
        .await?;
    Ok(())
}

/// When a locked-out username may try again (ms), if it is locked now.
pub async fn locked_until(store: &Store, username: &str) -> Result<Option<i64>> {
    let until: Option<i64> = sqlx::query_scalar("select locked_until from login_throttle where username = $1")
        .bind(username)
        .fetch_optional(store.pool())
        .await?;
    Ok(until.filter(|t| *t > now_ms()))
}

/// The lock after `failures` failed logins in a row: none for the first five, then 30 s,
/// doubling with each further failure, at most one hour.
pub fn backoff_ms(failures: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(7) as u32;
    (30_000i64 << doublings).min(60 * 60 * 1000)
}

/// Records a failed login (audited); returns when the username may try again, if locked.
pub async fn record_failed_login(tx: &mut Tx, username: &str, actor: &Actor) -> Result<Option<i64>> {
    let now = now_ms();
    let failures: i64 = sqlx::query_scalar("select failures from login_throttle where username = $1")
        .bind(username)
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or(0)
        + 1;
    let lock = backoff_ms(failures);
    let until = if lock > 0 { now + lock } else { 0 };
    sqlx::query("delete from login_throttle where username = $1").bind(username).execute(&mut **tx).await?;
    sqlx::query(
        "insert into login_throttle (username, failures, last_failure_at, locked_until) values ($1, $2, $3, $4)",
    )
    .bind(username)
    .bind(failures)
    .bind(now)
    .bind(until)
    .execute(&mut **tx)
    .await?;
    audit::append(
        tx,
        actor,
        "session.login_failed",
        &format!("user:{username}"),
        &serde_json::json!({"failures": failures, "locked_ms": lock}),
    )
    .await?;
    Ok((until > 0).then_some(until))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_after_five_failures_and_is_capped() {
        assert_eq!(backoff_ms(4), 0);
        assert_eq!(backoff_ms(5), 30_000);
        assert_eq!(backoff_ms(6), 60_000);
        assert_eq!(backoff_ms(50), 60 * 60 * 1000);
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let p = NewPassword::parse("correct horse battery").unwrap_or_else(|e| panic!("{e}"));
        let h = hash_password(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("anything", decoy_hash()));
    }
}
