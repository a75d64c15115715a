//! The command line: flag errors name the flag and value; the real binary prints its address
//! first, serves, and stops cleanly on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bench_server::cli::{Cli, Command as Sub};
use clap::Parser;

const BIN: &str = env!("CARGO_BIN_EXE_bench-server");

fn parse_error(args: &[&str]) -> String {
    Cli::try_parse_from(args).unwrap_err().to_string()
}

#[test]
fn bad_flag_values_name_the_flag_and_the_value() {
    let err = parse_error(&["bench-server", "serve", "--jwt-alg", "HS999"]);
    assert!(err.contains("--jwt-alg") && err.contains("HS999"), "{err}");
    let err = parse_error(&["bench-server", "serve", "--session-store", "disk"]);
    assert!(
        err.contains("--session-store") && err.contains("disk"),
        "{err}"
    );
    let err = parse_error(&["bench-server", "serve", "--jwt-ttl", "soon"]);
    assert!(err.contains("--jwt-ttl") && err.contains("soon"), "{err}");
    let err = parse_error(&["bench-server", "serve", "--password-hash-cost", "m=lots"]);
    assert!(
        err.contains("--password-hash-cost") && err.contains("lots"),
        "{err}"
    );
    let err = parse_error(&["bench-server", "serve", "--listen", "nowhere"]);
    assert!(err.contains("--listen") && err.contains("nowhere"), "{err}");
    let err = parse_error(&["bench-server", "serve", "--crypto-backend", "openssl"]);
    assert!(
        err.contains("--crypto-backend") && err.contains("openssl"),
        "{err}"
    );
}

#[test]
fn flags_become_a_config() {
    let cli = Cli::try_parse_from([
        "bench-server",
        "serve",
        "--jwt-alg",
        "eddsa",
        "--revocation",
        "token-version",
        "--session-ttl",
        "90s",
        "--users",
        "10000",
        "--inject-cpu-us",
        "250",
    ])
    .unwrap();
    let Sub::Serve(args) = cli.command else {
        panic!("serve")
    };
    let config = bench_server::ServerConfig::from(&*args);
    assert_eq!(config.jwt_alg, bench_server::jwt::JwtAlg::EdDsa);
    assert_eq!(
        config.revocation,
        bench_server::config::Revocation::TokenVersion
    );
    assert_eq!(config.session_ttl.as_secs(), 90);
    assert_eq!(config.users, 10_000);
    assert_eq!(config.inject_cpu, std::time::Duration::from_micros(250));
    let err = parse_error(&["bench-server", "serve", "--inject-cpu-us", "lots"]);
    assert!(
        err.contains("--inject-cpu-us") && err.contains("lots"),
        "{err}"
    );
}

#[tokio::test]
async fn binary_prints_its_address_serves_and_stops_on_sigterm() {
    let keys = tempfile::tempdir().unwrap();
    let status = Command::new(BIN)
        .args(["keys", "--alg", "ES256", "--out"])
        .arg(keys.path())
        .status()
        .unwrap();
    assert!(status.success());

    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--users", "5"])
        .args([
            "--password-hash-cost",
            "m=64,t=1,p=1",
            "--replica-id",
            "cli-1",
        ])
        .arg("--key-dir")
        .arg(keys.path())
        .env("AUTHBENCH_JWT_ALG", "ES256")
        .env("AUTHBENCH_INJECT_CPU_US", "20")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {first:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let client = reqwest::Client::new();
    let response = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-replica"], "cli-1");
    let jwks: serde_json::Value = client
        .get(format!("{url}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwks["keys"][0]["alg"], "ES256",
        "env var selected the algorithm"
    );
    // The admin token came from the key directory.
    let token = std::fs::read_to_string(keys.path().join("admin.token")).unwrap();
    let response = client
        .post(format!("{url}/admin/users/user1/logout"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // AUTHBENCH_INJECT_CPU_US reached the replica: a JWT check burnt CPU.
    let login: serde_json::Value = client
        .post(format!("{url}/jwt/login"))
        .json(&serde_json::json!({"username": "user1", "password": "secret-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{login}"));
    let me = client
        .get(format!("{url}/jwt/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("authbench_injected_cpu_checks_total{replica=\"cli-1\"} 1"),
        "{metrics}"
    );

    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit, got {status}");
}

#[test]
fn startup_errors_name_the_flag_and_exit_non_zero() {
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--session-store",
            "redis",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--redis-url"), "{stderr}");

    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--key-dir",
            "/nonexistent/keys",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/keys/jwt-hs256.secret"),
        "{stderr}"
    );
}

#[test]
fn keys_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(["keys", "--alg", "HS256", "--out"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let again = run(&[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(run(&["--force"]).status.success());
    let bad = Command::new(BIN)
        .args(["keys", "--alg", "PS512", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--alg"));
}
