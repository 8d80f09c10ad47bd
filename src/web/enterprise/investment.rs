//! The investment dashboard and the chains (链长制): projects by chain, park and colour; committed
//! against completed against arrived; the four rates of each chain; the desk's requests by how
//! they ended against their clocks; every figure a link down to the projects or requests behind
//! it. API and pages.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::page::money;
use super::{API, firm_of, viewer};
use crate::domain::enterprise::project::{ProjectStage, Slip};
use crate::domain::enterprise::rates::{Entry, Rates, rates};
use crate::domain::permission::Permission;
use crate::i18n::Tr;
use crate::store::enterprise::desk::{self, Outcomes};
use crate::store::enterprise::projects::{self, Project};
use crate::store::enterprise::{self as ent, Chain, Enterprise};
use crate::store::now_ms;
use crate::web::AppState;
use crate::web::auth::{CurrentUser, Lang, PageUser};
use crate::web::error::{ApiPath, Error, ErrorBody, Result};
use crate::web::pages::{Nav, Page, PageError};

/// One line of the dashboard: a chain, a park or a colour, and its projects' rates.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Line {
    /// The chain's id, the park's code or the colour.
    pub key: String,
    /// Its name.
    pub name: String,
    /// The projects' figures and rates.
    pub rates: Rates,
}

/// The investment dashboard.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Investment {
    /// Every project the caller sees.
    pub total: Rates,
    /// By chain (projects without a chain under `none`).
    pub by_chain: Vec<Line>,
    /// By park.
    pub by_park: Vec<Line>,
    /// By colour: `red`, `yellow`, `green`.
    pub by_colour: Vec<Line>,
    /// The desk's requests by how they ended against their clocks.
    pub requests: Outcomes,
}

fn entry(p: &Project) -> Entry {
    Entry {
        stage: p.stage,
        slip: p.slip.as_deref().and_then(Slip::parse),
        committed: p.committed_wan,
        arrived: p.arrived_wan,
        completed: p.completed_wan,
    }
}

fn lines(projects: &[Project], key: impl Fn(&Project) -> (String, String)) -> Vec<Line> {
    let mut groups: BTreeMap<(String, String), Vec<Entry>> = BTreeMap::new();
    for p in projects {
        groups.entry(key(p)).or_default().push(entry(p));
    }
    groups.into_iter().map(|((key, name), e)| Line { key, name, rates: rates(e) }).collect()
}

/// Every project `user` sees (the dashboard reads them all: a city has hundreds, not thousands).
async fn all_projects(state: &AppState, user: &CurrentUser) -> Result<Vec<Project>> {
    let firm = firm_of(state, user).await?;
    if user.user.role != crate::domain::role::Role::Enterprise {
        user.may(Permission::ReadProjects)?;
    }
    let mut out = Vec::new();
    let mut f = projects::Filter { limit: 500, ..Default::default() };
    loop {
        let (page, total) = projects::list(&state.store, &viewer(user, &firm), &f).await?;
        let n = page.len() as i64;
        out.extend(page);
        f.offset += n;
        if n == 0 || f.offset >= total {
            break;
        }
    }
    Ok(out)
}

/// The dashboard for `user`.
pub async fn build(state: &AppState, user: &CurrentUser) -> Result<Investment> {
    let all = all_projects(state, user).await?;
    let firm = firm_of(state, user).await?;
    let requests = desk::outcomes(&state.store, &viewer(user, &firm), None, now_ms()).await?;
    let colour_order = |c: &str| match c {
        "red" => "1",
        "yellow" => "2",
        _ => "3",
    };
    let mut by_colour = lines(&all, |p| (format!("{}{}", colour_order(&p.colour), p.colour), p.colour.clone()));
    for l in &mut by_colour {
        l.key = l.key[1..].to_owned();
    }
    Ok(Investment {
        total: rates(all.iter().map(entry)),
        by_chain: lines(&all, |p| {
            (p.chain_id.clone().unwrap_or_else(|| "none".into()), p.chain_name.clone().unwrap_or_default())
        }),
        by_park: lines(&all, |p| (p.park_code.clone(), p.park_name.clone())),
        by_colour,
        requests,
    })
}

/// The investment dashboard: the projects the caller sees by chain, park and colour, committed
/// against completed against arrived, the four rates (履约 kept, 开工 started, 投产 in
/// production, 资金到位 funds arrived), and the desk's requests by clock outcome.
#[utoipa::path(get, path = "/investment", tag = "enterprise",
    responses((status = 200, body = Investment), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn investment_api(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Investment>> {
    Ok(axum::Json(build(&state, &user).await?))
}

/// A chain with its firms by role, its projects and its rates.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChainDetail {
    /// The chain.
    pub chain: Chain,
    /// 链主: the lead firms.
    pub lead_firms: Vec<Enterprise>,
    /// Member firms.
    pub members: Vec<Enterprise>,
    /// Target firms the chain courts.
    pub targets: Vec<Enterprise>,
    /// Its projects the caller sees.
    pub projects: Vec<Project>,
    /// Their rates.
    pub rates: Rates,
}

/// Chain `id` as `user` sees it.
pub async fn chain_detail(state: &AppState, user: &CurrentUser, id: &str) -> Result<ChainDetail> {
    let chain = ent::chains(&state.store).await?.into_iter().find(|c| c.id == id).ok_or(Error::NotFound)?;
    let projects: Vec<Project> =
        all_projects(state, user).await?.into_iter().filter(|p| p.chain_id.as_deref() == Some(id)).collect();
    let firm = firm_of(state, user).await?;
    let firms: Vec<Enterprise> = ent::enterprises(&state.store, &viewer(user, &firm))
        .await?
        .into_iter()
        .filter(|f| f.chain_id.as_deref() == Some(id))
        .collect();
    let of = |role: &str| firms.iter().filter(|f| f.chain_role.as_deref() == Some(role)).cloned().collect();
    Ok(ChainDetail {
        lead_firms: of("lead"),
        members: of("member"),
        targets: of("target"),
        rates: rates(projects.iter().map(entry)),
        chain,
        projects,
    })
}

/// One chain (链长制): its 链长, lead firms (链主), members and targets, its projects and the four
/// rates computed from them.
#[utoipa::path(get, path = "/chains/{id}", tag = "enterprise", params(("id" = String, Path, description = "Chain id")),
    responses((status = 200, body = ChainDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn chain_api(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<ChainDetail>> {
    Ok(axum::Json(chain_detail(&state, &user, &id).await?))
}

/// A line as a page row: its link, name and the figures in words.
#[derive(Clone)]
struct Row {
    link: String,
    name: String,
    r: Rates,
    committed: String,
    completed: String,
    arrived: String,
}

fn row(tr: Tr, link: String, name: String, r: Rates) -> Row {
    Row {
        link,
        name,
        committed: money(tr, r.committed_wan),
        completed: money(tr, r.completed_wan),
        arrived: money(tr, r.arrived_wan),
        r,
    }
}

#[derive(Template)]
#[template(path = "investment.html")]
struct InvestmentPage {
    tr: Tr,
    nav: Nav,
    total: Row,
    chains: Vec<Row>,
    parks: Vec<Row>,
    colours: Vec<Row>,
    q: Outcomes,
    rating: String,
}

pub(super) async fn investment_page(
    State(state): State<AppState>,
    crate::web::auth::Lang(locale): Lang,
    PageUser(user): PageUser,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let d = build(&state, &user).await?;
    let _ = API;
    let page = InvestmentPage {
        nav: Nav::new(Some(&user), "/investment"),
        total: row(tr, "/projects".into(), tr.t("ent.all_projects").into(), d.total),
        chains: d
            .by_chain
            .into_iter()
            .map(|l| {
                let link = if l.key == "none" { "/projects".to_owned() } else { format!("/chains/{}", l.key) };
                let name = if l.key == "none" { tr.t("ent.no_chain").to_owned() } else { l.name };
                row(tr, link, name, l.rates)
            })
            .collect(),
        parks: d.by_park.into_iter().map(|l| row(tr, format!("/projects?park={}", l.key), l.name, l.rates)).collect(),
        colours: d
            .by_colour
            .into_iter()
            .map(|l| {
                row(tr, format!("/projects?colour={}", l.key), tr.t(&format!("ent.colour.{}", l.key)).into(), l.rates)
            })
            .collect(),
        rating: d.requests.average_rating.map(|r| format!("{r:.2}")).unwrap_or_else(|| "—".into()),
        q: d.requests,
        tr,
    };
    Ok(Page(page).into_response())
}

#[derive(Template)]
#[template(path = "chain.html")]
struct ChainPage {
    tr: Tr,
    nav: Nav,
    d: ChainDetail,
    total: Vec<Row>,
    projects: Vec<(Project, String, String)>,
}

pub(super) async fn chain_page(
    State(state): State<AppState>,
    crate::web::auth::Lang(locale): Lang,
    PageUser(user): PageUser,
    ApiPath(id): ApiPath<String>,
) -> std::result::Result<Response, PageError> {
    let tr = Tr { locale };
    let d = chain_detail(&state, &user, &id).await?;
    let projects = d
        .projects
        .iter()
        .map(|p| {
            let stage: ProjectStage = p.stage;
            (p.clone(), tr.t(&format!("ent.stage.{}", stage.as_str())).to_owned(), money(tr, p.committed_wan))
        })
        .collect();
    let page = ChainPage {
        nav: Nav::new(Some(&user), &format!("/chains/{id}")),
        total: vec![row(tr, format!("/projects?chain={id}"), d.chain.name.clone(), d.rates)],
        projects,
        d,
        tr,
    };
    Ok(Page(page).into_response())
}
