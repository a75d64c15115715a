//! The gateway and its issuer's key set, over real TCP: an unknown-`kid` flood costs the
//! issuer one fetch per refetch interval; an issuer down at start means 503s until it comes
//! up, never a request let through; malformed, failing and empty key sets; the TTL refresh,
//! which keeps the last good keys while the issuer fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_server::config::Revocation;
use bench_server::error::AuthReason;
use bench_server::gateway::metrics::Trigger;
use bench_server::gateway::Rejection;
use bench_server::jwt::JwtAlg;
use bench_server::metrics::Route;
use common::gateway::{
    bearer, call, free_addr, gateway, gateway_config, secret_file, start_gateway,
    start_gateway_checked, trusting, wait_until, with_kid, FakeIssuer, Issuer,
};
use common::{jwt_config, TestServer};

/// A trust-mode replica (the backend) and the secret it shares with the gateway.
async fn trusting_backend() -> (TestServer, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    let server = TestServer::start(trusting(
        jwt_config(JwtAlg::Es256, Revocation::None),
        &secret,
    ))
    .await;
    (server, dir, secret)
}

fn backends(server: &TestServer) -> Vec<String> {
    vec![format!("r0=http://{}", server.addr)]
}

/// Sends `token` until the issuer has been asked again (the gateway fetches on demand when a
/// request finds no key); every answer must be `expected`.
async fn refused_until_refetched(
    lb: &common::balancer::TestBalancer,
    fake: &FakeIssuer,
    token: &str,
    expected: (u16, &str),
) {
    let seen = fake.fetches();
    let deadline = Instant::now() + Duration::from_secs(15);
    let me = format!("{}/jwt/me", lb.url);
    loop {
        let (status, code, _) = call(&lb.client, &me, &bearer(token)).await;
        assert_eq!((status, code.as_str()), expected);
        if fake.fetches() > seen {
            // The answer of a request after that fetch.
            let (status, code, _) = call(&lb.client, &me, &bearer(token)).await;
            assert_eq!((status, code.as_str()), expected);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the issuer was never asked again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn jwt_me_forwarded(server: &TestServer) -> u64 {
    [200, 401, 431, 503]
        .iter()
        .map(|&s| server.state.metrics.requests_for(Route::JwtMe, s))
        .sum()
}

#[tokio::test]
async fn an_unknown_kid_flood_costs_the_issuer_one_fetch_per_interval() {
    let issuer = Issuer::new(JwtAlg::Es256);
    let fake = FakeIssuer::start(&issuer.jwks).await;
    let (backend, _dir, secret) = trusting_backend().await;
    let interval = Duration::from_millis(20);
    let mut config = gateway_config(&fake.url(), Some(&secret));
    config.jwks_refetch_interval = interval;
    let lb = start_gateway(config, &backends(&backend)).await;
    let metrics = Arc::clone(gateway(&lb));
    wait_until("the start-up fetch", || {
        metrics.metrics().fetch_count(Trigger::Startup, true) == 1
    })
    .await;
    let before = fake.fetches();
    let good = issuer.token("user1");
    let url = format!("{}/jwt/me", lb.url);

    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..25 {
        let client = lb.client.clone();
        let url = url.clone();
        let good = good.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let token = with_kid(&good, &format!("made-up-{worker}-{i}"));
                let (status, code, _) = call(&client, &url, &bearer(&token)).await;
                assert_eq!((status, code.as_str()), (401, "unknown_key"));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let fetched = fake.fetches() - before;
    let bound = (elapsed.as_secs_f64() / interval.as_secs_f64()).ceil() as usize + 1;
    eprintln!("500 unknown-kid requests in {elapsed:?}: {fetched} key-set fetches (bound {bound})");
    assert!(fetched >= 1, "the first unknown kid is fetched for");
    assert!(fetched <= bound, "{fetched} fetches in {elapsed:?}");
    let m = metrics.metrics();
    assert_eq!(
        m.rejection_count(Rejection::Auth(AuthReason::UnknownKey)),
        500
    );
    assert_eq!(m.fetch_count(Trigger::UnknownKid, true) as usize, fetched);
    assert!(lb
        .metrics()
        .await
        .contains("authbench_gateway_jwks_refetch_limited_total "));
    assert_eq!(jwt_me_forwarded(&backend), 0, "nothing was forwarded");

    // The real key still works.
    assert_eq!(call(&lb.client, &url, &bearer(&good)).await.0, 200);
    lb.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn an_issuer_down_at_start_means_503_until_it_answers() {
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    let url = format!("http://{addr}/.well-known/jwks.json");
    let lb = start_gateway_checked(
        gateway_config(&url, Some(&secret)),
        &[format!("r0=http://{addr}")],
        Duration::from_millis(100),
    )
    .await;
    let gw = Arc::clone(gateway(&lb));
    wait_until("a failed start-up fetch", || {
        gw.metrics().fetch_count(Trigger::Startup, false) >= 1
    })
    .await;
    let me = format!("{}/jwt/me", lb.url);
    let someone_else = Issuer::new(JwtAlg::Es256).token("user1");
    for token in [someone_else.as_str(), "a.b.c"] {
        let (status, code, headers) = call(&lb.client, &me, &bearer(token)).await;
        if token == "a.b.c" {
            // Garbage is refused before any key is needed.
            assert_eq!((status, code.as_str()), (401, "malformed"));
        } else {
            assert_eq!((status, code.as_str()), (503, "jwks_unavailable"));
            assert_eq!(headers["retry-after"], "1");
        }
    }

    // The issuer (also the backend) comes up on that port.
    let replica = TestServer::start_on(
        trusting(jwt_config(JwtAlg::Es256, Revocation::None), &secret),
        addr,
    )
    .await;
    let token = replica.jwt_login(1).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, code, _) = call(&lb.client, &me, &bearer(&token)).await;
        if status == 200 {
            break;
        }
        assert!(
            matches!(
                code.as_str(),
                "jwks_unavailable" | "no_backend" | "bad_gateway"
            ),
            "{status} {code}"
        );
        assert!(Instant::now() < deadline, "never accepted: {status} {code}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(replica.state.metrics.requests_for(Route::JwtMe, 401), 0);
    lb.stop().await;
    replica.stop().await;
}

#[tokio::test]
async fn failing_malformed_and_empty_key_sets_never_let_a_request_through() {
    let issuer = Issuer::new(JwtAlg::EdDsa);
    let fake = FakeIssuer::start("").await;
    fake.set(500, "oops");
    let (backend, _dir, secret) = trusting_backend().await;
    let mut config = gateway_config(&fake.url(), Some(&secret));
    config.jwks_refetch_interval = Duration::from_millis(50);
    let lb = start_gateway(config, &backends(&backend)).await;
    let me = format!("{}/jwt/me", lb.url);
    let token = issuer.token("user5");
    let big = format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    for (status, body) in [
        (500, "oops"),
        (200, "<html>not a key set</html>"),
        (200, r#"{"keys": "none"}"#),
        (200, big.as_str()),
    ] {
        fake.set(status, body);
        refused_until_refetched(&lb, &fake, &token, (503, "jwks_unavailable")).await;
    }
    let m = gateway(&lb).metrics();
    let failed = m.fetch_count(Trigger::Startup, false) + m.fetch_count(Trigger::UnknownKid, false);
    assert!(failed >= 4, "{failed}");

    // A valid but empty set: tokens are refused as unknown keys.
    fake.set(200, r#"{"keys": []}"#);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, code, _) = call(&lb.client, &me, &bearer(&token)).await;
        if code == "unknown_key" {
            assert_eq!(status, 401);
            break;
        }
        assert_eq!(code, "jwks_unavailable");
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A set with only symmetric keys is as empty.
    fake.set(
        200,
        r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0", "kid": "h", "alg": "HS256"}]}"#,
    );
    refused_until_refetched(&lb, &fake, &token, (401, "unknown_key")).await;
    assert_eq!(jwt_me_forwarded(&backend), 0, "nothing was forwarded");

    // The real set: the unknown kid is fetched for, and the token passes.
    fake.set(200, &issuer.jwks);
    let deadline = Instant::now() + Duration::from_secs(15);
    while call(&lb.client, &me, &bearer(&token)).await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "the real key set never took effect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lb.stop().await;
    backend.stop().await;
}

#[tokio::test]
async fn the_key_set_is_refreshed_every_ttl_and_kept_while_the_issuer_fails() {
    let old = Issuer::new(JwtAlg::Es256);
    let new = Issuer::new(JwtAlg::Es256);
    let fake = FakeIssuer::start(&old.jwks).await;
    let (backend, _dir, secret) = trusting_backend().await;
    let mut config = gateway_config(&fake.url(), Some(&secret));
    config.jwks_cache_ttl = Duration::from_millis(300);
    // Unknown kids are not fetched for within this test: only the TTL brings changes.
    config.jwks_refetch_interval = Duration::from_secs(3600);
    let lb = start_gateway(config, &backends(&backend)).await;
    let gw = Arc::clone(gateway(&lb));
    let me = format!("{}/jwt/me", lb.url);
    let old_token = old.token("user1");
    wait_until("the start-up fetch", || {
        gw.metrics().fetch_count(Trigger::Startup, true) == 1
    })
    .await;
    assert_eq!(call(&lb.client, &me, &bearer(&old_token)).await.0, 200);
    // The one unknown-kid fetch the limiter allows at once, spent.
    let made_up = with_kid(&old_token, "made-up");
    assert_eq!(
        call(&lb.client, &me, &bearer(&made_up)).await.1,
        "unknown_key"
    );
    assert_eq!(gw.metrics().fetch_count(Trigger::UnknownKid, true), 1);

    // The issuer fails: refreshes fail, the last good keys stay in use.
    fake.set(503, "down");
    wait_until("two failed refreshes", || {
        gw.metrics().fetch_count(Trigger::Ttl, false) >= 2
    })
    .await;
    assert_eq!(call(&lb.client, &me, &bearer(&old_token)).await.0, 200);
    let tampered = with_kid(&new.token("user0"), old.kid());
    let (status, code, _) = call(&lb.client, &me, &bearer(&tampered)).await;
    assert_eq!((status, code.as_str()), (401, "bad_signature"));

    // The issuer rotates: the next refresh replaces the set.
    fake.set(200, &new.jwks);
    let new_token = new.token("user2");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (old_status, old_code, _) = call(&lb.client, &me, &bearer(&old_token)).await;
        let (new_status, _, _) = call(&lb.client, &me, &bearer(&new_token)).await;
        if (old_status, old_code.as_str(), new_status) == (401, "unknown_key", 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rotation was never picked up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gw.metrics().fetch_count(Trigger::Ttl, true) >= 1);
    assert_eq!(
        gw.metrics().fetch_count(Trigger::UnknownKid, true),
        1,
        "the TTL brought the new keys"
    );
    lb.stop().await;
    backend.stop().await;
}
