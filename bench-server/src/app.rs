//! The router: every route of both schemes, with the edge middleware and body limit.

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::edge::edge;
use crate::error::ApiError;
use crate::routes::{admin, jwt, ops, session};
use crate::state::AppState;

/// Builds the application for `state`. Tests drive it in process with `tower::ServiceExt`.
pub fn app(state: AppState) -> Router {
    let body_limit = state.max_body_bytes;
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/.well-known/jwks.json", get(ops::jwks))
        .route("/session/login", post(session::login))
        .route("/session/me", get(session::me))
        .route("/session/logout", post(session::logout))
        .route("/jwt/login", post(jwt::login))
        .route("/jwt/me", get(jwt::me))
        .route("/jwt/refresh", post(jwt::refresh))
        .route("/jwt/logout", post(jwt::logout))
        .route("/admin/users/{user}/logout", post(admin::force_logout))
        .route("/admin/keys/reload", post(admin::reload_keys))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}
