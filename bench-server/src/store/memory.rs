//! In-process stores: concurrent maps, per replica.
//!
//! Expiry is checked on every read and purged in the background, so memory tracks live
//! sessions. Time comes from `tokio::time::Instant`, which tests can pause and advance.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::Duration;

use dashmap::DashMap;
use foldhash::fast::RandomState;
use tokio::time::Instant;

use super::{BoxFuture, RevocationStore, Session, SessionStore, StoreResult};

/// An in-process store whose expired entries are dropped by a background task.
pub trait Purge: Send + Sync + 'static {
    /// Drops expired entries now; returns how many.
    fn purge_expired(&self) -> usize;
}

/// Calls [`Purge::purge_expired`] every `every` until the store is dropped.
pub fn spawn_purger<T: Purge>(store: &Arc<T>, every: Duration) -> tokio::task::JoinHandle<()> {
    let weak: Weak<T> = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(store) = weak.upgrade() else { break };
            store.purge_expired();
        }
    })
}

impl Purge for MemorySessions {
    fn purge_expired(&self) -> usize {
        self.purge_now()
    }
}

impl Purge for MemoryRevocations {
    fn purge_expired(&self) -> usize {
        self.purge_now()
    }
}

#[derive(Debug)]
struct Entry {
    session: Arc<Session>,
    expires_at: Instant,
}

/// A concurrent map with a fast, per-process randomly seeded hasher. Keys are session IDs
/// and token IDs the server generated itself, so flooding one bucket is not possible.
type Map<K, V> = DashMap<K, V, RandomState>;

/// Sessions in a concurrent map, with a user → session IDs index for force-logout.
#[derive(Debug, Default)]
pub struct MemorySessions {
    sessions: Map<Box<str>, Entry>,
    by_user: Map<Box<str>, Vec<Box<str>>>,
}

impl MemorySessions {
    /// A new store; pass it to [`spawn_purger`] to expire sessions in the background.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Removes every expired session now; returns how many.
    fn purge_now(&self) -> usize {
        let now = Instant::now();
        let mut expired: Vec<(Box<str>, Box<str>)> = Vec::new();
        self.sessions.retain(|id, entry| {
            let keep = entry.expires_at > now;
            if !keep {
                expired.push((id.clone(), entry.session.user.as_str().into()));
            }
            keep
        });
        for (id, user) in &expired {
            self.unindex(user, id);
        }
        expired.len()
    }

    fn unindex(&self, user: &str, id: &str) {
        let emptied = match self.by_user.get_mut(user) {
            Some(mut ids) => {
                ids.retain(|other| &**other != id);
                ids.is_empty()
            }
            None => false,
        };
        if emptied {
            self.by_user.remove_if(user, |_, ids| ids.is_empty());
        }
    }
}

impl SessionStore for MemorySessions {
    fn create<'a>(
        &'a self,
        id: &'a str,
        session: &'a Session,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let entry = Entry {
                session: Arc::new(session.clone()),
                expires_at: Instant::now() + ttl,
            };
            self.sessions.insert(id.into(), entry);
            self.by_user
                .entry(session.user.as_str().into())
                .or_default()
                .push(id.into());
            Ok(())
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Arc<Session>>>> {
        Box::pin(async move {
            let found = self.sessions.get(id).and_then(|entry| {
                (entry.expires_at > Instant::now()).then(|| entry.session.clone())
            });
            Ok(found)
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            match self.sessions.remove(id) {
                Some((_, entry)) => {
                    self.unindex(&entry.session.user, id);
                    Ok(entry.expires_at > Instant::now())
                }
                None => Ok(false),
            }
        })
    }

    fn take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Arc<Session>>>> {
        Box::pin(async move {
            let Some((_, entry)) = self.sessions.remove(id) else {
                return Ok(None);
            };
            self.unindex(&entry.session.user, id);
            Ok((entry.expires_at > Instant::now()).then_some(entry.session))
        })
    }

    fn delete_user<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move {
            let ids = self
                .by_user
                .remove(user)
                .map(|(_, ids)| ids)
                .unwrap_or_default();
            let removed = ids
                .iter()
                .filter(|id| self.sessions.remove(&***id).is_some())
                .count();
            Ok(removed as u64)
        })
    }

    fn live_sessions(&self) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move { Ok(self.sessions.len() as u64) })
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

/// Deny-list and token versions in process.
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    denied: Map<Box<str>, Instant>,
    versions: Map<Box<str>, AtomicU64>,
}

impl MemoryRevocations {
    /// A new, empty store.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Drops deny-list entries whose tokens have expired anyway; returns how many.
    fn purge_now(&self) -> usize {
        let now = Instant::now();
        let before = self.denied.len();
        self.denied.retain(|_, until| *until > now);
        before - self.denied.len()
    }

    /// Deny-listed tokens not yet expired (may include some awaiting purge).
    pub fn denied_len(&self) -> usize {
        self.denied.len()
    }
}

impl RevocationStore for MemoryRevocations {
    fn deny<'a>(
        &'a self,
        jti: &'a str,
        _user: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.denied.insert(jti.into(), Instant::now() + ttl);
            Ok(())
        })
    }

    fn is_revoked<'a>(
        &'a self,
        jti: Option<&'a str>,
        user: &'a str,
        version: u64,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let denied = jti.is_some_and(|jti| {
                self.denied
                    .get(jti)
                    .is_some_and(|until| *until > Instant::now())
            });
            let current = self.versions.get(user).map_or(0, |v| v.load(Relaxed));
            Ok(denied || current > version)
        })
    }

    fn version<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move { Ok(self.versions.get(user).map_or(0, |v| v.load(Relaxed))) })
    }

    fn bump_version<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move {
            let entry = self.versions.entry(user.into()).or_default();
            Ok(entry.fetch_add(1, Relaxed) + 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: &str) -> Session {
        Session {
            user: user.into(),
            roles: vec!["user".into()],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_and_are_purged() {
        let store = MemorySessions::new();
        let ttl = Duration::from_secs(60);
        store.create("a", &session("u1"), ttl).await.unwrap();
        assert!(store.get("a").await.unwrap().is_some());
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(store.get("a").await.unwrap(), None);
        assert_eq!(store.live_sessions().await.unwrap(), 1);
        assert_eq!(store.purge_expired(), 1);
        assert_eq!(store.live_sessions().await.unwrap(), 0);
        assert!(store.by_user.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn take_hands_a_live_session_out_once() {
        let store = MemorySessions::new();
        let ttl = Duration::from_secs(60);
        store.create("a", &session("u1"), ttl).await.unwrap();
        store.create("b", &session("u1"), ttl).await.unwrap();
        let taken = store.take("a").await.unwrap().expect("live");
        assert_eq!(taken.user, "u1");
        assert_eq!(store.take("a").await.unwrap(), None, "once");
        assert_eq!(store.delete_user("u1").await.unwrap(), 1, "unindexed");
        store.create("c", &session("u2"), ttl).await.unwrap();
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(store.take("c").await.unwrap(), None, "expired");
        assert!(store.by_user.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn background_purger_runs() {
        let store = MemorySessions::new();
        let _purger = spawn_purger(&store, Duration::from_secs(5));
        store
            .create("a", &session("u1"), Duration::from_secs(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(store.live_sessions().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn delete_user_removes_only_that_users_sessions() {
        let store = MemorySessions::new();
        let ttl = Duration::from_secs(60);
        for id in ["a", "b", "c"] {
            store.create(id, &session("u1"), ttl).await.unwrap();
        }
        store.create("d", &session("u2"), ttl).await.unwrap();
        assert_eq!(store.delete_user("u1").await.unwrap(), 3);
        assert_eq!(store.get("a").await.unwrap(), None);
        assert!(store.get("d").await.unwrap().is_some());
        assert_eq!(store.delete_user("u1").await.unwrap(), 0);
        assert!(store.delete("d").await.unwrap());
        assert!(!store.delete("d").await.unwrap());
        assert!(store.by_user.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn deny_list_and_versions() {
        let store = MemoryRevocations::new();
        assert!(!store.is_revoked(Some("j1"), "u", 0).await.unwrap());
        store
            .deny("j1", "u", Duration::from_secs(10))
            .await
            .unwrap();
        assert!(store.is_revoked(Some("j1"), "u", 0).await.unwrap());
        assert!(!store.is_revoked(None, "u", 0).await.unwrap());
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!store.is_revoked(Some("j1"), "u", 0).await.unwrap());
        assert_eq!(store.purge_expired(), 1);

        assert_eq!(store.version("u").await.unwrap(), 0);
        assert_eq!(store.bump_version("u").await.unwrap(), 1);
        assert!(store.is_revoked(None, "u", 0).await.unwrap());
        assert!(!store.is_revoked(None, "u", 1).await.unwrap());
    }
}
