//! The one middleware in front of every route: header size limits, the `X-Replica` header,
//! and the per-route request counter. Kept to a single layer to stay off the hot path.

use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::metrics::Route;
use crate::state::AppState;

/// `X-Replica`: which replica answered.
pub static X_REPLICA: HeaderName = HeaderName::from_static("x-replica");

/// Whether any header value exceeds `max`, or all headers together exceed `4 × max`.
fn headers_too_large(request: &Request, max: usize) -> bool {
    let mut total = 0usize;
    for (name, value) in request.headers() {
        let len = value.len();
        if len > max {
            return true;
        }
        total += name.as_str().len() + len + 4;
    }
    total > max.saturating_mul(4)
}

/// The edge middleware.
pub async fn edge(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = Route::of_path(request.uri().path());
    let mut response = if headers_too_large(&request, state.max_header_bytes) {
        ApiError::HeadersTooLarge.into_response()
    } else {
        next.run(request).await
    };
    response
        .headers_mut()
        .insert(X_REPLICA.clone(), state.replica_header.clone());
    state.metrics.request(route, response.status().as_u16());
    response
}
