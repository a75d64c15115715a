//! wrk2's demonstration: a target that stalls for one second mid-run. With few connections,
//! timing from the actual send hides the stall (only the requests in flight see it); timing
//! from the intended send shows it, because every request scheduled during the stall waited.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use loadgen::record::Phase;
use loadgen::result::RunResult;
use tokio::time::Instant;

#[derive(Clone, Default)]
struct Stall {
    served: Arc<AtomicU64>,
    until: Arc<Mutex<Option<Instant>>>,
}

async fn me(State(stall): State<Stall>) -> Json<serde_json::Value> {
    let n = stall.served.fetch_add(1, Ordering::SeqCst);
    let wait_until = {
        let mut until = stall.until.lock().unwrap();
        if n == 200 {
            *until = Some(Instant::now() + Duration::from_secs(1));
        }
        *until
    };
    if let Some(t) = wait_until {
        tokio::time::sleep_until(t).await;
    }
    Json(serde_json::json!({"user": "user0"}))
}

async fn login() -> Json<serde_json::Value> {
    Json(serde_json::json!({"access_token": "t.t.t", "token_type": "Bearer", "expires_in": 3600}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_corrected_percentiles_only() {
    let app = Router::new()
        .route("/jwt/login", post(login))
        .route("/jwt/me", get(me))
        .route("/jwt/logout", post(login))
        .with_state(Stall::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // 200 rps for 4 s with two users: the stall starts after one second.
    let plan = common::plan(&[
        "--target",
        &url,
        "--scheme",
        "jwt",
        "--rate",
        "200",
        "--duration",
        "4s",
        "--users",
        "2",
    ]);
    let outcome = common::run(plan.clone()).await;
    let result = RunResult::new(&plan, &outcome, vec![]);
    let request = &result.phases[&Phase::Request];
    assert_eq!(request.count, 800);
    // ~200 requests were due during the stall: they all waited, which the corrected
    // percentiles show …
    assert!(
        request.corrected.p99_us >= 500_000,
        "{:?}",
        request.corrected
    );
    assert!(
        request.corrected.p90_us >= 100_000,
        "{:?}",
        request.corrected
    );
    // … while timing from the actual send sees just the two requests in flight.
    assert!(
        request.uncorrected.p99_us < 100_000,
        "{:?}",
        request.uncorrected
    );
    assert!(
        request.uncorrected.max_us >= 900_000,
        "{:?}",
        request.uncorrected
    );
    assert!(
        request.late_starts >= 150,
        "late starts are counted: {}",
        request.late_starts
    );
    assert!(
        result.summary.max_backlog >= 150,
        "backlog: {}",
        result.summary.max_backlog
    );
    server.abort();
}
