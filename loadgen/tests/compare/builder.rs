//! A small builder of synthetic suite runs: a few cells with deterministic jitter, written
//! as run folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use authbench_report::model::{
    Alg, Auth, Balancer, Cell, CellConfig, CpuCost, CryptoBackend, Env, Latency, Load, Policy,
    Revocation, StateCost, StateKind, Store, SuiteOptions, SuiteRun, ToolInfo, Trial, WireBytes,
    SUITE_SCHEMA_VERSION,
};
use loadgen::record::{Percentiles, Second};

/// Seconds in every synthetic trial's timeline.
pub const SECONDS: u64 = 30;

/// A deterministic value in [−1, 1] for `key` (so runs differ a little, reproducibly).
pub fn jitter(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// What one trial measured.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p99_9_us: f64,
    pub cpu_us: f64,
    pub error_rate: f64,
}

impl Shape {
    /// Every time-based value times `slow` (throughput divided by it).
    pub fn slower(self, slow: f64) -> Shape {
        Shape {
            rps: self.rps / slow,
            p50_us: self.p50_us * slow,
            p99_us: self.p99_us * slow,
            p99_9_us: self.p99_9_us * slow,
            cpu_us: self.cpu_us * slow,
            ..self
        }
    }
}

fn percentiles(count: u64, p50: u64, p99: u64, p99_9: u64) -> Percentiles {
    Percentiles {
        count,
        min_us: p50 / 2,
        mean_us: p50 as f64 * 1.2,
        p50_us: p50,
        p90_us: (p50 + p99) / 2,
        p99_us: p99,
        p99_9_us: p99_9,
        p99_99_us: p99_9 * 2,
        max_us: p99_9 * 3,
    }
}

/// A trial of `shape`, each value jittered by up to `noise` (a fraction) keyed by `key`.
pub fn trial(shape: Shape, noise: f64, key: u64) -> Trial {
    let j = |i: u64, amount: f64| 1.0 + amount * jitter(key.wrapping_mul(31).wrapping_add(i));
    let rps = shape.rps * j(1, noise);
    let p50 = (shape.p50_us * j(2, noise)).round() as u64;
    let p99 = (shape.p99_us * j(3, noise)).round() as u64;
    let p99_9 = (shape.p99_9_us * j(4, noise)).round() as u64;
    let requests = (rps * SECONDS as f64).round() as u64;
    let errors = (requests as f64 * shape.error_rate).round() as u64;
    let timeline = (0..SECONDS)
        .map(|t| {
            let k = 100 + t * 7;
            Second {
                t,
                requests: (rps * j(k, noise / 2.0)).round() as u64,
                errors: errors / SECONDS,
                p50_us: (p50 as f64 * j(k + 1, noise / 2.0)).round() as u64,
                p99_us: (p99 as f64 * j(k + 2, noise / 2.0)).round() as u64,
            }
        })
        .collect();
    let cpu = shape.cpu_us * j(5, noise);
    Trial {
        requests,
        errors,
        window_seconds: SECONDS as f64,
        throughput_rps: rps,
        latency: Latency {
            corrected: percentiles(requests, p50, p99, p99_9),
            uncorrected: percentiles(requests, p50, p99 / 2, p99_9 / 2),
            spectrum: Vec::new(),
        },
        status: BTreeMap::from([("200".to_owned(), requests - errors)]),
        failures: BTreeMap::new(),
        unauthorized: BTreeMap::new(),
        unavailable: BTreeMap::new(),
        logins: BTreeMap::new(),
        replicas: BTreeMap::from([("r0".to_owned(), requests)]),
        bytes: WireBytes::default(),
        cpu: CpuCost {
            app_seconds: cpu * requests as f64 / 1e6,
            balancer_seconds: None,
            store_seconds: None,
            app_us_per_request: cpu,
            balancer_us_per_request: None,
            store_us_per_request: None,
            total_us_per_request: cpu,
        },
        store_ops_per_request: None,
        server_counted: Some(requests),
        exchanges: 0,
        hdr_log: None,
        timeline,
    }
}

/// A cell configuration for `auth` with one replica and no balancer.
pub fn config(auth: Auth) -> CellConfig {
    CellConfig {
        auth,
        store: Store::Memory,
        alg: (auth == Auth::Jwt).then_some(Alg::Hs256),
        revocation: (auth == Auth::Jwt).then_some(Revocation::None),
        crypto_backend: (auth == Auth::Jwt).then_some(CryptoBackend::AwsLc),
        extra_claim_bytes: 0,
        replicas: 1,
        balancer: Balancer::None,
        policy: Policy::RoundRobin,
        network: Default::default(),
    }
}

/// Builds one synthetic run.
#[derive(Debug, Clone)]
pub struct RunBuilder {
    run: SuiteRun,
}

impl From<SuiteRun> for RunBuilder {
    fn from(run: SuiteRun) -> Self {
        RunBuilder { run }
    }
}

impl RunBuilder {
    /// An empty run labelled `label`, made on host `ci-1` at commit `commit`.
    pub fn new(label: &str, commit: &str) -> RunBuilder {
        RunBuilder {
            run: SuiteRun {
                schema_version: SUITE_SCHEMA_VERSION,
                tool: ToolInfo {
                    name: "loadgen".into(),
                    version: "0.1.0".into(),
                },
                label: label.into(),
                command: vec!["loadgen".into(), "suite".into(), "--quick".into()],
                started_at_unix: 1_700_000_000.0,
                wall_seconds: 40.0,
                partial: false,
                options: SuiteOptions {
                    matrix: "quick".into(),
                    trials: 1,
                    sessions: 10_000,
                    cell_seconds: SECONDS as f64,
                    warmup_seconds: 1.0,
                    redis: "none".into(),
                    slowdown_us: 0,
                },
                env: Env {
                    hostname: "ci-1".into(),
                    kernel: "Linux 6.1".into(),
                    cpu_model: "Synthetic CPU @ 3 GHz".into(),
                    cores: 2,
                    memory_bytes: 8 << 30,
                    git_commit: Some(commit.into()),
                    ..Env::default()
                },
                skipped: Vec::new(),
                cells: Vec::new(),
                state_cost: Vec::new(),
                token_sizes: Vec::new(),
                revocation: Vec::new(),
                faults: Vec::new(),
                store_capacity: None,
                session_security: None,
                cost: Vec::new(),
                deployments: Vec::new(),
                key_rotation: None,
                target: None,
            },
        }
    }

    /// Sets the host name.
    pub fn host(mut self, host: &str) -> RunBuilder {
        self.run.env.hostname = host.into();
        self
    }

    /// Sets `--slowdown-us`.
    pub fn slowdown(mut self, us: u64) -> RunBuilder {
        self.run.options.slowdown_us = us;
        self
    }

    /// Adds a cell.
    pub fn cell(
        mut self,
        id: &str,
        group: &str,
        config: CellConfig,
        load: Load,
        trials: Vec<Trial>,
    ) -> RunBuilder {
        self.run.cells.push(Cell {
            id: id.into(),
            group: group.into(),
            config,
            load,
            users: 100,
            warmup_seconds: None,
            trials,
            hops: Vec::new(),
        });
        self
    }

    /// Adds a state cost entry.
    pub fn state(mut self, kind: StateKind, store: Store, bytes_per_entry: f64) -> RunBuilder {
        let entries = 10_000;
        self.run.state_cost.push(StateCost {
            kind,
            store,
            entries,
            measured: "replica_rss".into(),
            bytes_before: 50 << 20,
            bytes_after: (50 << 20) + (bytes_per_entry * entries as f64) as u64,
            bytes_per_entry,
        });
        self
    }

    /// Replaces the bytes per entry of the `kind` state cost entries.
    pub fn state_bytes(mut self, kind: StateKind, bytes_per_entry: f64) -> RunBuilder {
        for s in self.run.state_cost.iter_mut().filter(|s| s.kind == kind) {
            s.bytes_per_entry = bytes_per_entry;
            s.bytes_after = s.bytes_before + (bytes_per_entry * s.entries as f64) as u64;
        }
        self
    }

    /// The run.
    pub fn build(self) -> SuiteRun {
        self.run
    }
}

/// Writes `run` as `dir/run.json` (creating `dir`); returns the file.
pub fn write_run(dir: &Path, run: &SuiteRun) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("run.json");
    std::fs::write(&path, serde_json::to_vec_pretty(run).unwrap()).unwrap();
    path
}

/// How the candidate differs from a plain run.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    /// Time-based values of every cell (the whole machine or every route), × this.
    pub everything: f64,
    /// Time-based values of the JWT cells only, × this.
    pub jwt: f64,
    /// Bytes per session × this.
    pub session_bytes: f64,
}

impl Change {
    /// No change.
    pub const NONE: Change = Change {
        everything: 1.0,
        jwt: 1.0,
        session_bytes: 1.0,
    };
}

const CLOSED_CELL: u64 = 4;

/// A quick-suite-like run: the no-auth baseline cell, a session cell and a JWT cell at
/// 2000 requests/s, a closed-loop JWT cell, and two state cost entries; `trials` trials per
/// cell with 3 % noise keyed by `run_key`.
pub fn standard_run(
    label: &str,
    commit: &str,
    run_key: u64,
    trials: usize,
    change: Change,
) -> RunBuilder {
    let open = Load::Open { rate: 2000.0 };
    let base = Shape {
        rps: 2000.0,
        p50_us: 180.0,
        p99_us: 900.0,
        p99_9_us: 2500.0,
        cpu_us: 40.0,
        error_rate: 0.0,
    };
    let session = Shape {
        p50_us: 210.0,
        p99_us: 1100.0,
        cpu_us: 55.0,
        ..base
    };
    let jwt = Shape {
        p50_us: 230.0,
        p99_us: 1200.0,
        cpu_us: 70.0,
        ..base
    };
    let closed = Shape {
        rps: 9000.0,
        p50_us: 2000.0,
        p99_us: 6000.0,
        p99_9_us: 9000.0,
        cpu_us: 90.0,
        error_rate: 0.0,
    };
    // An open-loop cell keeps its offered rate when slower; a closed-loop one loses rate.
    let make = |shape: Shape, cell: u64, extra: f64| -> Vec<Trial> {
        let mut slower = shape.slower(change.everything * extra);
        if cell != CLOSED_CELL {
            slower.rps = shape.rps;
        }
        (0..trials as u64)
            .map(|i| trial(slower, 0.03, run_key * 1000 + cell * 10 + i))
            .collect()
    };
    RunBuilder::new(label, commit)
        .cell(
            "rate/none",
            "equal-rate",
            config(Auth::None),
            open.clone(),
            make(base, 1, 1.0),
        )
        .cell(
            "rate/session-memory",
            "equal-rate",
            config(Auth::Session),
            open.clone(),
            make(session, 2, 1.0),
        )
        .cell(
            "rate/jwt-hs256",
            "equal-rate",
            config(Auth::Jwt),
            open,
            make(jwt, 3, change.jwt),
        )
        .cell(
            "scale/jwt-hs256/c64",
            "scaling",
            config(Auth::Jwt),
            Load::Closed { concurrency: 64 },
            make(closed, CLOSED_CELL, change.jwt),
        )
        .state(
            StateKind::Session,
            Store::Memory,
            420.0 * change.session_bytes * (1.0 + 0.01 * jitter(run_key)),
        )
        .state(
            StateKind::Denylist,
            Store::Memory,
            130.0 * (1.0 + 0.01 * jitter(run_key + 1)),
        )
}
