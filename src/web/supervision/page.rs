//! The supervision pages.

use axum::Router;

use crate::web::AppState;

/// The pages.
pub fn pages(_config: &crate::config::Config) -> Router<AppState> {
    Router::new()
}
