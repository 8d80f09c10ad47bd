//! The supervision pages, phone first (inspectors work on site): `/supervision` (what waits
//! for the caller: the team's stations, visits, items to review, re-checks due), `/visits/new`
//! and `/visits/{id}` (record a visit with photos, issue its findings on a feedback sheet),
//! `/sheets/{id}` (the printable sheet; the unit signs for it), `/items` and `/items/{id}` (the
//! ledger and one item with a form per action the caller may take). Every form posts to the
//! same checks as the API, in the page's language, and a refused form comes back with what
//! was typed.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::items::{self, ItemAction, ItemDetail, ItemParams, ItemRequest, ItemView};
use super::{FindingRequest, SheetRequest, VisitRequest};
use crate::config::Config;
use crate::domain::inspection::{DEFAULT_CHECKLIST, check_label};
use crate::domain::item::{Level, Outcome, Source};
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::store::inspection::{self, Check, Sheet, VISIT_FILES, Visit};
use crate::store::workflow::{self, Attachment};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiPath, Error};
use crate::web::pages::{Nav, Page, PageError, local};

mod item_pages;
mod visits;

/// Rows of findings a sheet form offers (blank rows are skipped).
const FINDING_ROWS: usize = 3;

/// The pages.
pub fn pages(config: &Config) -> Router<AppState> {
    let limit = DefaultBodyLimit::max(config.max_attachment_bytes.saturating_add(64 * 1024));
    Router::new()
        .route("/supervision", get(home))
        .route("/meetings", get(super::meetings::list_page).post(super::meetings::create_form))
        .route("/meetings/{id}", get(super::meetings::meeting_page))
        .route("/meetings/{id}/minutes", post(super::meetings::minutes_form))
        .route("/plans", get(super::plans::list_page).post(super::plans::create_form))
        .route("/plans/{id}", get(super::plans::plan_page))
        .route("/data-requests", get(super::requests::page).post(super::requests::form))
        .route("/admin/ledger-settings", get(super::settings::settings_page).post(super::settings::settings_form))
        .route("/supervision/dashboard", get(super::report::dashboard_page))
        .route("/supervision/bulletin", get(super::report::bulletin_page))
        .route("/visits/new", get(visits::new_visit))
        .route("/visits", post(visits::create_visit).layer(limit))
        .route("/visits/{id}", get(visits::visit_page))
        .route("/visits/{id}/photos", post(visits::add_photo).layer(limit))
        .route("/visits/{id}/sheet", post(visits::issue_form))
        .route("/sheets/{id}", get(visits::sheet_page))
        .route("/sheets/{id}/sign", post(visits::sign_form))
        .route("/items", get(item_pages::items_page).post(item_pages::new_item))
        .route("/items/import", post(item_pages::import_form).layer(DefaultBodyLimit::max(config.max_import_bytes)))
        .route("/items/{id}", get(item_pages::item_page))
        .route("/items/{id}/act", post(item_pages::act_form).layer(limit))
        .route("/items/{id}/documents/{doc}", get(item_pages::document_page))
        .route("/items/{id}/milestones", post(item_pages::milestone_form))
        .route("/items/{id}/milestones/{milestone}/reached", post(item_pages::reached_form))
}

/// A page's refusal: shown on the page that was posted, with what was typed.
pub(super) fn kept(e: Error) -> Result<(axum::http::StatusCode, Vec<String>), PageError> {
    match e {
        e @ (Error::Forbidden | Error::NotFound | Error::Internal(_) | Error::Store(_) | Error::Unavailable) => {
            Err(PageError(e))
        }
        e => Ok((e.status(), e.page_messages())),
    }
}

/// Reads a multipart form: its text fields (repeated names kept in order) and its files.
async fn read_multipart(mut form: Multipart) -> Result<(Vec<(String, String)>, Vec<(String, Vec<u8>)>), Error> {
    let mut fields = Vec::new();
    let mut files = Vec::new();
    while let Some(field) =
        form.next_field().await.map_err(|e| Error::BadRequest { code: "bad_form", message: e.body_text() })?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|_| Error::TooLarge)?;
            if !bytes.is_empty() {
                files.push((file_name, bytes.to_vec()));
            }
            continue;
        }
        let value = field.text().await.map_err(|_| Error::field(&name, "not understood"))?;
        fields.push((name, value.trim().to_owned()));
    }
    Ok((fields, files))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

fn number<T: std::str::FromStr>(v: &str, name: &str, tr: Tr) -> Result<Option<T>, Error> {
    if v.is_empty() { Ok(None) } else { v.parse().map(Some).map_err(|_| Error::field(name, tr.t("ledger.err.number"))) }
}

// ---- /supervision ----

struct ItemRow {
    item: ItemView,
    due: String,
}

fn rows(items: Vec<ItemView>) -> Vec<ItemRow> {
    items.into_iter().map(|item| ItemRow { due: local(item.deadline_at), item }).collect()
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct HomePage {
    tr: Tr,
    nav: Nav,
    team: Option<crate::store::teams::Team>,
    inspects: bool,
    waiting: Vec<ItemRow>,
    waiting_total: i64,
    visits: Vec<VisitRow>,
    rechecks: Vec<(String, String, String)>,
}

struct VisitRow {
    visit: Visit,
    at: String,
}

async fn home(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    user.may(Permission::ReadLedger)?;
    let tr = Tr { locale };
    let team = match super::my_teams(&state, &user).await?.first() {
        Some(code) => crate::store::teams::get(&state.store, code).await?,
        None => None,
    };
    // What waits for the caller's move: reports to review for verifiers, open items for units.
    let want = match user.user.role {
        Role::Inspector | Role::Supervisor | Role::Admin => "reported",
        _ => "",
    };
    let p = ItemParams { state: (!want.is_empty()).then(|| want.to_owned()), ..Default::default() };
    let mut page = items::list_for(&state, &user, &p, tr).await?;
    if want.is_empty() {
        page.items.retain(|i| i.state != crate::domain::item::State::Closed);
    }
    let visits = super::visits_for(&state, &user, 10)
        .await?
        .into_iter()
        .map(|visit| VisitRow { at: local(visit.visited_at), visit })
        .collect();
    let scopes = items::ledger_scopes(&state, &user).await?;
    let rechecks =
        crate::store::items::rechecks_due(&state.store, &scopes, crate::store::now_ms() + 7 * 86_400_000, 10)
            .await?
            .into_iter()
            .map(|(id, title, due)| (id, title, local(due)))
            .collect();
    let page = HomePage {
        nav: Nav::new(Some(&user), "/supervision"),
        team,
        inspects: user.user.role.may(Permission::Inspect),
        waiting_total: page.total,
        waiting: rows(page.items),
        visits,
        rechecks,
        tr,
    };
    Ok(Page(page).into_response())
}
