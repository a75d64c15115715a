//! Operations endpoints: health, Prometheus metrics, JWKS.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::AppState;

/// `GET /healthz`: no auth, no state; the baseline every auth cost is compared with.
pub async fn healthz(State(state): State<AppState>) -> Response {
    Json(json!({"status": "ok", "replica": state.replica})).into_response()
}

/// `GET /metrics`: Prometheus text format, CPU and RSS read now.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let live = match state.sessions.live_sessions().await {
        Ok(n) => Some(n),
        Err(err) => {
            tracing::warn!(cause = %err, "live session count unavailable");
            None
        }
    };
    let jwt = state.jwt.current();
    let alg = jwt.ring().alg().to_string();
    let mut text = state
        .metrics
        .render(&state.replica, state.sessions.kind(), &alg, live);
    if let Some(guard) = &state.store_guard {
        let labels = format!(
            "replica=\"{}\",store=\"{}\"",
            crate::metrics::escape(&state.replica),
            state.sessions.kind()
        );
        guard.render(&mut text, &labels);
    }
    state.metrics.render_keys(
        &mut text,
        &state.replica,
        &alg,
        jwt.keys().kid(),
        jwt.ring().previous().map(|key| key.kid()),
    );
    let labels = format!("replica=\"{}\"", state.replica);
    state.conn.stats.render(&mut text, "authbench", &labels);
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// `GET /.well-known/jwks.json`: the current public key, then the previous one (none for
/// HS256).
pub async fn jwks(State(state): State<AppState>) -> Response {
    Json(state.jwt.current().ring().jwks()).into_response()
}
