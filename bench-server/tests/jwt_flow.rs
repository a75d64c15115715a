//! The JWT scheme end to end over real HTTP: every algorithm, every revocation strategy,
//! force-logout, refresh-token rotation, JWKS.

#![allow(clippy::unwrap_used)]

mod common;

use bench_server::config::Revocation;
use bench_server::jwt::JwtAlg;
use common::{jwt_config, TestServer};
use serde_json::json;

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
    let token = keyless.state.jwt.current().sign_raw(&claims).unwrap();
    let (status, body) = keyless.jwt_me(&token).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "missing_claim");
    keyless.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_each_works_once() {
    let server = TestServer::start(jwt_config(JwtAlg::Hs256, Revocation::Refresh)).await;
    let (access, first) = server.jwt_login_with_refresh(4).await;
    assert_eq!(first.len(), 43, "256 random bits, base64url");
    assert_eq!(server.jwt_me(&access).await.0, 200);

    let (status, body) = server.refresh(&first).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "a new refresh token at every use");
    assert!(body["refresh_expires_in"].as_u64().unwrap() > body["expires_in"].as_u64().unwrap());
    let renewed = body["access_token"].as_str().unwrap();
    let (status, me) = server.jwt_me(renewed).await;
    assert_eq!((status, me["user"].as_str()), (200, Some("user4")));

    // The used token is gone: a replay (a thief's copy, or a retry) is refused.
    let (status, body) = server.refresh(&first).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unknown_refresh_token");
    assert_eq!(server.refresh(&second).await.0, 200);

    let (status, body) = server.refresh("not-a-token").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("malformed")));
    let (status, _, body) = server
        .post_json("/jwt/refresh", None, &json!({"token": first}))
        .await;
    assert_eq!(status, 400, "a body without refresh_token: {body}");
    server.stop().await;
}

#[tokio::test]
async fn racing_refreshes_of_one_token_let_exactly_one_through() {
    let server = TestServer::start(jwt_config(JwtAlg::Hs256, Revocation::Refresh)).await;
    let (_, token) = server.jwt_login_with_refresh(5).await;
    let (a, b) = tokio::join!(server.refresh(&token), server.refresh(&token));
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "{a:?} {b:?}");
    server.stop().await;
}

#[tokio::test]
async fn refresh_logout_ends_renewal_but_not_the_access_token() {
    let server = TestServer::start(jwt_config(JwtAlg::Es256, Revocation::Refresh)).await;
    let (phone, phone_refresh) = server.jwt_login_with_refresh(6).await;
    let (_, laptop_refresh) = server.jwt_login_with_refresh(6).await;

    // Logout naming one refresh token ends that device's renewal only.
    let (status, _, body) = server
        .post_json(
            "/jwt/logout",
            Some(&phone),
            &json!({"refresh_token": phone_refresh}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["strategy"], "refresh");
    assert_eq!(body["revoked"], false);
    assert_eq!(body["refresh_tokens_deleted"], 1);
    assert!(body["valid_for_seconds"].as_u64().unwrap() > 0);
    assert_eq!(server.refresh(&phone_refresh).await.0, 401);
    assert_eq!(
        server.jwt_me(&phone).await.0,
        200,
        "the access token lives until it expires"
    );
    let (status, body) = server.refresh(&laptop_refresh).await;
    assert_eq!(status, 200, "{body}");
    let laptop_refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // Another user's refresh token is not touched by this user's logout.
    let (_, other_refresh) = server.jwt_login_with_refresh(7).await;
    let (status, _, body) = server
        .post_json(
            "/jwt/logout",
            Some(&phone),
            &json!({"refresh_token": other_refresh}),
        )
        .await;
    assert_eq!(
        (status, body["refresh_tokens_deleted"].as_u64()),
        (200, Some(0))
    );
    assert_eq!(server.refresh(&other_refresh).await.0, 200);

    // A logout without a body ends every device of the user.
    let (status, _, body) = server
        .post_with("/jwt/logout", "authorization", &format!("Bearer {phone}"))
        .await;
    assert_eq!(
        (status, body["refresh_tokens_deleted"].as_u64()),
        (200, Some(1))
    );
    assert_eq!(server.refresh(&laptop_refresh).await.0, 401);
    server.stop().await;
}

#[tokio::test]
async fn force_logout_deletes_every_refresh_token_of_the_user() {
    let server = TestServer::start(jwt_config(JwtAlg::EdDsa, Revocation::Refresh)).await;
    let (_, a) = server.jwt_login_with_refresh(8).await;
    let (_, b) = server.jwt_login_with_refresh(8).await;
    let (_, other) = server.jwt_login_with_refresh(9).await;
    let (status, body) = server.force_logout("user8").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["refresh_tokens_deleted"], 2);
    assert_eq!(body["tokens_revoked"], false);
    assert_eq!(server.refresh(&a).await.0, 401);
    assert_eq!(server.refresh(&b).await.0, 401);
    assert_eq!(server.refresh(&other).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn refresh_is_off_unless_the_strategy_is_refresh() {
    let server = TestServer::start(jwt_config(JwtAlg::Hs256, Revocation::TokenVersion)).await;
    let response = server.login("jwt", "user1", "secret-1").await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    let (status, body) = server.refresh(&"a".repeat(43)).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("--revocation refresh"));
    server.stop().await;
}

#[tokio::test]
async fn a_refresh_token_from_before_a_logout_everywhere_is_refused() {
    // What a logout racing a refresh leaves behind: a token still in the store, issued in
    // an older refresh generation. (The race itself cannot be timed from a test; this is
    // the state it produces.)
    let server = TestServer::start(jwt_config(JwtAlg::Hs256, Revocation::Refresh)).await;
    let (_, stale) = server.jwt_login_with_refresh(10).await;
    server
        .state
        .revocations
        .bump_version("user10")
        .await
        .unwrap();
    let (status, body) = server.refresh(&stale).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unknown_refresh_token");
    let (_, fresh) = server.jwt_login_with_refresh(10).await;
    assert_eq!(
        server.refresh(&fresh).await.0,
        200,
        "later logins are not affected"
    );
    server.stop().await;
}
