//! Key projects and their monthly reports as spreadsheets, since parks report in spreadsheets
//! today: each exports as CSV or XLSX and imports the same columns back (Chinese headers or the
//! canonical names). Every row is checked first, every error named by row and column, and
//! nothing is written unless all of it is.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;

use super::API;
use super::projects::{FundingLine, ProjectParams, ProjectRequest, ReportRequest};
use crate::domain::FieldError;
use crate::domain::enterprise::project::FundingSource;
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::imports::{self, Format};
use crate::store::enterprise::projects::{self, NewProject, NewReport, ProjectError};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiQuery, Error, ErrorBody, Result};

/// The projects' columns: canonical name, Chinese header (`code` first, required).
pub const PROJECT_COLUMNS: [(&str, &str); 24] = [
    ("code", "项目编号"),
    ("name", "项目名称"),
    ("park_code", "园区"),
    ("chain", "产业链"),
    ("level", "级别"),
    ("stage", "阶段"),
    ("own_funds", "企业自筹"),
    ("bank_loan", "银行贷款"),
    ("government", "政府投资"),
    ("foreign", "外资"),
    ("other", "其他"),
    ("signed_on", "签约日期"),
    ("planned_start", "计划开工"),
    ("planned_finish", "计划竣工"),
    ("started_on", "实际开工"),
    ("unit_code", "责任单位"),
    ("responsible_person", "责任人"),
    ("manager", "项目管家"),
    ("city_leader", "联系市领导"),
    ("firms", "企业统一社会信用代码"),
    ("description", "项目简介"),
    ("completed_wan", "累计完成投资"),
    ("arrived_wan", "累计到位资金"),
    ("colour", "预警"),
];

/// The monthly reports' columns.
pub const REPORT_COLUMNS: [(&str, &str); 9] = [
    ("code", "项目编号"),
    ("month", "月份"),
    ("completed_wan", "本月完成投资"),
    ("own_funds", "企业自筹"),
    ("bank_loan", "银行贷款"),
    ("government", "政府投资"),
    ("foreign", "外资"),
    ("other", "其他"),
    ("note", "说明"),
];

/// Export options.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Only this park's projects.
    pub park: Option<String>,
    /// Only this chain's.
    pub chain: Option<String>,
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
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
#[schema(as = ProjectImportReport)]
pub struct ImportReport {
    /// Nothing was written.
    pub dry_run: bool,
    /// Rows written (projects registered, or months reported).
    pub created: usize,
}

fn wan(v: f64) -> String {
    format!("{v:.2}")
}

async fn visible_projects(state: &AppState, user: &CurrentUser, p: &ExportParams) -> Result<Vec<projects::Project>> {
    let mut out = Vec::new();
    let mut params =
        ProjectParams { park: p.park.clone(), chain: p.chain.clone(), page: Some(1), ..Default::default() };
    loop {
        let page = super::projects::list_for(state, user, &params, API).await?;
        let last = page.projects.len() < usize::try_from(page.per_page).unwrap_or(0);
        out.extend(page.projects);
        if last || out.len() >= 20_000 {
            break;
        }
        params.page = params.page.map(|n| n + 1);
    }
    Ok(out)
}

/// Export the projects the caller sees (by park, chain) in the import's columns.
#[utoipa::path(get, path = "/projects/export", tag = "enterprise", params(ExportParams),
    responses((status = 200, description = "The file", content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn export_projects(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response> {
    crate::web::dashboard::download_format(p.format.as_deref())?;
    let mut rows = vec![PROJECT_COLUMNS.iter().map(|(_, h)| (*h).to_owned()).collect::<Vec<_>>()];
    let firm = super::firm_of(&state, &user).await?;
    for pr in visible_projects(&state, &user, &p).await? {
        let Some(d) = projects::get(&state.store, &super::viewer(&user, &firm), &pr.code).await? else { continue };
        let planned =
            |s: FundingSource| d.funding.iter().find(|f| f.source == s).map_or(String::new(), |f| wan(f.planned_wan));
        let x = d.project;
        rows.push(vec![
            x.code,
            x.name,
            x.park_code,
            x.chain_name.unwrap_or_default(),
            x.level.zh().to_owned(),
            x.stage.zh().to_owned(),
            planned(FundingSource::OwnFunds),
            planned(FundingSource::BankLoan),
            planned(FundingSource::Government),
            planned(FundingSource::Foreign),
            planned(FundingSource::Other),
            x.signed_on,
            x.planned_start,
            x.planned_finish,
            x.started_on.unwrap_or_default(),
            x.unit_code,
            x.responsible_person,
            x.manager.unwrap_or_default(),
            x.city_leader,
            d.firms.iter().map(|f| f.1.clone()).collect::<Vec<_>>().join(";"),
            x.description,
            wan(x.completed_wan),
            wan(x.arrived_wan),
            x.colour,
        ]);
    }
    crate::web::dashboard::download(p.format.as_deref(), "projects", "projects", &rows)
}

/// Export the monthly reports of the projects the caller sees, in the import's columns.
#[utoipa::path(get, path = "/project-reports/export", tag = "enterprise", params(ExportParams),
    responses((status = 200, description = "The file", content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn export_reports(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response> {
    crate::web::dashboard::download_format(p.format.as_deref())?;
    let mut rows = vec![REPORT_COLUMNS.iter().map(|(_, h)| (*h).to_owned()).collect::<Vec<_>>()];
    let firm = super::firm_of(&state, &user).await?;
    for pr in visible_projects(&state, &user, &p).await? {
        let Some(d) = projects::get(&state.store, &super::viewer(&user, &firm), &pr.code).await? else { continue };
        for r in d.reports.iter().rev() {
            let arrived = |s: FundingSource| r.funds.iter().find(|f| f.0 == s).map_or(String::new(), |f| wan(f.1));
            rows.push(vec![
                d.project.code.clone(),
                r.month.clone(),
                wan(r.completed_wan),
                arrived(FundingSource::OwnFunds),
                arrived(FundingSource::BankLoan),
                arrived(FundingSource::Government),
                arrived(FundingSource::Foreign),
                arrived(FundingSource::Other),
                r.note.clone(),
            ]);
        }
    }
    crate::web::dashboard::download(p.format.as_deref(), "reports", "project-reports", &rows)
}

fn format_of(headers: &HeaderMap) -> Result<Format> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Format::from_content_type(ct).ok_or_else(|| {
        Error::UnsupportedMediaType(
            "send text/csv or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
        )
    })
}

/// The funding lines of a row: one per source column with an amount (a bad amount is an error).
fn funding_of(cell: &dyn Fn(&str) -> String, row: usize, errors: &mut Vec<FieldError>, tr: Tr) -> Vec<FundingLine> {
    let mut lines = Vec::new();
    for source in FundingSource::ALL {
        let v = cell(source.as_str());
        if v.is_empty() {
            continue;
        }
        match v.replace(',', "").parse::<f64>() {
            Ok(a) => lines.push(FundingLine { source: source.as_str().to_owned(), amount_wan: a }),
            Err(_) => errors.push(FieldError::at_row(row, source.as_str(), tr.t("ent.err.amount"))),
        }
    }
    lines
}

fn at_row(row: usize, fields: Vec<FieldError>) -> impl Iterator<Item = FieldError> {
    fields.into_iter().map(move |f| FieldError::at_row(row, f.field, f.message))
}

/// Import projects from CSV or XLSX (the export's columns; the cumulative and colour columns are
/// ignored, as the reports and the dates make them): admins and supervisors. All or nothing.
#[utoipa::path(post, path = "/projects/import", tag = "enterprise", params(ImportParams),
    request_body(content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportReport), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn import_projects(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<axum::Json<ImportReport>> {
    user.may(Permission::ManageProjects)?;
    let format = format_of(&headers)?;
    let tr = API;
    let table = imports::read_table(&body, format, &PROJECT_COLUMNS).map_err(Error::Validation)?;
    let chains = crate::store::enterprise::chains(&state.store).await?;
    let mut errors = Vec::new();
    let mut news: Vec<(usize, NewProject)> = Vec::new();
    for i in 0..table.len() {
        let line = table.line(i);
        let cell = |c: &str| table.cell(i, c).trim().to_owned();
        let chain = cell("chain");
        let chain_id = if chain.is_empty() {
            None
        } else {
            match chains.iter().find(|c| c.name == chain || c.id == chain) {
                Some(c) => Some(c.id.clone()),
                None => {
                    errors.push(FieldError::at_row(line, "chain", tr.t("ent.err.unknown")));
                    continue;
                }
            }
        };
        let funding = funding_of(&cell, line, &mut errors, tr);
        let text = |c: &str| Some(cell(c)).filter(|v| !v.is_empty());
        let req = ProjectRequest {
            code: cell("code"),
            name: cell("name"),
            park_code: cell("park_code"),
            chain_id,
            level: cell("level"),
            stage: text("stage"),
            funding,
            signed_on: cell("signed_on"),
            planned_start: cell("planned_start"),
            planned_finish: cell("planned_finish"),
            started_on: text("started_on"),
            unit_code: cell("unit_code"),
            responsible_person: cell("responsible_person"),
            manager: text("manager"),
            city_leader: cell("city_leader"),
            description: cell("description"),
            firms: cell("firms")
                .split([';', '；', ',', '，'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            nodes: Vec::new(),
        };
        match req.parse(tr) {
            Ok(new) => news.push((line, new)),
            Err(e) => errors.extend(at_row(line, e)),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    projects::import(&state.store, &news, &user.actor(), p.dry_run).await.map_err(|(line, e)| match e {
        ProjectError::Taken => Error::Validation(vec![FieldError::at_row(line, "code", tr.t("ent.err.project_taken"))]),
        ProjectError::Unknown(field) => {
            Error::Validation(vec![FieldError::at_row(line, field, tr.t("ent.err.unknown"))])
        }
        other => super::projects::refused(other, tr),
    })?;
    Ok(axum::Json(ImportReport { dry_run: p.dry_run, created: news.len() }))
}

/// Import monthly reports from CSV or XLSX (the export's columns): park cadres, managers,
/// supervisors, each row for a project they see, a month not yet reported. All or nothing.
#[utoipa::path(post, path = "/project-reports/import", tag = "enterprise", params(ImportParams),
    request_body(content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportReport), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn import_reports(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<axum::Json<ImportReport>> {
    user.may(Permission::ReportProjects)?;
    let format = format_of(&headers)?;
    let tr = API;
    let table = imports::read_table(&body, format, &REPORT_COLUMNS).map_err(Error::Validation)?;
    let firm = super::firm_of(&state, &user).await?;
    let mut errors = Vec::new();
    let mut rows: Vec<(usize, String, NewReport)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for i in 0..table.len() {
        let line = table.line(i);
        let cell = |c: &str| table.cell(i, c).trim().to_owned();
        let code = cell("code");
        let Some(project) = projects::id_of(&state.store, &super::viewer(&user, &firm), &code).await? else {
            errors.push(FieldError::at_row(line, "code", tr.t("ent.err.project")));
            continue;
        };
        let completed = cell("completed_wan").replace(',', "");
        let completed_wan = if completed.is_empty() {
            0.0
        } else {
            completed.parse().unwrap_or_else(|_| {
                errors.push(FieldError::at_row(line, "completed_wan", tr.t("ent.err.amount")));
                0.0
            })
        };
        let funds = funding_of(&cell, line, &mut errors, tr);
        let req = ReportRequest { month: cell("month"), completed_wan, funds, note: cell("note") };
        match req.parse(tr) {
            Ok(r) => {
                if !seen.insert((project.clone(), r.month.clone())) {
                    errors.push(FieldError::at_row(line, "month", tr.t("ent.err.month_taken")));
                }
                rows.push((line, project, r));
            }
            Err(e) => errors.extend(at_row(line, e)),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    projects::import_reports(&state.store, &rows, &user.actor(), p.dry_run).await.map_err(|(line, e)| match e {
        ProjectError::MonthTaken => {
            Error::Validation(vec![FieldError::at_row(line, "month", tr.t("ent.err.month_taken"))])
        }
        other => super::projects::refused(other, tr),
    })?;
    Ok(axum::Json(ImportReport { dry_run: p.dry_run, created: rows.len() }))
}
