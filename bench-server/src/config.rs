//! The validated configuration of one replica, built from command-line flags.
//!
//! Flags are parsed by clap into [`ServeArgs`](crate::cli::ServeArgs); this module turns
//! them into a [`ServerConfig`] and rejects combinations that cannot work, naming the flag.

use std::path::PathBuf;
use std::time::Duration;

pub use authbench_contract::serve::{DurationArg, Revocation, StoreKind};

use crate::jwt::{CryptoBackend, JwtAlg};
use crate::store::GuardConfig;
use crate::users::HashCost;

/// Everything one replica needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Name returned in `X-Replica` and metric labels.
    pub replica_id: String,
    /// Session and revocation store.
    pub store: StoreKind,
    /// Redis URL (required with the Redis store).
    pub redis_url: Option<String>,
    /// Key prefix in Redis.
    pub redis_namespace: String,
    /// Deadline and circuit of Redis calls.
    pub store_guard: GuardConfig,
    /// JWT signing algorithm.
    pub jwt_alg: JwtAlg,
    /// Directory with shared keys; `None` generates keys for this process only.
    pub key_dir: Option<PathBuf>,
    /// JWT lifetime.
    pub jwt_ttl: Duration,
    /// Clock skew tolerated on `exp` / `nbf`.
    pub jwt_leeway: Duration,
    /// `iss`.
    pub jwt_issuer: String,
    /// `aud`.
    pub jwt_audience: String,
    /// Filler claim bytes.
    pub jwt_extra_claim_bytes: usize,
    /// Crypto library.
    pub crypto_backend: CryptoBackend,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// JWT revocation strategy.
    pub revocation: Revocation,
    /// Refresh-token lifetime (`--revocation refresh`).
    pub refresh_ttl: Duration,
    /// Number of seeded users.
    pub users: usize,
    /// argon2id cost.
    pub password_hash_cost: HashCost,
    /// Add `Secure` to the session cookie.
    pub secure_cookies: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Connection timeouts and limits (header values: `conn.max_header_bytes`).
    pub conn: crate::conn::ConnLimits,
    /// Admin bearer credential (overrides the key directory's `admin.token`).
    pub admin_token: Option<String>,
    /// How often expired in-process sessions and deny-list entries are purged.
    pub purge_interval: Duration,
    /// CPU burnt in every credential check (a regression-gate test knob; zero in real runs).
    /// See [`crate::cpu_burn`].
    pub inject_cpu: Duration,
    /// Accept identities forwarded by a gateway (`--trust-gateway`).
    pub trust_gateway: bool,
    /// The secret those identities are signed with.
    pub identity_secret_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            replica_id: "r0".into(),
            store: StoreKind::Memory,
            redis_url: None,
            redis_namespace: "authbench".into(),
            store_guard: GuardConfig::default(),
            jwt_alg: JwtAlg::Hs256,
            key_dir: None,
            jwt_ttl: Duration::from_secs(900),
            jwt_leeway: Duration::ZERO,
            jwt_issuer: "authbench".into(),
            jwt_audience: "authbench-api".into(),
            jwt_extra_claim_bytes: 0,
            crypto_backend: CryptoBackend::AwsLc,
            session_ttl: Duration::from_secs(1800),
            revocation: Revocation::None,
            refresh_ttl: Duration::from_secs(24 * 3600),
            users: 1000,
            password_hash_cost: HashCost::default(),
            secure_cookies: false,
            max_body_bytes: 4096,
            conn: crate::conn::ConnLimits::default(),
            admin_token: None,
            purge_interval: Duration::from_secs(10),
            inject_cpu: Duration::ZERO,
            trust_gateway: false,
            identity_secret_file: None,
        }
    }
}

/// A flag value that cannot work, with the flag named.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    /// The flag, e.g. `--redis-url`.
    pub flag: &'static str,
    /// What is wrong.
    pub message: String,
}

impl ServerConfig {
    /// Checks cross-flag constraints.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |flag, message: String| Err(ConfigError { flag, message });
        if self.store == StoreKind::Redis && self.redis_url.is_none() {
            return err(
                "--redis-url",
                "required with --session-store redis (e.g. redis://127.0.0.1:6379)".into(),
            );
        }
        if let (StoreKind::Redis, Some(url)) = (self.store, &self.redis_url) {
            if let Err(why) = authbench_contract::RedisTarget::parse(url) {
                let url = authbench_contract::redact_url(url);
                return err("--redis-url", format!("{url}: {why}"));
            }
        }
        if self.users == 0 {
            return err("--users", "must be at least 1".into());
        }
        if self.jwt_ttl.is_zero() {
            return err("--jwt-ttl", "must be longer than 0 s".into());
        }
        if self.revocation == Revocation::Refresh && self.refresh_ttl <= self.jwt_ttl {
            return err(
                "--refresh-ttl",
                format!(
                    "{} s must be longer than --jwt-ttl ({} s): a refresh token outlives the access tokens it renews",
                    self.refresh_ttl.as_secs(),
                    self.jwt_ttl.as_secs()
                ),
            );
        }
        if self.session_ttl.as_secs() == 0 {
            return err("--session-ttl", "must be at least 1 s".into());
        }
        if let Err(bad) = self.conn.check() {
            return err(bad.flag, format!("{}: {}", bad.value, bad.reason));
        }
        if self.store_guard.timeout.is_zero() {
            return err("--store-timeout", "must be longer than 0 s".into());
        }
        if self.purge_interval.is_zero() {
            return err("--purge-interval", "must be longer than 0 s".into());
        }
        if self.inject_cpu > crate::cpu_burn::MAX_INJECT_CPU {
            return err(
                "--inject-cpu-us",
                format!(
                    "{} is above the {} µs maximum",
                    self.inject_cpu.as_micros(),
                    crate::cpu_burn::MAX_INJECT_CPU.as_micros()
                ),
            );
        }
        if self.replica_id.is_empty() || !self.replica_id.bytes().all(|b| b.is_ascii_graphic()) {
            return err(
                "--replica-id",
                format!("'{}' must be non-empty visible ASCII", self.replica_id),
            );
        }
        match (self.trust_gateway, &self.identity_secret_file) {
            (true, None) => return err(
                "--trust-gateway",
                "needs --identity-secret-file PATH (the secret the gateway signs identities with)"
                    .into(),
            ),
            (false, Some(path)) => {
                return err(
                    "--identity-secret-file",
                    format!("{}: only used with --trust-gateway", path.display()),
                )
            }
            _ => {}
        }
        if self.redis_namespace.is_empty() || self.redis_namespace.contains(char::is_whitespace) {
            return err(
                "--redis-namespace",
                "must be non-empty without spaces".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_store_needs_a_url() {
        let config = ServerConfig {
            store: StoreKind::Redis,
            ..ServerConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().flag, "--redis-url");
        assert!(ServerConfig::default().validate().is_ok());
    }

    #[test]
    fn refresh_tokens_must_outlive_access_tokens() {
        let config = ServerConfig {
            revocation: Revocation::Refresh,
            jwt_ttl: Duration::from_secs(600),
            refresh_ttl: Duration::from_secs(600),
            ..ServerConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(err.flag, "--refresh-ttl");
        assert!(err.message.contains("--jwt-ttl"), "{err}");
    }

    #[test]
    fn trusting_a_gateway_needs_its_secret() {
        let config = ServerConfig {
            trust_gateway: true,
            ..ServerConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(err.flag, "--trust-gateway");
        assert!(err.message.contains("--identity-secret-file"), "{err}");
        let config = ServerConfig {
            identity_secret_file: Some("s".into()),
            ..ServerConfig::default()
        };
        assert_eq!(
            config.validate().unwrap_err().flag,
            "--identity-secret-file"
        );
    }

    #[test]
    fn injected_cpu_is_capped() {
        let config = ServerConfig {
            inject_cpu: Duration::from_secs(2),
            ..ServerConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(err.flag, "--inject-cpu-us");
        assert!(err.message.contains("2000000"), "{err}");
    }
}
