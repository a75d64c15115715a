//! Shared state of one replica, built once at startup from a [`ServerConfig`].

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;

use crate::config::{Revocation, ServerConfig, StoreKind};
use crate::cpu_burn::CpuBurn;
use crate::gateway::IdentityKey;
use crate::jwt::keys::ADMIN_TOKEN_FILE;
use crate::jwt::{JwtConfig, JwtService, KeyRing, LiveJwt};
use crate::metrics::Metrics;
use crate::store::{
    self, spawn_purger, MemoryRevocations, MemorySessions, RedisRevocations, RedisSessions,
    RevocationStore, SessionStore, StoreGuard,
};
use crate::users::UserDirectory;

pub use authbench_contract::redact_url;

/// A startup failure, with the flag or file that caused it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A flag value is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Key material could not be loaded.
    #[error(transparent)]
    Keys(#[from] crate::jwt::keys::KeyError),
    /// Redis did not answer.
    #[error("--redis-url {url}: cannot connect to Redis: {source}")]
    Redis {
        /// The URL, without credentials.
        url: String,
        /// The cause.
        source: store::StoreError,
    },
    /// Anything else, already phrased with the flag.
    #[error("{0}")]
    Other(String),
}

/// The state every handler sees; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Inner {
    /// Replica name.
    pub replica: String,
    /// `X-Replica` header value, built once.
    pub replica_header: HeaderValue,
    /// Seeded users.
    pub users: Arc<UserDirectory>,
    /// Session store.
    pub sessions: Arc<dyn SessionStore>,
    /// JWT revocation state.
    pub revocations: Arc<dyn RevocationStore>,
    /// Deadline and circuit of the Redis store (`None` in process).
    pub store_guard: Option<Arc<StoreGuard>>,
    /// Refresh tokens (`--revocation refresh`), kept apart from sessions so that one can
    /// never be presented as the other.
    pub refresh_tokens: Arc<dyn SessionStore>,
    /// Refresh-token lifetime.
    pub refresh_ttl: Duration,
    /// Token issuing and verification, with the keys loaded last (see
    /// [`crate::key_reload`]).
    pub jwt: LiveJwt,
    /// Revocation strategy.
    pub revocation: Revocation,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Add `Secure` to cookies.
    pub secure_cookies: bool,
    /// Admin credential, if configured.
    pub admin_token: Option<String>,
    /// Largest header value / all headers.
    pub max_header_bytes: usize,
    /// Connection timeouts and limits, and their counters.
    pub conn: crate::conn::Hardening,
    /// Largest body.
    pub max_body_bytes: usize,
    /// Counters.
    pub metrics: Metrics,
    /// CPU burnt in every credential check (`--inject-cpu-us`).
    pub cpu_burn: CpuBurn,
    /// With `--trust-gateway`: the key identities forwarded by the gateway are checked with.
    pub trusted_gateway: Option<IdentityKey>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state: loads keys, seeds users, connects the stores, starts purgers.
    /// Must run inside a tokio runtime.
    pub async fn build(config: &ServerConfig) -> Result<AppState, StartupError> {
        config.validate()?;
        let keys = match &config.key_dir {
            Some(dir) => KeyRing::load(dir, config.jwt_alg)?,
            None => {
                tracing::warn!(
                    alg = %config.jwt_alg,
                    "no --key-dir: using keys generated for this process; other replicas cannot verify its tokens"
                );
                KeyRing::ephemeral(config.jwt_alg)?
            }
        };
        let jwt = JwtService::new(
            keys,
            JwtConfig {
                ttl: config.jwt_ttl,
                issuer: config.jwt_issuer.clone(),
                audience: config.jwt_audience.clone(),
                leeway: config.jwt_leeway,
                extra_claim_bytes: config.jwt_extra_claim_bytes,
                backend: config.crypto_backend,
            },
        )
        .map_err(|e| StartupError::Other(format!("--crypto-backend: {e}")))?;
        let jwt = LiveJwt::new(jwt, config.key_dir.clone());
        let users = UserDirectory::seeded(config.users, config.password_hash_cost)
            .map_err(|e| StartupError::Other(format!("--password-hash-cost: {e}")))?;

        let mut store_guard = None;
        let (sessions, revocations, refresh_tokens): (
            Arc<dyn SessionStore>,
            Arc<dyn RevocationStore>,
            Arc<dyn SessionStore>,
        ) = match config.store {
            StoreKind::Memory => {
                let sessions = MemorySessions::new();
                let revocations = MemoryRevocations::new();
                let refresh_tokens = MemorySessions::new();
                spawn_purger(&sessions, config.purge_interval);
                spawn_purger(&revocations, config.purge_interval);
                spawn_purger(&refresh_tokens, config.purge_interval);
                (sessions, revocations, refresh_tokens)
            }
            StoreKind::Redis => {
                let url = config.redis_url.as_deref().unwrap_or_default();
                let link = store::connect_redis(url, config.store_guard)
                    .await
                    .map_err(|source| StartupError::Redis {
                        url: redact_url(url),
                        source,
                    })?;
                let ns = &config.redis_namespace;
                store_guard = Some(Arc::clone(link.guard()));
                (
                    Arc::new(RedisSessions::new(link.clone(), ns)),
                    Arc::new(RedisRevocations::new(link.clone(), ns)),
                    Arc::new(RedisSessions::new(link, &format!("{ns}:refresh"))),
                )
            }
        };

        let admin_token = match (&config.admin_token, &config.key_dir) {
            (Some(token), _) => Some(token.clone()),
            (None, Some(dir)) => match std::fs::read_to_string(dir.join(ADMIN_TOKEN_FILE)) {
                Ok(token) => Some(token.trim().to_owned()),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                Err(err) => {
                    return Err(StartupError::Other(format!(
                        "--key-dir: cannot read {}: {err}",
                        dir.join(ADMIN_TOKEN_FILE).display()
                    )))
                }
            },
            (None, None) => None,
        };
        if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(StartupError::Other(
                "--admin-token: must be at least 16 characters".into(),
            ));
        }

        let trusted_gateway = match (&config.identity_secret_file, config.trust_gateway) {
            (Some(path), true) => Some(
                IdentityKey::load(path)
                    .map_err(|e| StartupError::Other(format!("--identity-secret-file: {e}")))?,
            ),
            _ => None,
        };

        let replica_header = HeaderValue::from_str(&config.replica_id)
            .map_err(|_| StartupError::Other("--replica-id: not a valid header value".into()))?;
        Ok(AppState(Arc::new(Inner {
            replica: config.replica_id.clone(),
            replica_header: replica_header.clone(),
            users,
            sessions,
            revocations,
            refresh_tokens,
            store_guard,
            refresh_ttl: config.refresh_ttl,
            jwt,
            revocation: config.revocation,
            session_ttl: config.session_ttl,
            secure_cookies: config.secure_cookies,
            admin_token,
            max_header_bytes: config.conn.max_header_bytes,
            conn: crate::conn::Hardening::new(config.conn, 1)
                .with_stamp(crate::edge::X_REPLICA.clone(), replica_header.clone()),
            max_body_bytes: config.max_body_bytes,
            metrics: Metrics::default(),
            cpu_burn: CpuBurn::new(config.inject_cpu),
            trusted_gateway,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redis_passwords_are_redacted() {
        assert_eq!(
            redact_url("redis://:hunter2@h:6379/0"),
            "redis://***@h:6379/0"
        );
        assert_eq!(redact_url("redis://127.0.0.1:1"), "redis://127.0.0.1:1");
    }
}
