//! The admin API under `/admin` (in progress).

use std::sync::Arc;

use axum::Router;

use crate::state::AppState;

/// Routes mounted at `/admin`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
}
