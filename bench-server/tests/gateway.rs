//! The built-in balancer in gateway mode, in process, in front of in-process replicas over
//! real TCP: valid tokens forwarded with the verified identity (which trust-mode replicas
//! accept), every bad token refused at the edge with the replica's reason and never
//! forwarded, identity headers from clients stripped, revocation checked at the edge, and the
//! authorizer cache's revocation window.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use bench_server::config::Revocation;
use bench_server::error::AuthReason;
use bench_server::gateway::{EdgeRevocation, Identity, IdentityKey, Rejection};
use bench_server::jwt::JwtAlg;
use bench_server::metrics::Route;
use common::gateway::{
    bearer, call, gateway, gateway_config, secret_file, start_gateway, trusting,
    trusting_denylist_replica, valid_claims, with_kid,
};
use common::{jwt_config, RedisServer, TestServer};
use serde_json::{json, Value};

/// A bad-token case: its name, the request's headers, the edge's code, and whether a
/// replica answers the same today.
type Case = (
    &'static str,
    Vec<(&'static str, String)>,
    &'static str,
    bool,
);

fn backend(server: &TestServer) -> Vec<String> {
    vec![format!("{}=http://{}", server.state.replica, server.addr)]
}

fn jwks_url(server: &TestServer) -> String {
    server.url("/.well-known/jwks.json")
}

/// A token forged the classic way: HS256 keyed with the RS256 public key's PEM.
fn confused(server: &TestServer, kid: Option<&str>) -> String {
    use rsa::pkcs8::EncodePublicKey;
    let jwks = server.state.jwt.current().keys().jwks();
    let part = |name: &str| B64.decode(jwks["keys"][0][name].as_str().unwrap()).unwrap();
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&part("n")),
        rsa::BigUint::from_bytes_be(&part("e")),
    )
    .unwrap();
    let pem = public
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &valid_claims(),
        &jsonwebtoken::EncodingKey::from_secret(pem.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn valid_tokens_are_forwarded_with_an_identity_the_replica_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    let replica = TestServer::start(trusting(
        jwt_config(JwtAlg::EdDsa, Revocation::None),
        &secret,
    ))
    .await;
    let lb = start_gateway(
        gateway_config(&jwks_url(&replica), Some(&secret)),
        &backend(&replica),
    )
    .await;
    let me = format!("{}/jwt/me", lb.url);

    // Login is public: forwarded unverified.
    let login = lb
        .client
        .post(format!("{}/jwt/login", lb.url))
        .json(&json!({"username": "user3", "password": "secret-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, user, _) = call(&lb.client, &me, &bearer(&token)).await;
    assert_eq!((status, user.as_str()), (200, "user3"));
    let metrics = &replica.state.metrics;
    assert_eq!(
        metrics.trusted_identity_count(),
        1,
        "the replica took the identity"
    );

    // Straight to the replica, without the gateway's header: verified as usual.
    let (status, _) = replica.jwt_me(&token).await;
    assert_eq!(status, 200);
    assert_eq!(metrics.trusted_identity_count(), 1);

    // Unprotected routes pass through untouched: sessions, health.
    let sid = {
        let response = lb
            .client
            .post(format!("{}/session/login", lb.url))
            .json(&json!({"username": "user2", "password": "secret-2"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        common::sid_from(response.headers()).unwrap()
    };
    let (status, user, _) = call(
        &lb.client,
        &format!("{}/session/me", lb.url),
        &[("cookie", format!("sid={sid}"))],
    )
    .await;
    assert_eq!((status, user.as_str()), (200, "user2"));

    let text = lb.metrics().await;
    for line in [
        "authbench_gateway_verifications_total{result=\"ok\"} 1",
        "authbench_gateway_jwks_fetches_total{trigger=\"startup\",outcome=\"ok\"} 1",
        "authbench_gateway_jwks_keys 1",
        "authbench_gateway_verify_duration_seconds_count 1",
        "authbench_gateway_passthrough_total 3",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    assert!(text.contains("authbench_gateway_rejections_total{reason=\"unknown_key\"} 0"));
    assert!(text.contains("authbench_process_cpu_seconds_total{component=\"balancer\""));
    assert!(replica
        .metrics()
        .await
        .contains("authbench_trusted_identity_total{replica=\"r0\"} 1"));
    lb.stop().await;
    replica.stop().await;
}

#[tokio::test]
async fn bad_tokens_are_refused_at_the_edge_for_the_replica_s_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    let replica = TestServer::start(trusting(
        jwt_config(JwtAlg::Rs256, Revocation::None),
        &secret,
    ))
    .await;
    let lb = start_gateway(
        gateway_config(&jwks_url(&replica), Some(&secret)),
        &backend(&replica),
    )
    .await;
    let good = replica.jwt_login(1).await;
    let kid = replica.state.jwt.current().keys().kid().to_owned();
    let sign = |claims: &Value| replica.state.jwt.current().sign_raw(claims).unwrap();
    let with = |key: &str, value: Value| {
        let mut claims = valid_claims();
        claims[key] = value;
        sign(&claims)
    };
    let without = |key: &str| {
        let mut claims = valid_claims();
        claims.as_object_mut().unwrap().remove(key);
        sign(&claims)
    };
    let now = jsonwebtoken::get_current_timestamp();
    let parts: Vec<&str> = good.split('.').collect();
    let forged_payload = B64.encode(
        json!({"sub": "user0", "roles": ["admin"], "iat": now, "exp": now + 60,
               "iss": "authbench", "aud": "authbench-api"})
        .to_string(),
    );
    let none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(valid_claims().to_string())
    );
    let auth = |value: String| vec![("authorization", value)];
    let token = |t: String| auth(format!("Bearer {t}"));
    let mut cases: Vec<Case> = vec![
        ("no token", vec![], "missing", true),
        ("basic", auth("Basic dTpw".into()), "malformed", true),
        ("garbage", token("a.b.c".into()), "malformed", true),
        ("alg none", token(none), "wrong_alg", true),
        (
            "confusion, real kid",
            token(confused(&replica, Some(&kid))),
            "wrong_alg",
            true,
        ),
        (
            "confusion, no kid",
            token(confused(&replica, None)),
            "wrong_alg",
            true,
        ),
        (
            "tampered",
            token(format!("{}.{forged_payload}.{}", parts[0], parts[2])),
            "bad_signature",
            true,
        ),
        (
            "oversize",
            auth(format!("Bearer {}", "a".repeat(64 * 1024))),
            "headers_too_large",
            true,
        ),
        (
            "duplicated",
            vec![
                ("authorization", format!("Bearer {good}")),
                ("authorization", format!("Bearer {good}")),
            ],
            "duplicate",
            true,
        ),
        (
            "expired",
            token(with("exp", json!(now - 1))),
            "expired",
            true,
        ),
        (
            "nbf ahead",
            token(with("nbf", json!(now + 600))),
            "not_yet_valid",
            true,
        ),
        (
            "iat ahead",
            token(with("iat", json!(now + 600))),
            "not_yet_valid",
            true,
        ),
        (
            "wrong aud",
            token(with("aud", json!("other"))),
            "wrong_audience",
            true,
        ),
        (
            "wrong iss",
            token(with("iss", json!("evil"))),
            "wrong_issuer",
            true,
        ),
        (
            "unknown kid",
            token(with_kid(&good, "no-such-key")),
            "unknown_key",
            true,
        ),
    ];
    for claim in ["exp", "iat", "sub", "aud", "iss"] {
        cases.push((
            "missing claim",
            token(without(claim)),
            "missing_claim",
            true,
        ));
    }

    let mut at_edge = Vec::new();
    for (case, headers, expected, _) in &cases {
        let (status, code, response_headers) =
            call(&lb.client, &format!("{}/jwt/me", lb.url), headers).await;
        assert_eq!(code, *expected, "{case}");
        assert_eq!(
            status,
            if *expected == "headers_too_large" {
                431
            } else {
                401
            },
            "{case}"
        );
        at_edge.push((
            status,
            code,
            response_headers.get("www-authenticate").cloned(),
        ));
    }
    let metrics = &replica.state.metrics;
    for status in [200, 401, 431, 503] {
        assert_eq!(
            metrics.requests_for(Route::JwtMe, status),
            0,
            "nothing was forwarded (status {status})"
        );
    }
    // The replica itself, asked directly, answers the same.
    for ((case, headers, _, same), edge) in cases.iter().zip(&at_edge) {
        let (status, code, response_headers) =
            call(&replica.client, &replica.url("/jwt/me"), headers).await;
        if *same {
            let direct = (
                status,
                code,
                response_headers.get("www-authenticate").cloned(),
            );
            assert_eq!(&direct, edge, "{case}");
        } else {
            assert_eq!((status, code.as_str()), (401, "bad_signature"), "{case}");
        }
    }
    let gw = gateway(&lb).metrics();
    assert_eq!(
        gw.rejection_count(Rejection::Auth(AuthReason::MissingClaim)),
        5
    );
    assert_eq!(gw.rejection_count(Rejection::Auth(AuthReason::WrongAlg)), 3);
    // The oversized header is refused before the gateway sees it, by the accept loop.
    assert_eq!(gw.rejection_count(Rejection::HeadersTooLarge), 0);
    assert_eq!(
        lb.balancer
            .conn()
            .stats
            .rejected_count(bench_server::conn::Rejection::HeadersTooLarge),
        1
    );

    // And the good token passes.
    let (status, _, _) = call(&lb.client, &format!("{}/jwt/me", lb.url), &bearer(&good)).await;
    assert_eq!(status, 200);
    lb.stop().await;
    replica.stop().await;
}

/// A backend that answers every path with the identity headers it received, and counts.
async fn echo_backend() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback(move |headers: HeaderMap| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let seen: Vec<String> = headers
                    .get_all("x-authbench-identity")
                    .iter()
                    .map(|v| v.to_str().unwrap().to_owned())
                    .collect();
                Json(json!({ "identity": seen }))
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, hits)
}

#[tokio::test]
async fn client_identity_headers_never_reach_a_backend() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    // A separate issuer replica; the backend is an echo server.
    let issuer = TestServer::start(jwt_config(JwtAlg::Es256, Revocation::None)).await;
    let (echo, hits) = echo_backend().await;
    let lb = start_gateway(
        gateway_config(&jwks_url(&issuer), Some(&secret)),
        &[format!("echo=http://{echo}")],
    )
    .await;
    let token = issuer.jwt_login(4).await;
    let key = IdentityKey::load(&secret).unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let forged = IdentityKey::from_secret(&[9; 32]).unwrap().sign(&Identity {
        sub: "user0".into(),
        roles: vec!["admin".into()],
        exp: now + 600,
        iat: now,
        jti: None,
        ver: None,
        kid: None,
    });
    let forged = forged.to_str().unwrap().to_owned();
    let echo_of = |response: reqwest::Response| async move {
        let body: Value = response.json().await.unwrap();
        body["identity"].as_array().unwrap().clone()
    };

    // Unprotected path: the forged header is removed, nothing is added.
    let response = lb
        .client
        .get(format!("{}/public/x", lb.url))
        .header("x-authbench-identity", &forged)
        .header("X-Authbench-Identity", "second")
        .send()
        .await
        .unwrap();
    assert_eq!(echo_of(response).await, Vec::<Value>::new());

    // Protected path with a valid token: exactly the gateway's identity arrives.
    let response = lb
        .client
        .get(format!("{}/jwt/anything", lb.url))
        .bearer_auth(&token)
        .header("x-authbench-identity", &forged)
        .send()
        .await
        .unwrap();
    let seen = echo_of(response).await;
    assert_eq!(seen.len(), 1);
    let value = seen[0].as_str().unwrap().to_owned();
    assert_ne!(value, forged);
    let identity = key.verify(value.as_bytes(), now, 0).unwrap();
    assert_eq!(identity.sub, "user4");
    assert_eq!(
        identity.kid.as_deref(),
        Some(issuer.state.jwt.current().keys().kid())
    );

    // Naming the header hop-by-hop does not make the gateway's own identity go missing.
    let response = lb
        .client
        .get(format!("{}/jwt/anything", lb.url))
        .bearer_auth(&token)
        .header("connection", "keep-alive, x-authbench-identity")
        .header("x-authbench-identity", &forged)
        .send()
        .await
        .unwrap();
    let seen = echo_of(response).await;
    assert_eq!(seen.len(), 1);
    assert!(key
        .verify(seen[0].as_str().unwrap().as_bytes(), now, 0)
        .is_ok());

    // Protected path with a forged identity and no token: refused at the edge.
    let before = hits.load(Ordering::SeqCst);
    let (status, code, _) = call(
        &lb.client,
        &format!("{}/jwt/me", lb.url),
        &[("x-authbench-identity", forged.clone())],
    )
    .await;
    assert_eq!((status, code.as_str()), (401, "missing"));
    assert_eq!(hits.load(Ordering::SeqCst), before, "not forwarded");
    assert_eq!(
        gateway(&lb)
            .metrics()
            .rejection_count(Rejection::Auth(AuthReason::Missing)),
        1
    );

    // Straight to a trust-mode replica: a bad MAC, garbage or two headers are refused; the
    // gateway's own header is accepted (the network between them is the trust boundary).
    let trusting_replica = TestServer::start(trusting(
        jwt_config(JwtAlg::Es256, Revocation::None),
        &secret,
    ))
    .await;
    let me = trusting_replica.url("/jwt/me");
    let client = &trusting_replica.client;
    let identity_header = |v: &str| vec![("x-authbench-identity", v.to_owned())];
    let (status, code, _) = call(client, &me, &identity_header(&forged)).await;
    assert_eq!((status, code.as_str()), (401, "bad_signature"));
    let (status, code, _) = call(client, &me, &identity_header("not-an-identity")).await;
    assert_eq!((status, code.as_str()), (401, "malformed"));
    let two = vec![
        ("x-authbench-identity", value.clone()),
        ("x-authbench-identity", value.clone()),
    ];
    let (status, code, _) = call(client, &me, &two).await;
    assert_eq!((status, code.as_str()), (401, "duplicate"));
    let (status, user, _) = call(client, &me, &identity_header(&value)).await;
    assert_eq!((status, user.as_str()), (200, "user4"));
    assert_eq!(trusting_replica.state.metrics.trusted_identity_count(), 1);

    lb.stop().await;
    issuer.stop().await;
    trusting_replica.stop().await;
}

#[tokio::test]
async fn revocation_is_checked_at_the_edge_and_the_cache_delays_it_by_its_ttl() {
    let Some(redis) = RedisServer::start_or_skip("gateway revocation") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    let replica = trusting_denylist_replica(&redis, &secret).await;
    let edge = |cache_ttl: Duration| {
        let mut config = gateway_config(&jwks_url(&replica), Some(&secret));
        config.revocation = EdgeRevocation::Denylist;
        config.redis_url = Some(redis.url());
        config.authorizer_cache_ttl = cache_ttl;
        config
    };

    // No cache: a logout (at the replica, through the gateway) is seen at the edge at once.
    let lb = start_gateway(edge(Duration::ZERO), &backend(&replica)).await;
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
    assert_eq!(logout.json::<Value>().await.unwrap()["revoked"], true);
    let forwarded = replica.state.metrics.requests_for(Route::JwtMe, 200);
    let (status, code, _) = call(&lb.client, &me, &bearer(&token)).await;
    assert_eq!((status, code.as_str()), (401, "revoked"));
    assert_eq!(replica.state.metrics.requests_for(Route::JwtMe, 401), 0);
    assert_eq!(
        replica.state.metrics.requests_for(Route::JwtMe, 200),
        forwarded
    );
    assert!(lb
        .metrics()
        .await
        .contains("authbench_gateway_revocation_checks_total{result=\"revoked\"} 1"));
    lb.stop().await;

    // With the authorizer cache: the revoked token passes until its cached allow expires.
    // What is asserted follows from the logic, whatever the machine's speed: a probe that
    // ended before `populated + TTL` must pass (the entry cannot have expired yet), and the
    // first refusal comes at or after that instant.
    let ttl = Duration::from_secs(2);
    let lb = start_gateway(edge(ttl), &backend(&replica)).await;
    let me = format!("{}/jwt/me", lb.url);
    let token = replica.jwt_login(2).await;
    let populated = Instant::now();
    assert_eq!(call(&lb.client, &me, &bearer(&token)).await.0, 200);
    let (status, _, _) = {
        let response = lb
            .client
            .post(format!("{}/jwt/logout", lb.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        common::split(response).await
    };
    assert_eq!(status, 200);
    let revoked_at = Instant::now();
    assert_eq!(
        replica.jwt_me(&token).await.0,
        401,
        "revoked at the replica"
    );
    let deadline = revoked_at + ttl + Duration::from_secs(10);
    let mut last_accepted = revoked_at;
    let refused_at = loop {
        let started = Instant::now();
        let (status, code, _) = call(&lb.client, &me, &bearer(&token)).await;
        let ended = Instant::now();
        if ended < populated + ttl {
            assert_eq!(status, 200, "refused before the cached allow expired");
        }
        if status == 401 {
            assert_eq!(code, "revoked");
            break ended;
        }
        assert!(
            ended < deadline,
            "still accepted {:?} after the logout",
            ended - revoked_at
        );
        last_accepted = started;
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(refused_at >= populated + ttl);
    eprintln!(
        "revocation window with --authorizer-cache-ttl {ttl:?}: the revoked token passed until \
         {:?} and was refused from {:?} after the logout (allowed {:?} before it)",
        last_accepted - revoked_at,
        refused_at - revoked_at,
        revoked_at - populated,
    );
    lb.stop().await;
    replica.stop().await;
}

#[tokio::test]
async fn a_gateway_needs_redis_only_to_check_revocation() {
    let mut config = gateway_config("http://127.0.0.1:1/jwks", None);
    config.revocation = EdgeRevocation::TokenVersion;
    let err = bench_server::gateway::Gateway::start(config.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--gateway-revocation \"token-version\""),
        "{err}"
    );
    config.redis_url = Some("redis://127.0.0.1:1".into());
    let err = bench_server::gateway::Gateway::start(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("--redis-url"), "{err}");
}
