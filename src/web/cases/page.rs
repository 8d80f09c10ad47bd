//! The case pages: the inbox (`/cases`: waiting for me, everything in my scope, overdue), the
//! case page (`/cases/{id}`: the timeline, documents, evidence and one form per action the
//! viewer may take, posted to `/cases/{id}/act`), and the printable documents.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::act::{ActionRequest, act, visible_case};
use super::{CaseDetail, ListParams, detail, filter_for, store_file};
use crate::config::Config;
use crate::i18n::Tr;
use crate::store::cases::register;
use crate::store::cases::{self, Case};
use crate::store::now_ms;
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiPath, Error};
use crate::web::pages::{Nav, Page, PageError, local};

/// `/cases`, `/cases/{id}`, `/cases/{id}/act`, `/cases/{id}/documents/{doc}`.
pub fn pages(config: &Config) -> Router<AppState> {
    Router::new()
        .route("/cases", get(inbox))
        .route("/cases/{id}", get(case_page))
        .route(
            "/cases/{id}/act",
            post(act_form).layer(DefaultBodyLimit::max(config.max_attachment_bytes.saturating_add(64 * 1024))),
        )
        .route("/cases/{id}/documents/{doc}", get(document_page))
}

/// Milliseconds as a China Standard Time date.
pub fn local_date(ms: i64) -> String {
    crate::domain::time::date_zh(ms)
}

struct Row {
    case: Case,
    state_key: String,
    source_key: String,
    due: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct InboxPage {
    tr: Tr,
    nav: Nav,
    view: String,
    rows: Vec<Row>,
    total: i64,
}

async fn inbox(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<ListParams>,
) -> Result<Response, PageError> {
    // What waits for the caller first; a role that owns no step (admins, inspectors, enterprise
    // users) sees every case it may see.
    let owns_steps = !crate::domain::case::State::awaiting(user.user.role).is_empty();
    let view = p.view.clone().unwrap_or_else(|| if owns_steps { "mine" } else { "all" }.into());
    let p = ListParams { view: Some(view.clone()), ..p };
    let now = now_ms();
    let (found, total) = match filter_for(&state, &user, &p).await? {
        Some(f) => cases::list(&state.store, &user.viewer(), &f).await?,
        None => (Vec::new(), 0),
    };
    let rows = found
        .into_iter()
        .map(|c| Row {
            state_key: format!("case.state.{}", c.state.as_str()),
            source_key: format!("case.source.{}", c.source.as_str()),
            due: c.next_due().map(local).unwrap_or_default(),
            overdue: c.overdue(now),
            case: c,
        })
        .collect();
    let page = InboxPage { tr: Tr { locale }, nav: Nav::new(Some(&user), "/cases"), view, rows, total };
    Ok(Page(page).into_response())
}

struct EventRow {
    event: cases::Event,
    action_key: String,
    at: String,
    detail: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    tr: Tr,
    nav: Nav,
    d: CaseDetail,
    state_key: String,
    source_key: String,
    created: String,
    step_due: String,
    case_due: String,
    order_due: String,
    events: Vec<EventRow>,
    actions: Vec<(String, String)>,
    verdict_key: String,
    reasons: Vec<String>,
    outcome_key: String,
    errors: Vec<String>,
    csrf: String,
}

/// The details of a timeline entry worth showing, as (label key, value) pairs.
fn event_detail(e: &cases::Event) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let d = &e.data;
    if let Some(v) = d.get("verdict").and_then(|v| v.as_str()) {
        out.push(("case.verdict".into(), format!("case.verdict.{v}")));
    }
    if let Some(v) = d.get("kind").and_then(|v| v.as_str()) {
        out.push(("case.kind".into(), format!("case.kind.{v}")));
    }
    if let Some(v) = d.get("requirements").and_then(|v| v.as_str()) {
        out.push(("case.requirements".into(), v.to_owned()));
    }
    if let Some(v) = d.get("due_at").and_then(|v| v.as_i64()) {
        out.push(("case.order_due".into(), local(v)));
    }
    if let Some(v) = d.get("reached").and_then(|v| v.as_bool()) {
        out.push(("case.reached".into(), if v { "✓" } else { "✗" }.into()));
    }
    if let Some(v) = d.get("satisfied").and_then(|v| v.as_bool()) {
        out.push(("case.satisfied".into(), if v { "✓" } else { "✗" }.into()));
    }
    out
}

async fn render_case(
    state: &AppState,
    locale: crate::i18n::Locale,
    user: &CurrentUser,
    case: Case,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let here = format!("/cases/{}", case.id);
    let d = detail(state, user, case).await?;
    let c = &d.case;
    let events = d
        .timeline
        .iter()
        .map(|e| EventRow {
            action_key: format!("case.action.{}", e.action),
            at: local(e.created_at),
            detail: event_detail(e),
            event: e.clone(),
        })
        .collect();
    let mut reasons = Vec::new();
    if let Some(r) = &d.rating {
        let settings = crate::store::ratings::settings_for(&state.store, &r.org_code).await?;
        for code in &r.reasons {
            reasons.push(match settings.extra_reasons.iter().find(|x| &x.code == code) {
                Some(x) if locale == crate::i18n::Locale::En => x.en.clone(),
                Some(x) => x.zh.clone(),
                None => crate::i18n::t(locale, &format!("reason.{code}")).to_owned(),
            });
        }
    }
    let outcome_key = d.rating.as_ref().map(|r| format!("outcome.{}", r.outcome)).unwrap_or_default();
    let actions = d.actions.iter().map(|a| (a.as_str().to_owned(), format!("case.action.{}", a.as_str()))).collect();
    let page = CasePage {
        tr: Tr { locale },
        nav: Nav::new(Some(user), &here),
        state_key: format!("case.state.{}", c.state.as_str()),
        source_key: format!("case.source.{}", c.source.as_str()),
        created: local(c.created_at),
        step_due: c.step_due_at.map(local).unwrap_or_default(),
        case_due: local(c.due_at),
        order_due: c.order_due_at.map(local).unwrap_or_default(),
        verdict_key: c.verdict.as_deref().map(|v| format!("case.verdict.{v}")).unwrap_or_default(),
        events,
        actions,
        reasons,
        outcome_key,
        errors,
        csrf: user.csrf().to_owned(),
        d,
    };
    Ok(Page(page).into_response())
}

async fn case_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let case = visible_case(&state, &user, &id).await?;
    render_case(&state, locale, &user, case, Vec::new()).await
}

/// Reads the action form (multipart, so that evidence can come with it) into the API's request.
async fn read_form(
    state: &AppState,
    user: &CurrentUser,
    case: &Case,
    mut form: Multipart,
) -> Result<ActionRequest, Error> {
    let bad = |field: &str| Error::field(field, "not understood");
    let mut req = ActionRequest::default();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) =
        form.next_field().await.map_err(|e| Error::BadRequest { code: "bad_form", message: e.body_text() })?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|_| Error::TooLarge)?;
            if !bytes.is_empty() {
                file = Some((file_name, bytes.to_vec()));
            }
            continue;
        }
        let value = field.text().await.map_err(|_| bad(&name))?;
        let value = value.trim().to_owned();
        let flag = |v: &str| match v {
            "true" | "1" | "on" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(bad(&name)),
        };
        let number = |v: &str| -> Result<Option<u32>, Error> {
            if v.is_empty() { Ok(None) } else { v.parse().map(Some).map_err(|_| Error::field(&name, "a whole number")) }
        };
        match name.as_str() {
            "action" => req.action = value,
            "version" => req.version = value.parse().ok(),
            "note" => req.note = Some(value),
            "reached" => req.reached = flag(&value)?,
            "verdict" => req.verdict = Some(value),
            "requirements" => req.requirements = Some(value),
            "deadline_days" => req.deadline_days = number(&value)?,
            "satisfied" => req.satisfied = flag(&value)?,
            "kind" => req.kind = Some(value),
            "staff" => req.staff = Some(value.lines().map(str::to_owned).collect()),
            "unit_head" => req.unit_head = Some(value),
            "days" => req.days = number(&value)?,
            "approve" => req.approve = flag(&value)?,
            "unit" => req.unit = Some(value),
            _ => {}
        }
    }
    // Check the request before keeping the file: a refused action leaves no stray upload.
    let name = req.name()?;
    let mut probe = req.clone();
    if file.is_some() {
        probe.attachments = Some(vec!["pending".into()]);
    }
    probe.parse(name).map_err(Error::Validation)?;
    if let Some((file_name, bytes)) = file {
        let a = store_file(state, user, case, &file_name, &bytes).await?;
        req.attachments = Some(vec![a.id]);
    }
    Ok(req)
}

async fn act_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    form: Multipart,
) -> Result<Response, PageError> {
    let case = visible_case(&state, &user, &id).await?;
    let result = match read_form(&state, &user, &case, form).await {
        Ok(req) => act(&state, &user, &id, &req).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(e @ (Error::Forbidden | Error::NotFound | Error::Internal(_) | Error::Store(_) | Error::Unavailable)) => {
            Err(PageError(e))
        }
        Err(e) => {
            let status = e.status();
            let messages = e.page_messages();
            let case = visible_case(&state, &user, &id).await?;
            let page = render_case(&state, locale, &user, case, messages).await?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage {
    tr: Tr,
    nav: Nav,
    doc: register::Document,
    case: Case,
    title_key: String,
    issued: String,
    due: String,
    requirements: String,
}

async fn document_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath((id, doc)): ApiPath<(String, String)>,
) -> Result<Response, PageError> {
    let case = visible_case(&state, &user, &id).await?;
    let doc = register::document(&state.store, &doc).await?.filter(|d| d.case_id == case.id).ok_or(Error::NotFound)?;
    let page = DocumentPage {
        tr: Tr { locale },
        nav: Nav::new(Some(&user), &format!("/cases/{id}")),
        title_key: format!("doc.{}", doc.kind),
        issued: local_date(doc.created_at),
        due: doc.body.get("due_at").and_then(|v| v.as_i64()).map(local).unwrap_or_default(),
        requirements: doc.body.get("requirements").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
        doc,
        case,
    };
    Ok(Page(page).into_response())
}
