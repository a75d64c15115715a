//! Counters of the pool and the cold-start histogram (HDR, µs).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::instance::StopReason;

/// Largest cold start the histogram tells apart (longer ones are recorded as this): 10 min.
const MAX_COLD_START_US: u64 = 600_000_000;

/// Quantiles of the cold start exported on `/metrics`; 1 is the maximum.
pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 1.0];

/// The pool's counters.
#[derive(Debug)]
pub struct Stats {
    /// Requests received on the pool's port (throttled ones included).
    pub requests: AtomicU64,
    /// Requests answered 429: every instance busy and `--max-instances` reached.
    pub throttled: AtomicU64,
    /// Requests that failed after they were sent to an instance (the client got a 502).
    pub upstream_errors: AtomicU64,
    stopped: [AtomicU64; StopReason::ALL.len()],
    cold_starts: Mutex<ColdStarts>,
}

#[derive(Debug)]
struct ColdStarts {
    histogram: Histogram<u64>,
    sum_us: u64,
}

/// A summary of the cold starts so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStartSummary {
    /// How many.
    pub count: u64,
    /// Their total, µs.
    pub sum_us: u64,
    /// `(quantile, µs)` for each of [`QUANTILES`] (empty without cold starts).
    pub quantiles: Vec<(f64, u64)>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            upstream_errors: AtomicU64::new(0),
            stopped: std::array::from_fn(|_| AtomicU64::new(0)),
            cold_starts: Mutex::new(ColdStarts {
                // The bounds are constants that hdrhistogram accepts.
                histogram: Histogram::new_with_bounds(1, MAX_COLD_START_US, 3)
                    .unwrap_or_else(|_| unreachable!("valid histogram bounds")),
                sum_us: 0,
            }),
        }
    }
}

impl Stats {
    /// Counts one increment of `counter`.
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a completed cold start.
    pub fn record_cold_start(&self, duration: Duration) {
        let us = micros(duration);
        let mut cold = self.lock();
        cold.histogram
            .saturating_record(us.clamp(1, MAX_COLD_START_US));
        cold.sum_us = cold.sum_us.saturating_add(us);
    }

    /// Counts an instance stopped for `reason`.
    pub fn count_stopped(&self, reason: StopReason) {
        self.stopped[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Instances stopped for `reason`.
    pub fn stopped(&self, reason: StopReason) -> u64 {
        self.stopped[reason.index()].load(Ordering::Relaxed)
    }

    /// The cold starts so far.
    pub fn cold_starts(&self) -> ColdStartSummary {
        let cold = self.lock();
        let count = cold.histogram.len();
        let quantiles = if count == 0 {
            Vec::new()
        } else {
            QUANTILES
                .iter()
                .map(|&q| (q, cold.histogram.value_at_quantile(q)))
                .collect()
        };
        ColdStartSummary {
            count,
            sum_us: cold.sum_us,
            quantiles,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ColdStarts> {
        // Recording cannot leave the histogram half-updated in a way that matters.
        self.cold_starts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whole microseconds of `duration`, saturating.
pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_starts_are_summarised_in_microseconds() {
        let stats = Stats::default();
        assert_eq!(stats.cold_starts().count, 0);
        assert!(stats.cold_starts().quantiles.is_empty());
        for ms in [10, 20, 30] {
            stats.record_cold_start(Duration::from_millis(ms));
        }
        let summary = stats.cold_starts();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.sum_us, 60_000);
        let max = summary.quantiles.last().copied().unwrap_or_default();
        assert_eq!(max.0, 1.0);
        // HDR with 3 significant digits: within 0.1 %.
        assert!((29_970..=30_030).contains(&max.1), "{max:?}");
        stats.count_stopped(StopReason::Died);
        assert_eq!(stats.stopped(StopReason::Died), 1);
        assert_eq!(stats.stopped(StopReason::Idle), 0);
    }
}
