//! loadgen against a real bench-server in process: its counts must equal the server's own,
//! re-login works, and the result validates against the committed JSON Schema.

#![allow(clippy::unwrap_used)]

mod common;

use bench_server::metrics::Route;
use loadgen::record::Phase;
use loadgen::result::RunResult;
use loadgen::schedule::Schedule;

fn schema_validator() -> jsonschema::Validator {
    let text = include_str!("../schema/run-result.schema.json");
    let schema: serde_json::Value = serde_json::from_str(text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(result: &RunResult<'_>) {
    let value = serde_json::to_value(result).unwrap();
    let validator = schema_validator();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations: {errors:#?}\n{value:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_open_loop_counts_match_the_server() {
    let server = common::Server::start().await;
    let plan = common::plan(&[
        "--target",
        &server.url,
        "--scheme",
        "jwt",
        "--rate",
        "200",
        "--duration",
        "2s",
        "--users",
        "20",
    ]);
    let stages = match &plan.model {
        loadgen::plan::LoadModel::Open { stages } => stages.clone(),
        loadgen::plan::LoadModel::Closed { .. } => unreachable!(),
    };
    let outcome = common::run(plan.clone()).await;
    let result = RunResult::new(&plan, &outcome, vec!["test".into()]);
    let m = &server.state.metrics;

    let request = &result.phases[&Phase::Request];
    assert_eq!(
        outcome.dispatched,
        Schedule::total(&stages),
        "every scheduled request went out"
    );
    assert_eq!(request.count, outcome.dispatched);
    assert_eq!(request.status["200"], m.requests_for(Route::JwtMe, 200));
    assert_eq!(request.errors, 0);
    assert_eq!(
        result.phases[&Phase::Login].count,
        m.requests_for(Route::JwtLogin, 200)
    );
    assert_eq!(
        result.phases[&Phase::Logout].count,
        m.requests_for(Route::JwtLogout, 200)
    );
    assert_eq!(result.logins["first"], 20.min(outcome.dispatched));
    assert_eq!(
        result.replicas["r0"],
        m.requests_for(Route::JwtMe, 200)
            + result.phases[&Phase::Login].count
            + result.phases[&Phase::Logout].count
    );
    assert!(
        request.credential_header_bytes_mean > 100.0,
        "a bearer token header"
    );
    assert!(request.corrected.p50_us >= request.uncorrected.p50_us);
    assert!(!result.timeline.is_empty());
    assert!(!result.partial);
    assert_valid(&result);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_closed_loop_counts_match_and_logout_every_relogs_in() {
    let server = common::Server::start().await;
    let plan = common::plan(&[
        "--target",
        &server.url,
        "--scheme",
        "session",
        "--concurrency",
        "4",
        "--requests",
        "200",
        "--users",
        "4",
        "--logout-every",
        "10",
    ]);
    let outcome = common::run(plan.clone()).await;
    let result = RunResult::new(&plan, &outcome, vec![]);
    let m = &server.state.metrics;
    let request = &result.phases[&Phase::Request];
    assert_eq!(request.count, 200);
    assert_eq!(request.status["200"], m.requests_for(Route::SessionMe, 200));
    let logins = result.phases[&Phase::Login].count;
    assert_eq!(logins, m.requests_for(Route::SessionLogin, 200));
    assert_eq!(
        result.phases[&Phase::Logout].count,
        m.requests_for(Route::SessionLogout, 200)
    );
    // 4 first logins, then one per 10 requests per user.
    assert_eq!(result.logins["first"], 4);
    assert!(result.logins["logout"] >= 16, "{:?}", result.logins);
    assert!(
        request.credential_header_bytes_mean > 40.0 && request.credential_header_bytes_mean < 70.0
    );
    assert_valid(&result);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_session_is_rejected_and_the_user_logs_in_again() {
    let server = common::Server::start().await;
    let plan = common::plan(&[
        "--target",
        &server.url,
        "--scheme",
        "session",
        "--rate",
        "100",
        "--duration",
        "3s",
        "--users",
        "1",
    ]);
    let state = server.state.clone();
    let run = tokio::spawn(common::run(plan.clone()));
    // Wait (bounded) until the user has made some requests, then end its sessions.
    let mut waited = 0;
    while state.metrics.requests_for(Route::SessionMe, 200) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 500, "the run never got going");
    }
    let deleted = state.sessions.delete_user("user0").await.unwrap();
    assert_eq!(deleted, 1);
    let outcome = run.await.unwrap();
    let result = RunResult::new(&plan, &outcome, vec![]);
    let request = &result.phases[&Phase::Request];
    assert_eq!(request.unauthorized["unknown_session"], 1);
    assert_eq!(result.logins["unknown_session"], 1);
    assert_eq!(result.logins["first"], 1);
    assert_eq!(request.status["401"], 1);
    assert_eq!(
        request.status["200"],
        request.count - 1,
        "every later request worked"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_users_share_few_connections() {
    let server = common::Server::start().await;
    let plan = common::plan(&[
        "--target",
        &server.url,
        "--scheme",
        "session",
        "--rate",
        "100",
        "--duration",
        "1s",
        "--users",
        "10",
        "--connections",
        "2",
    ]);
    assert_eq!(plan.connections, 2);
    let outcome = common::run(plan.clone()).await;
    let result = RunResult::new(&plan, &outcome, vec![]);
    // Every user logged in once and holds its own session on the server.
    assert_eq!(result.logins["first"], 10);
    assert_eq!(
        server.state.metrics.requests_for(Route::SessionLogin, 200),
        10
    );
    assert_eq!(result.phases[&Phase::Request].errors, 0);
    assert_eq!(result.phases[&Phase::Logout].count, 10);
    server.stop().await;
}

/// A server with `--revocation refresh` and 2-second access tokens.
async fn refresh_server() -> common::Server {
    common::Server::start_with(|config| bench_server::config::ServerConfig {
        revocation: bench_server::config::Revocation::Refresh,
        jwt_ttl: std::time::Duration::from_secs(2),
        ..config
    })
    .await
}

/// Two JWT users, closed loop, for 3 s, renewing 1 s before expiry — with 2-second tokens,
/// half-way through their life (the lifetime is under twice `--renew-before`).
fn renewing_plan(url: &str) -> loadgen::plan::Plan {
    common::plan(&[
        "--target",
        url,
        "--scheme",
        "jwt",
        "--concurrency",
        "2",
        "--users",
        "2",
        "--duration",
        "3s",
        "--renew-before",
        "1s",
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_refresh_tokens_renewals_refresh_instead_of_logging_in() {
    let server = refresh_server().await;
    // Every user renews at least once in 3 s, by refresh, never by password.
    let plan = renewing_plan(&server.url);
    let outcome = common::run(plan.clone()).await;
    let result = RunResult::new(&plan, &outcome, vec![]);
    let m = &server.state.metrics;
    let renewals = result.phases[&Phase::Renew].count;
    assert!(renewals >= 2, "{:?}", result.logins);
    assert_eq!(renewals, m.requests_for(Route::JwtRefresh, 200));
    assert_eq!(
        result.phases[&Phase::Login].count,
        2,
        "only the first logins"
    );
    assert_eq!(m.requests_for(Route::JwtLogin, 200), 2);
    let request = &result.phases[&Phase::Request];
    assert_eq!(request.errors, 0);
    assert_eq!(request.status["200"], m.requests_for(Route::JwtMe, 200));
    assert!(!request.status.contains_key("401"), "{:?}", request.status);
    assert_valid(&result);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_without_credentials_counts_and_validates() {
    let server = common::Server::start().await;
    let plan = common::plan(&[
        "--target",
        &server.url,
        "--scheme",
        "none",
        "--mix",
        "GET /healthz",
        "--concurrency",
        "2",
        "--users",
        "2",
        "--requests",
        "100",
    ]);
    let outcome = common::run(plan.clone()).await;
    let result = RunResult::new(&plan, &outcome, vec![]);
    let request = &result.phases[&Phase::Request];
    assert_eq!(request.count, 100);
    assert_eq!(
        request.status["200"],
        server.state.metrics.requests_for(Route::Healthz, 200)
    );
    assert!(!result.phases.contains_key(&Phase::Login) || result.phases[&Phase::Login].count == 0);
    assert_valid(&result);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_falls_back_to_logging_in() {
    let server = refresh_server().await;
    // An admin force-logs both users out every 100 ms: each refresh token is deleted long
    // before its renewal (1 s after it was issued), so every renewal is refused and the user
    // sends its password instead — while its access token never stops working.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let admin = {
        let url = server.url.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                for user in ["user0", "user1"] {
                    let response = http
                        .post(format!("{url}/admin/users/{user}/logout"))
                        .bearer_auth(common::ADMIN_TOKEN)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                }
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                }
            }
        })
    };
    let plan = renewing_plan(&server.url);
    let outcome = common::run(plan.clone()).await;
    let _ = stop.send(());
    admin.await.unwrap();
    let result = RunResult::new(&plan, &outcome, vec![]);
    let m = &server.state.metrics;
    let refused = result
        .logins
        .get("unknown_refresh_token")
        .copied()
        .unwrap_or(0);
    assert!(refused >= 2, "{:?}", result.logins);
    assert_eq!(refused, m.requests_for(Route::JwtRefresh, 401));
    assert_eq!(
        result.phases[&Phase::Login].count,
        m.requests_for(Route::JwtLogin, 200),
        "every refused refresh became a password login"
    );
    let request = &result.phases[&Phase::Request];
    assert!(!request.status.contains_key("401"), "{:?}", request.status);
    server.stop().await;
}
