//! The city's ledger settings over HTTP: `GET`/`PUT /api/v1/supervision/settings` and the page
//! `/admin/ledger-settings` (admins): the colour thresholds, the ladder, the default working days
//! per source, the re-checks and the recurrence window. Checked in the domain; audited.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use crate::domain::item::Source;
use crate::domain::item::settings::Settings;
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiJson, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError};

/// The city's ledger settings.
#[utoipa::path(get, path = "/supervision/settings", tag = "supervision",
    responses((status = 200, body = Settings), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn get_settings(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Settings>> {
    user.may(Permission::ReadLedger)?;
    Ok(axum::Json(crate::store::items::settings(state.store.pool()).await?))
}

async fn save(state: &AppState, user: &CurrentUser, s: &Settings) -> Result<()> {
    user.may(Permission::ManageSlaPolicies)?;
    let errors = s.check();
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    Ok(crate::store::items::set_settings(&state.store, s, &user.actor()).await?)
}

/// Replace the city's ledger settings (admins): every number is checked, all or nothing.
#[utoipa::path(put, path = "/supervision/settings", tag = "supervision", request_body = Settings,
    responses((status = 200, body = Settings), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn put_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(s): ApiJson<Settings>,
) -> Result<axum::Json<Settings>> {
    save(&state, &user, &s).await?;
    Ok(axum::Json(crate::store::items::settings(state.store.pool()).await?))
}

#[derive(Template)]
#[template(path = "ledger_settings.html")]
struct SettingsPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    s: Settings,
    sources: Vec<(String, String, u32)>,
    rechecks: String,
    errors: Vec<String>,
    saved: bool,
}

fn page(tr: Tr, user: &CurrentUser, s: Settings, errors: Vec<String>, saved: bool) -> SettingsPage {
    let sources = Source::ALL
        .iter()
        .map(|src| {
            let label = if tr.locale == crate::i18n::Locale::ZhCn {
                src.label_zh().to_owned()
            } else {
                tr.t(&format!("item.word.{}", src.as_str())).to_owned()
            };
            (src.as_str().to_owned(), label, s.days_for(*src))
        })
        .collect();
    let rechecks = s.recheck_days.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    SettingsPage {
        nav: Nav::new(Some(user), "/admin/ledger-settings"),
        csrf: user.csrf().to_owned(),
        s,
        sources,
        rechecks,
        errors,
        saved,
        tr,
    }
}

/// `/admin/ledger-settings`.
pub(super) async fn settings_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> std::result::Result<Response, PageError> {
    user.may(Permission::ManageSlaPolicies)?;
    let s = crate::store::items::settings(state.store.pool()).await?;
    Ok(Page(page(Tr { locale }, &user, s, Vec::new(), q.contains_key("saved"))).into_response())
}

/// `POST /admin/ledger-settings`.
pub(super) async fn settings_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let mut errors = Vec::new();
    let mut num = |k: &str| -> i64 {
        let v = f.get(k).map(|v| v.trim()).unwrap_or_default();
        v.parse().unwrap_or_else(|_| {
            errors.push(crate::domain::FieldError::new(k, tr.t("ledger.err.number")));
            -1
        })
    };
    let mut s = Settings {
        blue_days: num("blue_days"),
        yellow_behind: num("yellow_behind"),
        red_behind: num("red_behind"),
        yellows_for_letter: usize::try_from(num("yellows_for_letter")).unwrap_or(usize::MAX),
        reds_for_referral: usize::try_from(num("reds_for_referral")).unwrap_or(usize::MAX),
        source_days: Default::default(),
        recheck_days: Vec::new(),
        recurrence_days: num("recurrence_days"),
    };
    for src in Source::ALL {
        let v = num(&format!("days_{}", src.as_str()));
        s.source_days.insert(src.as_str().to_owned(), u32::try_from(v).unwrap_or(0));
    }
    let rechecks = f.get("recheck_days").cloned().unwrap_or_default();
    s.recheck_days =
        rechecks.split([',', '，', ' ']).filter(|x| !x.is_empty()).map(|x| x.parse().unwrap_or(-1)).collect();
    let result = if errors.is_empty() { save(&state, &user, &s).await } else { Err(Error::Validation(errors)) };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/ledger-settings?saved=1").into_response()),
        Err(e) => {
            let (status, errors) = super::page::kept(e)?;
            let mut p = page(tr, &user, s, errors, false);
            p.rechecks = rechecks;
            Ok((status, Page(p)).into_response())
        }
    }
}
