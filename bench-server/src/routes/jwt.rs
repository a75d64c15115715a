//! The JWT scheme: login returns a signed token; requests are verified without state unless
//! a revocation strategy is on.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{authenticate_login, no_store, LoginRequest, Me};
use crate::config::Revocation;
use crate::error::{ApiError, ApiResult, Scheme};
use crate::json_body::JsonBody;
use crate::metrics::StoreOp;
use crate::state::AppState;

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// `POST /jwt/login`: `{"access_token", "token_type": "Bearer", "expires_in"}`.
pub async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let user = authenticate_login(&state, Scheme::Jwt, &body).await?;
    let version = match state.revocation {
        Revocation::None => None,
        Revocation::Denylist | Revocation::TokenVersion => Some(
            state
                .timed(StoreOp::VersionRead, state.revocations.version(&user.user))
                .await?,
        ),
    };
    let issued = state
        .jwt
        .issue(&user.user, &user.roles, version, now())
        .map_err(|err| {
            tracing::error!(cause = %err, "signing failed");
            ApiError::Internal
        })?;
    state.metrics.auth_ok(Scheme::Jwt);
    let body = json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
    });
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
pub async fn logout(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    let claims = state.authenticate_jwt(request.headers()).await?;
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
    };
    Ok(Json(body).into_response())
}
