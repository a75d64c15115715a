//! The session-ID scheme end to end over real HTTP: login, lookup, logout, fixation safety,
//! cookie flags, force-logout, metrics.

#![allow(clippy::unwrap_used)]

mod common;

use bench_server::config::ServerConfig;
use bench_server::error::{AuthReason, Scheme};
use bench_server::metrics::Route;
use common::{config, sid_from, TestServer};

#[tokio::test]
async fn login_me_logout() {
    let server = TestServer::start(config()).await;
    let response = server.login("session", "user3", "secret-3").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-replica"], "r0");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let sid = sid_from(response.headers()).unwrap();
    assert_eq!(sid.len(), 43, "256-bit ID in base64url");

    let (status, headers, body) = server
        .get_with("/session/me", "cookie", &format!("theme=dark; sid={sid}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-replica"], "r0");
    assert_eq!(body["user"], "user3");
    assert_eq!(body["roles"][0], "user");
    assert_eq!(body["replica"], "r0");

    let (status, headers, body) = server
        .post_with("/session/logout", "cookie", &format!("sid={sid}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));

    let (status, headers, body) = server
        .get_with("/session/me", "cookie", &format!("sid={sid}"))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unknown_session");
    assert!(headers.contains_key("www-authenticate"));

    let m = &server.state.metrics;
    assert_eq!(m.requests_for(Route::SessionMe, 200), 1);
    assert_eq!(m.requests_for(Route::SessionMe, 401), 1);
    assert_eq!(
        m.auth_count(Scheme::Session, Some(AuthReason::UnknownSession)),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn every_login_issues_a_new_id_and_retires_the_presented_one() {
    let server = TestServer::start(config()).await;
    let first = server.session_login(1).await;
    // Log in again presenting the old cookie (a fixation attempt would plant it).
    let response = server
        .client
        .post(server.url("/session/login"))
        .header("cookie", format!("sid={first}"))
        .json(&serde_json::json!({"username": "user1", "password": "secret-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let second = sid_from(response.headers()).unwrap();
    assert_ne!(first, second);
    assert_eq!(server.session_me(&first).await, 401);
    assert_eq!(server.session_me(&second).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn secure_cookies_flag_adds_secure() {
    let server = TestServer::start(ServerConfig {
        secure_cookies: true,
        ..config()
    })
    .await;
    let response = server.login("session", "user1", "secret-1").await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    server.stop().await;
}

#[tokio::test]
async fn admin_force_logout_ends_every_session_of_the_user_only() {
    let server = TestServer::start(config()).await;
    let a = server.session_login(2).await;
    let b = server.session_login(2).await;
    let other = server.session_login(3).await;
    let (status, body) = server.force_logout("user2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_deleted"], 2);
    assert_eq!(server.session_me(&a).await, 401);
    assert_eq!(server.session_me(&b).await, 401);
    assert_eq!(server.session_me(&other).await, 200);

    let (status, body) = server.force_logout("nobody").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    let (status, _, body) = server
        .post_with(
            "/admin/users/user3/logout",
            "authorization",
            "Bearer wrong-token-xxxxxxxx",
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "bad_credentials");
    assert_eq!(server.session_me(&other).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn admin_route_is_forbidden_without_a_configured_credential() {
    let server = TestServer::start(ServerConfig {
        admin_token: None,
        ..config()
    })
    .await;
    let (status, body) = server.force_logout("user1").await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "forbidden");
    server.stop().await;
}

#[tokio::test]
async fn metrics_expose_what_the_load_generator_needs() {
    let server = TestServer::start(config()).await;
    let sid = server.session_login(1).await;
    assert_eq!(server.session_me(&sid).await, 200);
    let text = server.metrics().await;
    for needle in [
        "authbench_http_requests_total{replica=\"r0\",route=\"/session/me\",status=\"200\"} 1",
        "authbench_auth_outcomes_total{replica=\"r0\",scheme=\"session\",outcome=\"ok\"} 2",
        "authbench_store_op_duration_seconds_count{replica=\"r0\",store=\"memory\",op=\"get\"} 1",
        "authbench_live_sessions{replica=\"r0\",store=\"memory\"} 1",
        "authbench_credential_headers_total{replica=\"r0\",header=\"cookie\"} 1",
        "authbench_password_hashes_total{replica=\"r0\"} 1",
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    server.stop().await;
}
