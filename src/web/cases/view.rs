//! What the staff API shows of a case: a view of the stored row, apart from it, so that the
//! row can change without changing the API, and other APIs (Open311) can render the same case
//! their own way. The schema keeps the name `Case`.

use crate::domain::case::{Source, State};
use crate::store::cases::Case;

/// A case as the staff API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Case)]
pub struct CaseView {
    /// Id.
    pub id: String,
    /// Where it came from.
    pub source: Source,
    /// Category (free text, used by SLA policies).
    pub category: String,
    /// Priority (`normal`, `urgent`, …).
    pub priority: String,
    /// One line.
    pub title: String,
    /// What happened.
    pub description: String,
    /// The responsible unit.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// The supervising office.
    pub office_code: String,
    /// Its name.
    pub office_name: String,
    /// The rating that opened it.
    pub rating_id: Option<String>,
    /// Where it stands.
    pub state: State,
    /// The verification verdict, once given.
    pub verdict: Option<String>,
    /// Bumped by every change; send it back with an action to refuse stale updates.
    pub version: i64,
    /// How many times the case was redone (重办) after an unhappy follow-up visit.
    pub reopened: i64,
    /// Who opened it (`system` for ratings).
    pub created_by: String,
    /// Opened, ms.
    pub created_at: i64,
    /// Last change, ms.
    pub updated_at: i64,
    /// Closed, ms.
    pub closed_at: Option<i64>,
    /// The whole case's deadline (the policy's resolution time), ms.
    pub due_at: i64,
    /// The step being timed (`acknowledge`, `return_visit`, `rectification`).
    pub step: Option<String>,
    /// The step's deadline, ms.
    pub step_due_at: Option<i64>,
    /// The rectification deadline in force, ms.
    pub order_due_at: Option<i64>,
    /// Whether the last rectification report came in before its deadline.
    pub reported_on_time: Option<bool>,
    /// Working days asked for by a pending extension request.
    pub extension_days: Option<i64>,
    /// Why they were asked for.
    pub extension_reason: Option<String>,
}

impl From<&Case> for CaseView {
    fn from(c: &Case) -> CaseView {
        CaseView {
            id: c.id.clone(),
            source: c.source,
            category: c.category.clone(),
            priority: c.priority.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            unit_code: c.unit_code.clone(),
            unit_name: c.unit_name.clone(),
            office_code: c.office_code.clone(),
            office_name: c.office_name.clone(),
            rating_id: c.rating_id.clone(),
            state: c.state,
            verdict: c.verdict.clone(),
            version: c.version,
            reopened: c.reopened,
            created_by: c.created_by.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            closed_at: c.closed_at,
            due_at: c.due_at,
            step: c.step.clone(),
            step_due_at: c.step_due_at,
            order_due_at: c.order_due_at,
            reported_on_time: c.reported_on_time,
            extension_days: c.extension_days,
            extension_reason: c.extension_reason.clone(),
        }
    }
}
