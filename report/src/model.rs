//! The suite's run document, `run.json`: every measurement of one `loadgen suite` run, with
//! enough context to re-render the report (`loadgen report`) and to compare runs
//! (`loadgen compare`) without the machine that made it.
//!
//! Only measurements live here; verdicts, projections and comparisons are computed from them
//! by the report and compare modules, so a better analysis re-reads old runs. Its JSON Schema
//! is `report/schema/suite-run.schema.json`; tests validate output against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::cost_part::{CostPart, CostRound, CostSample};
pub use crate::deployment::{DeploymentRun, KeyRotation};
pub use crate::measure::{Percentiles, Second};
pub use crate::network::{Hop, HopRtt, Network, NetworkProfile};
pub use crate::vocabulary::{
    Alg, Auth, Balancer, CryptoBackend, FaultKind, Policy, Revocation, StateKind, Store, Trigger,
};

/// Version of `run.json`; bumped on any incompatible change.
pub const SUITE_SCHEMA_VERSION: u32 = 1;

/// One suite run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRun {
    /// [`SUITE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool and its version.
    pub tool: ToolInfo,
    /// The run's label (the last part of its folder name).
    pub label: String,
    /// The command line as given.
    pub command: Vec<String>,
    /// Start, seconds since the Unix epoch.
    pub started_at_unix: f64,
    /// Wall time of the whole suite, seconds.
    pub wall_seconds: f64,
    /// Interrupted (Ctrl-C): only the parts that finished are here.
    pub partial: bool,
    /// How the suite was asked to run.
    pub options: SuiteOptions,
    /// The machine and the software versions.
    pub env: Env,
    /// Parts that did not run, and how to enable them.
    pub skipped: Vec<Skipped>,
    /// Load cells: one configuration under one load, measured `trials` times.
    pub cells: Vec<Cell>,
    /// Bytes of server-side state per session, per revoked token, per token version.
    pub state_cost: Vec<StateCost>,
    /// Credential sizes per scheme, algorithm and claim payload.
    pub token_sizes: Vec<TokenSize>,
    /// Time from logout / force-logout until every replica rejects the credential.
    pub revocation: Vec<RevocationWindow>,
    /// Runs with a replica killed, Redis restarted, or replicas churned.
    pub faults: Vec<FaultRun>,
    /// The shared store's own measured capacity (for the scale-out projection).
    pub store_capacity: Option<StoreCapacity>,
    /// What a login's session cookie looked like (claim S5); absent from runs that did not
    /// record it.
    #[serde(default)]
    pub session_security: Option<SessionSecurity>,
    /// The cost part: per configuration, paired rounds of the no-auth baseline and the
    /// configuration on the same saturated replica; absent from runs made before it existed.
    #[serde(default)]
    pub cost: Vec<CostPart>,
    /// The deployment part: load balancer + long-lived servers vs API gateway + functions
    /// under one bursty load (A1, A2); absent from runs made before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<DeploymentRun>,
    /// A signing key rotated under load through the gateway; absent when not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_rotation: Option<KeyRotation>,
    /// Set when the suite ran against a deployment file (`loadgen suite --deployment FILE`,
    /// bring your own cluster) instead of starting local clusters; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetInfo>,
}

/// The deployment a run measured when it was given a deployment file (never its admin token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// The file's `name`.
    pub name: String,
    /// Where the load went (the deployment's balancer or ingress).
    pub entry_url: String,
    /// Replicas probed and scraped directly (0: none given).
    pub replicas: usize,
    /// Whether Redis `INFO` was read.
    pub redis: bool,
    /// Whether an admin token was given (the token itself is never recorded).
    pub admin_token: bool,
    /// The fault hooks given, by name.
    #[serde(default)]
    pub hooks: Vec<String>,
}

/// Tool identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// `loadgen`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// How the suite was asked to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteOptions {
    /// The matrix: `default`, `quick`, or the TOML file given.
    pub matrix: String,
    /// Trials per load cell.
    pub trials: u32,
    /// Sessions (and revoked tokens) seeded to measure state cost.
    pub sessions: u64,
    /// Measured length of one load cell trial, seconds.
    pub cell_seconds: f64,
    /// Warm-up before each trial, seconds (sent, not recorded).
    pub warmup_seconds: f64,
    /// Redis used: `spawned` (a redis-server child per cluster), `external`, or `none`.
    pub redis: String,
    /// Extra CPU the replicas were told to burn per verification / lookup, µs (a
    /// regression-gate test knob; 0 in real runs).
    pub slowdown_us: u64,
}

/// The machine and software versions (also written alone as `env.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Env {
    /// The command line.
    pub command: Vec<String>,
    /// Host name.
    pub hostname: String,
    /// `uname -sr`-like kernel string.
    pub kernel: String,
    /// CPU model from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Cores the process may run on.
    pub cores: usize,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// Git commit of the working tree, with `-dirty` when it had changes.
    pub git_commit: Option<String>,
    /// `rustc --version` at run time, when available.
    pub rustc: Option<String>,
    /// Versions of the crates that decide the numbers (loadgen, bench-server, jsonwebtoken…).
    pub crates: BTreeMap<String, String>,
    /// `redis-server --version`.
    pub redis: Option<String>,
    /// `haproxy -v`.
    pub haproxy: Option<String>,
    /// `nginx -v`.
    pub nginx: Option<String>,
}

/// A part of the matrix that did not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// What did not run (e.g. `Redis cells`).
    pub what: String,
    /// Why.
    pub reason: String,
    /// How to enable it.
    pub enable: String,
}

/// The server and cluster configuration of a cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellConfig {
    /// Scheme (or none for the baseline).
    pub auth: Auth,
    /// Session store, or JWT revocation store.
    pub store: Store,
    /// JWT algorithm; `None` for sessions.
    pub alg: Option<Alg>,
    /// JWT revocation strategy; `None` for sessions.
    pub revocation: Option<Revocation>,
    /// JWT crypto backend; `None` for sessions.
    pub crypto_backend: Option<CryptoBackend>,
    /// Extra claim bytes in every JWT.
    pub extra_claim_bytes: usize,
    /// Replica processes.
    pub replicas: usize,
    /// Balancer.
    pub balancer: Balancer,
    /// Balancer policy (`none` without a balancer).
    pub policy: Policy,
    /// Network distance between the tiers (absent: loopback, as in runs before it existed).
    #[serde(default, skip_serializing_if = "Network::is_loopback")]
    pub network: Network,
}

impl CellConfig {
    /// A short human name, e.g. `jwt HS256 · redis denylist · 3× builtin round-robin`.
    pub fn describe(&self) -> String {
        let mut out = match self.auth {
            Auth::None => "no auth (/healthz)".to_owned(),
            Auth::Session => format!("session · {}", self.store),
            Auth::Jwt => {
                let alg = self.alg.map_or("?", Alg::as_str);
                match self.revocation {
                    None | Some(Revocation::None) => format!("jwt {alg}"),
                    Some(strategy) => format!("jwt {alg} · {} {strategy}", self.store),
                }
            }
        };
        if let Some(backend) = self.crypto_backend.filter(|b| *b != CryptoBackend::AwsLc) {
            out.push_str(&format!(" ({backend})"));
        }
        if self.extra_claim_bytes > 0 {
            out.push_str(&format!(" +{} B claims", self.extra_claim_bytes));
        }
        if self.replicas > 1 || self.balancer != Balancer::None {
            out.push_str(&format!(
                " · {}× {} {}",
                self.replicas, self.balancer, self.policy
            ));
        }
        if !self.network.is_loopback() {
            out.push_str(&format!(" · {}", self.network.describe()));
        }
        out
    }

    /// A short, stable slug, e.g. `jwt-es256-rust-crypto/r1` or
    /// `session-memory/r3-builtin-sticky-cookie`: the second half of cell and part ids.
    pub fn slug(&self) -> String {
        let mut s = match self.auth {
            Auth::None => "healthz".to_owned(),
            Auth::Session => format!("session-{}", self.store),
            Auth::Jwt => {
                let mut s = format!("jwt-{}", self.alg.map_or("?", Alg::as_str).to_lowercase());
                if let Some(r) = self.revocation.filter(|r| r.revokes()) {
                    s.push_str(&format!("-{r}-{}", self.store));
                }
                if let Some(b) = self.crypto_backend.filter(|b| *b != CryptoBackend::AwsLc) {
                    s.push_str(&format!("-{b}"));
                }
                s
            }
        };
        if self.extra_claim_bytes > 0 {
            s.push_str(&format!("-claims{}", self.extra_claim_bytes));
        }
        s.push_str(&format!("/r{}", self.replicas));
        if self.balancer != Balancer::None {
            s.push_str(&format!("-{}-{}", self.balancer, self.policy));
        }
        if !self.network.is_loopback() {
            s.push_str(&format!("@{}", self.network.slug()));
        }
        s
    }
}

/// How load is offered to a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "model")]
pub enum Load {
    /// Constant arrival rate, latency from the intended send time.
    Open {
        /// Requests per second.
        rate: f64,
    },
    /// Fixed number of users sending back to back (finds the maximum throughput).
    Closed {
        /// Concurrent users.
        concurrency: usize,
    },
}

/// One configuration under one load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Stable identifier, unique in the run, e.g. `rate/jwt-hs256/r1`; compare matches cells
    /// of two runs by it.
    pub id: String,
    /// What the cell is for: `equal-rate` (same offered rate, for costs and added latency),
    /// `scaling` (closed loop, throughput vs replicas), `balancing` (stickiness and spread),
    /// `claims` (token size vs throughput).
    pub group: String,
    /// Server and cluster.
    pub config: CellConfig,
    /// Offered load.
    pub load: Load,
    /// Virtual users.
    pub users: usize,
    /// Warm-up before each trial, seconds (absent in runs before it was recorded: the
    /// options' `warmup_seconds` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_seconds: Option<f64>,
    /// Measured trials, in the order run. With several trials, the trials of a group's cells
    /// took turns (trial 1 of each cell, then trial 2 …), so equal indices ran side by side.
    pub trials: Vec<Trial>,
    /// Round trips measured through each hop's link when the cell started (empty on
    /// loopback).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<HopRtt>,
}

/// One measured trial of a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Authenticated requests in the measured window.
    pub requests: u64,
    /// Of which errors (status ≥ 400 or no response).
    pub errors: u64,
    /// Measured window, seconds.
    pub window_seconds: f64,
    /// `requests / window_seconds`.
    pub throughput_rps: f64,
    /// Request latency.
    pub latency: Latency,
    /// Responses by status code.
    pub status: BTreeMap<String, u64>,
    /// Exchanges without a response, by cause.
    pub failures: BTreeMap<String, u64>,
    /// 401s by the server's reason.
    pub unauthorized: BTreeMap<String, u64>,
    /// 503s by the `error` code of their body (`store_unavailable`, `no_backend`, …); empty
    /// (and absent from the JSON) when there were none, and in runs recorded before it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unavailable: BTreeMap<String, u64>,
    /// Logins by cause (`first`, `renew`, `logout`, or the 401 reason).
    pub logins: BTreeMap<String, u64>,
    /// Requests served per replica (`X-Replica`), measured window.
    pub replicas: BTreeMap<String, u64>,
    /// Bytes on the wire.
    pub bytes: WireBytes,
    /// Server-side CPU over the measured window.
    pub cpu: CpuCost,
    /// Store operations per authenticated request, counted by the replicas.
    pub store_ops_per_request: Option<f64>,
    /// Exchanges the replicas counted over the whole trial (all phases, warm-up included);
    /// `None` when a replica could not be scraped.
    pub server_counted: Option<u64>,
    /// Exchanges loadgen sent over the whole trial (all phases, warm-up included): equal to
    /// `server_counted` when nothing was lost on the way.
    #[serde(default)]
    pub exchanges: u64,
    /// The trial's HdrHistogram interval log, relative to the run folder.
    pub hdr_log: Option<String>,
    /// Per-second requests, errors, p50 and p99 (corrected).
    pub timeline: Vec<Second>,
}

impl Trial {
    /// Errors ÷ requests (0 when nothing ran).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    /// Share of requests rejected with 401.
    pub fn unauthorized_share(&self) -> f64 {
        let n = self.status.get("401").copied().unwrap_or(0);
        if self.requests == 0 {
            0.0
        } else {
            n as f64 / self.requests as f64
        }
    }

    /// Coefficient of variation of requests per replica (standard deviation ÷ mean), over
    /// `replicas` replicas (those that served nothing count as zero).
    pub fn imbalance_cv(&self, replicas: usize) -> f64 {
        let n = replicas.max(self.replicas.len());
        if n < 2 {
            return 0.0;
        }
        // The idle replicas are counted, not stored: `replicas` comes from run.json, and a
        // vector of that many zeros was an allocation a damaged file could make abort.
        let idle = (n - self.replicas.len()) as f64;
        let counts = || self.replicas.values().map(|&c| c as f64);
        let mean = counts().sum::<f64>() / n as f64;
        if mean == 0.0 {
            return 0.0;
        }
        let served = counts().map(|c| (c - mean).powi(2)).sum::<f64>();
        let var = (served + idle * mean.powi(2)) / n as f64;
        var.sqrt() / mean
    }
}

/// Latency of the authenticated requests, µs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// From the intended send time (coordinated omission corrected).
    pub corrected: Percentiles,
    /// From the actual send time.
    pub uncorrected: Percentiles,
    /// The corrected percentile spectrum, for the log-scaled percentile chart.
    pub spectrum: Vec<SpectrumPoint>,
}

/// One point of a percentile spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpectrumPoint {
    /// Percentile, 0–100.
    pub percentile: f64,
    /// Latency at it, µs.
    pub us: u64,
}

/// Mean bytes per authenticated request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct WireBytes {
    /// Request (head and body).
    pub sent: f64,
    /// Response.
    pub received: f64,
    /// The credential header line (`Cookie: …` or `Authorization: Bearer …`).
    pub credential_header: f64,
}

/// Server-side CPU spent over a trial's measured window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct CpuCost {
    /// Replica processes, seconds (sum of `process_cpu_seconds_total` deltas).
    pub app_seconds: f64,
    /// The balancer process, seconds.
    pub balancer_seconds: Option<f64>,
    /// redis-server, seconds (`INFO cpu` delta).
    pub store_seconds: Option<f64>,
    /// Replica CPU per authenticated request, µs.
    pub app_us_per_request: f64,
    /// Balancer CPU per request, µs.
    pub balancer_us_per_request: Option<f64>,
    /// Redis CPU per request, µs.
    pub store_us_per_request: Option<f64>,
    /// App + store CPU per request, µs (the balancer is reported apart: both schemes pay it).
    pub total_us_per_request: f64,
}

/// Bytes of server-side state per entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateCost {
    /// What is stored: a session, a deny-list entry (one per revoked token) or a token
    /// version (one per user).
    pub kind: StateKind,
    /// Where.
    pub store: Store,
    /// Entries added.
    pub entries: u64,
    /// What was measured: `replica_rss` or `redis_used_memory`.
    pub measured: String,
    /// Bytes before seeding.
    pub bytes_before: u64,
    /// Bytes after.
    pub bytes_after: u64,
    /// `(after − before) / entries`.
    pub bytes_per_entry: f64,
}

/// The size of a credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenSize {
    /// Scheme.
    pub auth: Auth,
    /// JWT algorithm.
    pub alg: Option<Alg>,
    /// Extra claim bytes in the token.
    pub extra_claim_bytes: usize,
    /// The credential itself (session ID or compact JWT), bytes.
    pub credential_bytes: u64,
    /// The header line that carries it on every request, bytes.
    pub header_bytes: u64,
}

impl TokenSize {
    /// Whether the credential fits in one 4096-byte cookie (name, `=`, value).
    pub fn fits_cookie(&self) -> bool {
        self.credential_bytes + 4 <= 4096
    }
}

/// How long a logged-out credential keeps working.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevocationWindow {
    /// Scheme.
    pub auth: Auth,
    /// Session store, or JWT revocation store.
    pub store: Store,
    /// JWT revocation strategy.
    pub revocation: Option<Revocation>,
    /// Logout by the holder, or force-logout by an admin.
    pub trigger: Trigger,
    /// Replicas probed (each directly, not through the balancer).
    pub replicas: usize,
    /// Replicas that accepted the credential before the trigger.
    pub accepted_before: usize,
    /// Replicas rejecting it by the end of the observation.
    pub rejected_after: usize,
    /// From the trigger's response to the first probe round in which every replica
    /// rejected the credential, ms; `None` when some replica still accepted it at the end.
    pub window_ms: Option<f64>,
    /// How long the probes ran, ms.
    pub observed_ms: f64,
    /// The credential's lifetime (the worst-case window when nothing revokes it), seconds.
    pub credential_ttl_seconds: f64,
    /// With refresh tokens (`refresh`): whether the refresh token worked before the trigger
    /// (on the replica that issued it) and whether it still worked after (it must not: the
    /// trigger deleted it); `None` without refresh tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshCheck>,
    /// Behind the gateway: what its authorizer did (probes then go through the entry, where
    /// the decision is made); absent for replicas probed directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<crate::deployment::GatewaySettings>,
}

/// Whether a refresh token was accepted before and after a logout or force-logout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshCheck {
    /// A refresh before the trigger gave new tokens.
    pub accepted_before: bool,
    /// A refresh after the trigger gave new tokens (a revocation failure).
    pub accepted_after: bool,
}

/// A run with a fault injected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRun {
    /// Stable identifier, e.g. `kill-replica/session-memory`.
    pub id: String,
    /// The fault.
    pub kind: FaultKind,
    /// Server and cluster.
    pub config: CellConfig,
    /// Offered rate, requests per second.
    pub rate: f64,
    /// Seconds since the start of the measured window at which faults were injected.
    pub fault_at_seconds: Vec<f64>,
    /// The run, with its per-second timeline.
    pub trial: Trial,
    /// Seconds of the timeline with at least one error.
    pub error_seconds: u64,
    /// From the first fault to the first error-free second after the last error, seconds;
    /// `None` when errors lasted to the end.
    pub recovery_seconds: Option<f64>,
}

/// The shared store's capacity, measured directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreCapacity {
    /// What was measured, e.g. `redis GET, 50 connections, unpipelined`.
    pub method: String,
    /// Operations per second.
    pub ops_per_second: f64,
    /// Concurrent connections.
    pub connections: usize,
}

/// The session cookie as issued at login, for the hijacking checks (claim S5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSecurity {
    /// The `Set-Cookie` attributes after the value, as sent (e.g. `HttpOnly`,
    /// `SameSite=Lax`, `Path=/`, `Max-Age=3600`).
    pub cookie_attributes: Vec<String>,
    /// Random bits in one session ID (decoded bytes × 8).
    pub id_bits: u32,
    /// Session IDs collected from logins.
    pub ids_sampled: u64,
    /// How many of them were distinct.
    pub ids_distinct: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial_with(replicas: &[(&str, u64)]) -> Trial {
        Trial {
            requests: replicas.iter().map(|r| r.1).sum(),
            errors: 0,
            window_seconds: 1.0,
            throughput_rps: 0.0,
            latency: Latency {
                corrected: Percentiles::default(),
                uncorrected: Percentiles::default(),
                spectrum: Vec::new(),
            },
            status: BTreeMap::new(),
            failures: BTreeMap::new(),
            unauthorized: BTreeMap::new(),
            unavailable: BTreeMap::new(),
            logins: BTreeMap::new(),
            replicas: replicas
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            bytes: WireBytes::default(),
            cpu: CpuCost::default(),
            store_ops_per_request: None,
            server_counted: None,
            exchanges: 0,
            hdr_log: None,
            timeline: Vec::new(),
        }
    }

    fn results_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results")
    }

    /// The reference run reads into the typed model and writes back byte for byte, the way
    /// the suite writes `run.json` (`fsutil::write_atomically`: pretty JSON and a newline).
    #[test]
    fn the_reference_run_round_trips_byte_for_byte() {
        let path = results_dir().join("2026-12-04-vm-default/run.json");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let run: SuiteRun = serde_json::from_slice(&bytes).unwrap();
        let mut again = serde_json::to_vec_pretty(&run).unwrap();
        again.push(b'\n');
        assert!(
            again == bytes,
            "{} changed on a round trip through SuiteRun",
            path.display()
        );
    }

    /// Every run document kept under `results/` still reads (names outside the vocabulary
    /// would fail here).
    #[test]
    fn every_kept_run_reads() {
        fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.file_name().is_some_and(|n| n == "run.json") {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(&results_dir(), &mut found);
        assert!(
            !found.is_empty(),
            "no run.json under {}",
            results_dir().display()
        );
        for path in found {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Err(e) = serde_json::from_str::<SuiteRun>(&text) {
                panic!("{}: {e}", path.display());
            }
        }
    }

    #[test]
    fn imbalance_counts_idle_replicas() {
        assert_eq!(trial_with(&[("r0", 100), ("r1", 100)]).imbalance_cv(2), 0.0);
        let all_on_one = trial_with(&[("r0", 300)]).imbalance_cv(3);
        assert!((all_on_one - 2f64.sqrt()).abs() < 1e-9, "{all_on_one}");
        // Found by the fuzz target: a huge replica count from a damaged run.json aborted on
        // allocation.
        let huge = trial_with(&[("r0", 300)]).imbalance_cv(usize::MAX);
        assert!(huge.is_finite() && huge > 1e9, "{huge}");
    }
}
