//! The ledger as a spreadsheet, in one format both ways (bulk updates are how these ledgers stay
//! alive): `GET /api/v1/items/export` writes the items a filter selects as CSV or XLSX;
//! `POST /api/v1/items/import` reads the same columns back. A row without a number assigns a
//! new item (inspectors and supervisors); a row with one reports progress on it (the unit:
//! 进度 and 整改措施), unless nothing changed. Every row is checked first, every error is named
//! by row and column, and nothing is written unless all of it is.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;

use super::items::{self, API, ItemParams, ItemRequest};
use crate::domain::FieldError;
use crate::domain::item::{Action, Facts, Level, Outcome, Source, State as ItemState, transition};
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::imports::{self, Format};
use crate::store::items::apply::Details;
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiQuery, Error, ErrorBody, Result};

/// The columns, both ways: canonical name, Chinese header. `title` comes first (required).
pub const COLUMNS: [(&str, &str); 16] = [
    ("title", "事项"),
    ("number", "编号"),
    ("source", "来源"),
    ("level", "级别"),
    ("category", "类别"),
    ("unit", "主办单位"),
    ("assisting", "协办单位"),
    ("responsible_leader", "责任领导"),
    ("responsible_person", "责任人"),
    ("requirements", "督办要求"),
    ("days", "办理时限"),
    ("deadline", "办理期限"),
    ("state", "状态"),
    ("progress", "进度"),
    ("measures", "整改措施"),
    ("outcome", "销号结论"),
];

/// Most items one export writes.
pub const MAX_EXPORT: usize = 20_000;

/// Export filters: those of the list, and the format.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `assigned`, `in_progress`, `reported` or `closed`.
    pub state: Option<String>,
    /// Only items whose lead unit lies under this node.
    pub under: Option<String>,
    /// Only items of this team.
    pub team: Option<String>,
    /// Only items from this source.
    pub source: Option<String>,
    /// Only open items of this colour.
    pub colour: Option<String>,
    /// Only recurring items.
    pub recurring: Option<bool>,
    /// Title, number or responsible person containing this.
    pub q: Option<String>,
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// Export the items a filter selects (up to 20,000), in the import's format.
#[utoipa::path(get, path = "/items/export", tag = "supervision", params(ExportParams),
    responses((status = 200, description = "The file", content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn export_items(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response> {
    crate::web::dashboard::download_format(p.format.as_deref())?;
    let zh = Tr { locale: crate::i18n::Locale::ZhCn };
    let mut rows = vec![COLUMNS.iter().map(|(_, h)| (*h).to_owned()).collect::<Vec<_>>()];
    let mut params = ItemParams {
        state: p.state.clone(),
        under: p.under.clone(),
        team: p.team.clone(),
        source: p.source.clone(),
        colour: p.colour.clone(),
        recurring: p.recurring,
        q: p.q.clone(),
        page: Some(1),
    };
    loop {
        let page = items::list_for(&state, &user, &params, API).await?;
        let last = page.items.len() < usize::try_from(page.per_page).unwrap_or(0);
        for i in page.items {
            rows.push(vec![
                i.title,
                i.number,
                i.source.label_zh().to_owned(),
                i.level.label_zh().to_owned(),
                i.category,
                i.unit_code,
                i.assisting.into_iter().map(|(c, _)| c).collect::<Vec<_>>().join(";"),
                i.responsible_leader,
                i.responsible_person,
                i.requirements,
                String::new(),
                crate::domain::time::date_zh(i.deadline_at),
                zh.t(&format!("item.state.{}", i.state.as_str())).to_owned(),
                i.progress.to_string(),
                i.measures,
                i.outcome.as_deref().and_then(Outcome::parse).map(|o| o.label_zh().to_owned()).unwrap_or_default(),
            ]);
        }
        if last || rows.len() > MAX_EXPORT {
            break;
        }
        params.page = params.page.map(|n| n + 1);
    }
    rows.truncate(MAX_EXPORT + 1);
    crate::web::dashboard::download(p.format.as_deref(), "items", "items", &rows)
}

/// Import options.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Check only: say what would change, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ItemImportReport)]
pub struct ImportReport {
    /// Nothing was written.
    pub dry_run: bool,
    /// Items assigned.
    pub created: usize,
    /// Items whose progress was reported.
    pub updated: usize,
    /// Rows that changed nothing.
    pub unchanged: usize,
}

fn word<T: Copy>(all: &[T], v: &str, code: impl Fn(T) -> &'static str, zh: impl Fn(T) -> &'static str) -> Option<T> {
    all.iter().copied().find(|x| code(*x) == v || zh(*x) == v)
}

/// Reads and applies an items file for `user`.
pub async fn run_import(
    state: &AppState,
    user: &CurrentUser,
    bytes: &[u8],
    format: Format,
    dry_run: bool,
    tr: Tr,
) -> Result<ImportReport> {
    user.may(Permission::ReadLedger)?;
    let table = imports::read_table(bytes, format, &COLUMNS).map_err(Error::Validation)?;
    let role = user.user.role;
    let mut errors = Vec::new();
    let mut news = Vec::new();
    let mut updates = Vec::new();
    let mut report = ImportReport { dry_run, ..Default::default() };
    let mut seen = std::collections::HashSet::new();
    for i in 0..table.len() {
        let line = table.line(i);
        let cell = |c: &str| table.cell(i, c).trim().to_owned();
        let at = |field: &str, message: String| FieldError::at_row(line, field, message);
        let number = cell("number");
        if number.is_empty() {
            if !role.may(Permission::AssignItems) {
                errors.push(at("number", tr.t("ledger.err.import_assign").to_owned()));
                continue;
            }
            let source = cell("source");
            let level = cell("level");
            let days = cell("days");
            let req = ItemRequest {
                title: cell("title"),
                requirements: cell("requirements"),
                source: word(Source::ALL, &source, Source::as_str, Source::label_zh)
                    .map_or(source, |s| s.as_str().into()),
                level: Some(
                    word(Level::ALL, &level, Level::as_str, Level::label_zh).map_or(level, |l| l.as_str().into()),
                ),
                category: cell("category"),
                unit: cell("unit"),
                assisting: Some(
                    cell("assisting")
                        .split([';', '；', ',', '，'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ),
                responsible_leader: cell("responsible_leader"),
                responsible_person: cell("responsible_person"),
                days: if days.is_empty() {
                    None
                } else {
                    match days.parse() {
                        Ok(d) => Some(d),
                        Err(_) => {
                            errors.push(at("days", tr.t("ledger.err.days").to_owned()));
                            continue;
                        }
                    }
                },
                case_id: None,
                parent_id: None,
                weight: None,
            };
            match items::checked_item(state, user, &req, tr).await {
                Ok(new) => news.push(new),
                Err(Error::Validation(fields)) => {
                    errors.extend(fields.into_iter().map(|f| at(&f.field, f.message)));
                }
                Err(e) => return Err(e),
            }
            continue;
        }
        if !seen.insert(number.clone()) {
            errors.push(at("number", tr.t("ledger.err.import_twice").to_owned()));
            continue;
        }
        let Some(item) = crate::store::items::by_number(&state.store, &number).await? else {
            errors.push(at("number", tr.t("ledger.err.no_item").to_owned()));
            continue;
        };
        if items::visible_item(state, user, &item.id).await.is_err() {
            errors.push(at("number", tr.t("ledger.err.no_item").to_owned()));
            continue;
        }
        let progress = cell("progress");
        let measures = cell("measures");
        let percent: Option<u8> = if progress.is_empty() {
            None
        } else {
            match progress.trim_end_matches('%').parse::<u8>() {
                Ok(p) if p <= 100 => Some(p),
                _ => {
                    errors.push(at("progress", tr.t("ledger.err.percent").to_owned()));
                    continue;
                }
            }
        };
        let unchanged =
            percent.is_none_or(|p| i64::from(p) == item.progress) && (measures.is_empty() || measures == item.measures);
        if unchanged || item.state == ItemState::Closed {
            report.unchanged += 1;
            continue;
        }
        let action = Action::ReportProgress { percent: percent.unwrap_or(u8::try_from(item.progress).unwrap_or(0)) };
        let facts = Facts {
            state: item.state,
            now: crate::store::now_ms(),
            deadline: item.deadline_at,
            extension_pending: item.extension_days.is_some(),
            actor_reported: false,
            final_evidence: 0,
        };
        match transition(&facts, action, role) {
            Ok(t) => {
                let note = if measures.is_empty() { tr.t("ledger.import_note").to_owned() } else { measures };
                updates.push((item, t, Details { note, attachments: Vec::new() }));
            }
            Err(r) => errors.push(at("progress", items::refused(r, tr).page_messages().join("; "))),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    report.created = news.len();
    report.updated = updates.len();
    if !dry_run && (report.created > 0 || report.updated > 0) {
        crate::store::items::import(&state.store, &state.calendar, &news, updates, &user.actor(), role).await.map_err(
            |e| match e {
                stale @ crate::store::workflow::ApplyError::Stale(_) => Error::Conflict(stale.to_string()),
                crate::store::workflow::ApplyError::Invalid(fields) => Error::Validation(fields),
                crate::store::workflow::ApplyError::Store(s) => s.into(),
            },
        )?;
    }
    Ok(report)
}

/// Import items from CSV or XLSX (the export's columns): rows without a number are assigned
/// (inspectors, supervisors), rows with one report progress (the unit). All or nothing; every
/// error named by row and column.
#[utoipa::path(post, path = "/items/import", tag = "supervision", params(ImportParams),
    request_body(content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportReport), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn import_items(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<axum::Json<ImportReport>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let format = Format::from_content_type(ct).ok_or_else(|| {
        Error::UnsupportedMediaType(
            "send text/csv or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
        )
    })?;
    Ok(axum::Json(run_import(&state, &user, &body, format, p.dry_run, API).await?))
}
