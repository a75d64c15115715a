//! Authenticating a request under each scheme, with its metrics.
//!
//! The handlers call these and get either the caller's identity or the 401 to return; every
//! outcome is counted by reason, and store latency is recorded around each store call. A
//! credential that was present pays the `--inject-cpu-us` burn (see [`crate::cpu_burn`])
//! before its lookup or verification.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderMap;

use crate::config::Revocation;
use crate::credentials;
use crate::error::{ApiError, ApiResult, AuthReason, Scheme};
use crate::gateway::IDENTITY_HEADER;
use crate::jwt::VerifiedClaims;
use crate::metrics::StoreOp;
use crate::state::AppState;
use crate::store::{Session, StoreResult};

impl AppState {
    /// Runs a store call, recording its latency and mapping failure to 503.
    pub async fn timed<T>(
        &self,
        op: StoreOp,
        call: impl Future<Output = StoreResult<T>>,
    ) -> ApiResult<T> {
        let started = Instant::now();
        let result = call.await;
        self.metrics.store_op(op, started.elapsed());
        result.map_err(|err| {
            self.metrics.store_error();
            tracing::warn!(store = self.sessions.kind(), cause = %err, "store call failed");
            ApiError::StoreUnavailable
        })
    }

    /// Burns the `--inject-cpu-us` CPU of one credential check (nothing when off) and counts it.
    fn inject_cpu(&self) {
        if !self.cpu_burn.is_off() {
            self.metrics.injected_cpu(self.cpu_burn.burn());
        }
    }

    pub(crate) fn reject(&self, scheme: Scheme, reason: AuthReason) -> ApiError {
        self.metrics.auth_rejected(scheme, reason);
        ApiError::unauthorized(scheme, reason)
    }

    /// The session behind the request's cookie, and its ID.
    pub async fn authenticate_session<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> ApiResult<(&'h str, Arc<Session>)> {
        let id = match credentials::session_id(headers, &self.metrics) {
            Ok(Some(id)) => id,
            Ok(None) => return Err(self.reject(Scheme::Session, AuthReason::Missing)),
            Err(reason) => return Err(self.reject(Scheme::Session, reason)),
        };
        self.inject_cpu();
        match self.timed(StoreOp::Get, self.sessions.get(id)).await? {
            Some(session) => {
                self.metrics.auth_ok(Scheme::Session);
                Ok((id, session))
            }
            None => Err(self.reject(Scheme::Session, AuthReason::UnknownSession)),
        }
    }

    /// The verified claims of the request's bearer token, after the revocation check.
    ///
    /// With `--trust-gateway`, a request carrying the gateway's `X-Authbench-Identity` is
    /// authenticated by that header's MAC alone: the gateway verified the token and checked
    /// revocation (its authorizer decided), so neither is done again here. A request without
    /// the header is verified as usual.
    pub async fn authenticate_jwt(&self, headers: &HeaderMap) -> ApiResult<VerifiedClaims> {
        if let Some(key) = &self.trusted_gateway {
            let mut values = headers.get_all(&IDENTITY_HEADER).iter();
            if let Some(value) = values.next() {
                if values.next().is_some() {
                    return Err(self.reject(Scheme::Jwt, AuthReason::Duplicate));
                }
                self.inject_cpu();
                let now = jsonwebtoken::get_current_timestamp();
                let leeway = self.jwt.current().config().leeway.as_secs();
                let identity = key
                    .verify(value.as_bytes(), now, leeway)
                    .map_err(|reason| self.reject(Scheme::Jwt, reason))?;
                self.metrics.trusted_identity();
                self.metrics.auth_ok(Scheme::Jwt);
                return Ok(identity.into_claims());
            }
        }
        let token = credentials::bearer_token(headers, &self.metrics)
            .map_err(|reason| self.reject(Scheme::Jwt, reason))?;
        self.inject_cpu();
        let started = Instant::now();
        let verified = self.jwt.current().verify(token);
        self.metrics.jwt_verify(started.elapsed());
        let claims = verified.map_err(|reason| self.reject(Scheme::Jwt, reason))?;
        let revoked = match self.revocation {
            Revocation::None | Revocation::Refresh => false,
            Revocation::Denylist | Revocation::TokenVersion => {
                let missing = || self.reject(Scheme::Jwt, AuthReason::MissingClaim);
                let version = claims.ver.ok_or_else(missing)?;
                let jti = match self.revocation {
                    Revocation::Denylist => Some(claims.jti.as_deref().ok_or_else(missing)?),
                    _ => None,
                };
                let check = self.revocations.is_revoked(jti, &claims.sub, version);
                self.timed(StoreOp::RevocationCheck, check).await?
            }
        };
        if revoked {
            return Err(self.reject(Scheme::Jwt, AuthReason::Revoked));
        }
        self.metrics.auth_ok(Scheme::Jwt);
        Ok(claims)
    }
}
