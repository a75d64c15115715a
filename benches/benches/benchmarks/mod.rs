//! Benchmark groups, one file per topic, and the fixtures they share.
//!
//! * [`jwt`] — issuing and verifying tokens, and raw signature checks per crypto backend;
//! * [`store`] — session get / create and revocation checks, in process vs Redis over TCP
//!   ([`redis_server`] finds or starts the Redis);
//! * [`sizes`] — bytes on the wire per credential, and session-ID generation.
//!
//! The JWT fixtures (one [`JwtService`] per algorithm, fresh ephemeral keys) are built once
//! per process and shared: RSA key generation is slow, and `JwtService::new` installs the
//! process-wide crypto backend, so every service must be created with the same one.

pub mod jwt;
pub mod redis_server;
pub mod sizes;
pub mod store;

use std::sync::OnceLock;
use std::time::Duration;

use bench_server::jwt::{CryptoBackend, JwtAlg, JwtConfig, JwtService, KeySet};

/// Environment variable naming the process-wide crypto backend (`aws-lc` or `rust-crypto`).
pub const BACKEND_ENV: &str = "AUTHBENCH_CRYPTO_BACKEND";

/// Username put in every issued token (`sub`) and used for size measurements.
pub const USER: &str = "user1";

/// The crypto backend `jsonwebtoken` uses in this process: `$AUTHBENCH_CRYPTO_BACKEND`, by
/// default aws-lc (or the only backend compiled in).
pub fn process_backend() -> CryptoBackend {
    static BACKEND: OnceLock<CryptoBackend> = OnceLock::new();
    *BACKEND.get_or_init(|| match std::env::var(BACKEND_ENV) {
        Ok(name) if !name.trim().is_empty() => name
            .trim()
            .parse()
            .unwrap_or_else(|err: String| panic!("{BACKEND_ENV}: {err}")),
        _ => bench_server::jwt::backend::available()
            .first()
            .copied()
            .expect("at least one crypto backend feature (aws-lc, rust-crypto) is enabled"),
    })
}

/// The server's default JWT settings on [`process_backend`], except a one-day lifetime so
/// that tokens issued at setup cannot expire during a long run (the length of `exp` is the
/// same ten digits either way).
pub fn jwt_config() -> JwtConfig {
    JwtConfig {
        ttl: Duration::from_secs(24 * 3600),
        backend: process_backend(),
        ..JwtConfig::default()
    }
}

/// One service per algorithm of [`JwtAlg::ALL`], in that order, with ephemeral keys.
pub fn services() -> &'static [JwtService] {
    static SERVICES: OnceLock<Vec<JwtService>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        JwtAlg::ALL
            .iter()
            .map(|&alg| {
                let keys = KeySet::ephemeral(alg).expect("ephemeral key generation succeeds");
                JwtService::new(keys, jwt_config()).unwrap_or_else(|err| panic!("{err}"))
            })
            .collect()
    })
}

/// The roles every benchmark token carries: `["user"]`.
pub fn roles() -> Vec<String> {
    vec!["user".to_owned()]
}

/// A token for [`USER`] with [`roles`], issued now by `svc`.
pub fn issue_token(svc: &JwtService) -> String {
    svc.issue(USER, &roles(), None, jsonwebtoken::get_current_timestamp())
        .expect("issuing a token with a freshly generated key succeeds")
        .token
}
