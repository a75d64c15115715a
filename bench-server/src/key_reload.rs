//! Reloading `--key-dir` without a restart, after `bench-server keys --rotate`: on `SIGHUP`
//! and on `POST /admin/keys/reload` (see [`crate::routes::admin::reload_keys`]).
//!
//! A reload reads the current and previous key of the pinned algorithm and swaps the JWT
//! service whole ([`crate::jwt::LiveJwt`]); a reload that fails keeps the keys in use. Every
//! attempt is counted (`authbench_key_reloads_total{outcome}`) and logged with the `kid`s
//! (public: they are in every token header) or the cause (which names a file, never its
//! content).

use std::sync::Arc;

use axum::http::StatusCode;

use crate::error::ApiError;
use crate::jwt::keys::KeyError;
use crate::jwt::{JwtService, KeySet, ReloadError};
use crate::state::AppState;

impl AppState {
    /// Re-reads `--key-dir` and puts its keys in service; counts and logs the outcome.
    /// Blocking (file reads, key parsing): call it off the async workers.
    pub fn reload_keys(&self) -> Result<Arc<JwtService>, ReloadError> {
        match self.jwt.reload() {
            Ok(service) => {
                self.metrics.key_reload(true);
                tracing::info!(
                    alg = %service.ring().alg(),
                    current_kid = service.keys().kid(),
                    previous_kid = service.ring().previous().map(KeySet::kid),
                    "key directory reloaded"
                );
                Ok(service)
            }
            Err(err) => {
                self.metrics.key_reload(false);
                tracing::warn!(cause = %err, "key directory not reloaded");
                Err(err)
            }
        }
    }
}

impl From<ReloadError> for ApiError {
    /// 409 without a key directory, 422 for a file that is not a key, 500 for one that
    /// cannot be read.
    fn from(err: ReloadError) -> ApiError {
        let (status, code) = match &err {
            ReloadError::NoKeyDir => (StatusCode::CONFLICT, "no_key_dir"),
            ReloadError::Keys(KeyError::Invalid { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_key")
            }
            ReloadError::Keys(_) => (StatusCode::INTERNAL_SERVER_ERROR, "key_dir_unreadable"),
            ReloadError::Service(_) => (StatusCode::INTERNAL_SERVER_ERROR, "key_reload_failed"),
        };
        ApiError::KeyReload {
            status,
            code,
            message: err.to_string(),
        }
    }
}

/// Reloads the key directory at every `SIGHUP` until the process ends. Takes a signal
/// stream created before the replica announced itself, so that a `SIGHUP` sent as soon as
/// it listens reloads rather than kills it.
#[cfg(unix)]
pub async fn reload_on_hangup(state: AppState, mut hangups: tokio::signal::unix::Signal) {
    while hangups.recv().await.is_some() {
        let state = state.clone();
        if let Err(err) = tokio::task::spawn_blocking(move || state.reload_keys()).await {
            tracing::error!(cause = %err, "key reload task failed");
        }
    }
}
