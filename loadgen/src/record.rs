//! Recording: every completed exchange becomes a [`Sample`], sent to one recorder task that
//! owns all histograms, so the send loop never takes a lock.
//!
//! Latency is kept in HdrHistograms in microseconds (1 µs to 60 s, 3 significant digits), per
//! phase, twice: *corrected* from the intended send time and *uncorrected* from the actual
//! send. Seconds are finalised as the run moves on (p50/p99 per second), so memory stays flat
//! however long the run is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::time::Instant;

pub use authbench_report::measure::{Percentiles, Second};

use crate::http::Failure;

/// Highest latency recorded, µs (longer ones are clamped to it and counted).
pub const MAX_LATENCY_US: u64 = 60_000_000;

/// What a sample was part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// First login of a user, or after a rejection / logout.
    Login,
    /// An authenticated request from the mix.
    Request,
    /// Renewal ahead of the credential's expiry: a refresh when the server issued a refresh
    /// token (`--revocation refresh`), a login otherwise.
    Renew,
    /// Logout.
    Logout,
}

impl Phase {
    /// All phases.
    pub const ALL: [Phase; 4] = [Phase::Login, Phase::Request, Phase::Renew, Phase::Logout];
}

/// How an exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP response with this status.
    Status(u16),
    /// No response.
    Failed(Failure),
}

/// One completed exchange.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Phase.
    pub phase: Phase,
    /// When it was meant to be sent (open loop) or was sent (closed loop).
    pub intended: Instant,
    /// When it was sent.
    pub sent: Instant,
    /// When the response was complete (or the failure known).
    pub done: Instant,
    /// Result.
    pub outcome: Outcome,
    /// The `error` code of a 401's or 503's JSON body.
    pub reason: Option<Arc<str>>,
    /// Why a login happened (`first`, `renew`, `logout`, or the 401 reason that forced it).
    pub login_cause: Option<Arc<str>>,
    /// `X-Replica` of the response.
    pub replica: Option<Arc<str>>,
    /// Request bytes.
    pub bytes_out: u64,
    /// Response bytes.
    pub bytes_in: u64,
    /// Bytes of the credential header line sent (0 when none).
    pub credential_bytes: u64,
    /// `X-Cold-Start-Us` of the response: the exchange waited for a function instance to
    /// start, which took this long by the pool's clock.
    pub cold_start_us: Option<u64>,
}

/// A latency histogram with the project's fixed range and precision.
pub fn new_histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, sigfig).unwrap_or_else(|_| {
        // The bounds are constants that hdrhistogram accepts; this is unreachable.
        Histogram::new(sigfig).unwrap_or_else(|_| unreachable!("hdrhistogram rejects sigfig"))
    })
}

/// Compresses a histogram (V2-deflate, the interval log's encoding).
pub fn encode(h: &Histogram<u64>) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Serialising into a Vec cannot fail for a valid histogram.
    let _ = V2DeflateSerializer::new().serialize(h, &mut bytes);
    bytes
}

/// One interval of one tag (`request-corrected`, `request-uncorrected`), compressed; the
/// interval log is written from these.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Start, relative to the run's start.
    pub offset: Duration,
    pub length: Duration,
    pub tag: String,
    /// [`encode`]d histogram.
    pub encoded: Vec<u8>,
}

fn micros(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_LATENCY_US)
}

/// Everything recorded about one phase.
#[derive(Debug, Clone)]
pub struct PhaseStats {
    /// From the intended send time.
    pub corrected: Histogram<u64>,
    /// From the actual send time.
    pub uncorrected: Histogram<u64>,
    /// Responses by status.
    pub status: BTreeMap<u16, u64>,
    /// Exchanges without a response, by cause.
    pub failures: BTreeMap<Failure, u64>,
    /// 401s by the server's reason.
    pub unauthorized: BTreeMap<String, u64>,
    /// 503s by the `error` code of their body: `store_unavailable` (a replica's or the
    /// gateway's store did not answer), `no_backend` (the balancer), `jwks_unavailable`;
    /// `unknown` without one.
    pub unavailable: BTreeMap<String, u64>,
    /// Request bytes.
    pub bytes_out: u64,
    /// Response bytes.
    pub bytes_in: u64,
    /// Credential header bytes.
    pub credential_bytes: u64,
    /// Exchanges sent more than 1 ms after their intended time.
    pub late_starts: u64,
}

impl PhaseStats {
    fn new() -> Self {
        PhaseStats {
            corrected: new_histogram(3),
            uncorrected: new_histogram(3),
            status: BTreeMap::new(),
            failures: BTreeMap::new(),
            unauthorized: BTreeMap::new(),
            unavailable: BTreeMap::new(),
            bytes_out: 0,
            bytes_in: 0,
            credential_bytes: 0,
            late_starts: 0,
        }
    }

    /// Exchanges recorded.
    pub fn count(&self) -> u64 {
        self.status.values().sum::<u64>() + self.failures.values().sum::<u64>()
    }

    /// Exchanges that did not end in 2xx/3xx.
    pub fn errors(&self) -> u64 {
        let bad_status: u64 = self
            .status
            .iter()
            .filter(|(code, _)| **code >= 400)
            .map(|(_, n)| n)
            .sum();
        bad_status + self.failures.values().sum::<u64>()
    }
}

/// Exchanges that waited for a function instance to start (a response with
/// `X-Cold-Start-Us`): their own latency class, since no session store or key causes it.
#[derive(Debug, Clone)]
pub struct ColdStartStats {
    /// Corrected latency of the exchanges that waited for a cold start, every phase.
    pub latency: Histogram<u64>,
    /// The start-up time the pool reported for each (process start to ready).
    pub startup: Histogram<u64>,
    /// Corrected latency of the authenticated requests that did not wait for one.
    pub warm_requests: Histogram<u64>,
    /// Cold starts by phase.
    pub phases: BTreeMap<Phase, u64>,
}

impl ColdStartStats {
    fn new() -> Self {
        ColdStartStats {
            latency: new_histogram(3),
            startup: new_histogram(3),
            warm_requests: new_histogram(3),
            phases: BTreeMap::new(),
        }
    }

    /// Exchanges that waited for a cold start.
    pub fn count(&self) -> u64 {
        self.phases.values().sum()
    }
}

#[derive(Debug)]
struct OpenSecond {
    requests: u64,
    errors: u64,
    latency: Histogram<u64>,
    uncorrected: Histogram<u64>,
}

/// Collects samples; owned by the recorder task.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    warmup_end: Instant,
    /// Per phase, measured window only.
    pub phases: BTreeMap<Phase, PhaseStats>,
    /// Requests per serving replica (every phase, measured window).
    pub replicas: BTreeMap<String, u64>,
    /// Samples that completed inside the warm-up.
    pub warmup_samples: u64,
    /// The cold-start latency class (empty unless a function pool answered).
    pub cold_starts: ColdStartStats,
    /// Logins by cause (`first`, `renew`, `logout`, or a 401 reason such as `expired`).
    pub logins: BTreeMap<String, u64>,
    /// Finalised seconds.
    pub timeline: Vec<Second>,
    /// Per-second request histograms, compressed, for the interval log.
    pub intervals: Vec<Interval>,
    open: BTreeMap<u64, OpenSecond>,
    /// First and last completion in the measured window.
    pub window: Option<(Instant, Instant)>,
}

impl Recorder {
    /// A recorder for a run that started at `start` and warms up until `warmup_end`.
    pub fn new(start: Instant, warmup_end: Instant) -> Self {
        Recorder {
            start,
            warmup_end,
            phases: Phase::ALL.iter().map(|p| (*p, PhaseStats::new())).collect(),
            replicas: BTreeMap::new(),
            warmup_samples: 0,
            cold_starts: ColdStartStats::new(),
            logins: BTreeMap::new(),
            timeline: Vec::new(),
            intervals: Vec::new(),
            open: BTreeMap::new(),
            window: None,
        }
    }

    /// Records one sample.
    pub fn record(&mut self, s: &Sample) {
        if s.intended < self.warmup_end {
            self.warmup_samples += 1;
            return;
        }
        self.window = Some(match self.window {
            None => (s.intended, s.done),
            Some((first, last)) => (first.min(s.intended), last.max(s.done)),
        });
        let corrected = micros(s.intended, s.done);
        let stats = self.phases.entry(s.phase).or_insert_with(PhaseStats::new);
        stats.corrected.saturating_record(corrected);
        stats.uncorrected.saturating_record(micros(s.sent, s.done));
        if s.sent.saturating_duration_since(s.intended).as_micros() > 1000 {
            stats.late_starts += 1;
        }
        stats.bytes_out += s.bytes_out;
        stats.bytes_in += s.bytes_in;
        stats.credential_bytes += s.credential_bytes;
        match s.cold_start_us {
            Some(startup) => {
                let cold = &mut self.cold_starts;
                cold.latency.saturating_record(corrected);
                cold.startup
                    .saturating_record(startup.clamp(1, MAX_LATENCY_US));
                *cold.phases.entry(s.phase).or_default() += 1;
            }
            None if s.phase == Phase::Request => {
                self.cold_starts.warm_requests.saturating_record(corrected);
            }
            None => {}
        }
        let error = match s.outcome {
            Outcome::Status(code) => {
                *stats.status.entry(code).or_default() += 1;
                let by_reason = match code {
                    401 => Some(&mut stats.unauthorized),
                    503 => Some(&mut stats.unavailable),
                    _ => None,
                };
                if let Some(counts) = by_reason {
                    let reason = s.reason.as_deref().unwrap_or("unknown").to_owned();
                    *counts.entry(reason).or_default() += 1;
                }
                code >= 400
            }
            Outcome::Failed(failure) => {
                *stats.failures.entry(failure).or_default() += 1;
                true
            }
        };
        if let Some(cause) = &s.login_cause {
            *self.logins.entry(cause.to_string()).or_default() += 1;
        }
        if let Some(replica) = &s.replica {
            match self.replicas.get_mut(&**replica) {
                Some(n) => *n += 1,
                None => {
                    self.replicas.insert(replica.to_string(), 1);
                }
            }
        }
        if s.phase == Phase::Request {
            let second = s.done.saturating_duration_since(self.start).as_secs();
            if self.timeline.last().is_some_and(|last| second <= last.t) {
                // A straggler for a finalised second: count it there (its percentiles stay).
                if let Ok(i) = self.timeline.binary_search_by_key(&second, |s| s.t) {
                    self.timeline[i].requests += 1;
                    self.timeline[i].errors += u64::from(error);
                }
                return;
            }
            // Batches arrive up to a few hundred ms late: keep two seconds open.
            self.finalise_before(second.saturating_sub(2));
            let open = self.open.entry(second).or_insert_with(|| OpenSecond {
                requests: 0,
                errors: 0,
                latency: new_histogram(3),
                uncorrected: new_histogram(3),
            });
            open.requests += 1;
            open.errors += u64::from(error);
            open.latency.saturating_record(corrected);
            open.uncorrected.saturating_record(micros(s.sent, s.done));
        }
    }

    /// Finalises every open second before `second`.
    fn finalise_before(&mut self, second: u64) {
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= second {
                break;
            }
            let (t, open) = entry.remove_entry();
            for (tag, histogram) in [
                ("request-corrected", &open.latency),
                ("request-uncorrected", &open.uncorrected),
            ] {
                self.intervals.push(Interval {
                    offset: Duration::from_secs(t),
                    length: Duration::from_secs(1),
                    tag: tag.to_owned(),
                    encoded: encode(histogram),
                });
            }
            self.timeline.push(Second {
                t,
                requests: open.requests,
                errors: open.errors,
                p50_us: open.latency.value_at_quantile(0.5),
                p99_us: open.latency.value_at_quantile(0.99),
            });
        }
    }

    /// Finalises everything still open; call once, at the end.
    pub fn finish(&mut self) {
        self.finalise_before(u64::MAX);
    }

    /// Stats of one phase.
    pub fn phase(&self, phase: Phase) -> &PhaseStats {
        // Every phase is inserted at construction.
        &self.phases[&phase]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(start: Instant, intended_ms: u64, sent_ms: u64, done_ms: u64, status: u16) -> Sample {
        Sample {
            phase: Phase::Request,
            intended: start + Duration::from_millis(intended_ms),
            sent: start + Duration::from_millis(sent_ms),
            done: start + Duration::from_millis(done_ms),
            outcome: Outcome::Status(status),
            reason: (status == 401).then(|| Arc::from("expired")),
            login_cause: None,
            replica: Some(Arc::from("r1")),
            bytes_out: 100,
            bytes_in: 200,
            credential_bytes: 50,
            cold_start_us: None,
        }
    }

    #[test]
    fn corrected_latency_counts_from_the_intended_time() {
        let start = Instant::now();
        let mut r = Recorder::new(start, start + Duration::from_millis(100));
        r.record(&sample(start, 50, 50, 51, 200)); // warm-up
        r.record(&sample(start, 1000, 1500, 1502, 200)); // sent 500 ms late
        r.record(&sample(start, 2000, 2000, 2001, 401));
        r.finish();
        let req = r.phase(Phase::Request);
        assert_eq!(r.warmup_samples, 1);
        assert_eq!(req.count(), 2);
        assert_eq!(req.errors(), 1);
        assert_eq!(req.late_starts, 1);
        assert_eq!(req.unauthorized["expired"], 1);
        assert!(req.corrected.max() >= 501_000);
        assert!(req.uncorrected.max() < 3_000);
        assert_eq!(r.replicas["r1"], 2);
        assert_eq!(req.bytes_out, 200);
        assert_eq!(r.timeline.len(), 2);
        assert_eq!(r.timeline[0].t, 1);
        assert_eq!(r.timeline[1].errors, 1);
    }

    #[test]
    fn a_503_is_classified_by_its_error_code() {
        let start = Instant::now();
        let mut r = Recorder::new(start, start);
        let mut store = sample(start, 10, 10, 260, 503);
        store.reason = Some(Arc::from("store_unavailable"));
        r.record(&store);
        r.record(&store);
        let mut balancer = sample(start, 20, 20, 21, 503);
        balancer.reason = Some(Arc::from("no_backend"));
        r.record(&balancer);
        r.record(&sample(start, 30, 30, 31, 503));
        let req = r.phase(Phase::Request);
        assert_eq!(req.status[&503], 4);
        assert_eq!(req.errors(), 4);
        let by_code: Vec<(&str, u64)> = req
            .unavailable
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            by_code,
            [("no_backend", 1), ("store_unavailable", 2), ("unknown", 1)]
        );
        assert!(req.unauthorized.is_empty());
    }

    #[test]
    fn cold_starts_are_their_own_class() {
        let start = Instant::now();
        let mut r = Recorder::new(start, start);
        r.record(&sample(start, 10, 10, 12, 200));
        let mut cold = sample(start, 20, 20, 320, 200);
        cold.cold_start_us = Some(295_000);
        r.record(&cold);
        let mut login = sample(start, 30, 30, 330, 200);
        login.phase = Phase::Login;
        login.cold_start_us = Some(290_000);
        r.record(&login);
        r.finish();
        let c = &r.cold_starts;
        assert_eq!(c.count(), 2);
        assert_eq!(c.phases[&Phase::Request], 1);
        assert_eq!(c.phases[&Phase::Login], 1);
        assert!(c.latency.min() >= 299_000);
        assert!(c.startup.max() >= 294_000);
        // The warm class holds the other request only.
        assert_eq!(c.warm_requests.len(), 1);
        assert!(c.warm_requests.max() < 3_000);
        // Cold starts still count in their phase's totals.
        assert_eq!(r.phase(Phase::Request).count(), 2);
    }

    #[test]
    fn percentiles_of_an_empty_histogram_are_zero() {
        let p = Percentiles::of(&new_histogram(3));
        assert_eq!(p.count, 0);
        assert_eq!(p.max_us, 0);
    }
}
