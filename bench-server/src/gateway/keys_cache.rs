//! The issuer's keys as the gateway holds them: fetched at start, refreshed after
//! `--jwks-cache-ttl`, and fetched again when a token names a `kid` the cache does not know.
//!
//! * **Start-up.** A background task fetches until it succeeds, backing off (200 ms doubling
//!   to at most 10 s or the TTL). Until a key set has been fetched once there are no keys:
//!   protected requests are answered 503 `jwks_unavailable`, never forwarded.
//! * **TTL.** Once the keys are `--jwks-cache-ttl` old the task fetches again. A failed
//!   refresh keeps the last good keys (tokens are still verified against them), is counted,
//!   and is retried with the same backoff. Keys are never dropped for being old: a gateway
//!   that lost its issuer keeps verifying with what it last knew, as real ones do.
//! * **Unknown `kid`.** A request whose token names an unknown `kid` (or that finds no keys at
//!   all) asks for a fetch. At most one fetch is in flight: requests that ask while one runs
//!   wait for it and use its result. And at most one such request-triggered fetch starts per
//!   `--jwks-refetch-interval` ([`RateLimiter`]), so a flood of tokens with made-up `kid`s
//!   costs the issuer one request per interval, whatever the flood's rate.
//!
//! Time is `tokio::time::Instant`, so tests drive it with `tokio::time::pause`.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use super::jwks::{self, FetchError, JwksKeys, JwksUrl};
use super::metrics::{GatewayMetrics, Trigger};
use crate::store::BoxFuture;

/// First retry delay after a failed fetch.
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);

/// Longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where key sets come from: the issuer over HTTP, or a fake in tests.
pub trait JwksSource: Send + Sync + Debug + 'static {
    /// Fetches and parses the key set.
    fn fetch(&self) -> BoxFuture<'_, Result<JwksKeys, FetchError>>;
}

/// The issuer's `/.well-known/jwks.json` over HTTP/1.
#[derive(Debug)]
pub struct HttpSource {
    /// The URL.
    pub url: JwksUrl,
    /// Bound on one fetch.
    pub timeout: Duration,
}

impl JwksSource for HttpSource {
    fn fetch(&self) -> BoxFuture<'_, Result<JwksKeys, FetchError>> {
        Box::pin(async move {
            let body = jwks::fetch(&self.url, self.timeout).await?;
            jwks::parse(&body).map_err(|reason| FetchError::Malformed {
                url: self.url.to_string(),
                reason,
            })
        })
    }
}

/// Allows one event per interval: the first at once, the next only `interval` after the
/// last one allowed. Over any span `E` it allows at most `floor(E / interval) + 1`.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    last: Option<Instant>,
}

impl RateLimiter {
    /// A limiter of one event per `interval`.
    pub fn new(interval: Duration) -> RateLimiter {
        RateLimiter {
            interval,
            last: None,
        }
    }

    /// Whether an event may happen at `now`; if so, it is recorded.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        let allowed = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if allowed {
            self.last = Some(now);
        }
        allowed
    }
}

#[derive(Debug)]
struct Snapshot {
    keys: Arc<JwksKeys>,
    fetched_at: Instant,
}

/// The cached key set and its fetching rules.
#[derive(Debug)]
pub struct KeyCache {
    source: Box<dyn JwksSource>,
    ttl: Duration,
    current: RwLock<Option<Snapshot>>,
    fetching: tokio::sync::Mutex<()>,
    limiter: Mutex<RateLimiter>,
    metrics: Arc<GatewayMetrics>,
}

impl KeyCache {
    /// A cache with no keys yet; call [`KeyCache::refresh_loop`] (or fetch) to fill it.
    pub fn new(
        source: Box<dyn JwksSource>,
        ttl: Duration,
        refetch_interval: Duration,
        metrics: Arc<GatewayMetrics>,
    ) -> KeyCache {
        KeyCache {
            source,
            ttl,
            current: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
            limiter: Mutex::new(RateLimiter::new(refetch_interval)),
            metrics,
        }
    }

    /// The keys, or `None` while no key set has ever been fetched.
    pub fn current(&self) -> Option<Arc<JwksKeys>> {
        self.read().as_ref().map(|s| Arc::clone(&s.keys))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Snapshot>> {
        self.current.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn fetched_at(&self) -> Option<Instant> {
        self.read().as_ref().map(|s| s.fetched_at)
    }

    /// Fetches now (waiting for a fetch in flight first); `true` on success.
    pub async fn fetch(&self, trigger: Trigger) -> bool {
        let _single = self.fetching.lock().await;
        self.fetch_locked(trigger).await
    }

    async fn fetch_locked(&self, trigger: Trigger) -> bool {
        let result = self.source.fetch().await;
        self.metrics.jwks_fetch(trigger, result.is_ok());
        match result {
            Ok(keys) => {
                let previous = self.current();
                let changed = previous.as_ref().is_none_or(|p| p.kids() != keys.kids());
                if changed {
                    tracing::info!(keys = keys.len(), kids = ?keys.kids(), trigger = trigger.label(), "gateway: key set fetched");
                    if !keys.skipped.is_empty() {
                        tracing::warn!(skipped = ?keys.skipped, "gateway: keys left out of the key set");
                    }
                    if keys.is_empty() {
                        tracing::warn!("gateway: the key set has no usable key: every token is refused (unknown_key)");
                    }
                }
                self.metrics.set_jwks_keys(keys.len());
                let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
                *current = Some(Snapshot {
                    keys: Arc::new(keys),
                    fetched_at: Instant::now(),
                });
                true
            }
            Err(err) => {
                if self.current().is_some() {
                    tracing::warn!(cause = %err, trigger = trigger.label(), "gateway: key set refresh failed; keeping the last good keys");
                } else {
                    tracing::warn!(cause = %err, trigger = trigger.label(), "gateway: no key set yet: protected requests get 503 until one is fetched");
                }
                false
            }
        }
    }

    /// A request found no key for its token in `seen` (`None`: there were no keys at all).
    /// Waits for a fetch in flight, or starts one if the rate limit allows, and returns the
    /// keys as they are then. Never more than one fetch at a time, nor more than one
    /// request-triggered fetch per refetch interval.
    pub async fn refetch(&self, seen: Option<&Arc<JwksKeys>>) -> Option<Arc<JwksKeys>> {
        let _single = self.fetching.lock().await;
        let current = self.current();
        let fetched_meanwhile = match (seen, &current) {
            (Some(seen), Some(now)) => !Arc::ptr_eq(seen, now),
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if fetched_meanwhile {
            return current;
        }
        let allowed = self
            .limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_acquire(Instant::now());
        if !allowed {
            self.metrics.refetch_limited();
            return current;
        }
        self.fetch_locked(Trigger::UnknownKid).await;
        self.current()
    }

    /// Runs forever: the start-up fetch with retries, then a refresh every TTL (retried with
    /// backoff on failure). Spawn it; abort it to stop.
    pub async fn refresh_loop(self: Arc<Self>) {
        let max_backoff = self.ttl.clamp(INITIAL_BACKOFF, MAX_BACKOFF);
        let mut backoff = INITIAL_BACKOFF;
        loop {
            if let Some(at) = self.fetched_at() {
                let due = at + self.ttl;
                if Instant::now() < due {
                    tokio::time::sleep_until(due).await;
                    continue;
                }
            }
            let trigger = if self.current().is_some() {
                Trigger::Ttl
            } else {
                Trigger::Startup
            };
            if self.fetch(trigger).await {
                backoff = INITIAL_BACKOFF;
            } else {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use crate::jwt::{JwtAlg, KeySet};

    /// Serves a replica's key set, or fails while `down`; counts fetches.
    #[derive(Debug)]
    struct FakeIssuer {
        body: Vec<u8>,
        down: AtomicBool,
        fetches: AtomicUsize,
    }

    impl JwksSource for Arc<FakeIssuer> {
        fn fetch(&self) -> BoxFuture<'_, Result<JwksKeys, FetchError>> {
            Box::pin(async move {
                self.fetches.fetch_add(1, Ordering::SeqCst);
                // A fetch takes a little time, so concurrent requests overlap with it.
                tokio::time::sleep(Duration::from_millis(5)).await;
                if self.down.load(Ordering::SeqCst) {
                    return Err(FetchError::Unreachable {
                        url: "fake".into(),
                        reason: "down".into(),
                    });
                }
                Ok(jwks::parse(&self.body).unwrap())
            })
        }
    }

    fn issuer(down: bool) -> Arc<FakeIssuer> {
        let keys = KeySet::ephemeral(JwtAlg::EdDsa).unwrap();
        Arc::new(FakeIssuer {
            body: serde_json::to_vec(&keys.jwks()).unwrap(),
            down: AtomicBool::new(down),
            fetches: AtomicUsize::new(0),
        })
    }

    fn cache(issuer: &Arc<FakeIssuer>, ttl: Duration, interval: Duration) -> Arc<KeyCache> {
        Arc::new(KeyCache::new(
            Box::new(Arc::clone(issuer)),
            ttl,
            interval,
            Arc::new(GatewayMetrics::default()),
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_allows_one_event_per_interval() {
        let mut limiter = RateLimiter::new(Duration::from_secs(1));
        let start = Instant::now();
        let mut allowed = 0;
        // 10 s of attempts every 10 ms: 1 at once, then one per second.
        for i in 0..1000 {
            if limiter.try_acquire(start + Duration::from_millis(10 * i)) {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 10);
        assert!(!limiter.try_acquire(start + Duration::from_millis(9_999)));
        assert!(limiter.try_acquire(start + Duration::from_secs(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_kid_flood_costs_one_fetch_per_interval() {
        let issuer = issuer(false);
        let interval = Duration::from_secs(1);
        let cache = cache(&issuer, Duration::from_secs(3600), interval);
        assert!(cache.fetch(Trigger::Startup).await);
        let start = Instant::now();
        // 50 concurrent unknown-kid requests every 100 ms for 10 s.
        for _ in 0..100 {
            let seen = cache.current().unwrap();
            let mut waves = Vec::new();
            for _ in 0..50 {
                let cache = Arc::clone(&cache);
                let seen = Arc::clone(&seen);
                waves.push(tokio::spawn(
                    async move { cache.refetch(Some(&seen)).await },
                ));
            }
            for wave in waves {
                assert!(wave.await.unwrap().is_some());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let elapsed = start.elapsed();
        let refetches = issuer.fetches.load(Ordering::SeqCst) - 1;
        let bound = elapsed.as_secs_f64() / interval.as_secs_f64();
        assert!(
            refetches as f64 <= bound.ceil() + 1.0,
            "{refetches} fetches in {elapsed:?}"
        );
        assert!(refetches >= 10, "the limiter still lets fetches through");
        assert!(cache.metrics.refetch_limited_count() > 4_000);
    }

    #[tokio::test(start_paused = true)]
    async fn start_up_retries_until_the_issuer_answers_then_refreshes_every_ttl() {
        let issuer = issuer(true);
        let ttl = Duration::from_secs(60);
        let cache = cache(&issuer, ttl, Duration::from_secs(1));
        let task = tokio::spawn(Arc::clone(&cache).refresh_loop());
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            cache.current().is_none(),
            "no keys while the issuer is down"
        );
        let failed = issuer.fetches.load(Ordering::SeqCst);
        // Backoff: 200, 400, 800, 1600 ms … — a handful of tries in 5 s, not hundreds.
        assert!((3..=6).contains(&failed), "{failed}");
        issuer.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(cache.current().unwrap().len(), 1);
        let after_start = issuer.fetches.load(Ordering::SeqCst);
        // The keys came at ~6.2 s (tries at 0, 0.2, 0.6, 1.4, 3.0, 6.2 s). Nothing more until
        // the TTL is up; then one refresh.
        tokio::time::sleep(ttl - Duration::from_secs(4)).await;
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), after_start);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), after_start + 1);
        // A failed refresh keeps the last good keys and is retried.
        issuer.down.store(true, Ordering::SeqCst);
        let before = cache.current().unwrap();
        tokio::time::sleep(ttl + Duration::from_secs(5)).await;
        assert!(Arc::ptr_eq(&before, &cache.current().unwrap()));
        assert!(issuer.fetches.load(Ordering::SeqCst) >= after_start + 3);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn requests_without_keys_fetch_at_most_once_per_interval() {
        let issuer = issuer(true);
        let cache = cache(&issuer, Duration::from_secs(300), Duration::from_secs(1));
        assert!(cache.refetch(None).await.is_none());
        assert!(cache.refetch(None).await.is_none());
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
        issuer.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(cache.refetch(None).await.is_some());
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);
    }
}
