//! The verdict on one metric: improved, unchanged or regressed, from its confidence interval
//! and threshold — never from the point estimate alone.
//!
//! Regressed: the whole interval lies beyond the threshold in the bad direction (p99 ratio
//! above 1 + t; throughput ratio below 1 − t; error-rate difference above +t). Improved: the
//! whole interval lies beyond the mirror image of that bound — 1 / (1 + t) and 1 / (1 − t)
//! for ratios, −t for the difference — so that swapping baseline and candidate swaps the two
//! verdicts exactly. Anything else is unchanged; when the estimate itself is beyond the
//! threshold but the interval is not, the verdict stays unchanged and is marked
//! inconclusive: more trials would be needed to tell.

use serde::{Deserialize, Serialize};

use super::metric::{Better, Metric};
use super::stats::{Contrast, Interval};

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Better beyond the threshold, with confidence.
    Improved,
    /// Neither: the change is within the threshold, or not certain enough.
    Unchanged,
    /// Worse beyond the threshold, with confidence.
    Regressed,
    /// Not tested: too few observations, or nothing measured (the reason is given).
    Untested,
}

impl Verdict {
    /// A short label with a marker for reports.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Improved => "🟢 improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Regressed => "🔴 regressed",
            Verdict::Untested => "untested",
        }
    }
}

/// The bounds a contrast (ratio or difference) must pass: `(regression, improvement)`.
pub fn bounds(metric: Metric, threshold: f64) -> (f64, f64) {
    match (metric.contrast(), metric.better()) {
        (Contrast::Ratio, Better::Lower) => (1.0 + threshold, 1.0 / (1.0 + threshold)),
        (Contrast::Ratio, Better::Higher) => (1.0 - threshold, 1.0 / (1.0 - threshold)),
        (Contrast::Difference, Better::Lower) => (threshold, -threshold),
        (Contrast::Difference, Better::Higher) => (-threshold, threshold),
    }
}

/// The verdict on `interval` (in contrast units) against `threshold`, and whether it is
/// inconclusive (estimate beyond the regression bound, interval not).
pub fn decide(metric: Metric, interval: &Interval, threshold: f64) -> (Verdict, bool) {
    let (regress, improve) = bounds(metric, threshold);
    let worse_up = metric.better() == Better::Lower;
    let beyond = |value: f64, bound: f64, up: bool| if up { value > bound } else { value < bound };
    if beyond(interval.low, regress, worse_up) && beyond(interval.high, regress, worse_up) {
        (Verdict::Regressed, false)
    } else if beyond(interval.low, improve, !worse_up) && beyond(interval.high, improve, !worse_up)
    {
        (Verdict::Improved, false)
    } else {
        (
            Verdict::Unchanged,
            beyond(interval.estimate, regress, worse_up),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(estimate: f64, low: f64, high: f64) -> Interval {
        Interval {
            estimate,
            low,
            high,
        }
    }

    #[test]
    fn latency_regresses_only_when_the_whole_interval_is_beyond() {
        let t = 0.25;
        assert_eq!(
            decide(Metric::P99, &ci(1.4, 1.3, 1.5), t),
            (Verdict::Regressed, false)
        );
        assert_eq!(
            decide(Metric::P99, &ci(1.4, 1.1, 1.7), t),
            (Verdict::Unchanged, true)
        );
        assert_eq!(
            decide(Metric::P99, &ci(1.1, 1.05, 1.15), t),
            (Verdict::Unchanged, false)
        );
        assert_eq!(
            decide(Metric::P99, &ci(0.7, 0.6, 0.75), t),
            (Verdict::Improved, false)
        );
        // 0.8 = 1/1.25 is the improvement bound: 0.82 is not beyond it.
        assert_eq!(
            decide(Metric::P99, &ci(0.85, 0.82, 0.9), t).0,
            Verdict::Unchanged
        );
    }

    #[test]
    fn throughput_is_better_higher() {
        let t = 0.10;
        assert_eq!(
            decide(Metric::Throughput, &ci(0.8, 0.75, 0.85), t).0,
            Verdict::Regressed
        );
        assert_eq!(
            decide(Metric::Throughput, &ci(1.3, 1.2, 1.4), t).0,
            Verdict::Improved
        );
        assert_eq!(
            decide(Metric::Throughput, &ci(1.3, 0.95, 1.4), t).0,
            Verdict::Unchanged
        );
    }

    #[test]
    fn error_rate_uses_the_difference() {
        let t = 0.01;
        assert_eq!(
            decide(Metric::ErrorRate, &ci(0.05, 0.02, 0.08), t).0,
            Verdict::Regressed
        );
        assert_eq!(
            decide(Metric::ErrorRate, &ci(0.0, 0.0, 0.0), t).0,
            Verdict::Unchanged
        );
        assert_eq!(
            decide(Metric::ErrorRate, &ci(-0.05, -0.08, -0.02), t).0,
            Verdict::Improved
        );
    }

    #[test]
    fn swapping_sides_swaps_the_verdict() {
        for metric in [Metric::P99, Metric::Throughput] {
            let t = metric.default_threshold();
            for (low, high) in [(1.3, 1.5), (0.6, 0.7), (0.95, 1.05), (1.12, 1.2)] {
                let forward = decide(metric, &ci(low, low, high), t).0;
                let backward = decide(metric, &ci(1.0 / high, 1.0 / high, 1.0 / low), t).0;
                let mirrored = match forward {
                    Verdict::Improved => Verdict::Regressed,
                    Verdict::Regressed => Verdict::Improved,
                    other => other,
                };
                assert_eq!(backward, mirrored, "{metric} [{low}, {high}]");
            }
        }
    }
}
