//! Admin routes: force-logout, which ends every session and, where the revocation strategy
//! allows, every token of a user; and the reload of the key directory.

use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::config::Revocation;
use crate::error::{ApiError, ApiResult, AuthReason, Scheme};
use crate::jwt::KeySet;
use crate::metrics::StoreOp;
use crate::state::AppState;

fn require_admin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let Some(expected) = state.admin_token.as_deref() else {
        return Err(ApiError::Forbidden(
            "no admin credential is configured (--admin-token or admin.token in --key-dir)",
        ));
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(presented) = presented else {
        return Err(ApiError::unauthorized(Scheme::Jwt, AuthReason::Missing));
    };
    if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            Scheme::Jwt,
            AuthReason::BadCredentials,
        ))
    }
}

/// `POST /admin/users/{user}/logout`.
pub async fn force_logout(
    State(state): State<AppState>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_admin(&state, &headers)?;
    if !state.users.contains(&user) {
        return Err(ApiError::NotFound(format!("no user named '{user}'")));
    }
    let sessions_deleted = state
        .timed(StoreOp::DeleteUser, state.sessions.delete_user(&user))
        .await?;
    let mut refresh_tokens_deleted = 0;
    let tokens = match state.revocation {
        Revocation::None => "not revocable: --revocation none; tokens stay valid until they expire",
        Revocation::Denylist | Revocation::TokenVersion => {
            state
                .timed(StoreOp::Revoke, state.revocations.bump_version(&user))
                .await?;
            "revoked: token version bumped"
        }
        Revocation::Refresh => {
            refresh_tokens_deleted = super::jwt::end_refreshes(&state, &user, None).await?;
            "refresh tokens deleted; access tokens stay valid until they expire (at most --jwt-ttl)"
        }
    };
    let tokens_revoked = matches!(
        state.revocation,
        Revocation::Denylist | Revocation::TokenVersion
    );
    tracing::info!(%user, sessions_deleted, refresh_tokens_deleted, "admin force-logout");
    Ok(Json(json!({
        "user": user,
        "sessions_deleted": sessions_deleted,
        "tokens": tokens,
        "tokens_revoked": tokens_revoked,
        "refresh_tokens_deleted": refresh_tokens_deleted,
    }))
    .into_response())
}

/// `POST /admin/keys/reload`: re-reads `--key-dir` as `SIGHUP` does (see
/// [`crate::key_reload`]) → `{"alg", "current_kid", "previous_kid", "reloaded": true}`
/// (`previous_kid` null without a previous key). 409 `no_key_dir` without `--key-dir`;
/// 422 `invalid_key` / 500 `key_dir_unreadable` when a file fails, the keys in use kept.
pub async fn reload_keys(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    require_admin(&state, &headers)?;
    let worker = state.clone();
    let service = tokio::task::spawn_blocking(move || worker.reload_keys())
        .await
        .map_err(|err| {
            tracing::error!(cause = %err, "key reload task failed");
            ApiError::Internal
        })??;
    Ok(Json(json!({
        "alg": service.ring().alg().to_string(),
        "current_kid": service.keys().kid(),
        "previous_kid": service.ring().previous().map(KeySet::kid),
        "reloaded": true,
    }))
    .into_response())
}
