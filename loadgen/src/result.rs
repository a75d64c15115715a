//! The result file: a versioned JSON document describing one run completely — the command,
//! the plan, every count and percentile — written atomically. Its JSON Schema is
//! `loadgen/schema/run-result.schema.json`; tests validate output against it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::plan::Plan;
use crate::record::{ColdStartStats, Percentiles, Phase, PhaseStats, Recorder, Second};

/// Version of the result format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// What a finished run hands to the result writer.
#[derive(Debug)]
pub struct RunOutcome {
    /// Everything recorded.
    pub recorder: Recorder,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// From start to the last response.
    pub elapsed: Duration,
    /// Stopped early (Ctrl-C): the numbers cover only what ran.
    pub partial: bool,
    /// Requests the schedule handed out (open loop) or the workers started (closed loop).
    pub dispatched: u64,
    /// Largest number of scheduled requests waiting for a free worker at once (open loop):
    /// more than zero means every connection was busy, and those requests went out late —
    /// their lateness is in the corrected latency, and counted in `late_starts`.
    pub max_backlog: u64,
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
    /// 503s by the `error` code of their body (`store_unavailable`, `no_backend`, …);
    /// absent when there were none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unavailable: BTreeMap<String, u64>,
    /// Exchanges sent more than 1 ms after their intended time.
    pub late_starts: u64,
    /// Mean request bytes (HTTP/1.1 head and body).
    pub bytes_sent_mean: f64,
    /// Mean response bytes.
    pub bytes_received_mean: f64,
    /// Mean bytes of the credential header line.
    pub credential_header_bytes_mean: f64,
    /// The histograms behind `corrected` and `uncorrected`, so merges are exact.
    pub histograms: Histograms,
}

/// Latency histograms (µs), each HdrHistogram V2-deflate, base64 (as in the interval log).
#[derive(Debug, Serialize)]
pub struct Histograms {
    /// Of the corrected latency.
    pub corrected: String,
    /// Of the uncorrected latency.
    pub uncorrected: String,
}

/// A histogram as stored in [`Histograms`].
pub fn histogram_text(h: &hdrhistogram::Histogram<u64>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(crate::record::encode(h))
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
            unavailable: stats.unavailable.clone(),
            late_starts: stats.late_starts,
            bytes_sent_mean: mean(stats.bytes_out),
            bytes_received_mean: mean(stats.bytes_in),
            credential_header_bytes_mean: mean(stats.credential_bytes),
            histograms: Histograms {
                corrected: histogram_text(&stats.corrected),
                uncorrected: histogram_text(&stats.uncorrected),
            },
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
    /// Largest backlog of scheduled requests waiting for a free worker (open loop).
    pub max_backlog: u64,
    /// Run length, seconds.
    pub elapsed_seconds: f64,
}

/// The whole result document.
#[derive(Debug, Serialize)]
pub struct RunResult<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub tool: Tool,
    /// The command line as given.
    pub command: Vec<String>,
    /// Start, seconds since the Unix epoch.
    pub started_at_unix: f64,
    /// Interrupted before the plan finished.
    pub partial: bool,
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
    /// Exchanges that waited for a function instance to start; absent when none did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_starts: Option<ColdStartResult>,
    /// `--shard I/N`: which slice `plan` is, and the whole plan; absent without a shard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardResult<'a>>,
}

/// The shard of a sharded run.
#[derive(Debug, Serialize)]
pub struct ShardResult<'a> {
    /// 0-based index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// The whole plan all shards split (`plan` is this shard's slice of it).
    pub whole_plan: &'a Plan,
    /// Each second's corrected request latency histogram (the timeline's p50/p99 come from
    /// them), so `loadgen merge` computes the merged timeline's percentiles exactly.
    pub seconds: Vec<SecondHistogram>,
}

/// One second of the timeline as a histogram.
#[derive(Debug, Serialize)]
pub struct SecondHistogram {
    /// The timeline's `t`.
    pub t: u64,
    /// Corrected request latency (µs), HdrHistogram V2-deflate, base64.
    pub corrected: String,
}

/// The cold-start latency class: exchanges answered with `X-Cold-Start-Us`.
#[derive(Debug, Serialize)]
pub struct ColdStartResult {
    /// Exchanges that waited for an instance to start.
    pub count: u64,
    /// Of which, per phase.
    pub phases: BTreeMap<Phase, u64>,
    /// Their corrected latency.
    pub latency: Percentiles,
    /// The start-up time the pool reported for them.
    pub startup: Percentiles,
    /// Corrected latency of the authenticated requests that found a warm instance.
    pub warm_requests: Percentiles,
}

impl ColdStartResult {
    fn of(stats: &ColdStartStats) -> Option<Self> {
        let count = stats.count();
        (count > 0).then(|| ColdStartResult {
            count,
            phases: stats.phases.clone(),
            latency: Percentiles::of(&stats.latency),
            startup: Percentiles::of(&stats.startup),
            warm_requests: Percentiles::of(&stats.warm_requests),
        })
    }
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
            cold_starts: ColdStartResult::of(&r.cold_starts),
            shard: None,
        }
    }

    /// Records that `self.plan` is a shard of `whole` (nothing when it is not sharded), with
    /// the per-second histograms of `outcome` a merge needs.
    pub fn with_shard(mut self, whole: &'a Plan, outcome: &RunOutcome) -> Self {
        use base64::Engine as _;
        self.shard = self.plan.shard.map(|s| ShardResult {
            index: s.index,
            count: s.count,
            whole_plan: whole,
            seconds: outcome
                .recorder
                .intervals
                .iter()
                .filter(|i| i.tag == "request-corrected")
                .map(|i| SecondHistogram {
                    t: i.offset.as_secs(),
                    corrected: base64::engine::general_purpose::STANDARD.encode(&i.encoded),
                })
                .collect(),
        });
        self
    }
}
