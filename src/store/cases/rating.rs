//! The case of an unsatisfied rating: where the rating was given, the case it opens (titled by
//! the domain's rule), and opening it later for a rating stored without one (the `case.open` job).

use sqlx::Row;

use super::Case;
use super::open::{NewCase, open};
use crate::calendar_data::CalendarHandle;
use crate::domain::case::Source;
use crate::store::audit::Actor;
use crate::store::{Result, Store, opt_text};

/// Where a rating was given: the node rated (a unit or a window) and the unit it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct RatedPlace<'a> {
    /// The node rated.
    pub org_code: &'a str,
    /// Its name.
    pub org_name: &'a str,
    /// Its unit.
    pub unit_code: &'a str,
    /// The unit's name.
    pub unit_name: &'a str,
}

impl<'a> From<&'a crate::store::rating_codes::Target> for RatedPlace<'a> {
    fn from(t: &'a crate::store::rating_codes::Target) -> Self {
        RatedPlace { org_code: &t.org_code, org_name: &t.org_name, unit_code: &t.unit_code, unit_name: &t.unit_name }
    }
}

/// The case an unsatisfied rating opens, titled by its place and reasons (`labels`) with the
/// citizen's comment as its description.
pub fn rating_case(rating_id: &str, place: RatedPlace<'_>, labels: &[String], comment: &str) -> NewCase {
    let window = (place.org_code != place.unit_code).then_some(place.org_name);
    NewCase {
        source: Source::Rating,
        category: "*".into(),
        priority: "normal".into(),
        title: crate::domain::case::rating_case_title(place.unit_name, window, labels),
        description: comment.to_owned(),
        unit_code: place.unit_code.to_owned(),
        rating_id: Some(rating_id.to_owned()),
    }
}

/// Opens the case of an unsatisfied rating stored without one (by the `case.open` job, for
/// ratings whose batch could not open its cases). Idempotent: a rating opens one case however
/// often the job runs.
pub async fn open_for_rating(store: &Store, calendar: &CalendarHandle, rating_id: &str) -> Result<Option<Case>> {
    let row = sqlx::query(
        "select r.unit_code, r.org_code, r.outcome, r.reasons, r.comment, n.name, u.name as unit_name from ratings r
         join org_nodes n on n.code = r.org_code join org_nodes u on u.code = r.unit_code where r.id = $1",
    )
    .bind(rating_id)
    .fetch_optional(store.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    if r.try_get::<String, _>("outcome")? != "unsatisfied" {
        return Ok(None);
    }
    let reasons: Vec<String> = crate::store::decode_json(&r.try_get::<String, _>("reasons")?, "ratings.reasons")?;
    let (org_code, org_name): (String, String) = (r.try_get("org_code")?, r.try_get("name")?);
    let (unit_code, unit_name): (String, String) = (r.try_get("unit_code")?, r.try_get("unit_name")?);
    let place = RatedPlace { org_code: &org_code, org_name: &org_name, unit_code: &unit_code, unit_name: &unit_name };
    let settings = crate::store::ratings::settings_for(store, &org_code).await?;
    let comment = opt_text(&r, "comment")?.unwrap_or_default();
    let new = rating_case(rating_id, place, &settings.reason_labels(crate::i18n::Locale::ZhCn, &reasons), &comment);
    open(store, calendar, &new, &Actor::system()).await
}
