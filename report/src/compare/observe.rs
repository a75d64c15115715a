//! What is tested for each metric of a cell: one group of observations per trial.
//!
//! # Trials, and seconds inside trials
//!
//! A trial's own value (its throughput, its whole-window p99…) is the primary observation;
//! with the 3–5 trials a CI run can afford that is little data. For **throughput, p50 and
//! p99** each trial also has a per-second timeline, and the seconds are used as extra
//! observations, grouped by trial, when that is sound:
//!
//! * the first and last second are dropped (the window rarely starts or ends on a second
//!   boundary, so they are partial), and at least [`MIN_SECONDS`] must remain;
//! * a per-second percentile must rest on enough samples: every second used needs at least
//!   [`MIN_REQUESTS_P50`] requests for p50 and [`MIN_REQUESTS_P99`] for p99 (10 samples
//!   beyond the 99th percentile);
//! * either every trial of both sides qualifies, or none is used that way for that metric
//!   (the test then compares like with like).
//!
//! Seconds of one trial are not independent — the process, the caches and the neighbours
//! on the machine are the same for all of them — so they are never pooled as if they were:
//! the bootstrap resamples whole trials first and seconds within them second (see
//! [`stats`](super::stats)). The seconds sharpen the estimate of each trial; the spread
//! between trials still sets the width of the interval. p99.9 per second would rest on a
//! handful of samples and CPU is only measured per trial, so those two, and the error rate,
//! use trial values only.
//!
//! # Normalisation
//!
//! When normalising, a CPU-per-request value is divided by the in-run baseline cell's (no
//! authentication) in the same run and trial, so drift of the machine between runs cancels;
//! trials without that partner are left out (and counted). Latency and throughput are never
//! normalised ([`Metric::normalisable`]).

use crate::model::Trial;

use super::metric::Metric;
use super::pool::{Pooled, PooledCell, TrialRef};

/// Fewest interior seconds (first and last dropped) for a trial's timeline to be used.
pub const MIN_SECONDS: usize = 3;
/// Fewest requests in every used second for per-second p50s.
pub const MIN_REQUESTS_P50: u64 = 20;
/// Fewest requests in every used second for per-second p99s.
pub const MIN_REQUESTS_P99: u64 = 1000;

/// Fewest requests in every trial for its tail percentile to be tested: at least 50
/// samples must lie beyond it (5 000 for p99, 50 000 for p99.9). A short `--quick` cell at
/// 1000 requests/s (15 samples beyond p99) has neither tested: a same-build check of the
/// quick suite saw such p99s move 2–3× between identical runs.
pub fn min_trial_requests(metric: Metric) -> u64 {
    match metric {
        Metric::P99 => 5_000,
        Metric::P99_9 => 50_000,
        _ => 0,
    }
}

/// Which observations a metric was tested on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// One value per trial.
    Trials,
    /// The interior seconds of each trial, grouped by trial.
    Seconds,
    /// The cost part's rounds of each run, grouped by run.
    Rounds,
}

/// The observations of one metric of one cell on one side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observations {
    /// Per trial: its value, or its per-second values (normalised when asked).
    pub groups: Vec<Vec<f64>>,
    /// Per trial: its value (normalised when asked), for the rank test.
    pub trial_values: Vec<f64>,
    /// Raw (never normalised) trial values, for display.
    pub raw: Vec<f64>,
    /// Trials left out: no value (no requests, CPU not measured) or no baseline-cell partner.
    pub dropped: usize,
}

/// A trial's own value of `metric`; `None` when it has none (latency and CPU of a trial
/// without requests, CPU that was not measured).
pub fn trial_value(metric: Metric, trial: &Trial) -> Option<f64> {
    let requests = trial.requests;
    let latency = &trial.latency.corrected;
    match metric {
        Metric::Throughput => Some(trial.throughput_rps),
        Metric::P50 if requests > 0 => Some(latency.p50_us as f64),
        Metric::P99 if requests > 0 => Some(latency.p99_us as f64),
        Metric::P99_9 if requests > 0 => Some(latency.p99_9_us as f64),
        Metric::Cpu if requests > 0 && trial.cpu.total_us_per_request > 0.0 => {
            Some(trial.cpu.total_us_per_request)
        }
        Metric::ErrorRate if requests > 0 => Some(trial.error_rate()),
        _ => None,
    }
}

/// A trial's interior per-second values of `metric`, when they qualify (module docs).
pub fn second_values(metric: Metric, trial: &Trial) -> Option<Vec<f64>> {
    let timeline = &trial.timeline;
    if timeline.len() < MIN_SECONDS + 2 {
        return None;
    }
    let interior = &timeline[1..timeline.len() - 1];
    let min_requests = match metric {
        Metric::Throughput => 0,
        Metric::P50 => MIN_REQUESTS_P50,
        Metric::P99 => MIN_REQUESTS_P99,
        _ => return None,
    };
    if interior.iter().any(|s| s.requests < min_requests) {
        return None;
    }
    Some(
        interior
            .iter()
            .map(|s| match metric {
                Metric::P50 => s.p50_us as f64,
                Metric::P99 => s.p99_us as f64,
                _ => s.requests as f64,
            })
            .collect(),
    )
}

/// Whether every trial of `cell` has qualifying seconds for `metric`.
pub fn seconds_usable(metric: Metric, cell: &PooledCell<'_>) -> bool {
    !cell.trials.is_empty()
        && cell
            .trials
            .iter()
            .all(|t| second_values(metric, t.trial).is_some())
}

/// The observations of `metric` for `cell`; `normalise_by` is the side (its in-run baseline
/// cells) to normalise against, or `None` for raw values.
pub fn observe(
    metric: Metric,
    cell: &PooledCell<'_>,
    basis: Basis,
    normalise_by: Option<&Pooled<'_>>,
) -> Observations {
    let mut out = Observations::default();
    for t in &cell.trials {
        let Some(raw) = trial_value(metric, t.trial) else {
            out.dropped += 1;
            continue;
        };
        let divisor = match normalise_by {
            None => 1.0,
            Some(side) => match reference_value(metric, side, t) {
                Some(d) => d,
                None => {
                    out.dropped += 1;
                    continue;
                }
            },
        };
        let values = match basis {
            // Cells have no rounds (only the cost part does): one value per trial.
            Basis::Trials | Basis::Rounds => vec![raw],
            Basis::Seconds => second_values(metric, t.trial).unwrap_or_else(|| vec![raw]),
        };
        out.groups
            .push(values.into_iter().map(|v| v / divisor).collect());
        out.trial_values.push(raw / divisor);
        out.raw.push(raw);
    }
    out
}

fn reference_value(metric: Metric, side: &Pooled<'_>, trial: &TrialRef<'_>) -> Option<f64> {
    side.reference_trial(trial)
        .and_then(|r| trial_value(metric, r))
        .filter(|v| *v > 0.0 && v.is_finite())
}
