//! The result file: a versioned JSON document describing one run completely — the command,
//! the plan, every count and percentile — written atomically. Its JSON Schema is
//! `loadgen/schema/run-result.schema.json`; tests validate output against it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::engine::RunOutcome;
use crate::plan::Plan;
use crate::record::{Percentiles, Phase, PhaseStats, Second};

/// Version of the result format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Serialises a duration as fractional seconds.
pub fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Tool identity.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// `loadgen`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// One phase in the result.
#[derive(Debug, Serialize)]
pub struct PhaseResult {
    /// Exchanges in the measured window.
    pub count: u64,
    /// Of which errors (status ≥ 400 or no response).
    pub errors: u64,
    /// Latency from the intended send time.
    pub corrected: Percentiles,
    /// Latency from the actual send time.
    pub uncorrected: Percentiles,
    /// Responses by status code.
    pub status: BTreeMap<String, u64>,
    /// Exchanges without a response, by cause (`connect`, `timeout`, `io`).
    pub failures: BTreeMap<String, u64>,
    /// 401s by the server's reason.
    pub unauthorized: BTreeMap<String, u64>,
    /// Exchanges sent more than 1 ms after their intended time.
    pub late_starts: u64,
    /// Mean request bytes (HTTP/1.1 head and body).
    pub bytes_sent_mean: f64,
    /// Mean response bytes.
    pub bytes_received_mean: f64,
    /// Mean bytes of the credential header line.
    pub credential_header_bytes_mean: f64,
}

impl PhaseResult {
    fn from(stats: &PhaseStats) -> Self {
        let count = stats.count();
        let mean = |total: u64| {
            if count == 0 {
                0.0
            } else {
                (total as f64 / count as f64 * 10.0).round() / 10.0
            }
        };
        PhaseResult {
            count,
            errors: stats.errors(),
            corrected: Percentiles::of(&stats.corrected),
            uncorrected: Percentiles::of(&stats.uncorrected),
            status: stats
                .status
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            failures: stats
                .failures
                .iter()
                .map(|(k, v)| {
                    let name = serde_json::to_value(k)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    (name, *v)
                })
                .collect(),
            unauthorized: stats.unauthorized.clone(),
            late_starts: stats.late_starts,
            bytes_sent_mean: mean(stats.bytes_out),
            bytes_received_mean: mean(stats.bytes_in),
            credential_header_bytes_mean: mean(stats.credential_bytes),
        }
    }
}

/// Headline numbers.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Authenticated requests in the measured window.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Length of the measured window (first intended send to last response), seconds.
    pub window_seconds: f64,
    /// `requests / window_seconds`.
    pub throughput_rps: f64,
    /// Scheduled (open) or started (closed) requests, warm-up included.
    pub dispatched: u64,
    /// Requests excluded as warm-up (all phases).
    pub warmup_samples: u64,
    /// Largest backlog of scheduled requests waiting for a free user (open loop).
    pub max_backlog: u64,
    /// Run length, seconds.
    pub elapsed_seconds: f64,
}

/// The whole result document.
#[derive(Debug, Serialize)]
pub struct RunResult<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool.
    pub tool: Tool,
    /// The command line as given.
    pub command: Vec<String>,
    /// Start, seconds since the Unix epoch.
    pub started_at_unix: f64,
    /// Interrupted before the plan finished.
    pub partial: bool,
    /// The plan.
    pub plan: &'a Plan,
    /// Headline numbers.
    pub summary: Summary,
    /// Per phase.
    pub phases: BTreeMap<Phase, PhaseResult>,
    /// Logins by cause.
    pub logins: BTreeMap<String, u64>,
    /// Responses per serving replica (`X-Replica`).
    pub replicas: BTreeMap<String, u64>,
    /// Per-second authenticated requests, errors and corrected p50/p99.
    pub timeline: Vec<Second>,
}

impl<'a> RunResult<'a> {
    /// The result of `outcome` under `plan`, launched by `command`.
    pub fn new(plan: &'a Plan, outcome: &RunOutcome, command: Vec<String>) -> Self {
        let r = &outcome.recorder;
        let request = r.phase(Phase::Request);
        let window = r
            .window
            .map_or(0.0, |(first, last)| (last - first).as_secs_f64());
        let requests = request.count();
        RunResult {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "loadgen",
                version: env!("CARGO_PKG_VERSION"),
            },
            command,
            started_at_unix: outcome
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            partial: outcome.partial,
            plan,
            summary: Summary {
                requests,
                errors: request.errors(),
                window_seconds: (window * 1000.0).round() / 1000.0,
                throughput_rps: if window > 0.0 {
                    (requests as f64 / window * 10.0).round() / 10.0
                } else {
                    0.0
                },
                dispatched: outcome.dispatched,
                warmup_samples: r.warmup_samples,
                max_backlog: outcome.max_backlog,
                elapsed_seconds: (outcome.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            },
            phases: r
                .phases
                .iter()
                .map(|(phase, stats)| (*phase, PhaseResult::from(stats)))
                .collect(),
            logins: r.logins.clone(),
            replicas: r.replicas.clone(),
            timeline: r.timeline.clone(),
        }
    }
}

/// Writes `value` as pretty JSON to `path` atomically: a temporary file in the same folder,
/// flushed, then renamed over the destination, so a crash never leaves half a result.
pub fn write_atomically<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_bytes_atomically(path, &bytes)
}

/// Writes `bytes` to `path` atomically (temporary file, sync, rename).
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "result".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    let result = write();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
