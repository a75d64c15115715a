//! Every kind of bad input gets a 4xx with a JSON reason and the matching metric, never a
//! panic, and the server keeps serving afterwards.

#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use bench_server::config::{Revocation, ServerConfig};
use bench_server::conn::Rejection;
use bench_server::error::{AuthReason, Scheme};
use bench_server::jwt::JwtAlg;
use bench_server::metrics::Route;
use common::{config, jwt_config, TestServer};
use reqwest::header::HeaderValue;
use serde_json::{json, Value};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn valid_claims() -> Value {
    json!({"sub": "user1", "roles": ["user"], "iat": now(), "exp": now() + 60,
           "iss": "authbench", "aud": "authbench-api", "jti": "j1"})
}

/// Sends `GET /jwt/me` with raw Authorization bytes; checks status, JSON reason, challenge
/// and that exactly one rejection with that reason was counted.
async fn expect_jwt_rejection(server: &TestServer, authorization: &[u8], reason: AuthReason) {
    let before = server.state.metrics.auth_count(Scheme::Jwt, Some(reason));
    let response = server
        .client
        .get(server.url("/jwt/me"))
        .header(
            "authorization",
            HeaderValue::from_bytes(authorization).unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (status, headers, body) = common::split(response).await;
    let shown = String::from_utf8_lossy(&authorization[..authorization.len().min(60)]).into_owned();
    assert_eq!(status, 401, "{shown}: {body}");
    assert_eq!(body["error"], reason.code(), "{shown}");
    assert!(body["message"].is_string());
    let challenge = headers["www-authenticate"].to_str().unwrap();
    if reason == AuthReason::Missing {
        assert_eq!(challenge, "Bearer realm=\"authbench\"");
    } else {
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(challenge.contains(&format!("error_description=\"{}\"", reason.code())));
    }
    assert_eq!(
        server.state.metrics.auth_count(Scheme::Jwt, Some(reason)),
        before + 1,
        "{shown}: metric for {reason:?}"
    );
}

async fn expect_session_rejection(server: &TestServer, cookie: &[u8], reason: AuthReason) {
    let before = server
        .state
        .metrics
        .auth_count(Scheme::Session, Some(reason));
    let response = server
        .client
        .get(server.url("/session/me"))
        .header("cookie", HeaderValue::from_bytes(cookie).unwrap())
        .send()
        .await
        .unwrap();
    let (status, _, body) = common::split(response).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], reason.code());
    assert_eq!(
        server
            .state
            .metrics
            .auth_count(Scheme::Session, Some(reason)),
        before + 1
    );
}

async fn assert_still_serving(server: &TestServer) {
    let token = server.jwt_login(1).await;
    assert_eq!(server.jwt_me(&token).await.0, 200);
    let sid = server.session_login(2).await;
    assert_eq!(server.session_me(&sid).await, 200);
}

#[tokio::test]
async fn bad_tokens() {
    let server = TestServer::start(jwt_config(JwtAlg::Hs256, Revocation::None)).await;
    let jwt = std::sync::Arc::clone(&server.state.jwt.current());
    let sign = |claims: &Value| jwt.sign_raw(claims).unwrap();
    let bearer = |token: &str| format!("Bearer {token}").into_bytes();

    // alg "none": unsigned token claiming to be the admin.
    let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = B64.encode(valid_claims().to_string());
    expect_jwt_rejection(
        &server,
        &bearer(&format!("{header}.{payload}.")),
        AuthReason::WrongAlg,
    )
    .await;

    let good = sign(&valid_claims());
    let parts: Vec<&str> = good.split('.').collect();

    // Tampered header: different header, same signature.
    let other_header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let t = format!("{other_header}.{}.{}", parts[1], parts[2]);
    expect_jwt_rejection(&server, &bearer(&t), AuthReason::BadSignature).await;
    // A key ID the server does not hold is refused before any signature check.
    let other_header = B64.encode(br#"{"alg":"HS256","typ":"JWT","kid":"evil"}"#);
    let t = format!("{other_header}.{}.{}", parts[1], parts[2]);
    expect_jwt_rejection(&server, &bearer(&t), AuthReason::UnknownKey).await;

    // Tampered payload: escalate roles.
    let mut escalated = valid_claims();
    escalated["roles"] = json!(["admin"]);
    let t = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(escalated.to_string()),
        parts[2]
    );
    expect_jwt_rejection(&server, &bearer(&t), AuthReason::BadSignature).await;

    // Tampered signature: a valid-looking signature of the right length.
    let t = format!("{}.{}.{}", parts[0], parts[1], B64.encode([7u8; 32]));
    expect_jwt_rejection(&server, &bearer(&t), AuthReason::BadSignature).await;

    // Claims.
    let mut c = valid_claims();
    c["exp"] = json!(now() - 1);
    expect_jwt_rejection(&server, &bearer(&sign(&c)), AuthReason::Expired).await;
    let mut c = valid_claims();
    c["nbf"] = json!(now() + 3600);
    expect_jwt_rejection(&server, &bearer(&sign(&c)), AuthReason::NotYetValid).await;
    let mut c = valid_claims();
    c["aud"] = json!("someone-else");
    expect_jwt_rejection(&server, &bearer(&sign(&c)), AuthReason::WrongAudience).await;
    let mut c = valid_claims();
    c["iss"] = json!("https://evil.example");
    expect_jwt_rejection(&server, &bearer(&sign(&c)), AuthReason::WrongIssuer).await;
    let mut c = valid_claims();
    c.as_object_mut().unwrap().remove("sub");
    expect_jwt_rejection(&server, &bearer(&sign(&c)), AuthReason::MissingClaim).await;

    // Shapes.
    expect_jwt_rejection(&server, b"Bearer ", AuthReason::Missing).await;
    expect_jwt_rejection(&server, b"Bearer not-a-jwt", AuthReason::Malformed).await;
    expect_jwt_rejection(&server, b"Bearer a!b.c$d.e", AuthReason::Malformed).await;
    expect_jwt_rejection(&server, b"Bearer abc.def.ghi", AuthReason::Malformed).await;
    expect_jwt_rejection(&server, b"Bearer \xff\xfe.\xfd", AuthReason::Malformed).await;
    expect_jwt_rejection(
        &server,
        b"Basic dXNlcjE6c2VjcmV0LTE=",
        AuthReason::Malformed,
    )
    .await;
    let long_but_allowed = format!("Bearer {}", "a".repeat(7000));
    expect_jwt_rejection(&server, long_but_allowed.as_bytes(), AuthReason::Malformed).await;

    // No header at all.
    let before = server
        .state
        .metrics
        .auth_count(Scheme::Jwt, Some(AuthReason::Missing));
    let (status, _, body) = common::split(
        server
            .client
            .get(server.url("/jwt/me"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("missing")));
    assert_eq!(
        server
            .state
            .metrics
            .auth_count(Scheme::Jwt, Some(AuthReason::Missing)),
        before + 1
    );

    // Duplicated Authorization headers.
    let response = server
        .client
        .get(server.url("/jwt/me"))
        .header("authorization", format!("Bearer {good}"))
        .header("authorization", format!("Bearer {good}"))
        .send()
        .await
        .unwrap();
    let (status, _, body) = common::split(response).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("duplicate")));

    // 64 KiB token: over the header limit.
    let huge = format!("Bearer {}", "a".repeat(64 * 1024));
    let response = server
        .client
        .get(server.url("/jwt/me"))
        .header("authorization", huge)
        .send()
        .await
        .unwrap();
    let (status, _, body) = common::split(response).await;
    assert_eq!(status, 431);
    assert_eq!(body["error"], "headers_too_large");
    // Refused before routing by the accept loop, so counted there, not per route.
    assert_eq!(server.state.metrics.requests_for(Route::JwtMe, 431), 0);
    assert_eq!(
        server
            .state
            .conn
            .stats
            .rejected_count(Rejection::HeadersTooLarge),
        1
    );

    assert_still_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn algorithm_confusion_is_refused() {
    // The classic attack: the server verifies RS256; the attacker signs an HS256 token
    // using the server's *public* key as the HMAC secret.
    use rsa::pkcs8::EncodePublicKey;
    let server = TestServer::start(jwt_config(JwtAlg::Rs256, Revocation::None)).await;
    let jwks = server.state.jwt.current().ring().jwks();
    let n = B64.decode(jwks["keys"][0]["n"].as_str().unwrap()).unwrap();
    let e = B64.decode(jwks["keys"][0]["e"].as_str().unwrap()).unwrap();
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&n),
        rsa::BigUint::from_bytes_be(&e),
    )
    .unwrap();
    let pem = public
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &valid_claims(),
        &jsonwebtoken::EncodingKey::from_secret(pem.as_bytes()),
    )
    .unwrap();
    expect_jwt_rejection(
        &server,
        format!("Bearer {forged}").as_bytes(),
        AuthReason::WrongAlg,
    )
    .await;
    // And a real RS256 token still works.
    let token = server.jwt_login(1).await;
    assert_eq!(server.jwt_me(&token).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn bad_cookies() {
    let server = TestServer::start(config()).await;
    let sid = server.session_login(1).await;
    expect_session_rejection(&server, b"sid=%%%garbled%%%", AuthReason::Malformed).await;
    expect_session_rejection(&server, b"sid=", AuthReason::Malformed).await;
    expect_session_rejection(&server, b"theme=dark", AuthReason::Missing).await;
    expect_session_rejection(&server, b"sid=\xff\xfe\xfd", AuthReason::Malformed).await;
    let dup = format!("sid={sid}; sid={sid}");
    expect_session_rejection(&server, dup.as_bytes(), AuthReason::Duplicate).await;
    let unknown = format!("sid={}", "A".repeat(43));
    expect_session_rejection(&server, unknown.as_bytes(), AuthReason::UnknownSession).await;

    let oversized = format!("sid={sid}; pad={}", "x".repeat(10 * 1024));
    let (status, headers, body) = server.get_with("/session/me", "cookie", &oversized).await;
    assert_eq!(status, 431);
    assert_eq!(body["error"], "headers_too_large");
    assert_eq!(headers["x-replica"], "r0");
    assert_eq!(
        server
            .state
            .conn
            .stats
            .rejected_count(Rejection::HeadersTooLarge),
        1
    );

    // Many headers, each under the limit, together over it.
    let mut request = server.client.get(server.url("/session/me"));
    for i in 0..10 {
        request = request.header(format!("x-pad-{i}"), "y".repeat(4000));
    }
    let (status, _, body) = common::split(request.send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (431, Some("headers_too_large"))
    );

    assert_eq!(
        server.session_me(&sid).await,
        200,
        "the real session is untouched"
    );
    assert_still_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn bad_login_bodies() {
    let server = TestServer::start(config()).await;
    let post = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = server.client.post(server.url("/session/login")).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send()
    };
    let json = Some("application/json");

    let (status, _, body) = common::split(post("{\"username\":", json).await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    let (status, _, body) =
        common::split(post("{\"username\":\"user1\"}", json).await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("password"),
        "{body}"
    );
    let (status, _, body) = common::split(
        post("{\"username\":1,\"password\":[]}", json)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    let (status, _, body) = common::split(
        post("{\"username\":\"\",\"password\":\"x\"}", json)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    let (status, _, body) = common::split(
        post("{\"username\":\"user1\",\"password\":\"secret-1\"}", None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, _, body) = common::split(post("not json at all", json).await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));

    let big = format!(
        "{{\"username\":\"user1\",\"password\":\"{}\"}}",
        "p".repeat(8 * 1024)
    );
    let response = server
        .client
        .post(server.url("/jwt/login"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, _, body) = common::split(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("body_too_large"))
    );
    assert_eq!(server.state.metrics.requests_for(Route::JwtLogin, 413), 1);

    assert_eq!(
        server.state.users.hashes_computed(),
        0,
        "no bad body reached the hasher"
    );
    assert_still_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let server = TestServer::start(config()).await;
    let mut answers = Vec::new();
    for (user, password) in [("nobody", "secret-1"), ("user1", "wrong")] {
        for scheme in ["session", "jwt"] {
            let before = server.state.users.hashes_computed();
            let (status, headers, body) =
                common::split(server.login(scheme, user, password).await).await;
            assert_eq!(status, 401);
            assert!(!headers.contains_key("set-cookie"));
            // Same work either way: exactly one argon2id hash per attempt.
            assert_eq!(server.state.users.hashes_computed(), before + 1, "{user}");
            answers.push(body);
        }
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0]["error"], "bad_credentials");
    let m = &server.state.metrics;
    assert_eq!(
        m.auth_count(Scheme::Session, Some(AuthReason::BadCredentials)),
        2
    );
    assert_eq!(
        m.auth_count(Scheme::Jwt, Some(AuthReason::BadCredentials)),
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json() {
    let server = TestServer::start(ServerConfig { ..config() }).await;
    let (status, headers, body) =
        common::split(server.client.get(server.url("/nope")).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    assert_eq!(headers["x-replica"], "r0");
    let (status, _, body) = common::split(
        server
            .client
            .get(server.url("/jwt/login"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
    assert_eq!(server.state.metrics.requests_for(Route::Other, 404), 1);
    server.stop().await;
}
