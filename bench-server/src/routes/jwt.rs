//! The JWT scheme: login returns a signed token; requests are verified without state unless
//! a revocation strategy is on. With `--revocation refresh`, login also returns a refresh
//! token, kept in the store and rotated at every `POST /jwt/refresh`.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::CONTENT_TYPE;
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

/// A signed access token for `user` and, with `--revocation refresh`, a new refresh token
/// stamped with the user's refresh `generation` (read here when `None`): the JSON body of
/// login and refresh.
async fn issue(
    state: &AppState,
    user: &str,
    roles: &[String],
    generation: Option<u64>,
) -> ApiResult<Value> {
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
        .current()
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
        let generation = match generation {
            Some(g) => g,
            None => refresh_generation(state, user).await?,
        };
        let id = random_token(32);
        let ttl = state.refresh_ttl;
        let record = refresh_record(user, roles, generation);
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

/// A refresh token's record: the session record, with the user's refresh generation at
/// issue in the first role slot (the store keeps `user|role,role`; see
/// [`parse_refresh_record`]).
fn refresh_record(user: &str, roles: &[String], generation: u64) -> Session {
    Session {
        user: user.to_owned(),
        roles: std::iter::once(generation.to_string())
            .chain(roles.iter().cloned())
            .collect(),
    }
}

/// The generation and roles of a [`refresh_record`].
fn parse_refresh_record(record: &Session) -> Option<(u64, &[String])> {
    let (generation, roles) = record.roles.split_first()?;
    Some((generation.parse().ok()?, roles))
}

/// `POST /jwt/login`: `{"access_token", "token_type": "Bearer", "expires_in"}`, plus
/// `"refresh_token"` and `"refresh_expires_in"` with `--revocation refresh`.
pub async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let user = authenticate_login(&state, Scheme::Jwt, &body).await?;
    let body = issue(&state, &user.user, &user.roles, None).await?;
    state.metrics.auth_ok(Scheme::Jwt);
    Ok((no_store(), Json(body)).into_response())
}

/// `POST /jwt/refresh` (`--revocation refresh` only): trades a refresh token for a new
/// access token and a new refresh token. The presented token is taken out of the store
/// (atomically: of two requests racing with it, one gets it), so each works once.
///
/// A logout must win over refreshes in flight. Logouts bump the user's refresh generation
/// (the token-version counter, unused otherwise under this strategy) before deleting
/// tokens, and every refresh token records the generation it was issued in. A refresh is
/// refused when its token is older than the current generation (a logout ran since it was
/// issued), and the token it stores is deleted again and refused when the generation moved
/// while it was being stored (a logout that may have run before the store had it).
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
    let refused = || state.reject(Scheme::Jwt, AuthReason::UnknownRefreshToken);
    let taken = state
        .timed(StoreOp::Delete, state.refresh_tokens.take(token))
        .await?;
    let Some(record) = taken else {
        return Err(refused());
    };
    let Some((issued_in, roles)) = parse_refresh_record(&record) else {
        tracing::warn!("a refresh record without a generation; refused");
        return Err(refused());
    };
    let generation = refresh_generation(&state, &record.user).await?;
    if issued_in != generation {
        return Err(refused());
    }
    let body = issue(&state, &record.user, roles, Some(generation)).await?;
    if refresh_generation(&state, &record.user).await? != generation {
        if let Some(new) = body["refresh_token"].as_str() {
            state
                .timed(StoreOp::Delete, state.refresh_tokens.delete(new))
                .await?;
        }
        return Err(refused());
    }
    state.metrics.auth_ok(Scheme::Jwt);
    Ok((no_store(), Json(body)).into_response())
}

/// The user's refresh generation: bumped by a logout of every device and by force-logout.
async fn refresh_generation(state: &AppState, user: &str) -> ApiResult<u64> {
    state
        .timed(StoreOp::VersionRead, state.revocations.version(user))
        .await
}

/// Deletes `token` (if it is `user`'s: one device's logout), or, without one, ends every
/// refresh of `user`: bumps the refresh generation — which also stops refreshes in flight
/// and tokens a racing login may still store — then deletes the user's refresh tokens.
/// Returns how many were deleted.
pub async fn end_refreshes(state: &AppState, user: &str, token: Option<&str>) -> ApiResult<u64> {
    let Some(token) = token else {
        state
            .timed(StoreOp::Revoke, state.revocations.bump_version(user))
            .await?;
        return state
            .timed(StoreOp::DeleteUser, state.refresh_tokens.delete_user(user))
            .await;
    };
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
/// With `refresh`, a JSON `{"refresh_token"}` body names the one refresh token to delete
/// (this device); without a body every refresh token of the user is deleted. The body is
/// read only after the bearer token verified.
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
                .timed(
                    StoreOp::Revoke,
                    state.revocations.deny(jti, &claims.sub, ttl),
                )
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
            let named = if request.headers().contains_key(CONTENT_TYPE) {
                let JsonBody(named) =
                    JsonBody::<RefreshRequest>::from_request(request, &state).await?;
                Some(named.refresh_token)
            } else {
                None
            };
            let deleted = end_refreshes(&state, &claims.sub, named.as_deref()).await?;
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
