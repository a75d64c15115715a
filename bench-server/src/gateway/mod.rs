//! The built-in balancer's API-gateway mode (`bench-server balance --gateway jwt`): bearer
//! tokens verified at the edge, as API Gateway's JWT and Lambda authorizers or Envoy's
//! `jwt_authn` do, before a request reaches a backend (`docs/gateway.md`).
//!
//! For every request on a protected path (`--gateway-protect`, default `/jwt/`, except the
//! public `/jwt/login` and `/jwt/refresh`) the [`authorizer`] decides: signature with the
//! issuer's published keys, the replicas' claim rules, optionally the revocation store.
//! A refusal is answered at the edge ([`rejection`]) and never forwarded; an allowed request
//! is forwarded with the verified identity in `X-Authbench-Identity` ([`identity`]), which
//! backends started with `--trust-gateway` accept without verifying again. Every request,
//! protected or not, loses any identity header the client sent.
//!
//! * [`command`] — the flags; [`GatewayConfig`] — their validated form;
//! * [`jwks`] — fetching and parsing the key set; [`keys_cache`] — its TTL, refresh and the
//!   rate-limited refetch on an unknown `kid`;
//! * [`verify`] — the replica's verification with those keys; [`authorizer`] — verification,
//!   revocation and the identity; [`decision_cache`] — the authorizer cache;
//! * [`identity`] — the forwarded identity and its MAC; [`metrics`] — the counters.

pub mod authorizer;
pub mod command;
pub mod decision_cache;
pub mod identity;
pub mod jwks;
pub mod keys_cache;
pub mod metrics;
pub mod rejection;
pub mod verify;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::header::{HeaderMap, AUTHORIZATION};
use tokio::task::JoinHandle;

pub use authorizer::{Authorizer, EdgeRevocation, RevocationCheck};
pub use identity::{Identity, IdentityKey, IDENTITY_HEADER};
pub use jwks::JwksUrl;
pub use metrics::GatewayMetrics;
pub use rejection::Rejection;

use self::decision_cache::DecisionCache;
use self::keys_cache::{HttpSource, JwksSource, KeyCache};
use self::verify::Verifier;
use crate::balance::BalanceError;
use crate::credentials;
use crate::jwt::backend::Provider as _;
use crate::jwt::CryptoBackend;
use crate::store::{self, GuardConfig, RedisRevocations, RevocationStore, StoreGuard};

/// Paths under `/jwt/` that stay public by default: they are how a client gets a token.
pub const DEFAULT_PUBLIC: [&str; 2] = ["/jwt/login", "/jwt/refresh"];

/// Bound on one key-set fetch.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// A validated gateway configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The issuer's key set.
    pub jwks_url: JwksUrl,
    /// Age at which the key set is fetched again.
    pub jwks_cache_ttl: Duration,
    /// At most one unknown-`kid` fetch per this interval.
    pub jwks_refetch_interval: Duration,
    /// How long an allow is cached per token (zero: off).
    pub authorizer_cache_ttl: Duration,
    /// Bound on cached allows.
    pub authorizer_cache_max_entries: usize,
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp`/`nbf`/`iat`.
    pub leeway: Duration,
    /// Revocation check at the edge.
    pub revocation: EdgeRevocation,
    /// Redis of the revocation state (needed unless `revocation` is `None`).
    pub redis_url: Option<String>,
    /// Key prefix in Redis (the replicas' `--redis-namespace`).
    pub redis_namespace: String,
    /// Deadline and circuit of the revocation reads (`--store-timeout`; the circuit has the
    /// replicas' default settings).
    pub store_guard: GuardConfig,
    /// Secret that signs forwarded identities (`None`: no identity header is added).
    pub identity_secret_file: Option<PathBuf>,
    /// Path prefixes whose requests are verified.
    pub protect: Vec<String>,
    /// Exact paths under those prefixes that are not.
    pub public: Vec<String>,
    /// Crypto library behind `jsonwebtoken`.
    pub crypto_backend: CryptoBackend,
}

impl GatewayConfig {
    /// Defaults around a key-set URL, like the flags' (tests, tooling).
    pub fn new(jwks_url: JwksUrl) -> GatewayConfig {
        GatewayConfig {
            jwks_url,
            jwks_cache_ttl: Duration::from_secs(300),
            jwks_refetch_interval: Duration::from_secs(1),
            authorizer_cache_ttl: Duration::ZERO,
            authorizer_cache_max_entries: 100_000,
            issuer: "authbench".into(),
            audience: "authbench-api".into(),
            leeway: Duration::ZERO,
            revocation: EdgeRevocation::None,
            redis_url: None,
            redis_namespace: "authbench".into(),
            store_guard: GuardConfig::default(),
            identity_secret_file: None,
            protect: vec!["/jwt/".into()],
            public: DEFAULT_PUBLIC.iter().map(|p| (*p).to_owned()).collect(),
            crypto_backend: CryptoBackend::AwsLc,
        }
    }
}

/// The gateway: which paths it guards, and the authorizer that guards them.
#[derive(Debug)]
pub struct Gateway {
    authorizer: Authorizer,
    protect: Vec<String>,
    public: Vec<String>,
    metrics: Arc<GatewayMetrics>,
    refresher: JoinHandle<()>,
    /// The guard of the revocation reads, when the edge checks revocation in Redis.
    store_guard: OnceLock<Arc<StoreGuard>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.refresher.abort();
    }
}

fn bad(flag: &'static str, value: impl ToString, reason: impl ToString) -> BalanceError {
    BalanceError::BadFlag {
        flag,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

impl Gateway {
    /// Starts the gateway of `config`: installs the crypto backend, reads the identity
    /// secret, connects to Redis when the edge checks revocation, and starts fetching the key
    /// set in the background (an issuer that is down is retried; it does not stop the start).
    pub async fn start(config: GatewayConfig) -> Result<Arc<Gateway>, BalanceError> {
        config
            .crypto_backend
            .install()
            .map_err(|e| bad("--crypto-backend", config.crypto_backend, e))?;
        let signer = match &config.identity_secret_file {
            Some(path) => Some(
                IdentityKey::load(path)
                    .map_err(|e| bad("--identity-secret-file", path.display(), e))?,
            ),
            None => None,
        };
        let mut store_guard = None;
        let revocation = match config.revocation {
            EdgeRevocation::None => RevocationCheck::None,
            kind => {
                let url = config.redis_url.as_deref().ok_or_else(|| {
                    bad(
                        "--gateway-revocation",
                        kind,
                        "needs --redis-url (the replicas' Redis)",
                    )
                })?;
                let link = store::connect_redis(url, config.store_guard)
                    .await
                    .map_err(|e| {
                        bad(
                            "--redis-url",
                            crate::state::redact_url(url),
                            format!("cannot connect to Redis: {e}"),
                        )
                    })?;
                store_guard = Some(Arc::clone(link.guard()));
                let store: Arc<dyn RevocationStore> =
                    Arc::new(RedisRevocations::new(link, &config.redis_namespace));
                match kind {
                    EdgeRevocation::Denylist => RevocationCheck::Denylist(store),
                    _ => RevocationCheck::TokenVersion(store),
                }
            }
        };
        let source = HttpSource {
            url: config.jwks_url.clone(),
            timeout: JWKS_FETCH_TIMEOUT,
        };
        let gateway = Gateway::with_parts(&config, Box::new(source), revocation, signer);
        if let Some(guard) = store_guard {
            let _ = gateway.store_guard.set(guard);
        }
        Ok(gateway)
    }

    /// A gateway from its parts (tests inject a key-set source and a store). Spawns the
    /// key-set refresher: must run inside a tokio runtime.
    pub fn with_parts(
        config: &GatewayConfig,
        source: Box<dyn JwksSource>,
        revocation: RevocationCheck,
        signer: Option<IdentityKey>,
    ) -> Arc<Gateway> {
        let metrics = Arc::new(GatewayMetrics::default());
        let keys = Arc::new(KeyCache::new(
            source,
            config.jwks_cache_ttl,
            config.jwks_refetch_interval,
            Arc::clone(&metrics),
        ));
        let refresher = tokio::spawn(Arc::clone(&keys).refresh_loop());
        let cache = (!config.authorizer_cache_ttl.is_zero()).then(|| {
            DecisionCache::new(
                config.authorizer_cache_ttl,
                config.authorizer_cache_max_entries,
            )
        });
        let authorizer = Authorizer::new(
            Verifier::new(&config.issuer, &config.audience, config.leeway),
            keys,
            revocation,
            cache,
            signer,
            Arc::clone(&metrics),
        );
        Arc::new(Gateway {
            authorizer,
            protect: config.protect.clone(),
            public: config.public.clone(),
            metrics,
            refresher,
            store_guard: OnceLock::new(),
        })
    }

    /// Whether requests on `path` are verified.
    pub fn is_protected(&self, path: &str) -> bool {
        self.protect
            .iter()
            .any(|prefix| path.starts_with(prefix.as_str()))
            && !self.public.iter().any(|public| path == public)
    }

    /// The counters.
    pub fn metrics(&self) -> &GatewayMetrics {
        &self.metrics
    }

    /// The authorizer.
    pub fn authorizer(&self) -> &Authorizer {
        &self.authorizer
    }

    /// Strips client-sent identity headers and, on a protected path, decides: `Ok` lets the
    /// request through (with the verified identity added), `Err` is answered at the edge.
    pub async fn admit(&self, protected: bool, headers: &mut HeaderMap) -> Result<(), Rejection> {
        if headers.contains_key(&IDENTITY_HEADER) {
            headers.remove(&IDENTITY_HEADER);
            self.metrics.identity_stripped();
        }
        if !protected {
            self.metrics.passthrough();
            return Ok(());
        }
        match self.decide(headers).await {
            Ok(allowed) => {
                self.metrics.allowed();
                if let Some(identity) = &allowed.identity {
                    headers.insert(IDENTITY_HEADER, identity.clone());
                }
                Ok(())
            }
            Err(rejection) => {
                self.metrics.rejected(rejection);
                Err(rejection)
            }
        }
    }

    async fn decide(&self, headers: &HeaderMap) -> Result<Arc<decision_cache::Allowed>, Rejection> {
        if headers
            .get_all(AUTHORIZATION)
            .iter()
            .any(|v| v.len() > rejection::MAX_AUTHORIZATION_BYTES)
        {
            return Err(Rejection::HeadersTooLarge);
        }
        let token = credentials::parse_bearer(headers).map_err(Rejection::Auth)?;
        self.authorizer.authorize(token).await
    }

    /// Appends the gateway's metrics to a Prometheus page.
    pub fn render_metrics(&self, out: &mut String) {
        self.metrics.render(out, self.authorizer.cache_entries());
        if let Some(guard) = self.store_guard.get() {
            guard.render(out, "component=\"gateway\",store=\"redis\"");
        }
    }
}
