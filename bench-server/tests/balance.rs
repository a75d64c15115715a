//! The built-in balancer in process, in front of in-process replicas: every policy, the
//! connect retry, health checks taking a backend out and putting it back, and metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use bench_server::balance::Policy;
use bench_server::ServerConfig;
use common::balancer::{count_replicas, replica_of, server_id_from, TestBalancer};
use common::{config, sid_from, TestServer};
use tokio::sync::Semaphore;

const SLOW_CHECKS: Duration = Duration::from_secs(60);

async fn replicas(n: usize) -> Vec<TestServer> {
    let mut servers = Vec::new();
    for i in 0..n {
        servers.push(
            TestServer::start(ServerConfig {
                replica_id: format!("r{i}"),
                ..config()
            })
            .await,
        );
    }
    servers
}

fn backend_flags(servers: &[TestServer]) -> Vec<String> {
    servers
        .iter()
        .map(|s| format!("{}=http://{}", s.state.replica, s.addr))
        .collect()
}

#[tokio::test]
async fn round_robin_spreads_requests_evenly() {
    let servers = replicas(3).await;
    let lb = TestBalancer::start(&backend_flags(&servers), Policy::RoundRobin, SLOW_CHECKS).await;
    let counts = count_replicas(&lb.client, &format!("{}/healthz", lb.url), 300).await;
    assert_eq!(
        counts.values().copied().collect::<Vec<_>>(),
        [100, 100, 100],
        "{counts:?}"
    );
    let metrics = lb.metrics().await;
    for r in ["r0", "r1", "r2"] {
        assert!(
            metrics.contains(&format!(
                "authbench_balancer_requests_total{{backend=\"{r}\"}} 100"
            )),
            "{metrics}"
        );
    }
    assert!(metrics
        .contains("authbench_process_cpu_seconds_total{component=\"balancer\",mode=\"user\"}"));
    lb.stop().await;
    for s in servers {
        s.stop().await;
    }
}

#[tokio::test]
async fn sticky_cookie_keeps_a_client_on_one_replica_and_repins_when_it_dies() {
    let mut servers = replicas(3).await;
    let lb = TestBalancer::start(&backend_flags(&servers), Policy::StickyCookie, SLOW_CHECKS).await;
    let url = format!("{}/healthz", lb.url);

    // New clients are spread round robin, each pinned by the cookie of its first response.
    let mut pins = Vec::new();
    for _ in 0..3 {
        let first = lb.client.get(&url).send().await.unwrap();
        let pin = server_id_from(&first).expect("first response sets SERVERID");
        assert_eq!(replica_of(&first), pin);
        assert_eq!(first.headers()["cache-control"], "private");
        pins.push(pin);
    }
    pins.sort();
    assert_eq!(pins, ["r0", "r1", "r2"]);

    // A pinned client stays, and is not re-pinned.
    for _ in 0..20 {
        let response = lb
            .client
            .get(&url)
            .header("cookie", "SERVERID=r1")
            .send()
            .await
            .unwrap();
        assert_eq!(replica_of(&response), "r1");
        assert_eq!(server_id_from(&response), None);
    }

    // In-process sessions work behind sticky cookies: login and me stay on one replica.
    let login = lb
        .client
        .post(format!("{}/session/login", lb.url))
        .json(&serde_json::json!({"username": "user3", "password": "secret-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let sid = sid_from(login.headers()).unwrap();
    let pin = server_id_from(&login).unwrap();
    for _ in 0..10 {
        let me = lb
            .client
            .get(format!("{}/session/me", lb.url))
            .header("cookie", format!("sid={sid}; SERVERID={pin}"))
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
    }

    // The pinned replica dies: the client is re-pinned to a live one.
    let dead = servers.remove(1);
    dead.stop().await;
    let response = lb
        .client
        .get(&url)
        .header("cookie", "SERVERID=r1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let new_pin = server_id_from(&response).expect("re-pinned with a new cookie");
    assert_ne!(new_pin, "r1");
    assert_eq!(replica_of(&response), new_pin);
    let again = lb
        .client
        .get(&url)
        .header("cookie", "SERVERID=r1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        server_id_from(&again).as_deref().map(|p| p != "r1"),
        Some(true)
    );
    let metrics = lb.metrics().await;
    assert!(
        metrics.contains("authbench_balancer_failovers_total{backend=\"r1\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("authbench_balancer_backend_up{backend=\"r1\"} 0"),
        "{metrics}"
    );
    lb.stop().await;
    for s in servers {
        s.stop().await;
    }
}

#[tokio::test]
async fn hash_session_sends_one_sid_to_one_replica() {
    let servers = replicas(3).await;
    let lb = TestBalancer::start(&backend_flags(&servers), Policy::HashSession, SLOW_CHECKS).await;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..30 {
        let cookie = format!("sid=session-{i}");
        let mut replicas = std::collections::BTreeSet::new();
        for _ in 0..4 {
            let response = lb
                .client
                .get(format!("{}/healthz", lb.url))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            replicas.insert(replica_of(&response));
        }
        assert_eq!(replicas.len(), 1, "{cookie} went to {replicas:?}");
        seen.extend(replicas);
    }
    assert_eq!(
        seen.len(),
        3,
        "30 sessions should reach every replica: {seen:?}"
    );
    lb.stop().await;
    for s in servers {
        s.stop().await;
    }
}

/// A backend whose `/slow` holds requests until released, counting arrivals.
struct SlowBackend {
    addr: SocketAddr,
    arrived: Arc<AtomicUsize>,
    release: Arc<Semaphore>,
    task: tokio::task::JoinHandle<()>,
}

async fn slow_backend(name: &'static str) -> SlowBackend {
    let arrived = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Semaphore::new(0));
    let (a, r) = (Arc::clone(&arrived), Arc::clone(&release));
    let app = axum::Router::new()
        .route(
            "/healthz",
            get(move || async move { ([("x-replica", name)], "ok") }),
        )
        .route(
            "/fast",
            get(move || async move { ([("x-replica", name)], "fast") }),
        )
        .route(
            "/slow",
            get(move || {
                let (a, r) = (Arc::clone(&a), Arc::clone(&r));
                async move {
                    a.fetch_add(1, Ordering::SeqCst);
                    r.acquire().await.unwrap().forget();
                    ([("x-replica", name)], "slow")
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    SlowBackend {
        addr,
        arrived,
        release,
        task,
    }
}

#[tokio::test]
async fn least_conn_prefers_idle_backends() {
    let backends = [
        slow_backend("f0").await,
        slow_backend("f1").await,
        slow_backend("f2").await,
    ];
    let flags: Vec<String> = backends
        .iter()
        .enumerate()
        .map(|(i, b)| format!("f{i}=http://{}", b.addr))
        .collect();
    let lb = TestBalancer::start(&flags, Policy::LeastConn, SLOW_CHECKS).await;

    // Two slow requests occupy two backends...
    let mut slow = Vec::new();
    for _ in 0..2 {
        let (client, url) = (lb.client.clone(), format!("{}/slow", lb.url));
        slow.push(tokio::spawn(async move {
            replica_of(&client.get(url).send().await.unwrap())
        }));
        let deadline = Instant::now() + Duration::from_secs(5);
        let target = slow.len();
        while backends
            .iter()
            .map(|b| b.arrived.load(Ordering::SeqCst))
            .sum::<usize>()
            < target
        {
            assert!(
                Instant::now() < deadline,
                "slow request never reached a backend"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let busy: Vec<usize> = (0..3)
        .filter(|&i| backends[i].arrived.load(Ordering::SeqCst) == 1)
        .collect();
    assert_eq!(
        busy.len(),
        2,
        "the two slow requests went to two different backends"
    );
    let idle = (0..3).find(|i| !busy.contains(i)).unwrap();

    // ...so every other request goes to the idle one.
    let counts = count_replicas(&lb.client, &format!("{}/fast", lb.url), 30).await;
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts.get(&format!("f{idle}")), Some(&30), "{counts:?}");

    for b in &backends {
        b.release.add_permits(1);
    }
    let mut finished: Vec<String> = Vec::new();
    for s in slow {
        finished.push(s.await.unwrap());
    }
    finished.sort();
    assert_eq!(
        finished,
        busy.iter().map(|i| format!("f{i}")).collect::<Vec<_>>()
    );
    lb.wait_for_metric("authbench_balancer_in_flight{backend=\"f0\"} 0")
        .await;
    lb.stop().await;
    for b in backends {
        b.task.abort();
    }
}

fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn failed_connect_is_retried_once_on_another_backend() {
    let servers = replicas(2).await;
    let mut flags = vec![format!("dead=http://{}", closed_port())];
    flags.extend(backend_flags(&servers));
    let lb = TestBalancer::start(&flags, Policy::RoundRobin, SLOW_CHECKS).await;
    // The first pick is `dead`: connect refused, retried on r0, and `dead` leaves rotation.
    let counts = count_replicas(&lb.client, &format!("{}/healthz", lb.url), 10).await;
    assert_eq!(
        counts.values().sum::<usize>(),
        10,
        "no request failed: {counts:?}"
    );
    assert!(!counts.contains_key("dead"));
    let metrics = lb.metrics().await;
    for line in [
        "authbench_balancer_retries_total{backend=\"dead\"} 1",
        "authbench_balancer_connect_errors_total{backend=\"dead\"} 1",
        "authbench_balancer_backend_up{backend=\"dead\"} 0",
        "authbench_balancer_requests_total{backend=\"dead\"} 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line}:\n{metrics}"
        );
    }
    lb.stop().await;
    for s in servers {
        s.stop().await;
    }
}

#[tokio::test]
async fn health_checks_take_a_backend_out_and_put_it_back() {
    let r0 = TestServer::start(ServerConfig {
        replica_id: "r0".into(),
        ..config()
    })
    .await;
    let late_addr = closed_port();
    let flags = vec![
        format!("r0=http://{}", r0.addr),
        format!("r1=http://{late_addr}"),
    ];
    let lb = TestBalancer::start(&flags, Policy::RoundRobin, Duration::from_millis(50)).await;
    lb.wait_for_metric("authbench_balancer_backend_up{backend=\"r1\"} 0")
        .await;
    let counts = count_replicas(&lb.client, &format!("{}/healthz", lb.url), 10).await;
    assert_eq!(counts.get("r0"), Some(&10), "{counts:?}");

    let r1 = TestServer::start_on(
        ServerConfig {
            replica_id: "r1".into(),
            ..config()
        },
        late_addr,
    )
    .await;
    lb.wait_for_metric("authbench_balancer_backend_up{backend=\"r1\"} 1")
        .await;
    let counts = count_replicas(&lb.client, &format!("{}/healthz", lb.url), 10).await;
    assert_eq!(counts.get("r1"), Some(&5), "{counts:?}");

    // Without any backend, the balancer answers 503 in JSON.
    r0.stop().await;
    r1.stop().await;
    lb.wait_for_metric("authbench_balancer_backend_up{backend=\"r0\"} 0")
        .await;
    lb.wait_for_metric("authbench_balancer_backend_up{backend=\"r1\"} 0")
        .await;
    let response = lb
        .client
        .get(format!("{}/healthz", lb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "no_backend");
    lb.stop().await;
}
