//! The rating settings page (`/org/{code}/rating-settings`, admins): a node's scale (two or five
//! levels), its own reasons besides the four standard ones, and the default level recorded for
//! an invitation left unrated. The same checks as `PUT /api/v1/org/nodes/{code}/rating-settings`
//! (`codes::checked_settings`); a change applies to the node and every node below it without
//! settings of its own.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::domain::FieldError;
use crate::domain::ids::OrgCode;
use crate::domain::rating::Scale;
use crate::i18n::Tr;
use crate::store::org::{self, OrgNode};
use crate::store::ratings::{self, RatingSettings, ReasonDef};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiForm, ApiPath, ApiQuery, Error};
use crate::web::pages::{Nav, Page, PageError};

/// The page and its form.
pub fn pages() -> Router<AppState> {
    Router::new().route("/org/{code}/rating-settings", get(settings_page).post(settings_form))
}

/// Blank reason rows offered below the region's own.
const BLANK_ROWS: usize = 3;

/// A reason row of the form: code, Chinese and English label.
struct ReasonRow {
    code: String,
    zh: String,
    en: String,
}

impl ReasonRow {
    /// Left empty: not a reason.
    fn is_blank(&self) -> bool {
        [&self.code, &self.zh, &self.en].iter().all(|v| v.trim().is_empty())
    }
}

#[derive(Template)]
#[template(path = "rating_settings.html")]
struct SettingsPage {
    tr: Tr,
    nav: Nav,
    node: OrgNode,
    /// Where the settings in force come from: this node, an ancestor (code and name), or the
    /// defaults (`None`).
    origin: Option<(String, String)>,
    own: bool,
    /// Nodes below with settings of their own.
    below: i64,
    scale: String,
    rows: Vec<ReasonRow>,
    default_level: String,
    default_after_days: String,
    errors: Vec<String>,
    saved: bool,
}

#[derive(Debug, serde::Deserialize)]
struct Notice {
    saved: Option<String>,
}

async fn node_for_admin(state: &AppState, user: &CurrentUser, code: &str) -> Result<OrgNode, Error> {
    user.may(crate::domain::permission::Permission::ManageCodes)?;
    let code = OrgCode::parse(code).map_err(|_| Error::NotFound)?;
    let node = org::get(&state.store, &code).await?.ok_or(Error::NotFound)?;
    user.require_scope(state, &code).await?;
    Ok(node)
}

/// The page for `node`, its form filled from `form` (what was typed) or from the settings in force.
async fn render(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    node: OrgNode,
    form: Option<(String, Vec<ReasonRow>, String, String)>,
    errors: Vec<String>,
    saved: bool,
) -> Result<SettingsPage, Error> {
    let code = node.code.as_str().to_owned();
    let origin = match ratings::settings_origin(&state.store, &code).await? {
        Some(c) => {
            let name = match OrgCode::parse(&c) {
                Ok(oc) => org::get(&state.store, &oc).await?.map(|n| n.name),
                Err(_) => None,
            };
            Some((c.clone(), name.unwrap_or(c)))
        }
        None => None,
    };
    // What was typed, row for row (so that the errors' row numbers match); or the settings in
    // force with blank rows for new reasons.
    let (scale, rows, default_level, default_after_days) = match form {
        Some(typed) => typed,
        None => {
            let s = ratings::settings_for(&state.store, &code).await?;
            let blank =
                (0..BLANK_ROWS).map(|_| ReasonRow { code: String::new(), zh: String::new(), en: String::new() });
            let rows = s.extra_reasons.into_iter().map(|r| ReasonRow { code: r.code, zh: r.zh, en: r.en }).chain(blank);
            let level = s.default_level.map(|l| l.to_string()).unwrap_or_default();
            let days = s.default_after_days.map(|d| d.to_string()).unwrap_or_default();
            (s.scale.as_str().to_owned(), rows.collect(), level, days)
        }
    };
    Ok(SettingsPage {
        tr,
        nav: Nav::new(Some(user), &format!("/org/{code}/rating-settings")),
        own: origin.as_ref().is_some_and(|(c, _)| c == &code),
        below: ratings::own_settings_below(&state.store, &code).await?,
        origin,
        node,
        scale,
        rows,
        default_level,
        default_after_days,
        errors,
        saved,
    })
}

async fn settings_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(code): ApiPath<String>,
    ApiQuery(notice): ApiQuery<Notice>,
) -> Result<Response, PageError> {
    let node = node_for_admin(&state, &user, &code).await?;
    let page = render(&state, Tr { locale }, &user, node, None, Vec::new(), notice.saved.is_some()).await?;
    Ok(Page(page).into_response())
}

/// The form's fields, as posted: `scale`, `code_N`, `zh_N`, `en_N` (N from 0), `default_level`,
/// `default_after_days`.
fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// The reason rows as posted (`code_N`, `zh_N`, `en_N` from N = 0 until a row is missing), blank
/// ones included, so that they keep the numbers the page shows.
fn typed_rows(form: &[(String, String)]) -> Vec<ReasonRow> {
    let mut rows = Vec::new();
    for i in 0.. {
        let names = [format!("code_{i}"), format!("zh_{i}"), format!("en_{i}")];
        if !form.iter().any(|(k, _)| names.contains(k)) {
            return rows;
        }
        let [code, zh, en] = names.map(|n| field(form, &n).to_owned());
        rows.push(ReasonRow { code, zh, en });
    }
    rows
}

/// Reads the form into settings; the reason rows left blank are skipped. Field names in errors
/// name the row as the page numbers it (`reason 2 · code`).
fn read_form(tr: Tr, form: &[(String, String)]) -> Result<RatingSettings, Error> {
    let mut fields = Vec::new();
    let scale = match field(form, "scale") {
        "two" => Some(Scale::Two),
        "five" => Some(Scale::Five),
        _ => None,
    };
    if scale.is_none() {
        fields.push(FieldError::new("scale", tr.t("settings.err.scale")));
    }
    let number = |name: &str, fields: &mut Vec<FieldError>| -> Option<i64> {
        let v = field(form, name).trim();
        if v.is_empty() {
            return None;
        }
        match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                fields.push(FieldError::new(name, tr.t("settings.err.number")));
                None
            }
        }
    };
    let level = number("default_level", &mut fields);
    let days = number("default_after_days", &mut fields);
    let mut reasons = Vec::new();
    let mut row_numbers = Vec::new();
    for (i, row) in typed_rows(form).into_iter().enumerate() {
        if row.is_blank() {
            continue;
        }
        reasons.push(ReasonDef { code: row.code.trim().to_owned(), zh: row.zh, en: row.en });
        row_numbers.push(i + 1);
    }
    let settings = RatingSettings {
        scale: scale.unwrap_or(Scale::Two),
        extra_reasons: reasons,
        default_level: level.map(|l| u8::try_from(l).unwrap_or(u8::MAX)),
        default_after_days: days,
    };
    let checked = crate::web::codes::checked_settings(&settings, tr);
    // The form's own problems first, then the settings' (renamed to the page's rows).
    let mut more = match checked {
        Ok(s) if fields.is_empty() => return Ok(s),
        Ok(_) => Vec::new(),
        Err(Error::Validation(f)) => f,
        Err(e) => return Err(e),
    };
    for f in &mut more {
        for (k, row) in row_numbers.iter().enumerate() {
            if let Some(rest) = f.field.strip_prefix(&format!("extra_reasons[{k}].")) {
                let part = tr.t(&format!("settings.reason_{rest}")).to_owned();
                f.field = format!("{} {row} · {part}", tr.t("settings.reason"));
            }
        }
    }
    // A bad number is named once, not again as out of range.
    more.retain(|f| !fields.iter().any(|g| g.field == f.field));
    fields.extend(more);
    Err(Error::Validation(fields))
}

async fn settings_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(code): ApiPath<String>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    let node = node_for_admin(&state, &user, &code).await?;
    match read_form(tr, &form) {
        Ok(settings) => {
            ratings::set_settings(&state.store, node.code.as_str(), &settings, &user.actor()).await?;
            state.ratings.forget_codes();
            Ok(Redirect::to(&format!("/org/{}/rating-settings?saved=1", node.code)).into_response())
        }
        Err(e @ Error::Validation(_)) => {
            let status = e.status();
            let typed = (
                field(&form, "scale").to_owned(),
                typed_rows(&form),
                field(&form, "default_level").to_owned(),
                field(&form, "default_after_days").to_owned(),
            );
            let page = render(&state, tr, &user, node, Some(typed), e.page_messages(), false).await?;
            Ok((status, Page(page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
