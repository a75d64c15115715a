//! The example's cost part: every authenticated equal-rate configuration, six paired rounds
//! each, with a deterministic wobble that pairing must see through.

use super::cells::equal_rate_cells;
use crate::model::{Auth, CostPart, CostRound, CostSample};

/// Rounds per configuration.
const ROUNDS: usize = 6;
/// Measured seconds per side.
const SECONDS: f64 = 0.3;

/// Added µs per request (app, store) by configuration slug, shaped after
/// `results/bench-server/` and the suite's cost part on a 2-core machine.
fn added(id: &str) -> (f64, f64) {
    match id {
        "rate/session-memory" => (0.3, 0.0),
        "rate/session-redis" => (13.5, 6.5),
        "rate/jwt-hs256" => (5.2, 0.0),
        "rate/jwt-rs256" => (16.0, 0.0),
        "rate/jwt-es256" => (67.0, 0.0),
        "rate/jwt-eddsa" => (41.0, 0.0),
        "rate/jwt-hs256-denylist-redis" => (18.9, 6.4),
        "rate/jwt-hs256-token-version-redis" => (19.2, 6.3),
        "rate/jwt-hs256-denylist-memory" => (5.6, 0.0),
        "rate/jwt-es256-rust-crypto" => (190.0, 0.0),
        _ => (0.0, 0.0),
    }
}

fn sample(us_per_request: f64, store_us: Option<f64>, wobble: f64) -> CostSample {
    let per_request = us_per_request * wobble;
    let requests = (SECONDS * 1e6 / per_request).round() as u64;
    let cpu = requests as f64 * per_request / 1e6;
    CostSample {
        requests,
        logins: 0,
        errors: 0,
        seconds: SECONDS,
        app_user_seconds: cpu * 0.45,
        app_system_seconds: cpu * 0.55,
        store_seconds: store_us.map(|s| requests as f64 * (0.02 + s * wobble) / 1e6),
    }
}

/// One cost part per authenticated equal-rate cell of the example.
pub(super) fn cost_parts() -> Vec<CostPart> {
    // Machine drift shared by both sides of a round, and a little that is not.
    const DRIFT: [f64; ROUNDS] = [1.00, 1.12, 0.94, 1.05, 0.97, 1.08];
    const JITTER: [f64; ROUNDS] = [0.010, -0.015, 0.020, -0.005, 0.012, -0.018];
    let baseline_us = 18.0;
    equal_rate_cells()
        .into_iter()
        .filter(|c| c.config.auth != Auth::None)
        .map(|c| {
            let (app, store) = added(&c.id);
            let redis = c.config.store == crate::model::Store::Redis;
            let rounds = (0..ROUNDS)
                .map(|i| CostRound {
                    baseline: sample(baseline_us, redis.then_some(0.0), DRIFT[i]),
                    case: sample(
                        baseline_us + app,
                        redis.then_some(store),
                        DRIFT[i] * (1.0 + JITTER[i]),
                    ),
                })
                .collect();
            CostPart {
                config: c.config,
                concurrency: 16,
                seconds: SECONDS,
                warmup_seconds: 0.1,
                worker_threads: 1,
                server_core: Some(0),
                client_cores: vec![1],
                rounds,
            }
        })
        .collect()
}
