//! Per-region rating settings: the scale, the region's own reasons and the default for unrated
//! invitations, set at a node and inherited by the nodes below it without settings of their own.

use sqlx::Row;

use crate::domain::rating::{STANDARD_REASONS, Scale};
use crate::store::audit::Actor;
use crate::store::{Bind, NodeSetting, Result, Store};

/// A reason a region offers beyond the standard four.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ReasonDef {
    /// Stable code, a–z and `_`.
    pub code: String,
    /// Chinese label.
    pub zh: String,
    /// English label.
    pub en: String,
}

/// How a region's rating page works.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RatingSettings {
    /// Two or five levels.
    pub scale: Scale,
    /// Reasons offered besides 门难进、脸难看、话难听、事难办.
    pub extra_reasons: Vec<ReasonDef>,
    /// Level recorded for an invitation left unrated (with `default_after_days`).
    pub default_level: Option<u8>,
    /// Days after which an unrated invitation records `default_level`.
    pub default_after_days: Option<i64>,
}

impl Default for RatingSettings {
    fn default() -> Self {
        RatingSettings { scale: Scale::Two, extra_reasons: Vec::new(), default_level: None, default_after_days: None }
    }
}

impl RatingSettings {
    /// Every reason code a rating may carry.
    pub fn reason_codes(&self) -> Vec<&str> {
        STANDARD_REASONS.iter().copied().chain(self.extra_reasons.iter().map(|r| r.code.as_str())).collect()
    }

    /// The labels of reason codes in `locale` (Chinese for case titles): the region's own from
    /// these settings, the four standard ones from the catalog, and a code offered no longer as it is.
    pub fn reason_labels(&self, locale: crate::i18n::Locale, codes: &[String]) -> Vec<String> {
        codes
            .iter()
            .map(|code| match self.extra_reasons.iter().find(|d| &d.code == code) {
                Some(d) if locale == crate::i18n::Locale::En => d.en.clone(),
                Some(d) => d.zh.clone(),
                None => {
                    let key = format!("reason.{code}");
                    let label = crate::i18n::t(locale, &key);
                    if label == key { code.clone() } else { label.to_owned() }
                }
            })
            .collect()
    }
}

/// The settings of the nearest node at or above `org_code` that has some; defaults otherwise.
pub async fn settings_for(store: &Store, org_code: &str) -> Result<RatingSettings> {
    let row = sqlx::query(
        "select s.scale, s.extra_reasons, s.default_level, s.default_after_days from org_closure a
         join rating_settings s on s.org_code = a.ancestor
         where a.descendant = $1 order by a.distance limit 1",
    )
    .bind(org_code)
    .fetch_optional(store.pool())
    .await?;
    let Some(r) = row else { return Ok(RatingSettings::default()) };
    let scale: String = r.try_get("scale")?;
    let extra: String = r.try_get("extra_reasons")?;
    Ok(RatingSettings {
        scale: Scale::parse(&scale).unwrap_or(Scale::Two),
        extra_reasons: serde_json::from_str(&extra).unwrap_or_default(),
        default_level: r.try_get::<Option<i64>, _>("default_level")?.map(|l| l as u8),
        default_after_days: r.try_get("default_after_days")?,
    })
}

/// The node whose settings are in force at `org_code`: itself or its nearest ancestor with
/// settings of its own; `None` when the defaults apply.
pub async fn settings_origin(store: &Store, org_code: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "select s.org_code from org_closure a join rating_settings s on s.org_code = a.ancestor
         where a.descendant = $1 order by a.distance limit 1",
    )
    .bind(org_code)
    .fetch_optional(store.pool())
    .await?)
}

/// How many nodes below `org_code` (not itself) have settings of their own, which a change at
/// `org_code` does not reach.
pub async fn own_settings_below(store: &Store, org_code: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select cast(count(*) as bigint) from org_closure a join rating_settings s on s.org_code = a.descendant
         where a.ancestor = $1 and a.distance > 0",
    )
    .bind(org_code)
    .fetch_one(store.pool())
    .await?)
}

/// Sets a node's rating settings, audited with before and after.
pub async fn set_settings(store: &Store, org_code: &str, s: &RatingSettings, actor: &Actor) -> Result<()> {
    let before = settings_for(store, org_code).await?;
    let tx = store.write().await?;
    let setting = NodeSetting {
        table: "rating_settings",
        org_code,
        columns: &["scale", "extra_reasons", "default_level", "default_after_days"],
        values: vec![
            Bind::Text(s.scale.as_str().to_owned()),
            Bind::Text(serde_json::to_string(&s.extra_reasons).unwrap_or_else(|_| "[]".into())),
            s.default_level.map_or(Bind::NullInt, |l| Bind::Int(i64::from(l))),
            s.default_after_days.map_or(Bind::NullInt, Bind::Int),
        ],
    };
    let change = serde_json::json!({"before": before, "after": s});
    crate::store::replace_node_setting(tx, setting, actor, "rating_settings.set", &change).await
}
