//! The posters page (`/admin/posters`): an admin or supervisor picks a subtree, a paper size and
//! a format, starts a build, watches its progress bar and downloads the file. A whole city's
//! posters take seconds to draw, so the page never waits for them: the build runs in the
//! process that accepted it (one build at a time per process, the others queue), writes its
//! progress to the database at least every second and leaves the file under `files_dir`, so
//! every process can show the bar and serve the file. The progress page refreshes itself, so it
//! needs no JavaScript.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::role::Role;
use crate::i18n::Tr;
use crate::qr::{self, Paper};
use crate::store::poster_builds::{self, Build, NewBuild};
use crate::store::{Store, new_id, now_ms};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiForm, ApiPath, Error};
use crate::web::pages::{Nav, Page, PageError, local};

/// The build routes; `GET /admin/posters` itself is in `codes.rs`, which also serves a file at
/// once when asked for a `format`.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/admin/posters/builds", post(start_form))
        .route("/admin/posters/builds/{id}", get(build_page))
        .route("/admin/posters/builds/{id}/file", get(build_file))
}

/// One build at a time per process: a whole city's posters take a core for seconds.
static BUILDING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// How often a running build writes its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// The builds listed on the page.
const RECENT: i64 = 10;

/// A build as a row of the page.
struct BuildRow {
    b: Build,
    started: String,
    /// `queued`, `running`, `done`, `failed` or `interrupted`.
    state: String,
    /// Drawn of total, in per cent.
    percent: i64,
    /// The file's size in MB, one decimal.
    megabytes: String,
    /// Catalog keys of the state and the format.
    state_key: String,
    format_key: String,
}

impl BuildRow {
    fn of(b: Build, now: i64) -> BuildRow {
        let state = if b.interrupted(now) { "interrupted".to_owned() } else { b.state.clone() };
        let percent = if b.total > 0 { b.drawn * 100 / b.total } else { 0 };
        let megabytes = b.size.map(|s| format!("{:.1}", s as f64 / 1_048_576.0)).unwrap_or_default();
        let (state_key, format_key) = (format!("posters.state_{state}"), format!("posters.format_{}", b.format));
        BuildRow { started: local(b.created_at), state, percent, megabytes, state_key, format_key, b }
    }

    fn running(&self) -> bool {
        matches!(self.state.as_str(), "queued" | "running")
    }
}

#[derive(Template)]
#[template(path = "posters.html")]
struct PostersPage {
    tr: Tr,
    nav: Nav,
    under: String,
    paper: String,
    format: String,
    errors: Vec<String>,
    builds: Vec<BuildRow>,
}

/// The page: the form (with `under`, `paper` and `format` as given) and the caller's recent builds.
pub(super) async fn form_page(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    under: Option<&str>,
    paper: Option<&str>,
) -> Result<Response, PageError> {
    user.may(crate::domain::permission::Permission::PrintCodes)?;
    let root = user.subtree(state, under).await?;
    let page = render_form(state, tr, user, root.as_str(), paper.unwrap_or("a5"), "zip", Vec::new()).await?;
    Ok(Page(page).into_response())
}

async fn render_form(
    state: &AppState,
    tr: Tr,
    user: &CurrentUser,
    under: &str,
    paper: &str,
    format: &str,
    errors: Vec<String>,
) -> Result<PostersPage, Error> {
    let now = now_ms();
    let builds = poster_builds::recent(&state.store, &user.user.username, RECENT).await?;
    Ok(PostersPage {
        tr,
        nav: Nav::new(Some(user), "/admin/posters"),
        under: under.to_owned(),
        paper: paper.to_owned(),
        format: format.to_owned(),
        errors,
        builds: builds.into_iter().map(|b| BuildRow::of(b, now)).collect(),
    })
}

#[derive(Debug, serde::Deserialize)]
struct BuildForm {
    #[serde(default)]
    under: String,
    #[serde(default)]
    paper: String,
    #[serde(default)]
    format: String,
}

/// Checks the form: every field's problem at once, then the subtree's scope.
async fn validate(state: &AppState, tr: Tr, user: &CurrentUser, form: &BuildForm) -> Result<NewBuild, Error> {
    let mut fields = Vec::new();
    if Paper::parse(&form.paper).is_none() {
        fields.push(crate::domain::FieldError::new("paper", tr.t("posters.err.paper")));
    }
    if !matches!(form.format.as_str(), "html" | "zip") {
        fields.push(crate::domain::FieldError::new("format", tr.t("posters.err.format")));
    }
    if form.under.trim().is_empty() {
        fields.push(crate::domain::FieldError::new("under", tr.t("posters.err.under")));
    }
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    let root = match user.subtree(state, Some(&form.under)).await {
        Err(Error::Validation(_)) => return Err(Error::field("under", tr.t("posters.err.unknown"))),
        other => other?,
    };
    Ok(NewBuild {
        id: new_id(),
        root_code: root.as_str().to_owned(),
        paper: form.paper.clone(),
        format: form.format.clone(),
    })
}

async fn start_form(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiForm(form): ApiForm<BuildForm>,
) -> Result<Response, PageError> {
    let tr = Tr { locale };
    user.may(crate::domain::permission::Permission::PrintCodes)?;
    let build = match validate(&state, tr, &user, &form).await {
        Ok(b) => b,
        Err(e @ Error::Validation(_)) => {
            let status = e.status();
            let page =
                render_form(&state, tr, &user, &form.under, &form.paper, &form.format, e.page_messages()).await?;
            return Ok((status, Page(page)).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    expire(&state).await;
    poster_builds::create(&state.store, &user.actor(), &build).await?;
    tokio::spawn(run(state.clone(), build.clone()));
    Ok(Redirect::to(&format!("/admin/posters/builds/{}", build.id)).into_response())
}

/// Deletes builds that ended a day ago, with their files. A failure is logged: it must not stop
/// a new build.
async fn expire(state: &AppState) {
    match poster_builds::expire(&state.store, now_ms() - poster_builds::KEEP_MS).await {
        Ok(old) => {
            for b in old {
                let _ = tokio::fs::remove_file(file_path(state, &b.id, &b.format)).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not expire old poster builds"),
    }
}

fn file_path(state: &AppState, id: &str, format: &str) -> PathBuf {
    state.config.files_dir.join("posters").join(format!("{id}.{format}"))
}

/// Draws the build, writing its progress meanwhile, and records how it ended.
async fn run(state: AppState, build: NewBuild) {
    let drawn = Arc::new(AtomicI64::new(0));
    let work = draw(&state, &build, drawn.clone());
    tokio::pin!(work);
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let result = loop {
        tokio::select! {
            r = &mut work => break r,
            _ = tick.tick() => {
                if let Err(e) = poster_builds::progress(&state.store, &build.id, drawn.load(Ordering::Relaxed)).await {
                    tracing::warn!(build = %build.id, error = %e, "could not record poster build progress");
                }
            }
        }
    };
    let ended = match result {
        Ok(size) => poster_builds::finish(&state.store, &build.id, size).await,
        Err(e) => {
            tracing::warn!(build = %build.id, error = %e, "poster build failed");
            poster_builds::fail(&state.store, &build.id, &e).await
        }
    };
    if let Err(e) = ended {
        tracing::warn!(build = %build.id, error = %e, "could not record the end of a poster build");
    }
}

/// Waits its turn, lists the codes, draws them and writes the file (under a temporary name,
/// renamed once complete); returns the file's size.
async fn draw(state: &AppState, build: &NewBuild, drawn: Arc<AtomicI64>) -> Result<i64, String> {
    let _turn = BUILDING.acquire().await.map_err(|e| e.to_string())?;
    let root = crate::domain::ids::OrgCode::parse(&build.root_code).map_err(|e| e.0)?;
    let paper = Paper::parse(&build.paper).ok_or("unknown paper")?;
    let list = crate::web::codes::poster_list(&state.store, &state.config.public_url, &root)
        .await
        .map_err(|e| e.to_string())?;
    poster_builds::start(&state.store, &build.id, list.len() as i64).await.map_err(|e| e.to_string())?;
    let format = build.format.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let step = || {
            drawn.fetch_add(1, Ordering::Relaxed);
        };
        if format == "zip" {
            qr::posters_zip(&list, paper, step)
        } else {
            qr::posters_html(&list, paper, step).map(String::into_bytes)
        }
    })
    .await
    .map_err(|e| e.to_string())??;
    let path = file_path(state, &build.id, &build.format);
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    let tmp = dir.join(format!(".{}.part", build.id));
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    tokio::fs::write(&tmp, &bytes).await.map_err(io)?;
    tokio::fs::rename(&tmp, &path).await.map_err(io)?;
    Ok(bytes.len() as i64)
}

/// A build the caller may see: their own (an admin sees every one). Anyone else's is not found.
async fn own_build(store: &Store, user: &CurrentUser, id: &str) -> Result<Build, Error> {
    user.may(crate::domain::permission::Permission::PrintCodes)?;
    let b = poster_builds::get(store, id).await?.ok_or(Error::NotFound)?;
    if b.requested_by != user.user.username && user.user.role != Role::Admin {
        return Err(Error::NotFound);
    }
    Ok(b)
}

#[derive(Template)]
#[template(path = "poster_build.html")]
struct BuildPage {
    tr: Tr,
    nav: Nav,
    row: BuildRow,
    /// Refresh the page while the build runs.
    refresh: bool,
}

async fn build_page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let b = own_build(&state.store, &user, &id).await?;
    let row = BuildRow::of(b, now_ms());
    let nav = Nav::new(Some(&user), &format!("/admin/posters/builds/{id}"));
    let page = BuildPage { tr: Tr { locale }, nav, refresh: row.running(), row };
    Ok(Page(page).into_response())
}

async fn build_file(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let b = own_build(&state.store, &user, &id).await?;
    if b.state != "done" {
        return Err(Error::NotFound.into());
    }
    let bytes = tokio::fs::read(file_path(&state, &b.id, &b.format)).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound,
        _ => Error::Internal(e.to_string()),
    })?;
    let name = format!("posters-{}-{}.{}", b.root_code, b.paper, b.format);
    let (kind, disposition) = match b.format.as_str() {
        "zip" => ("application/zip", format!("attachment; filename=\"{name}\"")),
        _ => ("text/html; charset=utf-8", format!("inline; filename=\"{name}\"")),
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, kind.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}
