//! Two replicas sharing one Redis store (a single `redis-server` or a Redis Cluster), and the
//! scenarios both must pass: what one replica writes, the other sees.

use bench_server::config::{ServerConfig, StoreKind};

use super::TestServer;

/// Replicas `a` and `b` on the store at `redis_url`, sharing a key set (like `--key-dir`).
pub async fn replica_pair(redis_url: String, base: ServerConfig) -> (TestServer, TestServer) {
    let keys = tempfile::tempdir().unwrap();
    bench_server::jwt::keys::create_key_dir(keys.path(), &[base.jwt_alg], false).unwrap();
    let base = ServerConfig {
        key_dir: Some(keys.path().to_path_buf()),
        store: StoreKind::Redis,
        redis_url: Some(redis_url),
        ..base
    };
    let a = TestServer::start(ServerConfig {
        replica_id: "a".into(),
        ..base.clone()
    })
    .await;
    let b = TestServer::start(ServerConfig {
        replica_id: "b".into(),
        ..base
    })
    .await;
    (a, b)
}

/// A session created on `a` is accepted by `b`; a logout on `b` ends it on both.
pub async fn sessions_are_shared(a: &TestServer, b: &TestServer) {
    let sid = a.session_login(1).await;
    let (status, headers, body) = b
        .get_with("/session/me", "cookie", &format!("sid={sid}"))
        .await;
    assert_eq!(status, 200, "created on a, accepted by b: {body}");
    assert_eq!(headers["x-replica"], "b");
    assert_eq!(body["user"], "user1");
    let (status, _, _) = b
        .post_with("/session/logout", "cookie", &format!("sid={sid}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(a.session_me(&sid).await, 401);
    assert_eq!(b.session_me(&sid).await, 401);
}

/// Force-logout of user2 on `b` ends the `per_replica` sessions user2 opened on each replica
/// and user2's JWT (token versions), keeps user3's session, and a token issued afterwards
/// works. `a` and `b` must run `--revocation token-version`.
pub async fn force_logout_acts_across(a: &TestServer, b: &TestServer, per_replica: usize) {
    let mut mine = Vec::new();
    for _ in 0..per_replica {
        mine.push(a.session_login(2).await);
        mine.push(b.session_login(2).await);
    }
    let other = a.session_login(3).await;
    let token = a.jwt_login(2).await;
    assert_eq!(b.jwt_me(&token).await.0, 200);

    let (status, body) = b.force_logout("user2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_deleted"], 2 * per_replica);
    for server in [a, b] {
        for sid in &mine {
            assert_eq!(server.session_me(sid).await, 401);
        }
        assert_eq!(server.session_me(&other).await, 200);
        assert_eq!(server.jwt_me(&token).await.0, 401);
    }
    let fresh = b.jwt_login(2).await;
    assert_eq!(
        a.jwt_me(&fresh).await.0,
        200,
        "a token issued after the bump"
    );
}

/// A JWT logged out on `b` is rejected as revoked on `a`; another token of the same user is
/// not. `a` and `b` must run `--revocation denylist`.
pub async fn deny_list_acts_across(a: &TestServer, b: &TestServer) {
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
}

/// A refresh token issued on `a` renews once, on any replica; force-logout deletes the next
/// one; a refresh token is no session. `a` and `b` must run `--revocation refresh`.
pub async fn refresh_works_once_across(a: &TestServer, b: &TestServer) {
    let (_, token) = a.jwt_login_with_refresh(3).await;
    let (status, body) = b.refresh(&token).await;
    assert_eq!(status, 200, "issued on a, renewed on b: {body}");
    assert_eq!(a.refresh(&token).await.0, 401, "used once, on any replica");
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = a.force_logout("user3").await;
    assert_eq!(
        (status, body["refresh_tokens_deleted"].as_u64()),
        (200, Some(1))
    );
    assert_eq!(b.refresh(&next).await.0, 401);
    // Sessions and refresh tokens live under different keys.
    assert_eq!(a.session_me(&next).await, 401);
}
