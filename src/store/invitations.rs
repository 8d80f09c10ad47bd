//! One rating per transaction (一事一评): single-use invitations issued by a window's own
//! system, and the sweep that records the region's default level for invitations left unrated.

use sqlx::Row;

use super::audit::{self, Actor};
use super::rating_codes::{self, Target};
use super::ratings::{self, NewRating, Source};
use super::{Result, Store, now_ms, opt_text};
use crate::domain::rating::{self, Outcome, SigningKey, Submission, TokenKind};

/// An issued invitation.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Invitation {
    /// Id.
    pub id: String,
    /// The signed single-use token in `/r/{token}`.
    pub token: String,
    /// Unit or window.
    pub org_code: String,
    /// The unit.
    pub unit_code: String,
    /// Staff member who served.
    pub staff_no: Option<String>,
    /// The window system's reference for the transaction (unique per unit).
    pub transaction_ref: String,
    /// Expires, ms.
    pub expires_at: i64,
    /// Used, ms.
    pub used_at: Option<i64>,
}

/// Why an invitation was not issued.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    /// The node is not a unit or window.
    #[error("{0} is not a unit or a window")]
    NotRateable(String),
    /// The staff member does not work at that unit.
    #[error("staff {0} does not work at {1}")]
    StaffElsewhere(String, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

/// Issues an invitation, or returns the one already issued for the same transaction of the
/// same unit (so a window system may retry safely). The flag says whether it is new.
pub async fn issue(
    store: &Store,
    key: &SigningKey,
    org_code: &str,
    staff_no: Option<&str>,
    transaction_ref: &str,
    expires_at: i64,
    actor: &Actor,
) -> Result<(Invitation, bool), InvitationError> {
    let mut tx = store.write().await?;
    let unit =
        rating_codes::unit_of(&mut tx, org_code).await?.ok_or_else(|| InvitationError::NotRateable(org_code.into()))?;
    if let Some(no) = staff_no {
        let at: Option<String> = sqlx::query_scalar(
            "select s.org_code from staff s join org_closure a on a.descendant = s.org_code where s.staff_no = $1 and a.ancestor = $2",
        )
        .bind(no)
        .bind(&unit)
        .fetch_optional(&mut *tx)
        .await
        .map_err(super::StoreError::from)?;
        if at.is_none() {
            return Err(InvitationError::StaffElsewhere(no.into(), unit));
        }
    }
    let existing = sqlx::query(
        "select id, token, org_code, unit_code, staff_no, transaction_ref, expires_at, used_at from invitations
         where unit_code = $1 and transaction_ref = $2",
    )
    .bind(&unit)
    .bind(transaction_ref)
    .fetch_optional(&mut *tx)
    .await
    .map_err(super::StoreError::from)?;
    if let Some(r) = existing {
        let inv = Invitation {
            id: r.try_get("id").map_err(super::StoreError::from)?,
            token: r.try_get("token").map_err(super::StoreError::from)?,
            org_code: r.try_get("org_code").map_err(super::StoreError::from)?,
            unit_code: r.try_get("unit_code").map_err(super::StoreError::from)?,
            staff_no: opt_text(&r, "staff_no")?,
            transaction_ref: r.try_get("transaction_ref").map_err(super::StoreError::from)?,
            expires_at: r.try_get("expires_at").map_err(super::StoreError::from)?,
            used_at: r.try_get("used_at").map_err(super::StoreError::from)?,
        };
        return Ok((inv, false));
    }
    let raw: [u8; 8] = rand::random();
    let inv = Invitation {
        id: hex::encode(raw),
        token: rating::sign(key, TokenKind::Invitation, raw),
        org_code: org_code.to_owned(),
        unit_code: unit,
        staff_no: staff_no.map(str::to_owned),
        transaction_ref: transaction_ref.to_owned(),
        expires_at,
        used_at: None,
    };
    sqlx::query(
        "insert into invitations (id, token, org_code, unit_code, staff_no, transaction_ref, created_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&inv.id)
    .bind(&inv.token)
    .bind(&inv.org_code)
    .bind(&inv.unit_code)
    .bind(&inv.staff_no)
    .bind(&inv.transaction_ref)
    .bind(&actor.name)
    .bind(now_ms())
    .bind(inv.expires_at)
    .execute(&mut *tx)
    .await
    .map_err(super::StoreError::from)?;
    super::rollups::add_invitation(&mut tx, &inv.org_code, now_ms()).await?;
    audit::append(
        &mut tx,
        actor,
        "invitation.issue",
        &format!("invitation:{}", inv.id),
        &serde_json::json!({"unit": inv.unit_code, "org": inv.org_code, "transaction_ref": inv.transaction_ref}),
    )
    .await?;
    tx.commit().await.map_err(super::StoreError::from)?;
    Ok((inv, true))
}

/// Records the default level for every invitation created more than its region's
/// `default_after_days` ago and still unrated; returns how many were recorded. Idempotent:
/// the invitation is marked used in the same transaction, so a rating can never follow.
pub async fn record_defaults(
    store: &Store,
    calendar: &crate::calendar_data::CalendarHandle,
    now: i64,
) -> Result<usize> {
    let open =
        sqlx::query("select id, org_code, created_at from invitations where used_at is null and created_at < $1")
            .bind(now - 86_400_000)
            .fetch_all(store.pool())
            .await?;
    let mut due = Vec::new();
    for r in open {
        let id: String = r.try_get("id")?;
        let org: String = r.try_get("org_code")?;
        let created: i64 = r.try_get("created_at")?;
        let settings = ratings::settings_for(store, &org).await?;
        let (Some(level), Some(days)) = (settings.default_level, settings.default_after_days) else { continue };
        if created + days * 86_400_000 > now {
            continue;
        }
        let Some(target) = rating_codes::invitation_target(store, &id).await? else { continue };
        due.push(default_rating(target, settings.scale, level));
    }
    if due.is_empty() {
        return Ok(0);
    }
    let mut conn = store.pool().acquire().await?;
    let received = now_ms();
    let stamps: Vec<ratings::Stamp> = due.iter().map(|_| ratings::Stamp::fresh(received)).collect();
    let batch = ratings::Batch { items: &due, stamps: &stamps, flags: &[], inbox: &[] };
    let results =
        ratings::commit_batch(store, &mut conn, calendar, batch, &mut Default::default(), &mut Default::default())
            .await?;
    Ok(results.iter().filter(|r| r.is_ok()).count())
}

fn default_rating(target: Target, scale: rating::Scale, level: u8) -> NewRating {
    NewRating {
        code_id: None,
        invitation_id: Some(target.id.clone()),
        target,
        scale,
        submission: Submission {
            level,
            outcome: Outcome::of_level(level),
            reasons: Vec::new(),
            comment: None,
            phone: None,
        },
        phone_enc: None,
        phone_masked: None,
        device_hash: String::new(),
        address_hash: String::new(),
        source: Source::Default,
        reason_labels: Vec::new(),
        request_key: None,
    }
}
