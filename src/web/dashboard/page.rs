//! The dashboard page (server-rendered, charts as SVG) and the help page on rates.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use crate::domain::ids::OrgCode;
use crate::domain::rates::{Counts, Rate};
use crate::i18n::Tr;
use crate::store::org;
use crate::web::AppState;
use crate::web::auth::{Lang, PageUser};
use crate::web::charts::{self, Bars, Columns, Heat, percent};
use crate::web::error::{Error, Result};
use crate::web::pages::{Nav, Page, PageError};

use super::{Dashboard, Member, Params, Period, build, trend_of};

struct MemberRow {
    m: Member,
    satisfaction: String,
    on_time: String,
    drill: bool,
}

struct RateView {
    rate: Rate,
    shown: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    tr: Tr,
    nav: Nav,
    d: Dashboard,
    query: String,
    trend: String,
    rates: Vec<RateView>,
    rows: Vec<MemberRow>,
    crumbs: Vec<(String, String)>,
    member_bars: Bars,
    columns: Columns,
    heat: Heat,
    reason_bars: Bars,
    funnel_bars: Bars,
    weekdays: Vec<(i64, String)>,
    held: i64,
}

pub(super) async fn page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    user.may(crate::domain::permission::Permission::ViewDashboards)?;
    let period = Period::parse(p.from.as_deref(), p.to.as_deref())?;
    let trend = trend_of(&p)?.to_owned();
    let node = user.subtree(&state, p.under.as_deref()).await?;
    let d = build(&state, &node, period, &trend).await?;
    let tr = Tr { locale };
    // The path from the viewer's scope down to this node, for going back up.
    let mut crumbs = Vec::new();
    for a in org::ancestors(&state.store, &node).await? {
        if a.code == node.as_str() {
            continue;
        }
        let code = OrgCode::parse(&a.code).map_err(|e| Error::Internal(e.0))?;
        if org::within(&state.store, &code, &user.user.scopes).await? {
            crumbs.push((a.code, a.name));
        }
    }
    let rows: Vec<MemberRow> = d
        .members
        .iter()
        .map(|m| MemberRow {
            satisfaction: percent(m.satisfaction),
            on_time: percent(m.on_time),
            drill: m.kind != "staff",
            m: m.clone(),
        })
        .collect();
    let member_bars = charts::bars(
        &d.members
            .iter()
            .map(|m| (m.name.clone(), m.satisfaction.unwrap_or(0.0), percent(m.satisfaction)))
            .collect::<Vec<_>>(),
        Some(1.0),
    );
    let columns = charts::columns(
        &d.trend.iter().map(|t| (t.start.clone(), t.counts.ratings, t.counts.unsatisfied)).collect::<Vec<_>>(),
    );
    let names: [&str; 7] = ["weekday.0", "weekday.1", "weekday.2", "weekday.3", "weekday.4", "weekday.5", "weekday.6"];
    let weekday_names: Vec<String> = names.iter().map(|k| tr.t(k).to_owned()).collect();
    let wd: [&str; 7] = std::array::from_fn(|i| weekday_names[i].as_str());
    let grid: [[i64; 24]; 7] = std::array::from_fn(|r| {
        std::array::from_fn(|h| d.heatmap.get(r).and_then(|row| row.get(h)).copied().unwrap_or(0))
    });
    let heat = charts::heat(&grid, &wd);
    let reason_label = |code: &str| -> String {
        let key = format!("reason.{code}");
        let t = tr.t(&key);
        if t == key { code.to_owned() } else { t.to_owned() }
    };
    let reason_bars = charts::bars(
        &d.reasons.iter().map(|(r, n)| (reason_label(r), *n as f64, n.to_string())).collect::<Vec<_>>(),
        None,
    );
    let funnel_bars = charts::bars(
        &d.funnel
            .iter()
            .map(|s| (tr.t(&format!("funnel.{}", s.key)).to_owned(), s.n as f64, s.n.to_string()))
            .collect::<Vec<_>>(),
        None,
    );
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("under", &d.code)
        .append_pair("from", &d.from)
        .append_pair("to", &d.to)
        .finish();
    let rates = d.rates.iter().map(|r| RateView { shown: percent(r.value), rate: r.clone() }).collect();
    let held = d.accountability.iter().map(|(_, n)| n).sum();
    let weekdays = (0..7).map(|i| (4 + i * 22 + 15, weekday_names[usize::try_from(i).unwrap_or(0)].clone())).collect();
    let page = DashboardPage {
        nav: Nav::new(Some(&user), "/dashboard"),
        tr,
        query,
        trend,
        rates,
        rows,
        crumbs,
        member_bars,
        columns,
        heat,
        reason_bars,
        funnel_bars,
        weekdays,
        held,
        d,
    };
    Ok(Page(page).into_response())
}

#[derive(Template)]
#[template(path = "rates_help.html")]
struct HelpPage {
    tr: Tr,
    nav: Nav,
    rates: Vec<Rate>,
}

pub(super) async fn help(Lang(locale): Lang, user: crate::web::auth::MaybeUser) -> Response {
    let page =
        HelpPage { tr: Tr { locale }, nav: Nav::new(user.0.as_ref(), "/help/rates"), rates: Counts::default().rates() };
    Page(page).into_response()
}
