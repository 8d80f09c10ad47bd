//! The inbox page: the caller's messages (alerts, SLA notices) and the open live alerts within
//! their scope. Messages link here.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::i18n::Tr;
use crate::store::alerts::{self, Alert, Message};
use crate::web::AppState;
use crate::web::auth::{Lang, PageUser};
use crate::web::pages::{Nav, Page, PageError, local};

/// `/alerts` (and `/inbox`, the same page).
pub fn pages() -> Router<AppState> {
    Router::new().route("/alerts", get(page)).route("/inbox", get(page))
}

struct Row {
    message: Message,
    at: String,
}

struct AlertRow {
    alert: Alert,
    at: String,
    /// The episode's history: (local time, catalog key of what happened).
    history: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    tr: Tr,
    nav: Nav,
    messages: Vec<Row>,
    alerts: Vec<AlertRow>,
}

async fn page(
    State(state): State<AppState>,
    Lang(locale): Lang,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let messages = alerts::inbox(&state.store, &user.user.id)
        .await?
        .into_iter()
        .map(|m| Row { at: local(m.created_at), message: m })
        .collect();
    let mut open = Vec::new();
    if user.user.role.may(crate::domain::permission::Permission::ReadRatings) {
        for root in &user.user.scopes {
            open.extend(alerts::list(&state.store, root, true).await?.into_iter().map(|a| AlertRow {
                at: local(a.opened_at),
                history: a.history.iter().map(|e| (local(e.at), format!("alert.event.{}", e.kind))).collect(),
                alert: a,
            }));
        }
    }
    let page = InboxPage { tr: Tr { locale }, nav: Nav::new(Some(&user), "/inbox"), messages, alerts: open };
    Ok(Page(page).into_response())
}
