//! Server-side state round trips: in process (`memory`) vs Redis over loopback TCP (`redis`).
//!
//! Each store starts with 10,000 live sessions (43-character IDs, 10 per user over 1,000
//! users) and 10,000 deny-listed `jti`s, so lookups hit a realistically filled table.
//!
//! * `store_session_get/{memory,redis}` — `SessionStore::get` of a live session (a hit; Redis:
//!   one `GET`), cycling through all 10,000 IDs;
//! * `store_session_create/{memory,redis}` — `SessionStore::create` of a new session (Redis:
//!   `SET … EX`, `SADD`, `EXPIRE` in one `MULTI` round trip); the IDs are generated and the
//!   sessions deleted again outside the timed part, in batches, so the table stays at ~10,000;
//! * `store_revocation_check/{memory,redis}` — `RevocationStore::is_revoked` for a token that
//!   is not revoked (deny-list miss plus token-version check; Redis: one `MGET`).
//!
//! The stores are used as `Arc<dyn …>` on a current-thread tokio runtime, as one request of
//! the server would use them, minus cross-thread wake-ups.
//!
//! Redis comes from [`redis_target`]: `AUTHBENCH_BENCH_REDIS_URL`, else a `redis-server`
//! spawned for this run, else the Redis cases are skipped. Keys go under a random
//! `authbench-bench-…` namespace; sessions are deleted afterwards and deny-list keys expire
//! within the hour, so a shared Redis is left as it was.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_server::jwt::keys::random_token;
use bench_server::store::{
    connect_redis, GuardConfig, MemoryRevocations, MemorySessions, RedisRevocations, RedisSessions,
    RevocationStore, Session, SessionStore,
};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use super::redis_server::redis_target;

const SESSIONS: usize = 10_000;
const USERS: usize = 1_000;
const TTL: Duration = Duration::from_secs(3600);
/// Sessions created per timed batch in `store_session_create` before they are deleted.
const CREATE_BATCH: u64 = 1_000;

/// A store pair, pre-populated.
#[derive(Debug)]
struct Fixture {
    kind: &'static str,
    sessions: Arc<dyn SessionStore>,
    revocations: Arc<dyn RevocationStore>,
    /// One session per user (`user0` … `user999`, role `user`).
    users: Vec<Session>,
    /// IDs of the live sessions.
    ids: Vec<String>,
}

impl Fixture {
    async fn new(
        kind: &'static str,
        sessions: Arc<dyn SessionStore>,
        revocations: Arc<dyn RevocationStore>,
    ) -> Self {
        let users: Vec<Session> = (0..USERS)
            .map(|i| Session {
                user: format!("user{i}"),
                roles: vec!["user".to_owned()],
            })
            .collect();
        let ids: Vec<String> = (0..SESSIONS).map(|_| random_token(32)).collect();
        // Concurrent writers, so that filling Redis takes a few pipelined round trips.
        let mut tasks = JoinSet::new();
        let per_worker = SESSIONS / 16;
        for (worker, chunk) in ids.chunks(per_worker).enumerate() {
            let (sessions, revocations) = (Arc::clone(&sessions), Arc::clone(&revocations));
            let (chunk, users) = (chunk.to_vec(), users.clone());
            tasks.spawn(async move {
                for (i, id) in chunk.iter().enumerate() {
                    let session = &users[(worker * per_worker + i) % USERS];
                    sessions.create(id, session, TTL).await?;
                    revocations
                        .deny(&random_token(16), &session.user, TTL)
                        .await?;
                }
                Ok::<(), bench_server::store::StoreError>(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("populating task ran to the end")
                .unwrap_or_else(|err| panic!("populating the {kind} store: {err}"));
        }
        Fixture {
            kind,
            sessions,
            revocations,
            users,
            ids,
        }
    }

    /// Deletes the sessions again (deny-list entries expire by themselves).
    async fn clean_up(&self) {
        for session in &self.users {
            if let Err(err) = self.sessions.delete_user(&session.user).await {
                eprintln!("could not clean up the {} store: {err}", self.kind);
                return;
            }
        }
    }
}

async fn redis_fixture(url: &str) -> Fixture {
    let conn = connect_redis(url, GuardConfig::default())
        .await
        .unwrap_or_else(|err| panic!("connecting to Redis at {url}: {err}"));
    let namespace = format!("authbench-bench-{}", random_token(6));
    Fixture::new(
        "redis",
        Arc::new(RedisSessions::new(conn.clone(), &namespace)),
        Arc::new(RedisRevocations::new(conn, &namespace)),
    )
    .await
}

fn stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime builds");
    let mut fixtures = vec![rt.block_on(Fixture::new(
        "memory",
        MemorySessions::new(),
        MemoryRevocations::new(),
    ))];
    // Holds the spawned `redis-server`, if any: killed after the last group, below.
    let redis = redis_target();
    if let Some((url, _)) = &redis {
        fixtures.push(rt.block_on(redis_fixture(url)));
    }

    session_get(c, &rt, &fixtures);
    session_create(c, &rt, &fixtures);
    revocation_check(c, &rt, &fixtures);

    for fixture in &fixtures {
        rt.block_on(fixture.clean_up());
    }
    drop(fixtures);
    drop(redis);
}

fn session_get(c: &mut Criterion, rt: &Runtime, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("store_session_get");
    group.throughput(Throughput::Elements(1));
    for f in fixtures {
        group.bench_function(BenchmarkId::from_parameter(f.kind), |b| {
            let mut next = 0;
            b.to_async(rt).iter(|| {
                let id = &f.ids[next % f.ids.len()];
                next += 1;
                async move {
                    let found = f.sessions.get(black_box(id)).await;
                    found
                        .expect("session lookup succeeds")
                        .expect("a pre-populated session is found")
                }
            });
        });
    }
    group.finish();
}

fn session_create(c: &mut Criterion, rt: &Runtime, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("store_session_create");
    group.throughput(Throughput::Elements(1));
    for f in fixtures {
        group.bench_function(BenchmarkId::from_parameter(f.kind), |b| {
            b.to_async(rt).iter_custom(|iters| async move {
                let mut timed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let batch = left.min(CREATE_BATCH);
                    let ids: Vec<String> = (0..batch).map(|_| random_token(32)).collect();
                    let start = Instant::now();
                    for (i, id) in ids.iter().enumerate() {
                        let session = &f.users[i % USERS];
                        f.sessions
                            .create(black_box(id), session, TTL)
                            .await
                            .expect("session create succeeds");
                    }
                    timed += start.elapsed();
                    for id in &ids {
                        f.sessions
                            .delete(id)
                            .await
                            .expect("session delete succeeds");
                    }
                    left -= batch;
                }
                timed
            });
        });
    }
    group.finish();
}

fn revocation_check(c: &mut Criterion, rt: &Runtime, fixtures: &[Fixture]) {
    // Token IDs that were never deny-listed.
    let jtis: Vec<String> = (0..USERS).map(|_| random_token(16)).collect();
    let mut group = c.benchmark_group("store_revocation_check");
    group.throughput(Throughput::Elements(1));
    for f in fixtures {
        group.bench_function(BenchmarkId::from_parameter(f.kind), |b| {
            let mut next = 0;
            b.to_async(rt).iter(|| {
                let (jti, user) = (&jtis[next % USERS], &f.users[next % USERS].user);
                next += 1;
                async move {
                    let revoked = f
                        .revocations
                        .is_revoked(Some(black_box(jti)), black_box(user), 0)
                        .await
                        .expect("revocation check succeeds");
                    assert!(!revoked, "no benchmark token is revoked");
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, stores);
