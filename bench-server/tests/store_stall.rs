//! A Redis that stalls (SIGSTOP: connections stay open, nothing answers) instead of dying:
//! authenticated requests get 503 `store_unavailable` within `--store-timeout`, none hangs,
//! the circuit then fails fast, and after SIGCONT the replica recovers by itself.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use bench_server::config::{Revocation, ServerConfig};
use bench_server::jwt::JwtAlg;
use bench_server::store::GuardConfig;
use common::{jwt_config, with_redis, RedisServer, TestServer};

const GUARD: GuardConfig = GuardConfig {
    timeout: Duration::from_millis(250),
    circuit_failures: 5,
    circuit_cooldown: Duration::from_millis(500),
};

/// Slack on top of the deadline for a loaded 2-core machine: generous on purpose.
const SLACK: Duration = Duration::from_secs(2);

/// One authenticated request; (status, error code, latency). A hang shows as a client
/// timeout, which fails the test.
async fn me(server: &TestServer, path: &str, header: &str, value: &str) -> (u16, String, Duration) {
    send(&server.client, &server.url(path), header, value).await
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    header: &str,
    value: &str,
) -> (u16, String, Duration) {
    let started = Instant::now();
    let response = client
        .get(url)
        .header(header, value)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url} hung or failed: {e}"));
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let code = body["error"].as_str().unwrap_or_default().to_owned();
    (status, code, started.elapsed())
}

fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{prefix} missing in\n{text}"))
}

#[tokio::test]
async fn a_stalled_redis_gets_503_within_the_deadline_and_recovery_is_automatic() {
    let Some(redis) = RedisServer::start_or_skip("store_stall") else {
        return;
    };
    let config = ServerConfig {
        store_guard: GUARD,
        ..with_redis(jwt_config(JwtAlg::Hs256, Revocation::Denylist), &redis)
    };
    let server = TestServer::start(config).await;
    let sid = server.session_login(1).await;
    let token = server.jwt_login(2).await;
    let cookie = format!("sid={sid}");
    let bearer = format!("Bearer {token}");
    let requests = [
        ("/session/me", "cookie", cookie.as_str()),
        ("/jwt/me", "authorization", bearer.as_str()),
    ];
    for (path, header, value) in requests {
        assert_eq!(me(&server, path, header, value).await.0, 200, "{path}");
    }

    let stalled = redis.stall();
    // A burst of concurrent requests: all wait at most the deadline.
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (path, header, value) = requests[i % 2];
        let (url, client) = (server.url(path), server.client.clone());
        let (header, value) = (header.to_owned(), value.to_owned());
        burst.spawn(async move { send(&client, &url, &header, &value).await });
    }
    let answers = burst.join_all().await;
    for (status, code, _) in &answers {
        assert_eq!((*status, code.as_str()), (503, "store_unavailable"));
    }
    let slowest = answers.iter().map(|a| a.2).max().unwrap();
    let fastest = answers.iter().map(|a| a.2).min().unwrap();
    eprintln!("stall: 16 concurrent requests answered 503 in {fastest:?} .. {slowest:?}");
    assert!(slowest <= GUARD.timeout + SLACK, "{slowest:?}");
    // Then sequential ones: the circuit is open after 5 failures, they fail fast.
    let mut sequential = Vec::new();
    for i in 0..10 {
        let (path, header, value) = requests[i % 2];
        let (status, code, took) = me(&server, path, header, value).await;
        assert_eq!((status, code.as_str()), (503, "store_unavailable"));
        assert!(took <= GUARD.timeout + SLACK, "{took:?}");
        sequential.push(took);
    }
    eprintln!("stall: 10 sequential requests answered 503 in {sequential:?}");
    // Long enough for at least one probe to time out too.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let text = server.metrics().await;
    let timeouts = metric(&text, "authbench_store_timeouts_total{");
    let opened = metric(
        &text,
        "authbench_store_circuit_transitions_total{replica=\"r0\",store=\"redis\",to=\"open\"}",
    );
    let fast = metric(
        &text,
        "authbench_store_failures_total{replica=\"r0\",store=\"redis\",kind=\"circuit_open\"}",
    );
    eprintln!(
        "stall: {timeouts} timeouts, circuit opened {opened} times, {fast} calls failed fast"
    );
    assert!(timeouts >= 5.0 && opened >= 1.0 && fast >= 1.0);

    stalled.resume();
    let resumed = Instant::now();
    let recovery = loop {
        let mut all_ok = true;
        for (path, header, value) in requests {
            let (status, code, _) = me(&server, path, header, value).await;
            assert!(
                status == 200 || (status, code.as_str()) == (503, "store_unavailable"),
                "{path}: {status} {code}"
            );
            all_ok &= status == 200;
        }
        if all_ok {
            break resumed.elapsed();
        }
        assert!(
            resumed.elapsed() < Duration::from_secs(10),
            "not recovered 10 s after SIGCONT"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    eprintln!("recovery: both schemes answer 200 {recovery:?} after SIGCONT");
    // The store state survived: logins made before the stall still work, a new one too.
    let again = server.session_login(3).await;
    assert_eq!(server.session_me(&again).await, 200);
    let text = server.metrics().await;
    assert_eq!(
        metric(&text, "authbench_store_circuit_state{"),
        0.0,
        "closed again"
    );
    server.stop().await;
}

/// The gateway's edge revocation reads have their own deadline and circuit.
#[tokio::test]
async fn the_gateway_s_revocation_reads_get_503_within_the_deadline_and_recover() {
    use bench_server::gateway::EdgeRevocation;
    use common::gateway::{
        bearer, call, gateway_config, secret_file, start_gateway, trusting_denylist_replica,
    };

    let Some(redis) = RedisServer::start_or_skip("gateway store_stall") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    let replica = trusting_denylist_replica(&redis, &secret).await;
    let mut config = gateway_config(&replica.url("/.well-known/jwks.json"), Some(&secret));
    config.revocation = EdgeRevocation::Denylist;
    config.redis_url = Some(redis.url());
    config.store_guard = GUARD;
    let backend = vec![format!("{}=http://{}", replica.state.replica, replica.addr)];
    let lb = start_gateway(config, &backend).await;
    let me = format!("{}/jwt/me", lb.url);
    let token = replica.jwt_login(1).await;
    let through = || async {
        let started = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            call(&lb.client, &me, &bearer(&token)),
        )
        .await
        .expect("the gateway answered within 10 s");
        (answer.0, answer.1, started.elapsed())
    };
    assert_eq!(through().await.0, 200);

    let stalled = redis.stall();
    let mut took = Vec::new();
    for _ in 0..8 {
        let (status, code, elapsed) = through().await;
        assert_eq!((status, code.as_str()), (503, "store_unavailable"));
        assert!(elapsed <= GUARD.timeout + SLACK, "{elapsed:?}");
        took.push(elapsed);
    }
    eprintln!("gateway stall: 8 sequential requests answered 503 in {took:?}");
    let text = lb.metrics().await;
    let labels = "{component=\"gateway\",store=\"redis\"}";
    assert!(
        metric(&text, &format!("authbench_store_timeouts_total{labels}")) >= 5.0,
        "{text}"
    );

    stalled.resume();
    let resumed = Instant::now();
    loop {
        let (status, code, _) = through().await;
        if status == 200 {
            break;
        }
        assert_eq!((status, code.as_str()), (503, "store_unavailable"));
        assert!(
            resumed.elapsed() < Duration::from_secs(10),
            "not recovered 10 s after SIGCONT"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "gateway recovery: 200 {:?} after SIGCONT",
        resumed.elapsed()
    );
    lb.stop().await;
    replica.stop().await;
}
