//! What loadgen's recorder hands to the run document: latency percentiles of a histogram and
//! one point of the per-second timeline.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latency percentiles in µs (all zero for no samples).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Minimum.
    pub min_us: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th.
    pub p90_us: u64,
    /// 99th.
    pub p99_us: u64,
    /// 99.9th.
    pub p99_9_us: u64,
    /// 99.99th.
    pub p99_99_us: u64,
    /// Maximum.
    pub max_us: u64,
}

impl Percentiles {
    /// Percentiles of `h` (all zero when empty).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            min_us: h.min(),
            mean_us: (h.mean() * 10.0).round() / 10.0,
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p99_9_us: h.value_at_quantile(0.999),
            p99_99_us: h.value_at_quantile(0.9999),
            max_us: h.max(),
        }
    }
}

/// One second of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Second {
    /// Seconds since the run started.
    pub t: u64,
    /// Authenticated requests completed in this second.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Corrected median, µs.
    pub p50_us: u64,
    /// Corrected 99th percentile, µs.
    pub p99_us: u64,
}
