//! The authorizer: what the edge decides about one bearer token. Signature and claims
//! ([`super::verify`]), then — with `--gateway-revocation` — the replicas' revocation check
//! against the same store (same keys: a logout at a replica is seen at the edge), then the
//! identity to forward. Allows are remembered for `--authorizer-cache-ttl`
//! ([`super::decision_cache`]); with a TTL of 0 every request is decided afresh.

use std::sync::Arc;

use tokio::time::Instant;

use super::decision_cache::{self, Allowed, DecisionCache};
use super::identity::{Identity, IdentityKey};
use super::keys_cache::KeyCache;
use super::metrics::{GatewayMetrics, RevocationResult};
use super::rejection::Rejection;
use super::verify::{self, Verifier};
use crate::error::AuthReason;
use crate::jwt::VerifiedClaims;
use crate::store::RevocationStore;

/// `--gateway-revocation`: what the edge checks after the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EdgeRevocation {
    /// Nothing: a verified token is let through until it expires.
    None,
    /// The `jti` deny-list and the user's token version, as replicas with
    /// `--revocation denylist` (tokens need `jti` and `ver`).
    Denylist,
    /// The user's token version, as replicas with `--revocation token-version` (tokens need
    /// `ver`).
    TokenVersion,
}

impl std::fmt::Display for EdgeRevocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EdgeRevocation::None => "none",
            EdgeRevocation::Denylist => "denylist",
            EdgeRevocation::TokenVersion => "token-version",
        })
    }
}

/// A revocation check with its store.
#[derive(Debug, Clone)]
pub enum RevocationCheck {
    /// No check.
    None,
    /// Deny-list and token version.
    Denylist(Arc<dyn RevocationStore>),
    /// Token version.
    TokenVersion(Arc<dyn RevocationStore>),
}

/// Decides about tokens.
#[derive(Debug)]
pub struct Authorizer {
    verifier: Verifier,
    keys: Arc<KeyCache>,
    revocation: RevocationCheck,
    cache: Option<DecisionCache>,
    signer: Option<IdentityKey>,
    metrics: Arc<GatewayMetrics>,
}

impl Authorizer {
    /// An authorizer; `cache` is `None` with `--authorizer-cache-ttl 0`, `signer` `None`
    /// without `--identity-secret-file` (then nothing is added to forwarded requests).
    pub fn new(
        verifier: Verifier,
        keys: Arc<KeyCache>,
        revocation: RevocationCheck,
        cache: Option<DecisionCache>,
        signer: Option<IdentityKey>,
        metrics: Arc<GatewayMetrics>,
    ) -> Authorizer {
        Authorizer {
            verifier,
            keys,
            revocation,
            cache,
            signer,
            metrics,
        }
    }

    /// The key cache.
    pub fn keys(&self) -> &Arc<KeyCache> {
        &self.keys
    }

    /// Decisions cached now (`None`: the cache is off).
    pub fn cache_entries(&self) -> Option<usize> {
        self.cache.as_ref().map(DecisionCache::len)
    }

    /// The decision about `token`, from the cache or made now.
    pub async fn authorize(&self, token: &str) -> Result<Arc<Allowed>, Rejection> {
        let key = self.cache.as_ref().map(|cache| {
            let key = decision_cache::digest(token);
            (cache, key)
        });
        if let Some((cache, key)) = &key {
            let hit = cache.get(key, Instant::now());
            self.metrics.cache_lookup(hit.is_some());
            if let Some(allowed) = hit {
                return Ok(allowed);
            }
        }
        let (claims, kid) =
            verify::verify(&self.verifier, &self.keys, &self.metrics, token).await?;
        self.check_revocation(&claims).await?;
        let identity = self
            .signer
            .as_ref()
            .map(|signer| signer.sign(&Identity::from_claims(&claims, Some(&kid))));
        let allowed = Arc::new(Allowed {
            sub: claims.sub,
            identity,
        });
        if let Some((cache, key)) = key {
            let life_left = decision_cache::life_left(claims.exp);
            cache.insert(key, Arc::clone(&allowed), Instant::now(), life_left);
        }
        Ok(allowed)
    }

    /// The replicas' revocation rule: `ver` (and with the deny-list `jti`) required, one
    /// store round trip.
    async fn check_revocation(&self, claims: &VerifiedClaims) -> Result<(), Rejection> {
        let (store, with_jti) = match &self.revocation {
            RevocationCheck::None => return Ok(()),
            RevocationCheck::Denylist(store) => (store, true),
            RevocationCheck::TokenVersion(store) => (store, false),
        };
        let missing = Rejection::Auth(AuthReason::MissingClaim);
        let version = claims.ver.ok_or(missing)?;
        let jti = if with_jti {
            Some(claims.jti.as_deref().ok_or(missing)?)
        } else {
            None
        };
        match store.is_revoked(jti, &claims.sub, version).await {
            Ok(false) => {
                self.metrics.revocation_check(RevocationResult::Ok);
                Ok(())
            }
            Ok(true) => {
                self.metrics.revocation_check(RevocationResult::Revoked);
                Err(Rejection::Auth(AuthReason::Revoked))
            }
            Err(err) => {
                self.metrics.revocation_check(RevocationResult::Error);
                tracing::warn!(cause = %err, "gateway: revocation check failed");
                Err(Rejection::StoreUnavailable)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    use crate::gateway::jwks::{self, JwksKeys};
    use crate::gateway::keys_cache::JwksSource;
    use crate::gateway::metrics::Trigger;
    use crate::jwt::{JwtAlg, JwtConfig, JwtService, KeySet};
    use crate::store::{BoxFuture, MemoryRevocations};

    #[derive(Debug)]
    struct Fixed(Vec<u8>);

    impl JwksSource for Fixed {
        fn fetch(&self) -> BoxFuture<'_, Result<JwksKeys, jwks::FetchError>> {
            Box::pin(async move { Ok(jwks::parse(&self.0).unwrap()) })
        }
    }

    async fn setup(cache_ttl: Duration) -> (Authorizer, JwtService, Arc<dyn RevocationStore>) {
        let keys = KeySet::ephemeral(JwtAlg::Es256).unwrap();
        let body = serde_json::to_vec(&keys.jwks()).unwrap();
        let service = JwtService::new(keys, JwtConfig::default()).unwrap();
        let metrics = Arc::new(GatewayMetrics::default());
        let cache = Arc::new(KeyCache::new(
            Box::new(Fixed(body)),
            Duration::from_secs(300),
            Duration::from_secs(1),
            Arc::clone(&metrics),
        ));
        assert!(cache.fetch(Trigger::Startup).await);
        let store: Arc<dyn RevocationStore> = MemoryRevocations::new();
        let defaults = JwtConfig::default();
        let authorizer = Authorizer::new(
            Verifier::new(&defaults.issuer, &defaults.audience, Duration::ZERO),
            cache,
            RevocationCheck::Denylist(Arc::clone(&store)),
            (!cache_ttl.is_zero()).then(|| DecisionCache::new(cache_ttl, 1000)),
            Some(IdentityKey::from_secret(&[1; 32]).unwrap()),
            metrics,
        );
        (authorizer, service, store)
    }

    fn issue(service: &JwtService) -> (String, String) {
        let now = jsonwebtoken::get_current_timestamp();
        let issued = service.issue("user1", &[], Some(0), now).unwrap();
        (issued.token, issued.jti)
    }

    /// The revocation window the cache adds is its TTL, exactly: a token allowed (and cached)
    /// at t0 and revoked right after keeps passing until t0 + TTL, and not a moment longer.
    #[tokio::test(start_paused = true)]
    async fn the_cache_s_revocation_window_equals_its_ttl() {
        let ttl = Duration::from_secs(30);
        let (authorizer, service, store) = setup(ttl).await;
        let (token, jti) = issue(&service);
        let t0 = Instant::now();
        let allowed = authorizer.authorize(&token).await.unwrap();
        assert_eq!(allowed.sub, "user1");
        assert!(allowed.identity.is_some());
        store
            .deny(&jti, "user1", Duration::from_secs(3600))
            .await
            .unwrap();
        tokio::time::advance(ttl - Duration::from_millis(1)).await;
        assert!(
            authorizer.authorize(&token).await.is_ok(),
            "cached until t0 + TTL"
        );
        assert_eq!(t0.elapsed(), ttl - Duration::from_millis(1));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(
            authorizer.authorize(&token).await.unwrap_err(),
            Rejection::Auth(AuthReason::Revoked)
        );
        let m = &authorizer.metrics;
        assert_eq!((m.cache_count(true), m.cache_count(false)), (1, 2));
        assert_eq!(m.verify_count(), 2, "a hit skips the signature check");
    }

    #[tokio::test(start_paused = true)]
    async fn without_the_cache_revocation_is_seen_at_once() {
        let (authorizer, service, store) = setup(Duration::ZERO).await;
        let (token, jti) = issue(&service);
        assert!(authorizer.authorize(&token).await.is_ok());
        store
            .deny(&jti, "user1", Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(
            authorizer.authorize(&token).await.unwrap_err(),
            Rejection::Auth(AuthReason::Revoked)
        );
        assert_eq!(authorizer.cache_entries(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn denials_are_not_cached_and_claims_are_required_for_the_check() {
        let (authorizer, service, _) = setup(Duration::from_secs(30)).await;
        let now = jsonwebtoken::get_current_timestamp();
        let no_ver = service
            .sign_raw(&serde_json::json!({"sub": "u", "iat": now, "exp": now + 60,
                "iss": "authbench", "aud": "authbench-api", "jti": "j"}))
            .unwrap();
        for _ in 0..2 {
            assert_eq!(
                authorizer.authorize(&no_ver).await.unwrap_err(),
                Rejection::Auth(AuthReason::MissingClaim)
            );
        }
        assert_eq!(authorizer.cache_entries(), Some(0));
        assert_eq!(authorizer.metrics.verify_count(), 2);
    }
}
