//! The admin page for the calendar: which years are official and from which notice, importing
//! a new year's notice, and regions' own days.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::calendar::{DayKind, FIRST_YEAR, LAST_YEAR, Override, YearNotice};
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::web::AppState;
use crate::web::auth::{Lang, PageUser};
use crate::web::error::{ApiForm, Error};
use crate::web::pages::{Nav, Page, PageError};

/// The calendar pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/admin/calendar", get(page))
        .route("/admin/calendar/import", post(import))
        .route("/admin/calendar/override", post(add_override))
}

struct YearRow {
    year: i32,
    official: bool,
    notice: String,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    tr: Tr,
    nav: Nav,
    version: String,
    years: Vec<YearRow>,
    overrides: Vec<(String, String, String, String)>,
    errors: Vec<String>,
    done: Option<String>,
    notice_text: String,
}

async fn render(
    state: &AppState,
    tr: Tr,
    user: &crate::web::auth::CurrentUser,
    errors: Vec<String>,
    done: Option<String>,
    notice_text: String,
) -> Result<CalendarPage, PageError> {
    let mut notices = crate::calendar_data::shipped().years;
    for y in crate::store::calendar::imported_years(&state.store).await? {
        notices.retain(|n| n.year != y.year);
        notices.push(y);
    }
    let years = (FIRST_YEAR..=LAST_YEAR)
        .map(|year| match notices.iter().find(|n| n.year == year) {
            Some(n) => YearRow { year, official: true, notice: n.notice.clone() },
            None => YearRow { year, official: false, notice: String::new() },
        })
        .collect();
    let overrides = crate::store::calendar::all_overrides(&state.store)
        .await?
        .into_iter()
        .map(|(org, o)| {
            let kind =
                serde_json::to_value(o.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            (org, o.date.to_string(), kind, o.name)
        })
        .collect();
    Ok(CalendarPage {
        tr,
        nav: Nav::new(Some(user), "/admin/calendar"),
        version: state.calendar.get().version().to_owned(),
        years,
        overrides,
        errors,
        done,
        notice_text,
    })
}

async fn page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    user.may(Permission::ManageCalendar)?;
    Ok(Page(render(&state, Tr { locale }, &user, Vec::new(), None, String::new()).await?).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct ImportForm {
    notice: String,
}

async fn import(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiForm(form): ApiForm<ImportForm>,
) -> Result<Response, PageError> {
    user.may(Permission::ManageCalendar)?;
    let tr = Tr { locale };
    #[derive(serde::Deserialize)]
    struct Years {
        year: Vec<YearNotice>,
    }
    let parsed: Result<Years, String> = toml::from_str(&form.notice).map_err(|e| e.to_string());
    let errors: Vec<String> = match &parsed {
        Err(e) => vec![e.clone()],
        Ok(y) if y.year.is_empty() => vec![tr.t("calendar.no_year").to_owned()],
        Ok(y) => y
            .year
            .iter()
            .filter_map(|n| n.validate().err().map(|es| (n.year, es)))
            .flat_map(|(year, es)| es.into_iter().map(move |e| format!("{year} {}: {}", e.field, e.message)))
            .collect(),
    };
    let Ok(years) = parsed.as_ref() else {
        let p = render(&state, tr, &user, errors, None, form.notice.clone()).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(p)).into_response());
    };
    if !errors.is_empty() {
        let p = render(&state, tr, &user, errors, None, form.notice.clone()).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(p)).into_response());
    }
    for y in &years.year {
        crate::store::calendar::import_year(&state.store, y, &user.actor()).await?;
    }
    let cal = state.calendar.reload(&state.store).await?;
    let n = crate::store::calendar::recompute_provisional_clocks(
        &state.store,
        &cal,
        &crate::domain::sla::Thresholds::default(),
        &user.actor(),
    )
    .await?;
    let done = format!("{} {} · {} {n}", tr.t("calendar.imported"), cal.version(), tr.t("calendar.recomputed"));
    Ok(Page(render(&state, tr, &user, Vec::new(), Some(done), String::new()).await?).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct OverrideForm {
    org_code: String,
    date: String,
    kind: String,
    name: String,
}

async fn add_override(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiForm(form): ApiForm<OverrideForm>,
) -> Result<Response, PageError> {
    user.may(Permission::ManageCalendar)?;
    let tr = Tr { locale };
    let mut errors = Vec::new();
    let code =
        crate::domain::ids::OrgCode::parse(&form.org_code).map_err(|e| errors.push(format!("org_code: {}", e.0))).ok();
    if let Some(c) = &code
        && crate::store::org::get(&state.store, c).await?.is_none()
    {
        errors.push(format!("org_code: {c} {}", tr.t("calendar.not_in_tree")));
    }
    let date = chrono::NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d")
        .map_err(|_| errors.push("date: YYYY-MM-DD".into()))
        .ok();
    let kind = match form.kind.as_str() {
        "holiday" => Some(DayKind::Holiday),
        "adjusted_workday" => Some(DayKind::AdjustedWorkday),
        "workday" => Some(DayKind::Workday),
        _ => {
            errors.push("kind: holiday, adjusted_workday, workday".into());
            None
        }
    };
    let name =
        crate::domain::ids::parse_name(&form.name, "name").map_err(|e| errors.push(format!("name: {}", e.0))).ok();
    match (code, date, kind, name) {
        (Some(code), Some(date), Some(kind), Some(name)) if errors.is_empty() => {
            crate::store::calendar::set_override(
                &state.store,
                code.as_str(),
                &Override { date, kind, name },
                &user.actor(),
            )
            .await
            .map_err(Error::from)?;
            Ok(Redirect::to("/admin/calendar").into_response())
        }
        _ => {
            let p = render(&state, tr, &user, errors, None, String::new()).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(p)).into_response())
        }
    }
}
