//! Two server instances sharing one real Redis over TCP: sessions, logout, force-logout and
//! JWT revocation act across instances, and a Redis restart is survived.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bench_server::config::{Revocation, ServerConfig};
use bench_server::jwt::JwtAlg;
use common::{config, jwt_config, with_redis, RedisServer, TestServer};

fn replica(config: ServerConfig, id: &str) -> ServerConfig {
    ServerConfig {
        replica_id: id.into(),
        ..config
    }
}

/// Two replicas on one Redis, sharing a key set (like `--key-dir`).
async fn pair(redis: &RedisServer, base: ServerConfig) -> (TestServer, TestServer) {
    let keys = tempfile::tempdir().unwrap();
    bench_server::jwt::keys::create_key_dir(keys.path(), &[base.jwt_alg], false).unwrap();
    let base = ServerConfig {
        key_dir: Some(keys.path().to_path_buf()),
        ..with_redis(base, redis)
    };
    let a = TestServer::start(replica(base.clone(), "a")).await;
    let b = TestServer::start(replica(base, "b")).await;
    (a, b)
}

#[tokio::test]
async fn sessions_are_shared_and_logout_applies_everywhere() {
    let Some(redis) = RedisServer::start_or_skip("sessions_are_shared") else {
        return;
    };
    let (a, b) = pair(&redis, config()).await;
    let sid = a.session_login(1).await;
    let (status, headers, body) = b
        .get_with("/session/me", "cookie", &format!("sid={sid}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-replica"], "b");
    assert_eq!(body["user"], "user1");

    let (status, _, _) = a
        .post_with("/session/logout", "cookie", &format!("sid={sid}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(b.session_me(&sid).await, 401);
    assert_eq!(a.session_me(&sid).await, 401);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn force_logout_acts_across_instances() {
    let Some(redis) = RedisServer::start_or_skip("force_logout_across") else {
        return;
    };
    let (a, b) = pair(&redis, jwt_config(JwtAlg::EdDsa, Revocation::TokenVersion)).await;
    let s1 = a.session_login(2).await;
    let s2 = b.session_login(2).await;
    let other = a.session_login(3).await;
    let token = a.jwt_login(2).await;
    assert_eq!(b.jwt_me(&token).await.0, 200);

    let (status, body) = b.force_logout("user2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_deleted"], 2);
    for server in [&a, &b] {
        assert_eq!(server.session_me(&s1).await, 401);
        assert_eq!(server.session_me(&s2).await, 401);
        assert_eq!(server.session_me(&other).await, 200);
        assert_eq!(server.jwt_me(&token).await.0, 401);
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn deny_list_acts_across_instances() {
    let Some(redis) = RedisServer::start_or_skip("deny_list_across") else {
        return;
    };
    let (a, b) = pair(&redis, jwt_config(JwtAlg::Es256, Revocation::Denylist)).await;
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

    // The deny-list entry expires with the token: its Redis TTL is the remaining lifetime.
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("authbench:deny:*")
        .query(&mut conn)
        .unwrap();
    assert_eq!(keys.len(), 1);
    let ttl: i64 = redis::cmd("TTL").arg(&keys[0]).query(&mut conn).unwrap();
    assert!((1..=900).contains(&ttl), "ttl {ttl}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn session_keys_expire_in_redis() {
    let Some(redis) = RedisServer::start_or_skip("session_keys_expire") else {
        return;
    };
    let server = TestServer::start(with_redis(
        ServerConfig {
            session_ttl: Duration::from_secs(120),
            ..config()
        },
        &redis,
    ))
    .await;
    let sid = server.session_login(1).await;
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("authbench:sess:{sid}"))
        .query(&mut conn)
        .unwrap();
    assert!((1..=120).contains(&ttl), "ttl {ttl}");
    let text = server.metrics().await;
    assert!(
        text.contains("authbench_live_sessions{replica=\"r0\",store=\"redis\"} 1"),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_redis_restart_is_survived() {
    let Some(mut redis) = RedisServer::start_or_skip("redis_restart") else {
        return;
    };
    let server = TestServer::start(with_redis(config(), &redis)).await;
    let before = server.session_login(1).await;
    assert_eq!(server.session_me(&before).await, 200);

    redis.kill();
    let (status, _, body) = server
        .get_with("/session/me", "cookie", &format!("sid={before}"))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "store_unavailable");

    redis.restart();
    // The connection manager reconnects on its own; poll (bounded) until it has.
    let mut status = 0;
    for _ in 0..100 {
        status = server.session_me(&before).await;
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Redis lost its data (no persistence), so the old session is gone, not broken.
    assert_eq!(status, 401);
    let after = server.session_login(1).await;
    assert_eq!(server.session_me(&after).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn startup_fails_clearly_when_redis_is_down() {
    let config = ServerConfig {
        store: bench_server::config::StoreKind::Redis,
        redis_url: Some("redis://:pw@127.0.0.1:1".into()),
        ..config()
    };
    let err = bench_server::AppState::build(&config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--redis-url redis://***@127.0.0.1:1: cannot connect"),
        "{err}"
    );
    assert!(!err.contains("pw"));
}

#[tokio::test]
async fn refresh_tokens_are_shared_and_work_once_across_instances() {
    let Some(redis) = RedisServer::start_or_skip("refresh_shared") else {
        return;
    };
    let (a, b) = pair(&redis, jwt_config(JwtAlg::Hs256, Revocation::Refresh)).await;
    let (_, token) = a.jwt_login_with_refresh(3).await;
    let (status, body) = b.refresh(&token).await;
    assert_eq!(status, 200, "issued on a, renewed on b: {body}");
    assert_eq!(a.refresh(&token).await.0, 401, "used once, on any instance");
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = a.force_logout("user3").await;
    assert_eq!(
        (status, body["refresh_tokens_deleted"].as_u64()),
        (200, Some(1))
    );
    assert_eq!(b.refresh(&next).await.0, 401);
    // Sessions and refresh tokens live under different keys: a refresh token is no session.
    assert_eq!(a.session_me(&next).await, 401);
    a.stop().await;
    b.stop().await;
}
