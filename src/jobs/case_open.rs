//! `case.open`: opens the case of an unsatisfied rating. Enqueued in the rating's own
//! transaction, so every unsatisfied rating that committed gets its case, while ingestion
//! stays one cheap insert per rating. Payload `{"rating": ID}`; running it twice opens one case.

use crate::calendar_data::CalendarHandle;
use crate::store::Store;

/// The job's stable name.
pub const KIND: &str = crate::store::jobs::CASE_OPEN;

/// Opens the case.
pub async fn run(store: &Store, calendar: &CalendarHandle, payload: &serde_json::Value) -> Result<(), String> {
    let rating = payload.get("rating").and_then(|v| v.as_str()).ok_or("payload has no rating")?;
    crate::store::cases::open_for_rating(store, calendar, rating).await.map_err(|e| e.to_string())?;
    Ok(())
}
