//! The authorizer cache (`--authorizer-cache-ttl`): a decision to let a token through,
//! remembered per token so the next request with it skips the signature check and the
//! revocation lookup — API Gateway's authorizer result caching, Envoy's `jwt_cache_config`.
//!
//! Keyed by SHA-256 of the token (tokens are up to 8 KiB; digests are 32 bytes). An entry
//! lives `min(TTL, time until the token's exp)`, so a cached decision never outlives its
//! token. The cache holds at most `--authorizer-cache-max-entries`: when full, expired entries
//! are dropped first, then arbitrary ones (a sixteenth of the cache at a time, so that a full
//! cache does not rescan on every insert).
//!
//! **Only allows are cached.** Real authorizers cache denials too; here that would buy little
//! and cost much: a denial is cheap to reach again for garbage (it fails before any crypto)
//! and permanent for revoked tokens, a 503 (store or key set unavailable) must never be
//! remembered, and a flood of distinct bad tokens would evict the good decisions. It also
//! keeps what is measured clean: the revocation window the cache adds is exactly how long a
//! cached *allow* survives the token's revocation — at most the TTL.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use hyper::header::HeaderValue;
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

/// A token let through: what to forward.
#[derive(Debug)]
pub struct Allowed {
    /// Subject, for logs and tests.
    pub sub: String,
    /// The signed identity header (`None` without `--identity-secret-file`).
    pub identity: Option<HeaderValue>,
}

#[derive(Debug)]
struct Entry {
    expires: Instant,
    allowed: Arc<Allowed>,
}

/// Cached allows, per token digest.
#[derive(Debug)]
pub struct DecisionCache {
    ttl: Duration,
    max_entries: usize,
    entries: DashMap<[u8; 32], Entry>,
}

/// The cache key of a token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Time until `exp` (seconds since the epoch), by the system clock.
pub fn life_left(exp: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(exp).saturating_sub(now)
}

impl DecisionCache {
    /// A cache keeping allows for `ttl`, at most `max_entries` of them.
    pub fn new(ttl: Duration, max_entries: usize) -> DecisionCache {
        DecisionCache {
            ttl,
            max_entries: max_entries.max(1),
            entries: DashMap::new(),
        }
    }

    /// The cached allow of a token digest, if still valid at `now`.
    pub fn get(&self, key: &[u8; 32], now: Instant) -> Option<Arc<Allowed>> {
        let found = self
            .entries
            .get(key)
            .map(|e| (e.expires, Arc::clone(&e.allowed)));
        match found {
            Some((expires, allowed)) if now < expires => Some(allowed),
            Some(_) => {
                self.entries.remove_if(key, |_, e| e.expires <= now);
                None
            }
            None => None,
        }
    }

    /// Remembers an allow made at `now` for a token with `life_left` until its `exp`.
    pub fn insert(&self, key: [u8; 32], allowed: Arc<Allowed>, now: Instant, life_left: Duration) {
        let life = self.ttl.min(life_left);
        if life.is_zero() {
            return;
        }
        if self.entries.len() >= self.max_entries && !self.entries.contains_key(&key) {
            self.evict(now);
        }
        self.entries.insert(
            key,
            Entry {
                expires: now + life,
                allowed,
            },
        );
    }

    fn evict(&self, now: Instant) {
        self.entries.retain(|_, e| e.expires > now);
        if self.entries.len() < self.max_entries {
            return;
        }
        let batch = (self.max_entries / 16).max(1);
        let victims: Vec<[u8; 32]> = self.entries.iter().take(batch).map(|e| *e.key()).collect();
        for victim in victims {
            self.entries.remove(&victim);
        }
    }

    /// Entries held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Arc<Allowed> {
        Arc::new(Allowed {
            sub: "u".into(),
            identity: None,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn entries_live_the_ttl_or_until_the_token_expires() {
        let ttl = Duration::from_secs(10);
        let cache = DecisionCache::new(ttl, 100);
        let t0 = Instant::now();
        cache.insert(digest("a"), allowed(), t0, Duration::from_secs(3600));
        cache.insert(digest("b"), allowed(), t0, Duration::from_secs(4));
        cache.insert(digest("c"), allowed(), t0, Duration::ZERO);
        assert!(cache
            .get(&digest("a"), t0 + ttl - Duration::from_nanos(1))
            .is_some());
        assert!(cache.get(&digest("a"), t0 + ttl).is_none());
        assert!(cache
            .get(&digest("b"), t0 + Duration::from_secs(3))
            .is_some());
        assert!(cache
            .get(&digest("b"), t0 + Duration::from_secs(4))
            .is_none());
        assert!(cache.get(&digest("c"), t0).is_none());
        assert!(
            cache.is_empty(),
            "expired entries are dropped when looked up"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_cache_drops_expired_entries_first_and_stays_bounded() {
        let cache = DecisionCache::new(Duration::from_secs(10), 64);
        let t0 = Instant::now();
        for i in 0..32 {
            cache.insert(
                digest(&format!("old{i}")),
                allowed(),
                t0,
                Duration::from_secs(1),
            );
        }
        for i in 0..32 {
            cache.insert(
                digest(&format!("new{i}")),
                allowed(),
                t0,
                Duration::from_secs(60),
            );
        }
        let later = t0 + Duration::from_secs(2);
        cache.insert(digest("x"), allowed(), later, Duration::from_secs(60));
        assert_eq!(
            cache.len(),
            33,
            "the 32 expired ones went, the live ones stayed"
        );
        for i in 0..1000 {
            cache.insert(
                digest(&format!("flood{i}")),
                allowed(),
                later,
                Duration::from_secs(60),
            );
            assert!(cache.len() <= 64);
        }
    }
}
