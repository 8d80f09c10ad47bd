//! `POST /api/v1/cases/{id}/actions`: one request shape for every action, parsed into the
//! domain's [`Action`] and the [`Details`] beside it, then checked in this order: the case
//! exists (404), is in the caller's scope (403), the role owns the action (403), the details are
//! valid (422), the version is current and the state allows it (409).

use crate::domain::FieldError;
use crate::domain::case::{Accountability, Action, ActionName, Facts, Refusal, Verdict, transition};
use crate::domain::ids::{CaseId, OrgCode, StaffNo};
use crate::store::cases::apply::{self, ApplyError, Details};
use crate::store::cases::{self, Case};
use crate::store::now_ms;
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::Error;

/// Longest note, requirement or reason, in characters.
pub const MAX_TEXT: usize = 2000;
/// Longest rectification deadline or extension, in working days.
pub const MAX_DAYS: u32 = 60;

/// An action on a case. `action` names it; the other fields are what that action needs.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// `acknowledge`, `return_visit`, `verify`, `order`, `report`, `accept`, `return`,
    /// `follow_up`, `decide`, `request_extension`, `decide_extension`, `send_back`,
    /// `reassign` or `close`.
    pub action: String,
    /// The case's version as the caller read it; a different current version answers 409.
    pub version: Option<i64>,
    /// What the citizen said (return visits), the explanation (verify, close), what was fixed
    /// (report), the reason (return, decide, extension, send back). Required except for
    /// acknowledge, accept and decide_extension.
    pub note: Option<String>,
    /// return_visit: the citizen was reached.
    pub reached: Option<bool>,
    /// verify: `substantiated`, `partly`, `unsubstantiated` or `malicious`.
    pub verdict: Option<String>,
    /// order: what must be fixed.
    pub requirements: Option<String>,
    /// order, return: working days to fix it (1–60).
    pub deadline_days: Option<u32>,
    /// report (at least one), any other action: ids of files uploaded to this case.
    pub attachments: Option<Vec<String>>,
    /// follow_up: the citizen is satisfied now.
    pub satisfied: Option<bool>,
    /// decide: `none`, `reminder`, `admonition_talk`, `public_criticism`, `discipline_referral`.
    pub kind: Option<String>,
    /// decide: staff numbers of the people held to account.
    pub staff: Option<Vec<String>>,
    /// decide: the unit head held to account, by name.
    pub unit_head: Option<String>,
    /// request_extension: working days more (1–60).
    pub days: Option<u32>,
    /// decide_extension: grant it.
    pub approve: Option<bool>,
    /// reassign: the unit the case goes to.
    pub unit: Option<String>,
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl ActionRequest {
    /// The action's name, or a field error.
    pub fn name(&self) -> Result<ActionName, Error> {
        ActionName::parse(self.action.trim()).ok_or_else(|| {
            let names: Vec<&str> = ActionName::ALL.iter().map(|a| a.as_str()).collect();
            Error::field("action", format!("unknown action; one of {}", names.join(", ")))
        })
    }

    /// Parses the request into the domain's action and its details; every bad field is listed.
    pub fn parse(&self, name: ActionName) -> Result<(Action, Details), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut need = |field: &str, ok: bool, message: &str| {
            if !ok {
                errors.push(FieldError::new(field, message));
            }
        };
        let note = text(&self.note);
        if let Some(n) = &note
            && n.chars().count() > MAX_TEXT
        {
            need("note", false, "at most 2000 characters");
        }
        let note_needed = !matches!(name, ActionName::Acknowledge | ActionName::Accept | ActionName::DecideExtension);
        need("note", !note_needed || note.is_some(), "write what happened or why");
        let days = |v: Option<u32>, field: &str, errors: &mut Vec<FieldError>| -> u32 {
            match v {
                Some(d) if (1..=MAX_DAYS).contains(&d) => d,
                _ => {
                    errors.push(FieldError::new(field, "working days from 1 to 60"));
                    1
                }
            }
        };
        let mut details = Details {
            note: note.unwrap_or_default(),
            attachments: self.attachments.clone().unwrap_or_default(),
            ..Details::default()
        };
        let action = match name {
            ActionName::Acknowledge => Action::Acknowledge,
            ActionName::ReturnVisit => {
                need("reached", self.reached.is_some(), "say whether the citizen was reached");
                Action::ReturnVisit { reached: self.reached.unwrap_or(false) }
            }
            ActionName::Verify => {
                let verdict = self.verdict.as_deref().and_then(Verdict::parse);
                need("verdict", verdict.is_some(), "substantiated, partly, unsubstantiated or malicious");
                Action::Verify { verdict: verdict.unwrap_or(Verdict::Substantiated) }
            }
            ActionName::Order => {
                let req = text(&self.requirements);
                need("requirements", req.is_some(), "say what must be fixed");
                need(
                    "requirements",
                    req.as_ref().is_none_or(|r| r.chars().count() <= MAX_TEXT),
                    "at most 2000 characters",
                );
                details.requirements = req;
                Action::Order { deadline_days: days(self.deadline_days, "deadline_days", &mut errors) }
            }
            ActionName::Report => {
                need("attachments", !details.attachments.is_empty(), "attach the evidence of the fix (photo or PDF)");
                Action::Report
            }
            ActionName::Accept => Action::Accept,
            ActionName::Return => {
                Action::Return { deadline_days: days(self.deadline_days, "deadline_days", &mut errors) }
            }
            ActionName::FollowUp => {
                need("satisfied", self.satisfied.is_some(), "say whether the citizen is satisfied now");
                Action::FollowUp { satisfied: self.satisfied.unwrap_or(false) }
            }
            ActionName::Decide => {
                let kind = self.kind.as_deref().and_then(Accountability::parse);
                need(
                    "kind",
                    kind.is_some(),
                    "none, reminder, admonition_talk, public_criticism or discipline_referral",
                );
                for s in self.staff.iter().flatten().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                    match StaffNo::parse(s) {
                        Ok(no) => details.staff.push(no.as_str().to_owned()),
                        Err(e) => errors.push(FieldError::new("staff", e.0)),
                    }
                }
                details.unit_head = text(&self.unit_head);
                Action::Decide { kind: kind.unwrap_or(Accountability::None) }
            }
            ActionName::RequestExtension => Action::RequestExtension { days: days(self.days, "days", &mut errors) },
            ActionName::DecideExtension => {
                need("approve", self.approve.is_some(), "say whether the extension is granted");
                Action::DecideExtension { approve: self.approve.unwrap_or(false) }
            }
            ActionName::SendBack => Action::SendBack,
            ActionName::Reassign => {
                match self.unit.as_deref().map(OrgCode::parse) {
                    Some(Ok(code)) => details.unit = Some(code.as_str().to_owned()),
                    Some(Err(e)) => errors.push(FieldError::new("unit", e.0)),
                    None => errors.push(FieldError::new("unit", "name the unit the case goes to")),
                }
                Action::Reassign
            }
            ActionName::Close => Action::Close,
        };
        if errors.is_empty() { Ok((action, details)) } else { Err(errors) }
    }
}

/// Loads a case the caller may see: 404 if there is none, 403 outside the caller's scope.
pub async fn visible_case(state: &AppState, user: &CurrentUser, id: &str) -> Result<Case, Error> {
    let id = CaseId::parse(id).map_err(|_| Error::NotFound)?;
    let case = cases::get(&state.store, &id).await?.ok_or(Error::NotFound)?;
    if !cases::visible(&state.store, &case, &user.viewer()).await? {
        return Err(Error::Forbidden);
    }
    Ok(case)
}

/// The facts the state machine decides on.
pub fn facts(case: &Case) -> Facts {
    Facts {
        state: case.state,
        source: case.source,
        now: now_ms(),
        order_due: case.order_due_at,
        extension_pending: case.extension_days.is_some(),
    }
}

/// Applies one action for `user`; returns the case after it.
pub async fn act(state: &AppState, user: &CurrentUser, id: &str, req: &ActionRequest) -> Result<Case, Error> {
    let case = visible_case(state, user, id).await?;
    let name = req.name()?;
    let role = user.user.role;
    if !name.owners().contains(&role) {
        return Err(Error::Forbidden);
    }
    let (action, details) = req.parse(name).map_err(Error::Validation)?;
    // Every target of an action lies within the actor's scope, as the case itself does.
    if let Some(unit) = details.unit.as_deref().and_then(|u| OrgCode::parse(u).ok())
        && !crate::store::org::within(&state.store, &unit, &user.user.scopes).await?
    {
        return Err(Error::field("unit", "the unit is outside your scope"));
    }
    if let Some(v) = req.version
        && v != case.version
    {
        return Err(Error::Conflict(format!(
            "the case is at version {}, not {v}: someone changed it; reload it and try again",
            case.version
        )));
    }
    let t = transition(&facts(&case), action, role).map_err(|r| match r {
        Refusal::WrongRole => Error::Forbidden,
        other => Error::Conflict(other.to_string()),
    })?;
    apply::apply(&state.store, &state.calendar, &case, t, &details, &user.actor(), role).await.map_err(|e| match e {
        stale @ ApplyError::Stale(_) => Error::Conflict(stale.to_string()),
        ApplyError::Invalid(fields) => Error::Validation(fields),
        ApplyError::Store(s) => s.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: serde_json::Value) -> ActionRequest {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_action_names_the_fields_it_is_missing() {
        let fields = |r: ActionRequest| -> Vec<String> {
            let name = r.name().unwrap_or_else(|e| panic!("{e}"));
            r.parse(name).err().unwrap_or_default().into_iter().map(|f| f.field).collect()
        };
        assert!(fields(req(serde_json::json!({"action": "acknowledge"}))).is_empty());
        assert_eq!(fields(req(serde_json::json!({"action": "verify"}))), vec!["note", "verdict"]);
        assert_eq!(
            fields(req(serde_json::json!({"action": "order", "note": "x", "deadline_days": 0}))),
            vec!["requirements", "deadline_days"]
        );
        assert_eq!(fields(req(serde_json::json!({"action": "report", "note": "fixed"}))), vec!["attachments"]);
        assert_eq!(
            fields(req(serde_json::json!({"action": "decide", "note": "r", "kind": "fine", "staff": ["bad no!"]}))),
            vec!["kind", "staff"]
        );
        assert!(req(serde_json::json!({"action": "dance"})).name().is_err());
    }
}
