//! The session-ID scheme: login sets a random ID in an HttpOnly cookie, every request is a
//! store lookup, logout deletes the session.

use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{authenticate_login, no_store, LoginRequest, Me};
use crate::credentials::{self, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult, Scheme};
use crate::json_body::JsonBody;
use crate::jwt::keys::random_token;
use crate::metrics::StoreOp;
use crate::state::AppState;
use crate::store::Session;

/// The `Set-Cookie` value for a session, or for clearing it (`max_age` 0).
pub fn session_cookie(id: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}")
}

fn cookie_header(value: String) -> ApiResult<HeaderValue> {
    HeaderValue::try_from(value).map_err(|_| ApiError::Internal)
}

/// `POST /session/login`: a new session with a new ID at every login (no fixation); a
/// session ID the client already had is deleted.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let user = authenticate_login(&state, Scheme::Session, &body).await?;
    if let Ok(Some(old)) = credentials::session_id(&headers, &state.metrics) {
        state
            .timed(StoreOp::Delete, state.sessions.delete(old))
            .await?;
    }
    let id = random_token(32);
    let session = Session {
        user: user.user,
        roles: user.roles,
    };
    let ttl = state.session_ttl;
    state
        .timed(StoreOp::Create, state.sessions.create(&id, &session, ttl))
        .await?;
    state.metrics.auth_ok(Scheme::Session);
    let cookie = cookie_header(session_cookie(&id, ttl.as_secs(), state.secure_cookies))?;
    let body = json!({
        "user": session.user,
        "roles": session.roles,
        "replica": state.replica,
        "expires_in": ttl.as_secs(),
    });
    Ok(([(SET_COOKIE, cookie)], no_store(), Json(body)).into_response())
}

/// `GET /session/me`: one store lookup.
pub async fn me(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    let (_, session) = state.authenticate_session(request.headers()).await?;
    Ok(Json(Me {
        user: &session.user,
        roles: &session.roles,
        replica: &state.replica,
    })
    .into_response())
}

/// `POST /session/logout`: deletes the session; the cookie is dead on every replica that
/// shares the store.
pub async fn logout(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    let (id, session) = state.authenticate_session(request.headers()).await?;
    state
        .timed(StoreOp::Delete, state.sessions.delete(id))
        .await?;
    let clear = cookie_header(session_cookie("", 0, state.secure_cookies))?;
    let body = json!({"logged_out": true, "user": session.user, "replica": state.replica});
    Ok(([(SET_COOKIE, clear)], Json(body)).into_response())
}
