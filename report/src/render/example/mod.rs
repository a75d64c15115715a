//! A synthetic but realistic [`SuiteRun`] covering every group and part the suite writes,
//! for tests, snapshots and documentation. Deterministic: no clock, no randomness.
//!
//! The figures are shaped after the project's reference measurements on a 2-core machine
//! (`results/bench-server/`): an in-process session lookup costs about 9.5 µs of replica CPU
//! per request, a Redis lookup about 15 µs plus Redis's own 3 µs, HS256 about 14 µs, RS256 40,
//! EdDSA 59 and ES256 75 µs (300 µs with pure-Rust P-256).

mod cells;
mod cost;
mod distance;
mod faults;
mod parts;
mod trial;

use crate::model::{
    Env, SessionSecurity, Skipped, Store, StoreCapacity, SuiteOptions, SuiteRun, ToolInfo,
    SUITE_SCHEMA_VERSION,
};
use cells::{balancing_cells, claims_cells, equal_rate_cells, scaling_cells};
use faults::faults;
use parts::{revocations, state_costs, token_sizes};

/// The offered rate of the example's equal-rate and balancing cells, requests/s.
pub const EXAMPLE_RATE: f64 = 2_000.0;
/// Trials per example load cell.
const TRIALS: usize = 3;
/// Seconds per example trial.
const WINDOW: f64 = 20.0;

fn env(command: &[String], redis: bool) -> Env {
    let crates = [
        ("bench-server", "0.1.0"),
        ("hyper", "1.7.0"),
        ("jsonwebtoken", "10.2.0"),
        ("loadgen", "0.1.0"),
        ("redis", "0.32.7"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Env {
        command: command.to_vec(),
        hostname: "bench-2c".to_owned(),
        kernel: "Linux 6.18.44".to_owned(),
        cpu_model: "AMD EPYC 9B14".to_owned(),
        cores: 2,
        memory_bytes: 8 * 1024 * 1024 * 1024,
        git_commit: Some("6f83f41c0ffee5eed0d15ea5e5c0ffee12345678".to_owned()),
        rustc: Some("rustc 1.95.0 (59807616e 2026-04-14)".to_owned()),
        crates,
        redis: redis.then(|| {
            "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64".to_owned()
        }),
        haproxy: None,
        nginx: None,
    }
}

/// A complete synthetic run: every group, part and fault the suite produces, with the
/// equal-rate baseline, Redis sessions and HS256 also at the same-zone network profile.
#[doc(hidden)]
pub fn example_run() -> SuiteRun {
    let command: Vec<String> = ["loadgen", "suite", "--label", "example"]
        .map(String::from)
        .to_vec();
    let mut cells = equal_rate_cells();
    cells.extend(distance::same_zone_cells());
    cells.extend(scaling_cells());
    cells.extend(balancing_cells());
    cells.extend(claims_cells());
    SuiteRun {
        schema_version: SUITE_SCHEMA_VERSION,
        tool: ToolInfo {
            name: "loadgen".to_owned(),
            version: "0.1.0".to_owned(),
        },
        label: "example".to_owned(),
        env: env(&command, true),
        command,
        started_at_unix: 1_795_000_000.0,
        wall_seconds: 1_843.0,
        partial: false,
        options: SuiteOptions {
            matrix: "default".to_owned(),
            trials: TRIALS as u32,
            sessions: 100_000,
            cell_seconds: WINDOW,
            warmup_seconds: 5.0,
            redis: "spawned".to_owned(),
            slowdown_us: 0,
        },
        skipped: Vec::new(),
        cells,
        state_cost: state_costs(),
        token_sizes: token_sizes(),
        revocation: revocations(),
        faults: faults(),
        store_capacity: Some(StoreCapacity {
            method: "redis GET, 50 connections, unpipelined".to_owned(),
            ops_per_second: 98_400.0,
            connections: 50,
        }),
        cost: cost::cost_parts(),
        deployments: Vec::new(),
        key_rotation: None,
        target: None,
        session_security: Some(SessionSecurity {
            cookie_attributes: ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1800"]
                .map(String::from)
                .to_vec(),
            id_bits: 256,
            ids_sampled: 1_000,
            ids_distinct: 1_000,
        }),
    }
}

/// [`example_run`] with every part but the load cells emptied: no state, token sizes,
/// revocation windows, faults, store capacity, session checks or cost part.
#[doc(hidden)]
pub fn example_run_without_parts() -> SuiteRun {
    let mut run = example_run();
    run.state_cost.clear();
    run.token_sizes.clear();
    run.revocation.clear();
    run.faults.clear();
    run.store_capacity = None;
    run.session_security = None;
    run.cost.clear();
    run
}

/// [`example_run`] as it looks when redis-server is missing: no Redis cells, state, windows,
/// faults or store capacity, and a [`Skipped`] entry saying how to enable them.
#[doc(hidden)]
pub fn example_run_without_redis() -> SuiteRun {
    let mut run = example_run();
    run.label = "example-no-redis".to_owned();
    run.options.redis = "none".to_owned();
    run.env.redis = None;
    run.cells
        .retain(|c| !crate::render::stats::uses_redis(&c.config));
    run.state_cost.retain(|s| s.store != Store::Redis);
    run.revocation.retain(|r| r.store != Store::Redis);
    run.faults
        .retain(|f| !crate::render::stats::uses_redis(&f.config));
    run.store_capacity = None;
    run.cost
        .retain(|p| !crate::render::stats::uses_redis(&p.config));
    run.wall_seconds = 1_212.0;
    run.skipped.push(Skipped {
        what: "Redis cells (sessions in Redis, JWT deny-list and token versions in Redis, \
               the restart-redis fault, Redis capacity)"
            .to_owned(),
        reason: "redis-server not found on PATH".to_owned(),
        enable: "install redis-server (apt-get install redis-server) and run the suite again"
            .to_owned(),
    });
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Auth;

    #[test]
    fn example_is_deterministic_and_round_trips() {
        let run = example_run();
        assert_eq!(run, example_run());
        let json = serde_json::to_string(&run).unwrap();
        let back: SuiteRun = serde_json::from_str(&json).unwrap();
        assert_eq!(back, run);
        for group in ["equal-rate", "scaling", "balancing", "claims"] {
            assert!(run.cells.iter().any(|c| c.group == group), "{group}");
        }
        let ids: std::collections::BTreeSet<&str> =
            run.cells.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), run.cells.len(), "cell ids are unique");
    }

    #[test]
    fn without_redis_has_no_redis_parts() {
        let run = example_run_without_redis();
        assert!(run
            .cells
            .iter()
            .all(|c| !crate::render::stats::uses_redis(&c.config)));
        assert!(run.store_capacity.is_none());
        assert_eq!(run.skipped.len(), 1);
        assert!(run.cells.iter().any(|c| c.config.auth == Auth::Session));
    }
}
