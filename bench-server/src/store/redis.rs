//! Redis-backed stores, shared by every replica that points at the same Redis.
//!
//! One multiplexed [`ConnectionManager`] per process: commands from all requests are
//! pipelined over it, and it reconnects by itself after Redis restarts (the commands in
//! flight at that moment fail, and the handlers answer 503). Every call runs under the
//! connection's [`StoreGuard`] (deadline and circuit), so a Redis that stops answering
//! without closing its connections costs a request at most `--store-timeout`. Keys are
//! namespaced:
//!
//! | key | value | expiry |
//! |-----|-------|--------|
//! | `{ns}:sess:{id}` | `user|role,role` | session TTL (`SET … EX`) |
//! | `{ns}:usess:{user}` | set of session IDs (force-logout index) | refreshed to the session TTL |
//! | `{ns}:deny:{jti}` | `1` | the token's remaining lifetime |
//! | `{ns}:ver:{user}` | token version (integer) | none |
//!
//! ## Redis Cluster (`redis+cluster://host:port[,host:port…]`)
//!
//! The same stores over a [`ClusterConnection`], which routes each command to the primary
//! owning its key's slot. Every hot-path call stays one command on one key or one slot, so one
//! round trip to one node: a session lookup is one `GET`. What changes:
//!
//! * The deny-list and version keys carry the user as a hash tag (literal braces: only the
//!   part between them picks the slot), `NS:ver:{USER}` and `NS:deny:{USER}:JTI`, so that
//!   the revocation check (`MGET` of both) reads one slot on one node. (Without the tag the client would split the `MGET` into one request
//!   per node; the answer would be the same, at twice the requests.)
//! * Session and index keys stay untagged, so sessions spread over every primary. Login
//!   therefore writes the index (`SADD`+`EXPIRE`, one slot, `MULTI`) and then the session
//!   (`SET`): two round trips instead of one `MULTI`. Force-logout reads and deletes the
//!   index (one slot, `MULTI`), then deletes the sessions with one `DEL` that the client
//!   splits per node; it is not atomic with a login of the same user running at that moment
//!   (such a session may survive the force-logout), where the single-node Lua script is.
//! * The live-session count scans every primary (`SCAN` on each, summed).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use authbench_contract::RedisTarget;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, Value};

use super::guard::{GuardConfig, StoreGuard};
use super::{BoxFuture, RevocationStore, Session, SessionStore, StoreError, StoreResult};

/// A connection to one Redis or to a Redis Cluster. An enum, not a trait object: a command
/// costs one `match` more than before, and no allocation (both sides box their futures
/// already).
#[derive(Clone)]
pub(crate) enum Conn {
    /// One Redis, reconnecting by itself.
    Single(ConnectionManager),
    /// A Redis Cluster: commands go to the primary of their slot, `MOVED` is followed.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}

/// The process's Redis connection and the guard every call on it goes through (one circuit
/// per Redis or Redis Cluster: the session, refresh-token and revocation stores share it).
#[derive(Clone)]
pub struct RedisLink {
    conn: Conn,
    guard: Arc<StoreGuard>,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink")
            .field("cluster", &self.is_cluster())
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl RedisLink {
    /// The guard, for `/metrics`.
    pub fn guard(&self) -> &Arc<StoreGuard> {
        &self.guard
    }

    /// Whether this is a Redis Cluster (`redis+cluster://`).
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    /// Runs `call` with a handle on the connection, under the guard.
    async fn run<'a, T, F>(&'a self, call: impl FnOnce(Conn) -> F) -> StoreResult<T>
    where
        F: Future<Output = StoreResult<T>> + 'a,
    {
        self.guard.run(call(self.conn.clone())).await
    }

    /// Sends `cmd` to the cluster nodes `routing` names, under the guard, and parses the
    /// answer. (On one Redis the routing is moot: the command goes to it.)
    async fn route<T: FromRedisValue>(&self, cmd: Cmd, routing: RoutingInfo) -> StoreResult<T> {
        self.run(|conn| async move {
            let value = match conn {
                Conn::Single(mut conn) => conn.req_packed_command(&cmd).await?,
                Conn::Cluster(mut conn) => conn.route_command(cmd, routing).await?,
            };
            Ok(T::from_redis_value(value).map_err(redis::RedisError::from)?)
        })
        .await
    }
}

/// Connects to Redis at `url`, failing fast if it does not answer.
///
/// Connecting (and reconnecting after Redis restarts) is bounded by the store deadline too,
/// as is each reply (`response_timeout`, besides the guard's deadline on the whole call); a
/// reply that times out leaves the connection in place (see [`super::guard`]).
///
/// With `TCP_NODELAY`: every request's commands share this one connection, and with Nagle's
/// algorithm a command written while another is unanswered waits for that answer's ACK —
/// invisible on loopback, a whole extra round trip once Redis is a network hop away (measured
/// through `bench-server link` at 0.5 ms RTT: +0.3 ms at p50 from 2,000 requests/s on).
///
/// A `redis+cluster://` URL connects to a Redis Cluster through its seed nodes (see
/// [`RedisTarget`]), with the same deadlines, retries and `TCP_NODELAY`.
pub async fn connect(url: &str, guard: GuardConfig) -> StoreResult<RedisLink> {
    let tcp = redis::io::tcp::TcpSettings::default().set_nodelay(true);
    let conn = match RedisTarget::parse(url).map_err(StoreError::BadUrl)? {
        RedisTarget::Single(url) => {
            let info = redis::IntoConnectionInfo::into_connection_info(url)?.set_tcp_settings(tcp);
            let client = redis::Client::open(info)?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(guard.timeout))
                .set_response_timeout(Some(guard.timeout))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500));
            Conn::Single(ConnectionManager::new_with_config(client, config).await?)
        }
        RedisTarget::Cluster(seeds) => {
            let client = ClusterClient::builder(seeds)
                .connection_timeout(guard.timeout)
                .response_timeout(guard.timeout)
                .retries(2)
                .max_retry_wait(500)
                .tcp_settings(tcp)
                .build()?;
            Conn::Cluster(client.get_async_connection().await?)
        }
    };
    Ok(RedisLink {
        conn,
        guard: Arc::new(StoreGuard::new(guard)),
    })
}

/// Deletes every session of a user and the user's index set, atomically.
const DELETE_USER_SCRIPT: &str = r"
local ids = redis.call('SMEMBERS', KEYS[1])
local removed = 0
for _, id in ipairs(ids) do
  removed = removed + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return removed
";

/// Sessions in Redis.
#[derive(Clone)]
pub struct RedisSessions {
    link: RedisLink,
    session_prefix: String,
    user_prefix: String,
}

impl std::fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessions")
            .field("session_prefix", &self.session_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSessions {
    /// Sessions under `{namespace}:sess:` on `link`.
    pub fn new(link: RedisLink, namespace: &str) -> Self {
        RedisSessions {
            link,
            session_prefix: format!("{namespace}:sess:"),
            user_prefix: format!("{namespace}:usess:"),
        }
    }

    fn session_key(&self, id: &str) -> String {
        let mut key = String::with_capacity(self.session_prefix.len() + id.len());
        key.push_str(&self.session_prefix);
        key.push_str(id);
        key
    }

    /// Force-logout on a cluster: the index is read and deleted at once (one slot), then its
    /// sessions deleted by one `DEL` the client splits per node (the summed count comes back).
    async fn delete_user_cluster(&self, user: &str) -> StoreResult<u64> {
        self.link
            .run(move |mut conn| async move {
                let user_key = format!("{}{}", self.user_prefix, user);
                let (ids,): (Vec<String>,) = redis::pipe()
                    .atomic()
                    .cmd("SMEMBERS")
                    .arg(&user_key)
                    .cmd("DEL")
                    .arg(&user_key)
                    .ignore()
                    .query_async(&mut conn)
                    .await?;
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut del = redis::cmd("DEL");
                for id in &ids {
                    del.arg(self.session_key(id));
                }
                Ok(del.query_async(&mut conn).await?)
            })
            .await
    }

    /// The session count on a cluster: `SCAN` on every primary at once, then each primary's
    /// remaining cursor on that primary alone, one deadline per round trip.
    async fn live_sessions_cluster(&self) -> StoreResult<u64> {
        let pattern = format!("{}*", self.session_prefix);
        let scan = |cursor: u64| {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(10_000);
            cmd
        };
        let all = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        // Without a response policy the client answers with a map: node address → reply.
        let first: std::collections::HashMap<String, (u64, Vec<Value>)> =
            self.link.route(scan(0), all).await?;
        let mut count = 0;
        for (node, (mut cursor, keys)) in first {
            count += keys.len() as u64;
            let (host, port) = node
                .rsplit_once(':')
                .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
                .ok_or_else(|| StoreError::Corrupt(format!("cluster node address {node:?}")))?;
            while cursor != 0 {
                let there = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port,
                });
                let (next, keys): (u64, Vec<Value>) = self.link.route(scan(cursor), there).await?;
                count += keys.len() as u64;
                cursor = next;
            }
        }
        Ok(count)
    }
}

impl SessionStore for RedisSessions {
    fn create<'a>(
        &'a self,
        id: &'a str,
        session: &'a Session,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.link.run(move |mut conn| async move {
            let secs = ttl.as_secs().max(1);
            let user_key = format!("{}{}", self.user_prefix, session.user);
            if self.link.is_cluster() {
                // Two slots: the index first (a failure after it leaves a dangling ID in the
                // index, which force-logout deletes harmlessly), then the session.
                redis::pipe()
                    .atomic()
                    .cmd("SADD")
                    .arg(&user_key)
                    .arg(id)
                    .ignore()
                    .cmd("EXPIRE")
                    .arg(&user_key)
                    .arg(secs)
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await?;
                redis::cmd("SET")
                    .arg(self.session_key(id))
                    .arg(session.encode())
                    .arg("EX")
                    .arg(secs)
                    .query_async::<()>(&mut conn)
                    .await?;
                return Ok(());
            }
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(self.session_key(id))
                .arg(session.encode())
                .arg("EX")
                .arg(secs)
                .ignore()
                .cmd("SADD")
                .arg(&user_key)
                .arg(id)
                .ignore()
                .cmd("EXPIRE")
                .arg(&user_key)
                .arg(secs)
                .ignore()
                .query_async::<()>(&mut conn)
                .await?;
            Ok(())
        }))
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Arc<Session>>>> {
        Box::pin(self.link.run(move |mut conn| async move {
            let key = self.session_key(id);
            let record: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
            match record {
                None => Ok(None),
                Some(record) => Session::decode(&record)
                    .map(|session| Some(Arc::new(session)))
                    .ok_or(StoreError::Corrupt(key)),
            }
        }))
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(self.link.run(move |mut conn| async move {
            let record: Option<String> = redis::cmd("GETDEL")
                .arg(self.session_key(id))
                .query_async(&mut conn)
                .await?;
            let Some(record) = record else {
                return Ok(false);
            };
            if let Some(session) = Session::decode(&record) {
                redis::cmd("SREM")
                    .arg(format!("{}{}", self.user_prefix, session.user))
                    .arg(id)
                    .query_async::<()>(&mut conn)
                    .await?;
            }
            Ok(true)
        }))
    }

    fn take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Arc<Session>>>> {
        Box::pin(self.link.run(move |mut conn| async move {
            let key = self.session_key(id);
            let record: Option<String> = redis::cmd("GETDEL")
                .arg(&key)
                .query_async(&mut conn)
                .await?;
            let Some(record) = record else {
                return Ok(None);
            };
            let session = Session::decode(&record).ok_or(StoreError::Corrupt(key))?;
            redis::cmd("SREM")
                .arg(format!("{}{}", self.user_prefix, session.user))
                .arg(id)
                .query_async::<()>(&mut conn)
                .await?;
            Ok(Some(Arc::new(session)))
        }))
    }

    fn delete_user<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>> {
        if self.link.is_cluster() {
            return Box::pin(self.delete_user_cluster(user));
        }
        Box::pin(self.link.run(move |mut conn| async move {
            let removed: u64 = redis::cmd("EVAL")
                .arg(DELETE_USER_SCRIPT)
                .arg(1)
                .arg(format!("{}{}", self.user_prefix, user))
                .arg(&self.session_prefix)
                .query_async(&mut conn)
                .await?;
            Ok(removed)
        }))
    }

    fn live_sessions(&self) -> BoxFuture<'_, StoreResult<u64>> {
        if self.link.is_cluster() {
            return Box::pin(self.live_sessions_cluster());
        }
        Box::pin(async move {
            let pattern = format!("{}*", self.session_prefix);
            let pattern = pattern.as_str();
            let mut cursor: u64 = 0;
            let mut count: u64 = 0;
            loop {
                // One deadline per round trip: a large keyspace takes many.
                let (next, keys): (u64, Vec<String>) = self
                    .link
                    .run(|mut conn| async move {
                        Ok(redis::cmd("SCAN")
                            .arg(cursor)
                            .arg("MATCH")
                            .arg(pattern)
                            .arg("COUNT")
                            .arg(10_000)
                            .query_async(&mut conn)
                            .await?)
                    })
                    .await?;
                count += keys.len() as u64;
                if next == 0 {
                    return Ok(count);
                }
                cursor = next;
            }
        })
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

/// Deny-list and token versions in Redis.
#[derive(Clone)]
pub struct RedisRevocations {
    link: RedisLink,
    deny_prefix: String,
    version_prefix: String,
    /// The user is the keys' hash tag (Redis Cluster: both keys of a check on one slot).
    tagged: bool,
}

impl std::fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("deny_prefix", &self.deny_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRevocations {
    /// Revocation state under `{namespace}:deny:` and `{namespace}:ver:` on `link`.
    pub fn new(link: RedisLink, namespace: &str) -> Self {
        RedisRevocations {
            tagged: link.is_cluster(),
            link,
            deny_prefix: format!("{namespace}:deny:"),
            version_prefix: format!("{namespace}:ver:"),
        }
    }

    /// `NS:ver:USER`; on a cluster `NS:ver:{USER}` (the user as hash tag).
    fn version_key(&self, user: &str) -> String {
        if self.tagged {
            format!("{}{{{user}}}", self.version_prefix)
        } else {
            format!("{}{user}", self.version_prefix)
        }
    }

    /// `NS:deny:JTI`; on a cluster `NS:deny:{USER}:JTI`, in the slot of the user's version
    /// key, so that [`RevocationStore::is_revoked`] reads one slot on one node.
    fn deny_key(&self, jti: &str, user: &str) -> String {
        if self.tagged {
            format!("{}{{{user}}}:{jti}", self.deny_prefix)
        } else {
            format!("{}{jti}", self.deny_prefix)
        }
    }
}

impl RevocationStore for RedisRevocations {
    fn deny<'a>(
        &'a self,
        jti: &'a str,
        user: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.link.run(move |mut conn| async move {
            redis::cmd("SET")
                .arg(self.deny_key(jti, user))
                .arg(1)
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async::<()>(&mut conn)
                .await?;
            Ok(())
        }))
    }

    fn is_revoked<'a>(
        &'a self,
        jti: Option<&'a str>,
        user: &'a str,
        version: u64,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(self.link.run(move |mut conn| async move {
            let version_key = self.version_key(user);
            match jti {
                Some(jti) => {
                    let (denied, current): (Option<u8>, Option<u64>) = redis::cmd("MGET")
                        .arg(self.deny_key(jti, user))
                        .arg(version_key)
                        .query_async(&mut conn)
                        .await?;
                    Ok(denied.is_some() || current.unwrap_or(0) > version)
                }
                None => {
                    let current: Option<u64> = redis::cmd("GET")
                        .arg(version_key)
                        .query_async(&mut conn)
                        .await?;
                    Ok(current.unwrap_or(0) > version)
                }
            }
        }))
    }

    fn version<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(self.link.run(move |mut conn| async move {
            let current: Option<u64> = redis::cmd("GET")
                .arg(self.version_key(user))
                .query_async(&mut conn)
                .await?;
            Ok(current.unwrap_or(0))
        }))
    }

    fn bump_version<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(self.link.run(move |mut conn| async move {
            let next: u64 = redis::cmd("INCR")
                .arg(self.version_key(user))
                .query_async(&mut conn)
                .await?;
            Ok(next)
        }))
    }
}
