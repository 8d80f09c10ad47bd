//! Coordination meetings (现场协调会) over HTTP: record a meeting (attendees, agenda, when the
//! minutes are due), issue its numbered minutes with decisions that become items, and read a
//! meeting with the state of its decisions and of the last meeting's on the same matter. Pages:
//! `/meetings` and `/meetings/{id}`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::items::{self, API, ItemRequest, ItemView};
use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::store::meetings::{self, Meeting, NewMeeting};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiJson, ApiPath, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError, local};

/// Rows of decisions the minutes form offers.
const DECISION_ROWS: usize = 3;

/// A meeting to record. Every field is checked together: what is missing is named with the
/// rest.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MeetingRequest {
    /// What it is about.
    pub title: String,
    /// The subtree it concerns (within the caller's scope).
    pub scope: String,
    /// The last meeting on the same matter.
    pub previous_id: Option<String>,
    /// Where.
    pub place: String,
    /// Who attended: units, enterprises, people (at least one).
    pub attendees: Vec<String>,
    /// The agenda.
    pub agenda: String,
    /// Working days to issue the minutes (3 if left out).
    pub minutes_days: Option<u32>,
}

/// A decision of the minutes: an item without a source (it is the meeting's).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// What was decided, one line.
    pub title: String,
    /// What must be done.
    pub requirements: String,
    /// Category.
    pub category: Option<String>,
    /// The lead unit.
    pub unit: String,
    /// Assisting units.
    pub assisting: Option<Vec<String>>,
    /// The responsible leader.
    pub responsible_leader: String,
    /// The responsible person.
    pub responsible_person: String,
    /// Working days (20 if left out).
    pub days: Option<u32>,
}

/// The minutes and their decisions.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MinutesRequest {
    /// The minutes' text.
    pub minutes: String,
    /// The decisions, each an item.
    pub decisions: Vec<DecisionRequest>,
}

/// A meeting with its decisions and the last meeting's on the same matter.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MeetingDetail {
    /// The meeting.
    pub meeting: Meeting,
    /// Its decisions (items), once the minutes are issued.
    pub decisions: Vec<ItemView>,
    /// The minutes are overdue, or were issued late.
    pub minutes_late: bool,
    /// The last meeting on the same matter.
    pub previous: Option<Meeting>,
    /// Its decisions, as they stand now.
    pub previous_decisions: Vec<ItemView>,
}

async fn visible(state: &AppState, user: &CurrentUser, id: &str) -> Result<Meeting> {
    user.may(Permission::ReadLedger)?;
    let m = meetings::get(&state.store, id).await?.ok_or(Error::NotFound)?;
    let scope = OrgCode::parse(&m.scope_code).map_err(|e| Error::Internal(e.0))?;
    if crate::store::org::within(&state.store, &scope, &user.user.scopes).await? {
        return Ok(m);
    }
    for s in &user.user.scopes {
        if crate::store::org::within(&state.store, s, std::slice::from_ref(&scope)).await? {
            return Ok(m);
        }
    }
    Err(Error::Forbidden)
}

async fn detail(state: &AppState, m: Meeting) -> Result<MeetingDetail> {
    let now = crate::store::now_ms();
    let views = |list: Vec<crate::store::items::Item>| list.into_iter().map(|i| ItemView::of(i, now)).collect();
    let decisions = views(meetings::decisions(&state.store, &m.id).await?);
    let previous = match &m.previous_id {
        Some(p) => meetings::get(&state.store, p).await?,
        None => None,
    };
    let previous_decisions = match &previous {
        Some(p) => views(meetings::decisions(&state.store, &p.id).await?),
        None => Vec::new(),
    };
    let minutes_late = m.minutes_issued_at.unwrap_or(now) > m.minutes_due_at;
    Ok(MeetingDetail { meeting: m, decisions, minutes_late, previous, previous_decisions })
}

async fn checked_meeting(state: &AppState, user: &CurrentUser, r: &MeetingRequest, tr: Tr) -> Result<NewMeeting> {
    user.may(Permission::AssignItems)?;
    let mut errors = Vec::new();
    let title = items::required(&mut errors, tr, "title", &r.title, 200);
    let place = items::required(&mut errors, tr, "place", &r.place, 200);
    let agenda = items::required(&mut errors, tr, "agenda", &r.agenda, items::MAX_TEXT);
    let attendees: Vec<String> =
        r.attendees.iter().map(|a| a.trim().chars().take(100).collect::<String>()).filter(|a| !a.is_empty()).collect();
    if attendees.is_empty() || attendees.len() > 100 {
        errors.push(FieldError::new("attendees", tr.t("ledger.err.attendees")));
    }
    let days = r.minutes_days.unwrap_or(3);
    if !(1..=30).contains(&days) {
        errors.push(FieldError::new("minutes_days", tr.t("ledger.err.reply_days")));
    }
    let scope = match OrgCode::parse(r.scope.trim()) {
        Ok(c) if crate::store::org::get(&state.store, &c).await?.is_some() => Some(c),
        _ => {
            errors.push(FieldError::new("scope", format!("{}: {}", tr.t("ledger.err.no_unit"), r.scope.trim())));
            None
        }
    };
    let previous = r.previous_id.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = previous
        && meetings::get(&state.store, p).await?.is_none()
    {
        errors.push(FieldError::new("previous_id", tr.t("ledger.err.no_meeting")));
    }
    let (Some(scope), true) = (scope, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    user.require_scope(state, &scope).await?;
    let now = crate::store::now_ms();
    let cal = state.calendar.for_node(&state.store, scope.as_str()).await?;
    let hours = crate::domain::calendar::BusinessHours::default();
    let due =
        crate::domain::sla::Clock::WorkingDays(days).due(&cal, now, &hours).map_err(crate::store::StoreError::from)?;
    Ok(NewMeeting {
        title,
        scope,
        previous_id: previous.map(str::to_owned),
        held_at: now,
        place,
        attendees,
        agenda,
        minutes_due_at: due,
    })
}

async fn checked_minutes(
    state: &AppState,
    user: &CurrentUser,
    r: &MinutesRequest,
    tr: Tr,
) -> Result<(String, Vec<crate::store::items::NewItem>)> {
    let mut errors = Vec::new();
    let minutes = items::required(&mut errors, tr, "minutes", &r.minutes, 10_000);
    if r.decisions.len() > 50 {
        errors.push(FieldError::new("decisions", tr.t("ledger.err.findings_max")));
    }
    let mut out = Vec::new();
    for (i, d) in r.decisions.iter().enumerate() {
        let req = ItemRequest {
            title: d.title.clone(),
            requirements: d.requirements.clone(),
            source: "meeting_decision".into(),
            level: Some("key".into()),
            category: d.category.clone().filter(|c| !c.trim().is_empty()).unwrap_or_else(|| "协调会议定".into()),
            unit: d.unit.clone(),
            assisting: d.assisting.clone(),
            responsible_leader: d.responsible_leader.clone(),
            responsible_person: d.responsible_person.clone(),
            days: d.days,
            case_id: None,
            parent_id: None,
            weight: None,
        };
        match items::checked_item(state, user, &req, tr).await {
            Ok(new) => out.push(new),
            Err(Error::Validation(fields)) => {
                errors.extend(
                    fields.into_iter().map(|f| FieldError::new(format!("decisions[{i}].{}", f.field), f.message)),
                );
            }
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() { Ok((minutes, out)) } else { Err(Error::Validation(errors)) }
}

async fn issue(state: &AppState, user: &CurrentUser, id: &str, r: &MinutesRequest, tr: Tr) -> Result<Meeting> {
    user.may(Permission::AssignItems)?;
    let m = visible(state, user, id).await?;
    if m.minutes.is_some() {
        return Err(Error::Conflict(tr.t("ledger.err.minutes_issued").into()));
    }
    let (minutes, decisions) = checked_minutes(state, user, r, tr).await?;
    meetings::issue_minutes(&state.store, &state.calendar, &m, &minutes, &decisions, &user.actor(), user.user.role)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Misuse(_) => Error::Conflict(tr.t("ledger.err.minutes_issued").into()),
            other => other.into(),
        })
}

/// The latest meetings on the caller's subtrees (or covering them).
#[utoipa::path(get, path = "/meetings", tag = "supervision",
    responses((status = 200, body = Vec<Meeting>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn list_meetings(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::Json<Vec<Meeting>>> {
    user.may(Permission::ReadLedger)?;
    Ok(axum::Json(meetings::list(&state.store, &user.user.scopes, 100).await?))
}

/// Record a coordination meeting (inspectors, supervisors): its minutes fall due in working days.
#[utoipa::path(post, path = "/meetings", tag = "supervision", request_body = MeetingRequest,
    responses((status = 201, body = MeetingDetail), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn create_meeting(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(r): ApiJson<MeetingRequest>,
) -> Result<Response> {
    let new = checked_meeting(&state, &user, &r, API).await?;
    let m = meetings::record(&state.store, &new, &user.actor()).await?;
    Ok((StatusCode::CREATED, axum::Json(detail(&state, m).await?)).into_response())
}

/// One meeting, its decisions, and the last meeting's on the same matter as they stand.
#[utoipa::path(get, path = "/meetings/{id}", tag = "supervision", params(("id" = String, Path, description = "Meeting id")),
    responses((status = 200, body = MeetingDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn get_meeting(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<MeetingDetail>> {
    let m = visible(&state, &user, &id).await?;
    Ok(axum::Json(detail(&state, m).await?))
}

/// Issue the numbered minutes with their decisions, each an item (once).
#[utoipa::path(post, path = "/meetings/{id}/minutes", tag = "supervision", params(("id" = String, Path, description = "Meeting id")),
    request_body = MinutesRequest,
    responses((status = 200, body = MeetingDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Issued already", body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn issue_minutes(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(r): ApiJson<MinutesRequest>,
) -> Result<axum::Json<MeetingDetail>> {
    let m = issue(&state, &user, &id, &r, API).await?;
    Ok(axum::Json(detail(&state, m).await?))
}

// ---- pages ----

#[derive(Template)]
#[template(path = "meetings.html")]
struct ListPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    rows: Vec<(Meeting, String)>,
    assigns: bool,
    errors: Vec<String>,
    form: MeetingRequest,
    attendees: String,
}

async fn render_list(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    errors: Vec<String>,
    form: MeetingRequest,
) -> Result<ListPage> {
    user.may(Permission::ReadLedger)?;
    let rows = meetings::list(&state.store, &user.user.scopes, 100).await?.into_iter().map(|m| {
        let at = local(m.held_at);
        (m, at)
    });
    Ok(ListPage {
        nav: Nav::new(Some(user), "/meetings"),
        csrf: user.csrf().to_owned(),
        rows: rows.collect(),
        assigns: user.user.role.may(Permission::AssignItems),
        errors,
        attendees: form.attendees.join("\n"),
        form,
        tr,
    })
}

/// `/meetings`.
pub(super) async fn list_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> std::result::Result<Response, PageError> {
    let form = MeetingRequest {
        previous_id: q.get("previous").cloned(),
        title: q.get("title").cloned().unwrap_or_default(),
        scope: q.get("scope").cloned().unwrap_or_default(),
        ..Default::default()
    };
    Ok(Page(render_list(&state, Tr { locale }, &user, Vec::new(), form).await?).into_response())
}

/// `POST /meetings`.
pub(super) async fn create_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let form = MeetingRequest {
        title: get("title"),
        scope: get("scope"),
        previous_id: Some(get("previous_id")).filter(|p| !p.is_empty()),
        place: get("place"),
        attendees: get("attendees").lines().map(str::to_owned).collect(),
        agenda: get("agenda"),
        minutes_days: get("minutes_days").parse().ok(),
    };
    let result = async {
        let new = checked_meeting(&state, &user, &form, tr).await?;
        Ok::<_, Error>(meetings::record(&state.store, &new, &user.actor()).await?)
    }
    .await;
    match result {
        Ok(m) => Ok(Redirect::to(&format!("/meetings/{}", m.id)).into_response()),
        Err(e) => {
            let (status, errors) = super::page::kept(e)?;
            Ok((status, Page(render_list(&state, tr, &user, errors, form).await?)).into_response())
        }
    }
}

struct DecisionRow {
    item: ItemView,
    due: String,
}

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage {
    tr: Tr,
    nav: Nav,
    csrf: String,
    d: MeetingDetail,
    held: String,
    due: String,
    issued: String,
    decisions: Vec<DecisionRow>,
    previous: Vec<DecisionRow>,
    may_issue: bool,
    errors: Vec<String>,
    minutes: String,
    rows: Vec<DecisionRequest>,
}

async fn render_meeting(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    m: Meeting,
    errors: Vec<String>,
    minutes: String,
    mut rows: Vec<DecisionRequest>,
) -> Result<MeetingPage> {
    let d = detail(state, m).await?;
    rows.resize_with(DECISION_ROWS.max(rows.len()), DecisionRequest::default);
    let row = |i: &ItemView| DecisionRow { item: i.clone(), due: local(i.deadline_at) };
    Ok(MeetingPage {
        nav: Nav::new(Some(user), &format!("/meetings/{}", d.meeting.id)),
        csrf: user.csrf().to_owned(),
        held: local(d.meeting.held_at),
        due: local(d.meeting.minutes_due_at),
        issued: d.meeting.minutes_issued_at.map(crate::domain::time::date_zh).unwrap_or_default(),
        decisions: d.decisions.iter().map(row).collect(),
        previous: d.previous_decisions.iter().map(row).collect(),
        may_issue: d.meeting.minutes.is_none() && user.user.role.may(Permission::AssignItems),
        errors,
        minutes,
        rows,
        d,
        tr,
    })
}

/// `/meetings/{id}`.
pub(super) async fn meeting_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> std::result::Result<Response, PageError> {
    let m = visible(&state, &user, &id).await?;
    Ok(Page(render_meeting(&state, Tr { locale }, &user, m, Vec::new(), String::new(), Vec::new()).await?)
        .into_response())
}

/// `POST /meetings/{id}/minutes`.
pub(super) async fn minutes_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let rows: Vec<DecisionRequest> = (0..DECISION_ROWS)
        .map(|i| DecisionRequest {
            title: get(&format!("title_{i}")),
            requirements: get(&format!("requirements_{i}")),
            category: None,
            unit: get(&format!("unit_{i}")),
            assisting: None,
            responsible_leader: get(&format!("leader_{i}")),
            responsible_person: get(&format!("person_{i}")),
            days: get(&format!("days_{i}")).parse().ok(),
        })
        .collect();
    let req = MinutesRequest {
        minutes: get("minutes"),
        decisions: rows.iter().filter(|r| !(r.title.is_empty() && r.unit.is_empty())).cloned().collect(),
    };
    match issue(&state, &user, &id, &req, tr).await {
        Ok(_) => Ok(Redirect::to(&format!("/meetings/{id}")).into_response()),
        Err(e) => {
            let (status, errors) = super::page::kept(e)?;
            let m = visible(&state, &user, &id).await?;
            Ok((status, Page(render_meeting(&state, tr, &user, m, errors, req.minutes, rows).await?)).into_response())
        }
    }
}
