//! The live project page: a server-sent event stream of the channel's new messages and of its
//! requests whenever one changes (state, clock, colour), so the cadre's page shows the reply
//! clock and the firm's page the answer without a reload. The stream looks at the store once a
//! second (so it sees what any server process wrote) and ends after 25 seconds; the browser's
//! `EventSource` reconnects by itself, sending the last message's position (`Last-Event-ID`),
//! and nothing is missed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};

use super::firm_of;
use crate::store::enterprise::{channel, desk};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiPath, ApiQuery, Error, ErrorBody, Result};

/// How long one stream lasts before the browser reconnects.
const LIFETIME: Duration = Duration::from_secs(25);

/// How often the stream looks for news.
const POLL: Duration = Duration::from_secs(1);

/// Where to resume.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Send messages after this position (else after `Last-Event-ID`, else only new ones).
    pub after: Option<i64>,
}

struct Watch {
    state: AppState,
    project: String,
    firm: Option<String>,
    viewer_user: String,
    scopes: Vec<crate::domain::ids::OrgCode>,
    role: crate::domain::role::Role,
    after: i64,
    versions: HashMap<String, i64>,
    first: bool,
    looked: Option<i64>,
    until: tokio::time::Instant,
}

impl Watch {
    /// What changed since the last look, as events.
    async fn news(&mut self) -> std::result::Result<Vec<Event>, crate::store::StoreError> {
        let mut out = Vec::new();
        let messages = channel::since(self.state.store.pool(), &self.project, self.after, 100).await?;
        for m in messages {
            self.after = m.seq;
            let data = serde_json::to_string(&m).unwrap_or_default();
            out.push(Event::default().event("message").id(m.seq.to_string()).data(data));
        }
        let viewer =
            crate::store::enterprise::Viewer::of(self.role, &self.viewer_user, &self.scopes, self.firm.as_deref());
        // The first look sends the open requests; later ones what changed since the look before
        // (with a second's margin: a change committed while the last look ran is not missed).
        let now = crate::store::now_ms();
        let f = desk::Filter {
            project: Some(self.project.clone()),
            limit: 200,
            changed_since: self.looked.map(|t| t - 1000),
            ..Default::default()
        };
        self.looked = Some(now);
        let (requests, _) = desk::list(&self.state.store, &viewer, &f).await?;
        for r in requests {
            // A request is news when its version or its clock's colour moved.
            let mark = r.version * 10 + colour_rank(&r.colour);
            if self.versions.insert(r.id.clone(), mark) != Some(mark) {
                out.push(Event::default().event("request").data(serde_json::to_string(&r).unwrap_or_default()));
            }
        }
        if self.first {
            self.first = false;
            out.push(Event::default().event("ready").data(self.after.to_string()));
        }
        Ok(out)
    }
}

fn colour_rank(c: &Option<String>) -> i64 {
    match c.as_deref() {
        Some("blue") => 1,
        Some("yellow") => 2,
        Some("orange") => 3,
        Some("red") => 4,
        _ => 0,
    }
}

/// One server-sent event of the stream: `message` (a channel message as JSON, its position as
/// the id), `request` (a desk request as JSON) or `ready` (the last position sent).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProjectStreamEvent)]
pub struct StreamEvent {
    /// `message`, `request` or `ready`.
    pub event: String,
    /// The JSON of the message or request; the position for `ready`.
    pub data: String,
    /// A message's position.
    pub id: Option<String>,
}

/// A live stream of a project's channel (`message` events, each with its position as the event
/// id) and of its desk requests (`request` events whenever one changes state or colour; all of
/// them when the stream opens), then `ready`. With `Accept: text/event-stream` (as a browser's
/// EventSource sends) the stream goes on and ends after 25 seconds; reconnect with
/// `Last-Event-ID` (browsers do) to go on where it stopped. Without it, the response is that
/// first snapshot and ends.
#[utoipa::path(get, path = "/projects/{code}/stream", tag = "enterprise",
    params(("code" = String, Path, description = "Project code"), StreamParams),
    responses((status = 200, description = "Server-sent events: message, request, ready", content_type = "text/event-stream", body = StreamEvent),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub(super) async fn project_stream(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiQuery(p): ApiQuery<StreamParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let project = super::projects::reference(&state, &user, &code).await?;
    let last_event =
        headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let after = match last_event.or(p.after) {
        Some(a) if a < 0 => return Err(Error::field("after", super::API.t("ent.err.after"))),
        Some(a) => a,
        None => channel::last_seq(state.store.pool(), &project.id).await?,
    };
    let firm = firm_of(&state, &user).await?;
    // A browser's EventSource asks for an event stream and keeps it; any other client gets the
    // first look only (the snapshot, then `ready`), and the response ends.
    let live = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let watch = Watch {
        state,
        project: project.id,
        firm,
        viewer_user: user.user.id.clone(),
        scopes: user.user.scopes.clone(),
        role: user.user.role,
        after,
        versions: HashMap::new(),
        first: true,
        looked: None,
        until: tokio::time::Instant::now() + if live { LIFETIME } else { Duration::ZERO },
    };
    let events = stream::unfold(Some(watch), |watch| async move {
        let mut watch = watch?;
        if !watch.first {
            if tokio::time::Instant::now() >= watch.until {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
        match watch.news().await {
            Ok(events) => Some((events, Some(watch))),
            Err(e) => {
                tracing::warn!(error = %e, "project stream");
                None
            }
        }
    })
    .flat_map(|events| stream::iter(events.into_iter().map(Ok)));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
