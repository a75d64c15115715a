//! The metrics the gate compares, their direction, how their change is expressed, and their
//! default thresholds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::stats::Contrast;

/// Default threshold of [`Metric::AddedCpu`], µs per request: above the run-to-run spread of
/// the quick suite's cost part on a shared 2-core machine (docs/regression-gate.md).
pub const ADDED_CPU_THRESHOLD_US: f64 = 5.0;

/// One compared metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Requests per second (higher is better).
    #[serde(rename = "throughput")]
    Throughput,
    /// Corrected median latency, µs.
    #[serde(rename = "p50")]
    P50,
    /// Corrected 99th percentile, µs.
    #[serde(rename = "p99")]
    P99,
    /// Corrected 99.9th percentile, µs.
    #[serde(rename = "p99.9")]
    P99_9,
    /// Server CPU (replicas + store) per request, µs.
    #[serde(rename = "cpu")]
    Cpu,
    /// Errors ÷ requests.
    #[serde(rename = "error-rate")]
    ErrorRate,
    /// Bytes of server-side state per entry (session, deny-list entry, token version).
    #[serde(rename = "state-bytes")]
    StateBytes,
    /// CPU a configuration adds over `/healthz` per request, µs (the cost part).
    #[serde(rename = "added-cpu")]
    AddedCpu,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// More is better (throughput).
    Higher,
    /// Less is better (latency, CPU, errors, bytes).
    Lower,
}

impl Metric {
    /// Every metric of a load cell, in report order.
    pub const CELL: [Metric; 6] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P99,
        Metric::P99_9,
        Metric::Cpu,
        Metric::ErrorRate,
    ];

    /// Every metric.
    pub const ALL: [Metric; 8] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P99,
        Metric::P99_9,
        Metric::Cpu,
        Metric::ErrorRate,
        Metric::StateBytes,
        Metric::AddedCpu,
    ];

    /// The name used in flags, TOML and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::P99_9 => "p99.9",
            Metric::Cpu => "cpu",
            Metric::ErrorRate => "error-rate",
            Metric::StateBytes => "state-bytes",
            Metric::AddedCpu => "added-cpu",
        }
    }

    /// Which way is better.
    pub fn better(self) -> Better {
        match self {
            Metric::Throughput => Better::Higher,
            _ => Better::Lower,
        }
    }

    /// How a change is expressed: a ratio for everything but the error rate (a baseline
    /// without errors has no ratio; percentage points) and the added CPU (an in-process lookup
    /// adds about nothing; µs).
    pub fn contrast(self) -> Contrast {
        match self {
            Metric::ErrorRate | Metric::AddedCpu => Contrast::Difference,
            _ => Contrast::Ratio,
        }
    }

    /// The default threshold: the smallest change, in the bad direction, that counts as a
    /// regression — a fraction of the baseline for ratios (0.25 = 25 %), an absolute
    /// difference for the error rate (0.01 = 1 percentage point). Loose enough for shared
    /// CI runners and `--quick` cells of a few seconds; tail percentiles get the most room.
    pub fn default_threshold(self) -> f64 {
        match self {
            Metric::Throughput => 0.10,
            Metric::P50 => 0.15,
            Metric::P99 => 0.25,
            Metric::P99_9 => 0.50,
            Metric::Cpu => 0.15,
            Metric::ErrorRate => 0.01,
            Metric::StateBytes => 0.15,
            Metric::AddedCpu => ADDED_CPU_THRESHOLD_US,
        }
    }

    /// Whether the metric is divided by the in-run no-auth cell's same metric when
    /// normalising: CPU per request, whose large shared part (the kernel waking the server,
    /// the HTTP stack) machine speed moves alike in every cell. Latency percentiles are not:
    /// a short cell's p50/p99 is mostly its own noise, and dividing by the baseline cell's
    /// adds that cell's noise too (same-build comparisons raised false alarms that way).
    /// Throughput is not either: the no-auth cell runs at a fixed offered rate.
    pub fn normalisable(self) -> bool {
        matches!(self, Metric::Cpu)
    }

    /// A human label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::P99_9 => "p99.9",
            Metric::Cpu => "CPU/request",
            Metric::ErrorRate => "error rate",
            Metric::StateBytes => "bytes/entry",
            Metric::AddedCpu => "added CPU/request",
        }
    }

    /// `value` (raw, in the metric's unit) for reports: `1.23 ms`, `850 µs`, `5120 rps`,
    /// `0.10 %`, `312 B`.
    pub fn format_value(self, value: f64) -> String {
        match self {
            Metric::Throughput => format!("{value:.0} rps"),
            Metric::P50 | Metric::P99 | Metric::P99_9 => format_us(value),
            Metric::Cpu => format!("{value:.1} µs"),
            Metric::ErrorRate => format!("{:.2} %", value * 100.0),
            Metric::StateBytes => format!("{value:.0} B"),
            Metric::AddedCpu => format!("{value:+.1} µs"),
        }
    }

    /// A signed change (fraction or difference, as in [`Metric::contrast`]) for reports:
    /// `+12.3 %` or `+0.50 pp`.
    pub fn format_change(self, change: f64) -> String {
        if self == Metric::AddedCpu {
            return format!("{change:+.1} µs");
        }
        match self.contrast() {
            Contrast::Ratio => format!("{:+.1} %", change * 100.0),
            Contrast::Difference => format!("{:+.2} pp", change * 100.0),
        }
    }
}

fn format_us(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = String;

    /// A metric by name, with a few aliases (`p99_9`, `p999`, `rps`, `errors`,
    /// `bytes-per-session`…).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let key = text.trim().to_ascii_lowercase().replace('_', "-");
        Ok(match key.as_str() {
            "throughput" | "rps" => Metric::Throughput,
            "p50" | "median" => Metric::P50,
            "p99" => Metric::P99,
            "p99.9" | "p99-9" | "p999" => Metric::P99_9,
            "cpu" | "cpu-per-request" | "cpu-us-per-request" => Metric::Cpu,
            "error-rate" | "errors" => Metric::ErrorRate,
            "state-bytes" | "bytes-per-session" | "bytes-per-entry" | "bytes" => Metric::StateBytes,
            "added-cpu" | "added-cost" | "cost" => Metric::AddedCpu,
            _ => {
                let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
                return Err(format!(
                    "unknown metric '{text}' (one of {})",
                    names.join(", ")
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for metric in Metric::ALL {
            assert_eq!(metric.name().parse::<Metric>(), Ok(metric));
            let json = serde_json::to_string(&metric).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", metric.name()));
        }
        assert_eq!("p99_9".parse::<Metric>(), Ok(Metric::P99_9));
        assert_eq!(
            "bytes-per-session".parse::<Metric>(),
            Ok(Metric::StateBytes)
        );
        let err = "p42".parse::<Metric>().unwrap_err();
        assert!(err.contains("p42") && err.contains("p99.9"), "{err}");
    }

    #[test]
    fn values_and_changes_format() {
        assert_eq!(Metric::P99.format_value(850.4), "850 µs");
        assert_eq!(Metric::P99.format_value(1234.0), "1.23 ms");
        assert_eq!(Metric::P99_9.format_value(23_456.0), "23.5 ms");
        assert_eq!(Metric::ErrorRate.format_value(0.001), "0.10 %");
        assert_eq!(Metric::P99.format_change(0.123), "+12.3 %");
        assert_eq!(Metric::Throughput.format_change(-0.1), "-10.0 %");
        assert_eq!(Metric::ErrorRate.format_change(0.005), "+0.50 pp");
    }
}
