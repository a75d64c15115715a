//! Two server instances sharing one real Redis over TCP: sessions, logout, force-logout and
//! JWT revocation act across instances, and a Redis restart is survived.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bench_server::config::{Revocation, ServerConfig};
use bench_server::jwt::JwtAlg;
use common::shared_store::{self, replica_pair};
use common::{config, jwt_config, with_redis, RedisServer, TestServer};

#[tokio::test]
async fn sessions_are_shared_and_logout_applies_everywhere() {
    let Some(redis) = RedisServer::start_or_skip("sessions_are_shared") else {
        return;
    };
    let (a, b) = replica_pair(redis.url(), config()).await;
    shared_store::sessions_are_shared(&a, &b).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn force_logout_acts_across_instances() {
    let Some(redis) = RedisServer::start_or_skip("force_logout_across") else {
        return;
    };
    let (a, b) = replica_pair(
        redis.url(),
        jwt_config(JwtAlg::EdDsa, Revocation::TokenVersion),
    )
    .await;
    shared_store::force_logout_acts_across(&a, &b, 1).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn deny_list_acts_across_instances() {
    let Some(redis) = RedisServer::start_or_skip("deny_list_across") else {
        return;
    };
    let (a, b) = replica_pair(redis.url(), jwt_config(JwtAlg::Es256, Revocation::Denylist)).await;
    shared_store::deny_list_acts_across(&a, &b).await;

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
    let (a, b) = replica_pair(redis.url(), jwt_config(JwtAlg::Hs256, Revocation::Refresh)).await;
    shared_store::refresh_works_once_across(&a, &b).await;
    a.stop().await;
    b.stop().await;
}
