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

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bench_server::config::{Revocation, ServerConfig, StoreKind};
use bench_server::jwt::JwtAlg;
use bench_server::store::GuardConfig;
use common::{config, jwt_config, redis_available, required_by_env, TestServer};

/// A 3-primary Redis Cluster on loopback, stopped when dropped.
struct RedisCluster {
    ports: Vec<u16>,
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn conn(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    client
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap()
}

impl RedisCluster {
    /// Starts one, or `None` (skip) without `redis-server` unless `AUTHBENCH_REQUIRE_REDIS`
    /// requires it.
    fn start_or_skip(test: &str) -> Option<RedisCluster> {
        if !redis_available() {
            assert!(
                !required_by_env("AUTHBENCH_REQUIRE_REDIS"),
                "{test}: redis-server is not installed and AUTHBENCH_REQUIRE_REDIS requires it"
            );
            eprintln!("{test}: SKIPPED, redis-server is not installed (scripts/test installs it)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        // Built before the first child, so that a failure below still stops every child.
        let mut cluster = RedisCluster {
            ports: Vec::new(),
            children: Vec::new(),
            _dir: dir,
        };
        let mut buses = Vec::new();
        for _ in 0..3 {
            let (port, bus) = (free_port(), free_port());
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--cluster-port",
                    &bus.to_string(),
                ])
                .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"])
                .arg("--cluster-config-file")
                .arg(path.join(format!("nodes-{port}.conf")))
                .arg("--dir")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            cluster.children.push(child);
            cluster.ports.push(port);
            buses.push(bus);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for &port in &cluster.ports {
            wait_until(deadline, "redis-server answering PING", || {
                redis::Client::open(format!("redis://127.0.0.1:{port}"))
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                    .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                    .is_ok()
            });
        }
        let ranges = [(0, 5460), (5461, 10921), (10922, 16383)];
        for (&port, (from, to)) in cluster.ports.iter().zip(ranges) {
            let () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(from)
                .arg(to)
                .query(&mut conn(port))
                .unwrap();
        }
        let mut first = conn(cluster.ports[0]);
        for (&port, &bus) in cluster.ports.iter().zip(&buses).skip(1) {
            let () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(port)
                .arg(bus)
                .query(&mut first)
                .unwrap();
        }
        for &port in &cluster.ports {
            wait_until(deadline, "cluster_state:ok on every node", || {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut conn(port))
                    .unwrap_or_default();
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            });
        }
        Some(cluster)
    }

    /// Two of the three nodes as seeds: the client finds the third itself.
    fn url(&self) -> String {
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}",
            self.ports[0], self.ports[1]
        )
    }

    /// Keys matching `pattern` on each node.
    fn keys_per_node(&self, pattern: &str) -> Vec<usize> {
        self.ports
            .iter()
            .map(|&port| {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(pattern)
                    .query(&mut conn(port))
                    .unwrap();
                keys.len()
            })
            .collect()
    }

    fn keyslot(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut conn(self.ports[0]))
            .unwrap()
    }
}

/// Every node stopped (SIGSTOP: connections open, nothing answers) until dropped (SIGCONT),
/// also when the test fails halfway.
struct Stalled<'a>(&'a RedisCluster);

impl RedisCluster {
    fn stall(&self) -> Stalled<'_> {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
        Stalled(self)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        for child in &self.children {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
            let _ = nix::sys::signal::kill(pid, signal);
        }
    }
}

impl Drop for Stalled<'_> {
    fn drop(&mut self) {
        self.0.signal(nix::sys::signal::Signal::SIGCONT);
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_until(deadline: Instant, what: &str, mut ok: impl FnMut() -> bool) {
    while !ok() {
        assert!(Instant::now() < deadline, "no {what} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two replicas on the cluster, sharing a key set (like `--key-dir`).
async fn pair(cluster: &RedisCluster, base: ServerConfig) -> (TestServer, TestServer) {
    let keys = tempfile::tempdir().unwrap();
    bench_server::jwt::keys::create_key_dir(keys.path(), &[base.jwt_alg], false).unwrap();
    let base = ServerConfig {
        key_dir: Some(keys.path().to_path_buf()),
        store: StoreKind::Redis,
        redis_url: Some(cluster.url()),
        ..base
    };
    let a = TestServer::start(ServerConfig {
        replica_id: "a".into(),
        ..base.clone()
    })
    .await;
    let b = TestServer::start(ServerConfig {
        replica_id: "b".into(),
        ..base
    })
    .await;
    (a, b)
}

#[tokio::test]
async fn sessions_are_shared_sharded_and_counted() {
    let Some(cluster) = RedisCluster::start_or_skip("cluster_sessions") else {
        return;
    };
    let (a, b) = pair(&cluster, config()).await;
    let sid = a.session_login(1).await;
    let (status, headers, body) = b
        .get_with("/session/me", "cookie", &format!("sid={sid}"))
        .await;
    assert_eq!(status, 200, "created on a, accepted by b: {body}");
    assert_eq!(headers["x-replica"], "b");
    assert_eq!(body["user"], "user1");
    let (status, _, _) = b
        .post_with("/session/logout", "cookie", &format!("sid={sid}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(a.session_me(&sid).await, 401);
    assert_eq!(b.session_me(&sid).await, 401);

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
    let (a, b) = pair(
        &cluster,
        jwt_config(JwtAlg::EdDsa, Revocation::TokenVersion),
    )
    .await;
    let mut mine = Vec::new();
    for _ in 0..4 {
        mine.push(a.session_login(2).await);
        mine.push(b.session_login(2).await);
    }
    let other = a.session_login(3).await;
    let token = a.jwt_login(2).await;
    assert_eq!(b.jwt_me(&token).await.0, 200);

    let (status, body) = b.force_logout("user2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_deleted"], 8);
    for server in [&a, &b] {
        for sid in &mine {
            assert_eq!(server.session_me(sid).await, 401);
        }
        assert_eq!(server.session_me(&other).await, 200);
        assert_eq!(server.jwt_me(&token).await.0, 401);
    }
    let fresh = b.jwt_login(2).await;
    assert_eq!(
        a.jwt_me(&fresh).await.0,
        200,
        "a token issued after the bump"
    );
    assert_eq!(cluster.keys_per_node("authbench:usess:user2"), [0, 0, 0]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn deny_list_entries_share_the_slot_of_the_user_s_version() {
    let Some(cluster) = RedisCluster::start_or_skip("cluster_deny_list") else {
        return;
    };
    let (a, b) = pair(&cluster, jwt_config(JwtAlg::Es256, Revocation::Denylist)).await;
    let token = a.jwt_login(1).await;
    let kept = a.jwt_login(1).await;
    assert_eq!(b.jwt_me(&token).await.0, 200);
    let (status, _, body) = b
        .post_with("/jwt/logout", "authorization", &format!("Bearer {token}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = a.jwt_me(&token).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("revoked")));
    assert_eq!(a.jwt_me(&kept).await.0, 200);

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
    let (a, b) = pair(&cluster, jwt_config(JwtAlg::Hs256, Revocation::Refresh)).await;
    let (_, token) = a.jwt_login_with_refresh(3).await;
    let (status, body) = b.refresh(&token).await;
    assert_eq!(status, 200, "issued on a, renewed on b: {body}");
    assert_eq!(a.refresh(&token).await.0, 401, "used once, on any replica");
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = a.force_logout("user3").await;
    assert_eq!(
        (status, body["refresh_tokens_deleted"].as_u64()),
        (200, Some(1))
    );
    assert_eq!(b.refresh(&next).await.0, 401);
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
    let (server, _b) = pair(
        &cluster,
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
