//! The JWT scheme: login returns a signed token; requests are verified without state unless
//! a revocation strategy is on. With `--revocation refresh`, login also returns a refresh
//! token, kept in the store and rotated at every `POST /jwt/refresh`.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{authenticate_login, no_store, LoginRequest, Me};
use crate::config::Revocation;
use crate::credentials;
use crate::error::{ApiError, ApiResult, AuthReason, Scheme};
use crate::json_body::JsonBody;
use crate::jwt::keys::random_token;
use crate::metrics::StoreOp;
use crate::state::AppState;
use crate::store::Session;

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// `POST /jwt/refresh` body, and the optional body of `POST /jwt/logout`.
#[derive(Debug, Deserialize)]
pub struct RefreshRequest {
    /// A refresh token from login or an earlier refresh.
    pub refresh_token: String,
}

/// A signed access token for `user` and, with `--revocation refresh`, a new refresh token:
/// the JSON body of login and refresh.
async fn issue(state: &AppState, user: &str, roles: &[String]) -> ApiResult<Value> {
    let version = match state.revocation {
        Revocation::None | Revocation::Refresh => None,
        Revocation::Denylist | Revocation::TokenVersion => Some(
            state
                .timed(StoreOp::VersionRead, state.revocations.version(user))
                .await?,
        ),
    };
    let issued = state
        .jwt
        .issue(user, roles, version, now())
        .map_err(|err| {
            tracing::error!(cause = %err, "signing failed");
            ApiError::Internal
        })?;
    let mut body = json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
    });
    if state.revocation == Revocation::Refresh {
        let id = random_token(32);
        let record = Session {
            user: user.to_owned(),
            roles: roles.to_vec(),
        };
        let ttl = state.refresh_ttl;
        state
            .timed(
                StoreOp::Create,
                state.refresh_tokens.create(&id, &record, ttl),
            )
            .await?;
        body["refresh_token"] = json!(id);
        body["refresh_expires_in"] = json!(ttl.as_secs());
    }
    Ok(body)
}

/// `POST /jwt/login`: `{"access_token", "token_type": "Bearer", "expires_in"}`, plus
/// `"refresh_token"` and `"refresh_expires_in"` with `--revocation refresh`.
pub async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let user = authenticate_login(&state, Scheme::Jwt, &body).await?;
    let body = issue(&state, &user.user, &user.roles).await?;
    state.metrics.auth_ok(Scheme::Jwt);
    Ok((no_store(), Json(body)).into_response())
}

/// `POST /jwt/refresh` (`--revocation refresh` only): trades a refresh token for a new
/// access token and a new refresh token. The presented token is deleted before anything is
/// issued, and only the request whose delete removed it goes on, so each refresh token works
/// exactly once, even when two requests race with it.
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> ApiResult<Response> {
    if state.revocation != Revocation::Refresh {
        return Err(ApiError::NotFound(
            "refresh tokens are off: start the server with --revocation refresh".into(),
        ));
    }
    let token = body.refresh_token.as_str();
    if !credentials::is_session_id(token) {
        return Err(state.reject(Scheme::Jwt, AuthReason::Malformed));
    }
    let record = state
        .timed(StoreOp::Get, state.refresh_tokens.get(token))
        .await?;
    let Some(record) = record else {
        return Err(state.reject(Scheme::Jwt, AuthReason::UnknownRefreshToken));
    };
    let removed = state
        .timed(StoreOp::Delete, state.refresh_tokens.delete(token))
        .await?;
    if !removed {
        return Err(state.reject(Scheme::Jwt, AuthReason::UnknownRefreshToken));
    }
    let body = issue(&state, &record.user, &record.roles).await?;
    state.metrics.auth_ok(Scheme::Jwt);
    Ok((no_store(), Json(body)).into_response())
}

/// `GET /jwt/me`: signature and claims check, plus the revocation lookup if configured.
pub async fn me(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    let claims = state.authenticate_jwt(request.headers()).await?;
    Ok(Json(Me {
        user: &claims.sub,
        roles: &claims.roles,
        replica: &state.replica,
    })
    .into_response())
}

/// `POST /jwt/logout`: what it can do depends on `--revocation`, and the response says so.
/// With `refresh`, an optional `{"refresh_token"}` body names the one refresh token to
/// delete (this device); without it every refresh token of the user is deleted.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let claims = state.authenticate_jwt(&headers).await?;
    let remaining = claims.exp.saturating_sub(now());
    let body = match state.revocation {
        Revocation::None => json!({
            "revoked": false,
            "strategy": "none",
            "valid_for_seconds": remaining,
            "note": "stateless JWTs cannot be revoked: this token stays valid until it expires; discard it on the client",
        }),
        Revocation::Denylist => {
            let jti = claims.jti.as_deref().unwrap_or_default();
            let ttl = std::time::Duration::from_secs(remaining.max(1));
            state
                .timed(StoreOp::Revoke, state.revocations.deny(jti, ttl))
                .await?;
            json!({"revoked": true, "strategy": "denylist", "scope": "this token"})
        }
        Revocation::TokenVersion => {
            state
                .timed(StoreOp::Revoke, state.revocations.bump_version(&claims.sub))
                .await?;
            json!({"revoked": true, "strategy": "token-version", "scope": "every token of the user"})
        }
        Revocation::Refresh => {
            let deleted = delete_refresh_tokens(&state, &claims.sub, &body).await?;
            json!({
                "revoked": false,
                "strategy": "refresh",
                "refresh_tokens_deleted": deleted,
                "valid_for_seconds": remaining,
                "note": "no new access token can be obtained; this one stays valid until it expires",
            })
        }
    };
    Ok(Json(body).into_response())
}

/// Deletes the refresh token named in a logout body (only if it is `user`'s), or every
/// refresh token of `user` when the body is empty; returns how many were deleted.
async fn delete_refresh_tokens(state: &AppState, user: &str, body: &[u8]) -> ApiResult<u64> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return state
            .timed(StoreOp::DeleteUser, state.refresh_tokens.delete_user(user))
            .await;
    }
    let request: RefreshRequest = serde_json::from_slice(body).map_err(|_| {
        ApiError::BadRequest("the logout body must be empty or {\"refresh_token\": \"…\"}".into())
    })?;
    let token = request.refresh_token.as_str();
    if !credentials::is_session_id(token) {
        return Ok(0);
    }
    let owned = state
        .timed(StoreOp::Get, state.refresh_tokens.get(token))
        .await?
        .is_some_and(|record| record.user == user);
    if !owned {
        return Ok(0);
    }
    let removed = state
        .timed(StoreOp::Delete, state.refresh_tokens.delete(token))
        .await?;
    Ok(u64::from(removed))
}
