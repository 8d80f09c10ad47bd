//! The ratings pages: the ratings within one's scope, one rating with its appeal (unit heads
//! file one, supervisors decide it), and the appeals waiting for a decision. The same rules
//! as the API (`ratings.rs`): scope, phone masking, one appeal per rating.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::ids::OrgCode;
use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::store::appeals::{self, Appeal};
use crate::store::org;
use crate::store::ratings::{self, RatingView};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiForm, ApiPath, ApiQuery, Error};
use crate::web::pages::{Nav, Page, PageError, local};

/// `/ratings`, `/ratings/{id}` (with its appeal forms) and `/appeals`.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/ratings", get(list_page))
        .route("/ratings/{id}", get(rating_page))
        .route("/ratings/{id}/appeal", post(appeal_form))
        .route("/appeals", get(appeals_page))
        .route("/appeals/{id}/decision", post(decision_form))
}

/// A rating as a row of a page or an export: with the rated node's name and words for its
/// level and reasons.
pub(super) struct Row {
    pub r: RatingView,
    pub at: String,
    pub place: String,
    pub outcome: String,
    pub reasons: String,
}

/// What rows need to know of the rated nodes: their names, and the settings of those whose
/// ratings carry a reason of their region's own (the four standard ones are named by the
/// catalog). Kept between the pages of an export.
#[derive(Default)]
pub(super) struct Places {
    names: HashMap<String, String>,
    settings: HashMap<String, ratings::RatingSettings>,
}

impl Places {
    /// Knows the names of every node under `root` at once (one query, for an export).
    pub(super) async fn under(state: &AppState, root: &OrgCode) -> Result<Places, Error> {
        let names = crate::store::org::names_under(&state.store, root).await?;
        Ok(Places { names, settings: HashMap::new() })
    }
}

/// `list` as rows, in `tr`'s language.
pub(super) async fn rows(state: &AppState, tr: Tr, list: Vec<RatingView>) -> Result<Vec<Row>, Error> {
    rows_with(state, tr, list, &mut Places::default()).await
}

/// [`rows`], with what `places` knows already, adding to it what is looked up now.
pub(super) async fn rows_with(
    state: &AppState,
    tr: Tr,
    list: Vec<RatingView>,
    places: &mut Places,
) -> Result<Vec<Row>, Error> {
    let mut out = Vec::with_capacity(list.len());
    for r in list {
        if !places.names.contains_key(&r.org_code) {
            let name = match OrgCode::parse(&r.org_code) {
                Ok(code) => org::get(&state.store, &code).await?.map(|n| n.name),
                Err(_) => None,
            };
            places.names.insert(r.org_code.clone(), name.unwrap_or_else(|| r.org_code.clone()));
        }
        let own_reason = r.reasons.iter().any(|c| !crate::domain::rating::STANDARD_REASONS.contains(&c.as_str()));
        let reasons = if own_reason {
            if !places.settings.contains_key(&r.org_code) {
                let settings = ratings::settings_for(&state.store, &r.org_code).await?;
                places.settings.insert(r.org_code.clone(), settings);
            }
            places.settings[&r.org_code].reason_labels(tr.locale, &r.reasons).join("、")
        } else {
            ratings::RatingSettings::default().reason_labels(tr.locale, &r.reasons).join("、")
        };
        let place = places.names[&r.org_code].clone();
        let level = tr.t(&format!("rate.level{}", r.level)).to_owned();
        let outcome = match r.scale {
            crate::domain::rating::Scale::Five => level,
            crate::domain::rating::Scale::Two => tr.t(&format!("outcome.{}", r.outcome)).to_owned(),
        };
        out.push(Row { at: local(r.created_at), place, outcome, reasons, r });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "ratings.html")]
struct ListPage {
    tr: Tr,
    nav: Nav,
    under: String,
    outcome: String,
    rows: Vec<Row>,
    /// The link to the next (older) page, when this one is full.
    older: Option<String>,
    /// The export form's default period: the last 30 days.
    from: String,
    to: String,
}

/// Listing filters.
#[derive(Debug, serde::Deserialize)]
struct ListParams {
    under: Option<String>,
    outcome: Option<String>,
    before: Option<i64>,
}

const PAGE_ROWS: i64 = 100;

async fn list_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, PageError> {
    user.require(user.user.role != Role::Enterprise)?;
    let tr = Tr { locale };
    let root = user.subtree(&state, p.under.as_deref().filter(|u| !u.is_empty())).await?;
    let outcome_text = p.outcome.clone().unwrap_or_default();
    let outcome = crate::web::ratings::parse_outcome(Some(&outcome_text))?;
    let reveal =
        user.user.role.may(crate::domain::permission::Permission::SeeFullPhone).then_some(&state.ratings.sealer);
    let list = ratings::list(&state.store, &root, outcome, p.before, PAGE_ROWS, reveal).await?;
    let older = (list.len() as i64 == PAGE_ROWS).then(|| list.last().map(|r| r.created_at)).flatten().map(|before| {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("under", root.as_str())
            .append_pair("outcome", &outcome_text)
            .append_pair("before", &before.to_string())
            .finish();
        format!("/ratings?{q}")
    });
    // The export form's period: the dashboard's default, the last 30 days.
    let period = crate::web::dashboard::Period::parse(None, None)?;
    let page = ListPage {
        tr,
        nav: Nav::new(Some(&user), "/ratings"),
        under: root.as_str().to_owned(),
        outcome: outcome_text,
        rows: rows(&state, tr, list).await?,
        older,
        from: period.first(),
        to: period.last(),
    };
    Ok(Page(page).into_response())
}

#[derive(Template)]
#[template(path = "rating.html")]
struct RatingPage {
    tr: Tr,
    nav: Nav,
    row: Row,
    appeal: Option<AppealRow>,
    /// The caller may appeal it now (a unit head; not appealed, not still being processed).
    may_appeal: bool,
    /// The caller may decide its pending appeal (a supervisor).
    may_decide: bool,
    errors: Vec<String>,
    /// What the caller typed, shown again with the errors.
    typed: String,
}

struct AppealRow {
    a: Appeal,
    filed: String,
    decided: String,
}

impl AppealRow {
    fn of(a: Appeal) -> AppealRow {
        AppealRow { filed: local(a.filed_at), decided: a.decided_at.map(local).unwrap_or_default(), a }
    }
}

async fn render_rating(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    id: &str,
    errors: Vec<String>,
    typed: String,
) -> Result<RatingPage, Error> {
    user.require(user.user.role != Role::Enterprise)?;
    let rating = crate::web::ratings::rating_in_scope(state, user, id).await?;
    let appeal = appeals::of_rating(&state.store, id).await?;
    let may_appeal =
        user.user.role.may(crate::domain::permission::Permission::FileAppeal) && appeal.is_none() && !rating.pending;
    let may_decide = user.user.role.may(crate::domain::permission::Permission::DecideAppeal)
        && appeal.as_ref().is_some_and(|a| a.state == "pending");
    let row = rows(state, tr, vec![rating]).await?.pop().ok_or(Error::NotFound)?;
    Ok(RatingPage {
        tr,
        nav: Nav::new(Some(user), &format!("/ratings/{id}")),
        row,
        appeal: appeal.map(AppealRow::of),
        may_appeal,
        may_decide,
        errors,
        typed,
    })
}

async fn rating_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    Ok(Page(render_rating(&state, Tr { locale }, &user, &id, Vec::new(), String::new()).await?).into_response())
}

/// Shows an error of a form on the rating's page (with what was typed), or as an error page
/// when the page itself may not be shown.
async fn form_error(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    rating_id: &str,
    e: Error,
    typed: String,
) -> Result<Response, PageError> {
    if matches!(e, Error::Forbidden | Error::NotFound | Error::Internal(_) | Error::Store(_) | Error::Unavailable) {
        return Err(PageError(e));
    }
    let status = e.status();
    let page = render_rating(state, tr, user, rating_id, e.page_messages(), typed).await?;
    Ok((status, Page(page)).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct AppealForm {
    #[serde(default)]
    reason: String,
}

async fn appeal_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    ApiForm(form): ApiForm<AppealForm>,
) -> Result<Response, PageError> {
    match crate::web::ratings::appeal(&state, &user, &id, &form.reason).await {
        Ok(_) => Ok(Redirect::to(&format!("/ratings/{id}")).into_response()),
        Err(e) => form_error(&state, Tr { locale }, &user, &id, e, form.reason).await,
    }
}

#[derive(Debug, serde::Deserialize)]
struct DecisionForm {
    #[serde(default)]
    upheld: String,
    #[serde(default)]
    note: String,
}

async fn decision_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
    ApiForm(form): ApiForm<DecisionForm>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let appeal = appeals::get(&state.store, &id).await?.ok_or(Error::NotFound)?;
    let upheld = match form.upheld.as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(Error::field("upheld", tr.t("appeal.err.choose"))),
    };
    let result = match upheld {
        Ok(upheld) => crate::web::ratings::decide(&state, &user, &id, upheld, &form.note).await,
        Err(e) => {
            // Scope and role first: an outsider learns nothing from the form's errors.
            user.require(user.user.role == Role::Supervisor)?;
            Err(e)
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/ratings/{}", appeal.rating_id)).into_response()),
        Err(e) => form_error(&state, tr, &user, &appeal.rating_id, e, form.note).await,
    }
}

#[derive(Template)]
#[template(path = "appeals.html")]
struct AppealsPage {
    tr: Tr,
    nav: Nav,
    state: String,
    appeals: Vec<AppealRow>,
}

#[derive(Debug, serde::Deserialize)]
struct AppealParams {
    state: Option<String>,
}

async fn appeals_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiQuery(p): ApiQuery<AppealParams>,
) -> Result<Response, PageError> {
    user.require(matches!(user.user.role, Role::UnitHead | Role::Supervisor | Role::Admin))?;
    let wanted = p.state.unwrap_or_else(|| "pending".into());
    let filter = match wanted.as_str() {
        "" => None,
        s @ ("pending" | "upheld" | "rejected") => Some(s),
        _ => return Err(Error::field("state", "must be pending, upheld or rejected").into()),
    };
    // Every scope's appeals, each once (scopes may nest), oldest first.
    let mut by_id = HashMap::new();
    for root in &user.user.scopes {
        by_id.extend(appeals::list(&state.store, root, filter).await?.into_iter().map(|a| (a.id.clone(), a)));
    }
    let mut list: Vec<AppealRow> = by_id.into_values().map(AppealRow::of).collect();
    list.sort_by(|x, y| (x.a.filed_at, &x.a.id).cmp(&(y.a.filed_at, &y.a.id)));
    let page = AppealsPage { tr: Tr { locale }, nav: Nav::new(Some(&user), "/appeals"), state: wanted, appeals: list };
    Ok(Page(page).into_response())
}
