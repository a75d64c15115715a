//! Server-side state: sessions for the session-ID scheme, deny-list and token versions for
//! JWT revocation.
//!
//! Two traits, each with an in-process and a Redis implementation. The in-process variants
//! are per replica (exactly what breaks behind a round-robin balancer); the Redis variants are
//! shared by every replica pointing at the same Redis, with namespaced keys.

mod circuit;
mod guard;
mod memory;
mod redis;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use self::circuit::CircuitState;
pub use self::guard::{FailureKind, GuardConfig, StoreGuard};
pub use self::memory::{spawn_purger, MemoryRevocations, MemorySessions, Purge};
pub use self::redis::{connect as connect_redis, RedisLink, RedisRevocations, RedisSessions};

/// A boxed, sendable future, so the stores can sit behind `Arc<dyn …>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store call that failed (connection refused, timeout, garbled record).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis did not answer or answered with an error.
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// A stored record could not be decoded.
    #[error("corrupt record under key {0}")]
    Corrupt(String),
    /// `--redis-url` cannot be used (see [`authbench_contract::RedisTarget`]).
    #[error("{0}")]
    BadUrl(String),
    /// No answer within `--store-timeout`.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Not called: the store circuit is open after consecutive failures.
    #[error("circuit open: failing fast after consecutive store failures")]
    CircuitOpen,
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// What the server keeps per session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Username.
    pub user: String,
    /// Roles granted at login.
    pub roles: Vec<String>,
}

impl Session {
    /// Compact record for stores that keep bytes: `user|role,role`.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.user.len() + 16);
        out.push_str(&self.user);
        out.push('|');
        out.push_str(&self.roles.join(","));
        out
    }

    /// Inverse of [`Session::encode`].
    pub fn decode(record: &str) -> Option<Session> {
        let (user, roles) = record.split_once('|')?;
        if user.is_empty() {
            return None;
        }
        let roles = roles
            .split(',')
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect();
        Some(Session {
            user: user.to_owned(),
            roles,
        })
    }
}

/// Where sessions live.
pub trait SessionStore: Send + Sync + Debug {
    /// Stores a new session under `id` for `ttl`.
    fn create<'a>(
        &'a self,
        id: &'a str,
        session: &'a Session,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Looks a session up; `None` if unknown or expired. Shared, so a hit on the
    /// in-process store costs a reference count, not a copy.
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Arc<Session>>>>;

    /// Deletes a session; returns whether it existed.
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>>;

    /// Deletes a session and returns it if it existed and had not expired, atomically: of
    /// two callers taking the same ID, one gets it. (Refresh-token rotation.)
    fn take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Arc<Session>>>>;

    /// Deletes every session of `user` (admin force-logout); returns how many.
    fn delete_user<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>>;

    /// Sessions currently stored (for `/metrics`). O(1) in process; a key scan on Redis.
    fn live_sessions(&self) -> BoxFuture<'_, StoreResult<u64>>;

    /// `memory` or `redis`, for labels.
    fn kind(&self) -> &'static str;
}

/// Where JWT revocation state lives: a `jti` deny-list and a version number per user.
pub trait RevocationStore: Send + Sync + Debug {
    /// Deny-lists `jti`, a token of `user`, until it would have expired anyway. (The user
    /// places the entry next to the user's token version on a Redis Cluster.)
    fn deny<'a>(
        &'a self,
        jti: &'a str,
        user: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Whether a token is revoked: its `jti` is deny-listed (when `jti` is given) or its
    /// version is older than the user's current one. One round trip on Redis.
    fn is_revoked<'a>(
        &'a self,
        jti: Option<&'a str>,
        user: &'a str,
        version: u64,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// The user's current token version (0 if never bumped).
    fn version<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>>;

    /// Bumps the user's token version, revoking every token issued before; returns the new one.
    fn bump_version<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_record_round_trips() {
        let s = Session {
            user: "user3".into(),
            roles: vec!["user".into(), "admin".into()],
        };
        assert_eq!(s.encode(), "user3|user,admin");
        assert_eq!(Session::decode(&s.encode()), Some(s));
        let no_roles = Session {
            user: "u".into(),
            roles: vec![],
        };
        assert_eq!(Session::decode(&no_roles.encode()), Some(no_roles));
        assert_eq!(Session::decode("garbage"), None);
        assert_eq!(Session::decode("|user"), None);
    }
}
