//! Evidence files over HTTP, for every machine alike: an upload is checked (not empty, not too
//! large, a JPEG, PNG or PDF by its first bytes) and stored where the machine's `Files` say; a
//! download is sent inline under its name.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::store::workflow::{self, Attachment, Files};
use crate::web::AppState;
use crate::web::auth::CurrentUser;
use crate::web::error::{Error, Result};

/// Checks an evidence file and stores it where `files` says, for subject `id`.
pub(crate) async fn save_file(
    state: &AppState,
    user: &CurrentUser,
    files: &Files,
    id: &str,
    name: Option<&str>,
    bytes: &[u8],
) -> Result<Attachment> {
    if bytes.is_empty() {
        return Err(Error::field("file", "the file is empty"));
    }
    if bytes.len() > state.config.max_attachment_bytes {
        return Err(Error::TooLarge);
    }
    let content_type = workflow::sniff(bytes)
        .ok_or_else(|| Error::UnsupportedMediaType("evidence must be a JPEG or PNG photo or a PDF".into()))?;
    let name: String = name.unwrap_or_default().trim().chars().filter(|c| !c.is_control()).take(120).collect();
    let name = if name.is_empty() { "evidence".to_owned() } else { name };
    let dir = &state.config.files_dir;
    Ok(workflow::save_attachment(&state.store, dir, files, id, &name, content_type, bytes, &user.actor()).await?)
}

/// Sends an evidence file's content, shown inline under its name.
pub(crate) async fn serve_file(state: &AppState, a: &Attachment) -> Result<Response> {
    let bytes = tokio::fs::read(workflow::path_of(&state.config.files_dir, &a.sha256))
        .await
        .map_err(|e| Error::Internal(format!("attachment {}: {e}", a.id)))?;
    let disposition =
        format!("inline; filename*=UTF-8''{}", form_urlencoded::byte_serialize(a.name.as_bytes()).collect::<String>());
    Ok(([(header::CONTENT_TYPE, a.content_type.clone()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}
