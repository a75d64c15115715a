//! Two replicas sharing a real 3-node Redis Cluster (`redis+cluster://`): sessions, logout,
//! force-logout, JWT revocation and the `/metrics` count act across replicas, and the keys
//! really are spread over the nodes.
//!
//! The cluster: three `redis-server --cluster-enabled yes` children on free ports (bus ports
//! chosen free too), 5461/5461/5462 slots assigned with `CLUSTER ADDSLOTSRANGE`, joined with
//! `CLUSTER MEET`, and polled (bounded) until every node reports `cluster_state:ok`. The
//! children are killed by PID when the fixture drops, also when a test fails.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use bench_server::config::{Revocation, ServerConfig, StoreKind};
use bench_server::jwt::JwtAlg;
use bench_server::store::GuardConfig;
use common::redis_cluster::{conn, RedisCluster};
use common::shared_store::{self, replica_pair};
use common::{config, jwt_config, TestServer};

#[tokio::test]
async fn sessions_are_shared_sharded_and_counted() {
    let Some(cluster) = RedisCluster::start_or_skip("cluster_sessions") else {
        return;
    };
    let (a, b) = replica_pair(cluster.url(), config()).await;
    shared_store::sessions_are_shared(&a, &b).await;

    let mut sids = Vec::new();
    for i in 1..=12 {
        sids.push(a.session_login(i).await);
        sids.push(b.session_login(i).await);
    }
    for sid in &sids {
        assert_eq!(a.session_me(sid).await, 200);
    }
    let per_node = cluster.keys_per_node("authbench:sess:*");
    assert_eq!(per_node.iter().sum::<usize>(), 24, "{per_node:?}");
    // 24 random IDs all in one third of the slots: odds 3 in 3^24 (about 1e-11).
    assert!(
        per_node.iter().filter(|&&n| n > 0).count() >= 2,
        "sessions on one node only: {per_node:?}"
    );
    // The count scans every primary.
    let text = b.metrics().await;
    assert!(
        text.contains("authbench_live_sessions{replica=\"b\",store=\"redis\"} 24"),
        "{text}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn force_logout_and_token_versions_act_across_replicas() {
    let Some(cluster) = RedisCluster::start_or_skip("cluster_force_logout") else {
        return;
    };
    let (a, b) = replica_pair(
        cluster.url(),
        jwt_config(JwtAlg::EdDsa, Revocation::TokenVersion),
    )
    .await;
    // Eight sessions of one user: the force-logout index is one key, its sessions spread.
    shared_store::force_logout_acts_across(&a, &b, 4).await;
    assert_eq!(cluster.keys_per_node("authbench:usess:user2"), [0, 0, 0]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn deny_list_entries_share_the_slot_of_the_user_s_version() {
    let Some(cluster) = RedisCluster::start_or_skip("cluster_deny_list") else {
        return;
    };
    let (a, b) = replica_pair(
        cluster.url(),
        jwt_config(JwtAlg::Es256, Revocation::Denylist),
    )
    .await;
    shared_store::deny_list_acts_across(&a, &b).await;

    let per_node = cluster.keys_per_node("authbench:deny:*");
    assert_eq!(per_node.iter().sum::<usize>(), 1, "{per_node:?}");
    let node = per_node.iter().position(|&n| n == 1).unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("authbench:deny:*")
        .query(&mut conn(cluster.ports[node]))
        .unwrap();
    assert!(keys[0].starts_with("authbench:deny:{user1}:"), "{keys:?}");
    assert_eq!(
        cluster.keyslot(&keys[0]),
        cluster.keyslot("authbench:ver:{user1}"),
        "one slot: the revocation check is one MGET on one node"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query(&mut conn(cluster.ports[node]))
        .unwrap();
    assert!((1..=900).contains(&ttl), "ttl {ttl}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn refresh_tokens_work_once_across_replicas() {
    let Some(cluster) = RedisCluster::start_or_skip("cluster_refresh") else {
        return;
    };
    let (a, b) = replica_pair(
        cluster.url(),
        jwt_config(JwtAlg::Hs256, Revocation::Refresh),
    )
    .await;
    shared_store::refresh_works_once_across(&a, &b).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn bad_cluster_urls_name_the_flag_and_the_value() {
    for (url, why) in [
        ("redis+cluster://:secret@127.0.0.1:x", "not 1-65535"),
        (
            "redis+cluster://:secret@127.0.0.1:7000/2",
            "only database 0",
        ),
        ("redis+cluster://:secret@", "empty node"),
    ] {
        let config = ServerConfig {
            store: StoreKind::Redis,
            redis_url: Some(url.into()),
            ..config()
        };
        let err = bench_server::AppState::build(&config)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--redis-url: redis+cluster://***@"),
            "{err}"
        );
        assert!(err.contains(why), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }
    // A cluster that is not there: a clear startup failure, not a hang.
    let config = ServerConfig {
        store: StoreKind::Redis,
        redis_url: Some("redis+cluster://127.0.0.1:1".into()),
        ..config()
    };
    let t0 = Instant::now();
    let err = bench_server::AppState::build(&config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--redis-url redis+cluster://127.0.0.1:1: cannot connect"),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}

fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{prefix} missing in\n{text}"))
}

/// The guard is the same on a cluster: a stalled cluster costs a request at most
/// `--store-timeout`, the circuit then fails fast, and the replica recovers by itself.
#[tokio::test]
async fn a_stalled_cluster_gets_503_within_the_deadline_then_fails_fast_then_recovers() {
    const GUARD: GuardConfig = GuardConfig {
        timeout: Duration::from_millis(250),
        circuit_failures: 5,
        circuit_cooldown: Duration::from_millis(500),
    };
    // Slack on top of the deadline for a loaded 2-core machine: generous on purpose.
    const SLACK: Duration = Duration::from_secs(2);
    let Some(cluster) = RedisCluster::start_or_skip("cluster_stall") else {
        return;
    };
    let (server, _b) = replica_pair(
        cluster.url(),
        ServerConfig {
            store_guard: GUARD,
            ..config()
        },
    )
    .await;
    let sid = server.session_login(1).await;
    let me = || async {
        let started = Instant::now();
        let (status, _, body) = server
            .get_with("/session/me", "cookie", &format!("sid={sid}"))
            .await;
        (
            status,
            body["error"].as_str().unwrap_or_default().to_owned(),
            started.elapsed(),
        )
    };
    assert_eq!(me().await.0, 200);

    let stalled = cluster.stall();
    for i in 0..10 {
        let (status, code, took) = me().await;
        assert_eq!(
            (status, code.as_str()),
            (503, "store_unavailable"),
            "request {i}"
        );
        assert!(took <= GUARD.timeout + SLACK, "request {i}: {took:?}");
    }
    let text = server.metrics().await;
    let prefix = "authbench_store_failures_total{replica=\"a\",store=\"redis\",kind=";
    let timeouts = metric(&text, &format!("{prefix}\"timeout\"}}"));
    let fast = metric(&text, &format!("{prefix}\"circuit_open\"}}"));
    eprintln!("cluster stall: {timeouts} timeouts, {fast} calls failed fast");
    assert!(timeouts >= 5.0 && fast >= 1.0, "{timeouts} {fast}");

    drop(stalled);
    let resumed = Instant::now();
    loop {
        let (status, code, _) = me().await;
        if status == 200 {
            break;
        }
        assert_eq!((status, code.as_str()), (503, "store_unavailable"));
        assert!(
            resumed.elapsed() < Duration::from_secs(15),
            "not recovered 15 s after SIGCONT"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "cluster stall: recovered {:?} after SIGCONT",
        resumed.elapsed()
    );
    server.stop().await;
    _b.stop().await;
}

/// A measurement, not a check (`--ignored`): `SessionStore::get` of a live session on one
/// Redis vs the 3-node cluster, both on loopback, in alternating rounds. Prints medians.
///
/// `cargo test -p bench-server --test redis_cluster -- --ignored --nocapture lookup_latency`
#[tokio::test]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn lookup_latency_single_vs_cluster() {
    use bench_server::store::{connect_redis, RedisSessions, Session, SessionStore};
    let (Some(cluster), Some(single)) = (
        RedisCluster::start_or_skip("lookup_latency"),
        common::RedisServer::start_or_skip("lookup_latency"),
    ) else {
        return;
    };
    let session = Session {
        user: "user1".into(),
        roles: vec!["user".into()],
    };
    let mut stores = Vec::new();
    for (name, url) in [("single", single.url()), ("cluster", cluster.url())] {
        let link = connect_redis(&url, GuardConfig::default()).await.unwrap();
        let store = RedisSessions::new(link, "authbench-latency");
        let ids: Vec<String> = (0..1000).map(|i| format!("session-{i:04}")).collect();
        for id in &ids {
            store
                .create(id, &session, Duration::from_secs(600))
                .await
                .unwrap();
        }
        stores.push((name, store, ids, Vec::new()));
    }
    for _round in 0..5 {
        for (_, store, ids, samples) in &mut stores {
            for id in ids.iter().chain(ids.iter()) {
                let t0 = Instant::now();
                assert!(store.get(id).await.unwrap().is_some());
                samples.push(t0.elapsed());
            }
        }
    }
    for (name, _, _, samples) in &mut stores {
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
        eprintln!(
            "session lookup, {name}: {} calls, p50 {:?}, p90 {:?}, p99 {:?}",
            samples.len(),
            at(0.5),
            at(0.9),
            at(0.99)
        );
    }
}

/// The gateway's edge revocation reads the replicas' deny-list on the cluster: the same keys
/// (user-tagged), through its own cluster connection.
#[tokio::test]
async fn the_gateway_reads_the_deny_list_on_the_cluster() {
    use bench_server::gateway::EdgeRevocation;
    use common::gateway::{bearer, call, gateway_config, secret_file, start_gateway, trusting};
    let Some(cluster) = RedisCluster::start_or_skip("cluster_gateway") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    let replica = TestServer::start(trusting(
        ServerConfig {
            store: StoreKind::Redis,
            redis_url: Some(cluster.url()),
            ..jwt_config(JwtAlg::Es256, Revocation::Denylist)
        },
        &secret,
    ))
    .await;
    let mut config = gateway_config(&replica.url("/.well-known/jwks.json"), Some(&secret));
    config.revocation = EdgeRevocation::Denylist;
    config.redis_url = Some(cluster.url());
    let backends = [format!("{}=http://{}", replica.state.replica, replica.addr)];
    let lb = start_gateway(config, &backends).await;
    let me = format!("{}/jwt/me", lb.url);
    let token = replica.jwt_login(1).await;
    assert_eq!(call(&lb.client, &me, &bearer(&token)).await.0, 200);
    let logout = lb
        .client
        .post(format!("{}/jwt/logout", lb.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    let (status, code, _) = call(&lb.client, &me, &bearer(&token)).await;
    assert_eq!((status, code.as_str()), (401, "revoked"));
    assert!(lb
        .metrics()
        .await
        .contains("authbench_gateway_revocation_checks_total{result=\"revoked\"} 1"));
    lb.stop().await;
    replica.stop().await;
}
