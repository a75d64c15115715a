//! `--inject-cpu-us`: every session lookup and JWT verification burns the configured CPU and
//! counts it in `/metrics`; requests without a credential do not; off by default.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bench_server::config::ServerConfig;
use common::{config, TestServer};

/// The value of an unlabelled-but-for-replica metric line.
fn metric(text: &str, name: &str) -> f64 {
    let prefix = format!("{name}{{replica=\"r0\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn every_credential_check_burns_the_injected_cpu() {
    let server = TestServer::start(ServerConfig {
        inject_cpu: Duration::from_micros(300),
        ..config()
    })
    .await;
    let sid = server.session_login(1).await;
    let token = server.jwt_login(2).await;
    assert_eq!(server.session_me(&sid).await, 200);
    assert_eq!(server.jwt_me(&token).await.0, 200);
    // No credential: rejected before any lookup, so nothing is burnt.
    let (status, _, _) = server.get_with("/jwt/me", "x-nothing", "1").await;
    assert_eq!(status, 401);

    let text = server.metrics().await;
    assert_eq!(metric(&text, "authbench_injected_cpu_checks_total"), 2.0);
    // The burn spins until the monotonic clock has passed the budget, so this is exact
    // arithmetic, not timing luck.
    let seconds = metric(&text, "authbench_injected_cpu_seconds_total");
    assert!(seconds >= 600e-6, "{seconds}");
    server.stop().await;
}

#[tokio::test]
async fn off_by_default() {
    let server = TestServer::start(config()).await;
    let sid = server.session_login(1).await;
    assert_eq!(server.session_me(&sid).await, 200);
    let text = server.metrics().await;
    assert_eq!(metric(&text, "authbench_injected_cpu_checks_total"), 0.0);
    assert_eq!(metric(&text, "authbench_injected_cpu_seconds_total"), 0.0);
    server.stop().await;
}
