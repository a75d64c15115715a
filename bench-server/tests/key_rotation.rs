//! Key rotation end to end: `keys --rotate`, reload over HTTP and on SIGHUP, tokens of the
//! previous key, unknown `kid`s, a bad key file during a reload.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bench_server::config::{Revocation, ServerConfig};
use bench_server::error::{AuthReason, Scheme};
use bench_server::jwt::keys::{create_key_dir, rotate_key};
use bench_server::jwt::JwtAlg;
use common::{jwt_config, TestServer, ADMIN_TOKEN};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bench-server");

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn with_key_dir(alg: JwtAlg, dir: &Path) -> ServerConfig {
    ServerConfig {
        key_dir: Some(dir.to_path_buf()),
        ..jwt_config(alg, Revocation::None)
    }
}

/// `POST /admin/keys/reload` with the admin token.
async fn reload(server: &TestServer) -> (u16, Value) {
    let (status, _, body) = server
        .post_with(
            "/admin/keys/reload",
            "authorization",
            &format!("Bearer {ADMIN_TOKEN}"),
        )
        .await;
    (status, body)
}

async fn jwks_kids(server: &TestServer) -> Vec<String> {
    let jwks: Value = server
        .client
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn expect_unknown_key(server: &TestServer, token: &str) {
    let (status, body) = server.jwt_me(token).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unknown_key")));
}

#[tokio::test]
async fn tokens_survive_one_rotation_and_are_retired_by_the_next() {
    for alg in [JwtAlg::Es256, JwtAlg::Hs256] {
        let dir = tempfile::tempdir().unwrap();
        create_key_dir(dir.path(), &[alg], false).unwrap();
        let a = TestServer::start(with_key_dir(alg, dir.path())).await;
        let b = TestServer::start(with_key_dir(alg, dir.path())).await;
        let first = a.jwt_login(1).await;
        let kid1 = kid_of(&first);

        rotate_key(dir.path(), alg).unwrap();
        let (status, body) = reload(&a).await;
        assert_eq!(status, 200, "{alg}: {body}");
        assert_eq!(body["reloaded"], true);
        assert_eq!(body["previous_kid"], kid1.as_str());
        let kid2 = body["current_kid"].as_str().unwrap().to_owned();
        assert_ne!(kid2, kid1);

        // Signed before the rotation: verifies with the previous key.
        assert_eq!(a.jwt_me(&first).await.0, 200, "{alg}");
        let second = a.jwt_login(2).await;
        assert_eq!(kid_of(&second), kid2, "{alg}: new tokens carry the new kid");
        assert_eq!(a.jwt_me(&second).await.0, 200);
        // B has not reloaded: it knows the old key only.
        expect_unknown_key(&b, &second).await;
        assert_eq!(b.jwt_me(&first).await.0, 200);
        assert_eq!(
            b.state
                .metrics
                .auth_count(Scheme::Jwt, Some(AuthReason::UnknownKey)),
            1
        );
        assert_eq!(reload(&b).await.0, 200);
        assert_eq!(b.jwt_me(&second).await.0, 200, "{alg}: B reloaded");

        if alg.is_asymmetric() {
            assert_eq!(jwks_kids(&a).await, [kid2.clone(), kid1.clone()]);
        } else {
            assert!(
                jwks_kids(&a).await.is_empty(),
                "a secret is never published"
            );
        }

        rotate_key(dir.path(), alg).unwrap();
        let (status, body) = reload(&a).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["previous_kid"], kid2.as_str());
        expect_unknown_key(&a, &first).await;
        assert_eq!(a.jwt_me(&second).await.0, 200, "{alg}");
        let kid3 = body["current_kid"].as_str().unwrap().to_owned();
        if alg.is_asymmetric() {
            assert_eq!(jwks_kids(&a).await, [kid3.clone(), kid2.clone()]);
        }
        let metrics = a.metrics().await;
        let info = |kid: &str, role: &str| {
            format!(
                "authbench_jwt_key_info{{replica=\"r0\",alg=\"{alg}\",kid=\"{kid}\",role=\"{role}\"}} 1"
            )
        };
        for line in [
            "authbench_key_reloads_total{replica=\"r0\",outcome=\"ok\"} 2".to_owned(),
            "authbench_key_reloads_total{replica=\"r0\",outcome=\"error\"} 0".to_owned(),
            info(&kid3, "current"),
            info(&kid2, "previous"),
        ] {
            assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
        }
        assert!(!metrics.contains(&kid1), "the retired kid is gone");
        a.stop().await;
        b.stop().await;
    }
}

#[tokio::test]
async fn a_bad_key_file_keeps_the_keys_in_use() {
    let dir = tempfile::tempdir().unwrap();
    create_key_dir(dir.path(), &[JwtAlg::EdDsa], false).unwrap();
    let server = TestServer::start(with_key_dir(JwtAlg::EdDsa, dir.path())).await;
    let before = server.jwt_login(1).await;
    let kid = kid_of(&before);

    rotate_key(dir.path(), JwtAlg::EdDsa).unwrap();
    let current = dir.path().join("jwt-eddsa.pem");
    std::fs::write(&current, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n").unwrap();
    let (status, body) = reload(&server).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "invalid_key");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("jwt-eddsa.pem: not a valid EdDSA key"),
        "{message}"
    );
    assert!(message.contains("the keys in use are kept"), "{message}");
    assert!(!message.contains("c2VjcmV0"), "no key material: {message}");

    std::fs::remove_file(&current).unwrap();
    let (status, body) = reload(&server).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"], "key_dir_unreadable");
    assert!(body["message"].as_str().unwrap().contains("jwt-eddsa.pem"));

    // Still serving with the ring it had: old tokens verify, new ones carry the old kid.
    assert_eq!(server.jwt_me(&before).await.0, 200);
    let fresh = server.jwt_login(2).await;
    assert_eq!(kid_of(&fresh), kid);
    assert_eq!(server.jwt_me(&fresh).await.0, 200);
    assert_eq!(jwks_kids(&server).await, [kid]);
    assert!(server
        .metrics()
        .await
        .contains("authbench_key_reloads_total{replica=\"r0\",outcome=\"error\"} 2"));
    server.stop().await;
}

#[tokio::test]
async fn reload_needs_the_admin_token_and_a_key_dir() {
    let ephemeral = TestServer::start(jwt_config(JwtAlg::Hs256, Revocation::None)).await;
    let (status, body) = reload(&ephemeral).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "no_key_dir");
    assert!(body["message"].as_str().unwrap().contains("--key-dir"));
    let (status, _, body) = ephemeral
        .post_with(
            "/admin/keys/reload",
            "authorization",
            "Bearer wrong-token-123456",
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("bad_credentials"))
    );
    let response = ephemeral
        .client
        .post(ephemeral.url("/admin/keys/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, _, _) = ephemeral
        .get_with(
            "/admin/keys/reload",
            "authorization",
            &format!("Bearer {ADMIN_TOKEN}"),
        )
        .await;
    assert_eq!(status, 405);
    ephemeral.stop().await;
}

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(BIN).args(args).arg(dir).output().unwrap()
}

#[test]
fn keys_rotate_prints_the_kids_and_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["keys", "--rotate", "--alg", "ES256", "--out"], dir.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("jwt-es256.pem does not exist"), "{stderr}");
    let output = run(&["keys", "--rotate", "--out"], dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no key to rotate"), "{stderr}");

    assert!(run(&["keys", "--alg", "HS256", "--out"], dir.path())
        .status
        .success());
    let output = run(&["keys", "--rotate", "--force", "--out"], dir.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--rotate and --force"), "{stderr}");

    let output = run(&["keys", "--rotate", "--out"], dir.path());
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let ring = bench_server::jwt::KeyRing::load(dir.path(), JwtAlg::Hs256).unwrap();
    let line = stdout.lines().next().unwrap();
    assert!(line.starts_with("HS256: wrote "), "{stdout}");
    assert!(
        line.contains(&format!("kid {}", ring.current().kid())),
        "{stdout}"
    );
    assert!(
        line.contains(&format!("kid {}", ring.previous().unwrap().kid())),
        "{stdout}"
    );
    assert!(!line.contains("retired"), "{stdout}");
    let again = run(&["keys", "--rotate", "--alg", "hs256", "--out"], dir.path());
    assert!(String::from_utf8_lossy(&again.stdout).contains("older previous key is retired"));
}

/// A child process killed (by its PID) if the test ends before it does.
struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `url` until a line equals `line` (bounded: 10 s).
async fn wait_for_line(client: &reqwest::Client, url: &str, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = client.get(url).send().await.unwrap().text().await.unwrap();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{line:?} never appeared:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sighup_reloads_a_running_replica() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(&["keys", "--alg", "EdDSA", "--out"], dir.path())
        .status
        .success());
    let mut child = Replica(
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--jwt-alg", "EdDSA"])
            .args(common::cluster::QUICK_SERVE)
            .args(["--replica-id", "hup"])
            .arg("--key-dir")
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.0.id()).unwrap());
    let mut first = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let login = |user: &'static str, password: &'static str| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let body: Value = client
                .post(format!("{url}/jwt/login"))
                .json(&serde_json::json!({"username": user, "password": password}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let me = |token: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client
                .get(format!("{url}/jwt/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body["error"].as_str().map(str::to_owned))
        }
    };
    let before = login("user1", "secret-1").await;

    let rotated = run(&["keys", "--rotate", "--out"], dir.path());
    assert!(rotated.status.success());
    let ring = bench_server::jwt::KeyRing::load(dir.path(), JwtAlg::EdDsa).unwrap();
    let new_kid = ring.current().kid().to_owned();
    assert_eq!(ring.previous().unwrap().kid(), kid_of(&before));

    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    wait_for_line(
        &client,
        &format!("{url}/metrics"),
        "authbench_key_reloads_total{replica=\"hup\",outcome=\"ok\"} 1",
    )
    .await;
    let after = login("user2", "secret-2").await;
    assert_eq!(
        kid_of(&after),
        new_kid,
        "signed with the new key after SIGHUP"
    );
    assert_eq!(me(after).await, (200, None));
    assert_eq!(
        me(before.clone()).await,
        (200, None),
        "previous key verifies"
    );

    // A second rotation and SIGHUP retire the first key.
    assert!(run(&["keys", "--rotate", "--out"], dir.path())
        .status
        .success());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    wait_for_line(
        &client,
        &format!("{url}/metrics"),
        "authbench_key_reloads_total{replica=\"hup\",outcome=\"ok\"} 2",
    )
    .await;
    assert_eq!(me(before).await, (401, Some("unknown_key".to_owned())));

    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.0.wait().unwrap();
    assert!(
        status.success(),
        "graceful exit after SIGHUPs, got {status}"
    );
}
