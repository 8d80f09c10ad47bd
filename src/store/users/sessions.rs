//! Sessions (a cookie's secret, only its hash stored) and the counts of failed logins that
//! throttle them (the rule is [`crate::domain::login`]).

use sqlx::Row;

use super::{User, by_id};
use crate::domain::login;
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, Tx, new_secret, now_ms, secret_hash};

/// How long a session lasts without use.
pub const SESSION_IDLE_MS: i64 = 12 * 60 * 60 * 1000;
/// How long a session lasts at most.
pub const SESSION_MAX_MS: i64 = 7 * 24 * 60 * 60 * 1000;

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
    // The pair's count starts again; the address's stays, or a guesser with one account of their
    // own could clear it between guesses.
    let [pair, _] = login::counters(&user.username, &actor.client_addr);
    sqlx::query("delete from login_failures where throttle_key = $1").bind(&pair.key).execute(&mut **tx).await?;
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

/// When a login of `username` from `client_addr` may be tried again (ms), if either of its
/// counters (the pair, the address; see [`crate::domain::login`]) is locked now.
pub async fn locked_until(store: &Store, username: &str, client_addr: &str) -> Result<Option<i64>> {
    let [pair, addr] = login::counters(username, client_addr);
    let until: Option<i64> = sqlx::query_scalar(
        "select max(locked_until) from login_failures where throttle_key in ($1, $2) and locked_until > $3",
    )
    .bind(&pair.key)
    .bind(&addr.key)
    .bind(now_ms())
    .fetch_one(store.pool())
    .await?;
    Ok(until)
}

/// Records a failed login (audited) on both of its counters, known username or not, so that
/// neither the answer nor the lock tells whether the account exists. Counters idle for longer
/// than [`login::FORGET_AFTER_MS`] are deleted on the way. Returns when the attempt may be made
/// again, if it is locked now.
pub async fn record_failed_login(tx: &mut Tx, username: &str, actor: &Actor) -> Result<Option<i64>> {
    let now = now_ms();
    sqlx::query("delete from login_failures where last_failure_at < $1 and locked_until < $2")
        .bind(now - login::FORGET_AFTER_MS)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let mut until = 0;
    let mut counts = Vec::with_capacity(2);
    for counter in login::counters(username, &actor.client_addr) {
        let previous = sqlx::query("select failures, last_failure_at from login_failures where throttle_key = $1")
            .bind(&counter.key)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get::<i64, _>("failures")?, r.try_get::<i64, _>("last_failure_at")?)))
            .transpose()?;
        let failures = login::next_failures(previous, now);
        let lock = login::lock_ms(failures, counter.free);
        let locked_until = if lock > 0 { now + lock } else { 0 };
        until = until.max(locked_until);
        sqlx::query("delete from login_failures where throttle_key = $1").bind(&counter.key).execute(&mut **tx).await?;
        sqlx::query(
            "insert into login_failures (throttle_key, failures, last_failure_at, locked_until) values ($1, $2, $3, $4)",
        )
        .bind(&counter.key)
        .bind(failures)
        .bind(now)
        .bind(locked_until)
        .execute(&mut **tx)
        .await?;
        counts.push(failures);
    }
    audit::append(
        tx,
        actor,
        "session.login_failed",
        &format!("user:{username}"),
        &serde_json::json!({"failures": counts.first(), "address_failures": counts.get(1), "locked_ms": (until - now).max(0)}),
    )
    .await?;
    Ok((until > 0).then_some(until))
}
