//! The JWT scheme end to end over real HTTP: every algorithm, every revocation strategy,
//! force-logout, JWKS.

#![allow(clippy::unwrap_used)]

mod common;

use bench_server::config::Revocation;
use bench_server::jwt::JwtAlg;
use common::{jwt_config, TestServer};

#[tokio::test]
async fn every_algorithm_logs_in_and_verifies() {
    for alg in JwtAlg::ALL {
        let server = TestServer::start(jwt_config(alg, Revocation::None)).await;
        let response = server.login("jwt", "user4", "secret-4").await;
        assert_eq!(response.status(), 200, "{alg}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        let token = body["access_token"].as_str().unwrap();
        let (status, me) = server.jwt_me(token).await;
        assert_eq!(status, 200, "{alg}: {me}");
        assert_eq!(me["user"], "user4");
        assert_eq!(me["replica"], "r0");

        let jwks: serde_json::Value = server
            .client
            .get(server.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        if alg == JwtAlg::Hs256 {
            assert!(keys.is_empty(), "a shared secret is never published");
        } else {
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0]["alg"], alg.to_string());
            assert!(keys[0].get("d").is_none(), "no private parts");
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn without_revocation_a_logged_out_token_stays_valid() {
    let server = TestServer::start(jwt_config(JwtAlg::Hs256, Revocation::None)).await;
    let token = server.jwt_login(1).await;
    let (status, _, body) = server
        .post_with("/jwt/logout", "authorization", &format!("Bearer {token}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["revoked"], false);
    assert!(body["note"].as_str().unwrap().contains("until it expires"));
    assert_eq!(
        server.jwt_me(&token).await.0,
        200,
        "the stolen token still works"
    );
    let (status, body) = server.force_logout("user1").await;
    assert_eq!(status, 200);
    assert_eq!(body["tokens_revoked"], false);
    assert_eq!(server.jwt_me(&token).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn denylist_revokes_the_logged_out_token_only() {
    let server = TestServer::start(jwt_config(JwtAlg::EdDsa, Revocation::Denylist)).await;
    let a = server.jwt_login(1).await;
    let b = server.jwt_login(1).await;
    let (status, _, body) = server
        .post_with("/jwt/logout", "authorization", &format!("Bearer {a}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["strategy"], "denylist");
    let (status, body) = server.jwt_me(&a).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "revoked");
    assert_eq!(server.jwt_me(&b).await.0, 200);
    // Force-logout reaches tokens the deny-list never saw.
    assert_eq!(server.force_logout("user1").await.0, 200);
    assert_eq!(server.jwt_me(&b).await.0, 401);
    let fresh = server.jwt_login(1).await;
    assert_eq!(
        server.jwt_me(&fresh).await.0,
        200,
        "new logins work at once"
    );
    server.stop().await;
}

#[tokio::test]
async fn token_version_revokes_every_token_of_the_user() {
    let server = TestServer::start(jwt_config(JwtAlg::Es256, Revocation::TokenVersion)).await;
    let a = server.jwt_login(2).await;
    let b = server.jwt_login(2).await;
    let other = server.jwt_login(3).await;
    let (status, _, body) = server
        .post_with("/jwt/logout", "authorization", &format!("Bearer {a}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.jwt_me(&a).await.0, 401);
    assert_eq!(server.jwt_me(&b).await.0, 401);
    assert_eq!(server.jwt_me(&other).await.0, 200);
    let fresh = server.jwt_login(2).await;
    assert_eq!(server.jwt_me(&fresh).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn revocation_strategies_reject_tokens_without_their_claims() {
    // A token issued while revocation was off carries no version: once the server
    // requires one, it is refused rather than waved through.
    let keyless = TestServer::start(jwt_config(JwtAlg::Hs256, Revocation::TokenVersion)).await;
    let claims = serde_json::json!({
        "sub": "user1", "iat": jsonwebtoken::get_current_timestamp(),
        "exp": jsonwebtoken::get_current_timestamp() + 60,
        "iss": "authbench", "aud": "authbench-api"
    });
    let token = keyless.state.jwt.sign_raw(&claims).unwrap();
    let (status, body) = keyless.jwt_me(&token).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "missing_claim");
    keyless.stop().await;
}
