//! Sessions (a cookie's secret, only its hash stored) and the backoff after failed logins.

use sqlx::Row;

use super::{User, by_id};
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, Tx, new_secret, now_ms, secret_hash};

/// How long a session lasts without use.
pub const SESSION_IDLE_MS: i64 = 12 * 60 * 60 * 1000;
/// How long a session lasts at most.
pub const SESSION_MAX_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Failed logins allowed before backoff starts.
pub const FREE_FAILURES: i64 = 5;

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
