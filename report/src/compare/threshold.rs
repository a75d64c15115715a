//! Per-metric regression thresholds: the defaults, `--thresholds FILE` (TOML) and
//! `--threshold METRIC=CHANGE` flags.
//!
//! A threshold is the smallest change in the bad direction that counts, in the unit of the
//! metric's contrast ([`ThresholdUnit`]). Ratios take a percentage: `p99=25%` means the
//! candidate's p99 must be more than 25 % above the baseline's (with the whole confidence
//! interval beyond that) to be a regression; `throughput=10%` (or `-10%`) means more than 10 %
//! below. Differences take the metric's own unit: the error rate's threshold is in percentage
//! points (`error-rate=1%` or `1pp` flags a rise from 0.2 % to above 1.2 %), the added CPU's
//! in µs per request (`added-cpu=5`, `5us` or `5µs`; a `%` is refused). A sign is optional,
//! but if given it must point the bad way.
//!
//! The file sets defaults for every cell, and may narrow them per group or per cell:
//!
//! ```toml
//! p99 = "30%"
//! "p99.9" = "60%"          # keys with a dot need quotes (or write p99_9)
//!
//! [group.scaling]          # cells whose `group` is `scaling`
//! throughput = "15%"
//!
//! [cell."rate/session-redis/r3"]
//! p99 = "40%"
//!
//! [cell."cost/jwt-hs256/r1"]
//! added-cpu = "8us"        # or 8: a bare number is µs
//! ```
//!
//! Precedence, most specific first: the file's `[cell."ID"]`, its `[group.NAME]`, then
//! `--threshold` flags, then the file's top level, then the built-in defaults.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::error::CompareError;
use super::metric::{Better, Metric};

/// The thresholds in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// For every cell.
    pub global: BTreeMap<Metric, f64>,
    /// Per cell group (`[group.NAME]`).
    pub groups: BTreeMap<String, BTreeMap<Metric, f64>>,
    /// Per cell id (`[cell."ID"]`).
    pub cells: BTreeMap<String, BTreeMap<Metric, f64>>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            global: Metric::ALL
                .iter()
                .map(|&m| (m, m.default_threshold()))
                .collect(),
            groups: BTreeMap::new(),
            cells: BTreeMap::new(),
        }
    }
}

impl Thresholds {
    /// The defaults, then `file` (if any), then `flags` (`METRIC=CHANGE` each).
    pub fn build(file: Option<&Path>, flags: &[String]) -> Result<Thresholds, CompareError> {
        let mut thresholds = Thresholds::default();
        if let Some(path) = file {
            thresholds.load_file(path)?;
        }
        for flag in flags {
            thresholds.apply_flag(flag)?;
        }
        Ok(thresholds)
    }

    /// The threshold of `metric` for a cell (or, with `None`s, for state cost).
    pub fn get(&self, metric: Metric, cell: Option<&str>, group: Option<&str>) -> f64 {
        let scoped = |scopes: &BTreeMap<String, BTreeMap<Metric, f64>>, key: Option<&str>| {
            key.and_then(|k| scopes.get(k))
                .and_then(|t| t.get(&metric))
                .copied()
        };
        scoped(&self.cells, cell)
            .or_else(|| scoped(&self.groups, group))
            .or_else(|| self.global.get(&metric).copied())
            .unwrap_or_else(|| metric.default_threshold())
    }

    /// Applies one `--threshold METRIC=CHANGE`.
    pub fn apply_flag(&mut self, text: &str) -> Result<(), CompareError> {
        let bad = |message: String| CompareError::flag("--threshold", text, message);
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| bad("expected METRIC=CHANGE, e.g. p99=20%".into()))?;
        let metric: Metric = name.parse().map_err(bad)?;
        let threshold = parse_threshold(metric, value).map_err(bad)?;
        self.global.insert(metric, threshold);
        Ok(())
    }

    /// Reads a TOML thresholds file (see the module docs).
    pub fn load_file(&mut self, path: &Path) -> Result<(), CompareError> {
        let shown = path.display().to_string();
        let bad = |message: String| CompareError::flag("--thresholds", &shown, message);
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| bad(format!("not TOML: {e}")))?;
        for (key, value) in &table {
            match (key.as_str(), value) {
                ("group" | "cell", toml::Value::Table(scopes)) => {
                    for (scope, entries) in scopes {
                        let toml::Value::Table(entries) = entries else {
                            return Err(bad(format!("[{key}.{scope}] must be a table")));
                        };
                        let parsed = parse_entries(entries, &format!("[{key}.\"{scope}\"] "))
                            .map_err(bad)?;
                        let target = if key == "group" {
                            &mut self.groups
                        } else {
                            &mut self.cells
                        };
                        target.entry(scope.clone()).or_default().extend(parsed);
                    }
                }
                ("group" | "cell", _) => {
                    return Err(bad(format!("'{key}' must be a table of tables")));
                }
                _ => {
                    let single = toml::Table::from_iter([(key.clone(), value.clone())]);
                    self.global.extend(parse_entries(&single, "").map_err(bad)?);
                }
            }
        }
        Ok(())
    }
}

fn parse_entries(table: &toml::Table, context: &str) -> Result<BTreeMap<Metric, f64>, String> {
    table
        .iter()
        .map(|(key, value)| {
            let metric: Metric = key.parse().map_err(|e| format!("{context}{e}"))?;
            // A number is a change only where a bare number is one (µs); else it needs its
            // unit, in a string.
            let text = match value {
                toml::Value::String(text) => text.clone(),
                toml::Value::Integer(_) | toml::Value::Float(_)
                    if ThresholdUnit::of(metric).bare() =>
                {
                    value.to_string()
                }
                _ => {
                    return Err(format!(
                        "{context}{key} = {value}: write the change as a string, e.g. \"{}\"",
                        ThresholdUnit::of(metric).write(25.0)
                    ))
                }
            };
            let threshold = parse_threshold(metric, &text)
                .map_err(|e| format!("{context}{key} = {value}: {e}"))?;
            Ok((metric, threshold))
        })
        .collect()
}

/// The unit a metric's threshold is written in, which follows from its contrast
/// ([`Metric::contrast`]): a ratio's threshold is a percentage of the baseline, a
/// difference's is in the metric's own unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdUnit {
    /// A ratio: percent of the baseline (`25%`), kept as a fraction (0.25).
    Percent,
    /// A difference of two rates: percentage points (`1%` or `1pp`), kept as a fraction
    /// (0.01).
    Points,
    /// A difference in µs (`5`, `5us` or `5µs`), kept in µs.
    Micros,
}

impl ThresholdUnit {
    /// The unit of `metric`'s threshold.
    pub fn of(metric: Metric) -> ThresholdUnit {
        // Exhaustive on purpose: a new metric must say how its threshold is written.
        match metric {
            Metric::Throughput
            | Metric::P50
            | Metric::P99
            | Metric::P99_9
            | Metric::Cpu
            | Metric::StateBytes => ThresholdUnit::Percent,
            Metric::ErrorRate => ThresholdUnit::Points,
            Metric::AddedCpu => ThresholdUnit::Micros,
        }
    }

    /// The suffixes accepted after the number.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            ThresholdUnit::Percent => &["%"],
            ThresholdUnit::Points => &["%", "pp"],
            // µ is U+00B5 (micro sign) on most keyboards, μ U+03BC (Greek mu) on others.
            ThresholdUnit::Micros => &["us", "\u{b5}s", "\u{3bc}s"],
        }
    }

    /// Whether a bare number (no suffix) is accepted: only where it cannot be mistaken for
    /// a fraction or a percentage.
    fn bare(self) -> bool {
        self == ThresholdUnit::Micros
    }

    /// What the threshold of `metric` is and how to write it, for error messages.
    fn expected(self, metric: Metric) -> String {
        match self {
            ThresholdUnit::Percent => format!(
                "{metric} is compared as a ratio to the baseline; give a percentage, \
                 e.g. {metric}=20%"
            ),
            ThresholdUnit::Points => format!(
                "{metric} is a difference in percentage points; give points, \
                 e.g. {metric}=1% or {metric}=1pp"
            ),
            ThresholdUnit::Micros => format!(
                "{metric} is a difference in CPU-\u{b5}s per request; give \u{b5}s, \
                 e.g. {metric}=5us"
            ),
        }
    }

    /// `number` written in this unit, e.g. `10%` or `5us`.
    fn write(self, number: f64) -> String {
        match self {
            ThresholdUnit::Percent | ThresholdUnit::Points => format!("{number}%"),
            ThresholdUnit::Micros => format!("{number}us"),
        }
    }
}

/// Parses a threshold for `metric`, in the unit of its contrast ([`ThresholdUnit`]):
/// `25%`, `+25%`, `-10%` (throughput) for ratios; `1%` or `1pp` for the error rate
/// (percentage points); `5`, `5us` or `5µs` for the added CPU. Returns its magnitude: a
/// fraction for ratios and points, µs for the added CPU. The caller names the flag or key
/// and the value in its error.
pub fn parse_threshold(metric: Metric, text: &str) -> Result<f64, String> {
    let unit = ThresholdUnit::of(metric);
    let trimmed = text.trim();
    let number = match unit.suffixes().iter().find_map(|s| trimmed.strip_suffix(s)) {
        Some(number) => number.trim(),
        None if unit.bare() => trimmed,
        None => return Err(unit.expected(metric)),
    };
    let (sign, digits) = match number.as_bytes().first() {
        Some(b'+') => (Some(1.0), &number[1..]),
        Some(b'-') => (Some(-1.0), &number[1..]),
        _ => (None, number),
    };
    let magnitude: f64 = digits
        .trim()
        .parse()
        .ok()
        .filter(|p: &f64| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| unit.expected(metric))?;
    let bad_direction = match metric.better() {
        Better::Higher => 1.0,
        Better::Lower => -1.0,
    };
    if sign == Some(bad_direction) && magnitude > 0.0 {
        let way = if bad_direction > 0.0 {
            "falls"
        } else {
            "rises"
        };
        return Err(format!(
            "points the good way: {metric} regresses when it {way}; write {metric}={}",
            unit.write(magnitude)
        ));
    }
    Ok(match unit {
        ThresholdUnit::Percent | ThresholdUnit::Points => {
            let fraction = magnitude / 100.0;
            if metric.better() == Better::Higher && fraction >= 1.0 {
                return Err(format!("a fall of {metric} must be below 100%"));
            }
            fraction
        }
        ThresholdUnit::Micros => magnitude,
    })
}

#[cfg(test)]
mod tests {
    use super::super::stats::Contrast;
    use super::*;

    #[test]
    fn thresholds_parse_direction_aware() {
        assert_eq!(parse_threshold(Metric::P99, "20%"), Ok(0.2));
        assert_eq!(parse_threshold(Metric::P99, "+20%"), Ok(0.2));
        assert_eq!(parse_threshold(Metric::Throughput, "-10%"), Ok(0.1));
        assert_eq!(parse_threshold(Metric::Throughput, "10 %"), Ok(0.1));
        assert_eq!(parse_threshold(Metric::ErrorRate, "0.5pp"), Ok(0.005));
        assert_eq!(parse_threshold(Metric::ErrorRate, "1%"), Ok(0.01));
        let err = parse_threshold(Metric::Throughput, "+10%").unwrap_err();
        assert!(err.contains("falls"), "{err}");
        let err = parse_threshold(Metric::P99, "-20%").unwrap_err();
        assert!(err.contains("rises"), "{err}");
        assert!(parse_threshold(Metric::P99, "0.2").is_err());
        assert!(parse_threshold(Metric::P99, "5pp").is_err());
        assert!(parse_threshold(Metric::P99, "lots%").is_err());
        assert!(parse_threshold(Metric::Throughput, "100%").is_err());
    }

    #[test]
    fn units_follow_the_contrast() {
        for metric in Metric::ALL {
            let unit = ThresholdUnit::of(metric);
            assert_eq!(
                unit == ThresholdUnit::Percent,
                metric.contrast() == Contrast::Ratio,
                "{metric}"
            );
            // The default threshold reads back from its own unit.
            let default = metric.default_threshold();
            let written = match unit {
                ThresholdUnit::Micros => unit.write(default),
                _ => unit.write(default * 100.0),
            };
            let parsed = parse_threshold(metric, &written).unwrap();
            assert!((parsed - default).abs() < 1e-12, "{metric}: {written}");
        }
    }

    #[test]
    fn each_metric_accepts_its_unit() {
        for (metric, text, want) in [
            // Ratios: a percentage, as before.
            (Metric::P99, "10%", 0.1),
            (Metric::Cpu, " 15 % ", 0.15),
            (Metric::StateBytes, "+20%", 0.2),
            (Metric::Throughput, "-10%", 0.1),
            // The error rate: percentage points.
            (Metric::ErrorRate, "1%", 0.01),
            (Metric::ErrorRate, "0.5pp", 0.005),
            (Metric::ErrorRate, "+2 pp", 0.02),
            // The added CPU: µs, bare or with us / µs (micro sign) / μs (Greek mu).
            (Metric::AddedCpu, "5", 5.0),
            (Metric::AddedCpu, "5us", 5.0),
            (Metric::AddedCpu, "5 us", 5.0),
            (Metric::AddedCpu, "7.5\u{b5}s", 7.5),
            (Metric::AddedCpu, "7.5\u{3bc}s", 7.5),
            (Metric::AddedCpu, "+12us", 12.0),
            (Metric::AddedCpu, "0", 0.0),
        ] {
            assert_eq!(parse_threshold(metric, text), Ok(want), "{metric}={text}");
        }
    }

    #[test]
    fn a_unit_of_another_contrast_is_refused_naming_flag_value_and_unit() {
        for (flag, needles) in [
            (
                "added-cpu=5%",
                &["added-cpu=5%", "difference in CPU-\u{b5}s", "added-cpu=5us"][..],
            ),
            ("added-cpu=5pp", &["added-cpu=5pp", "give \u{b5}s"]),
            ("added-cpu=5ms", &["added-cpu=5ms", "give \u{b5}s"]),
            ("added-cpu=lots", &["added-cpu=lots", "give \u{b5}s"]),
            ("cost=5%", &["cost=5%", "added-cpu is a difference"]),
            (
                "added-cpu=-5us",
                &["added-cpu=-5us", "rises", "write added-cpu=5us"],
            ),
            ("p99=5us", &["p99=5us", "ratio", "percentage", "p99=20%"]),
            ("p99=0.2", &["p99=0.2", "percentage"]),
            ("state-bytes=100", &["state-bytes=100", "percentage"]),
            ("state-bytes=5pp", &["state-bytes=5pp", "percentage"]),
            ("error-rate=1", &["error-rate=1", "percentage points"]),
            ("error-rate=5us", &["error-rate=5us", "error-rate=1pp"]),
            ("throughput=+10%", &["throughput=+10%", "falls"]),
        ] {
            let err = Thresholds::default()
                .apply_flag(flag)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("--threshold"), "{flag}: {err}");
            for needle in needles {
                assert!(
                    err.to_lowercase().contains(&needle.to_lowercase()),
                    "{flag}: {err} lacks {needle}"
                );
            }
        }
        let err = Thresholds::default()
            .apply_flag("added-cpu=5%")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--threshold \"added-cpu=5%\": added-cpu is a difference in CPU-\u{b5}s per \
             request; give \u{b5}s, e.g. added-cpu=5us"
        );
    }

    #[test]
    fn added_cpu_flags_and_file_entries_are_micros() {
        let mut t = Thresholds::default();
        t.apply_flag("added-cpu=8").unwrap();
        assert_eq!(t.get(Metric::AddedCpu, Some("cost/x"), Some("cost")), 8.0);
        t.apply_flag("added-cpu=3us").unwrap();
        assert_eq!(t.get(Metric::AddedCpu, None, None), 3.0);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "added-cpu = 6\n[group.cost]\nadded-cpu = \"7.5us\"\n\
             [cell.\"cost/jwt-hs256/r1\"]\nadded-cpu = 9.5\n",
        )
        .unwrap();
        let t = Thresholds::build(Some(&path), &[]).unwrap();
        assert_eq!(t.get(Metric::AddedCpu, None, None), 6.0);
        assert_eq!(t.get(Metric::AddedCpu, Some("cost/x"), Some("cost")), 7.5);
        assert_eq!(
            t.get(Metric::AddedCpu, Some("cost/jwt-hs256/r1"), Some("cost")),
            9.5
        );

        std::fs::write(&path, "[group.cost]\nadded-cpu = \"5%\"\n").unwrap();
        let err = Thresholds::build(Some(&path), &[]).unwrap_err().to_string();
        assert!(
            err.contains("--thresholds")
                && err.contains("[group.\"cost\"] added-cpu = \"5%\"")
                && err.contains("give \u{b5}s"),
            "{err}"
        );
    }

    #[test]
    fn flags_name_themselves_and_their_value() {
        let mut t = Thresholds::default();
        t.apply_flag("p99=20%").unwrap();
        assert_eq!(t.get(Metric::P99, Some("x"), Some("y")), 0.2);
        let err = t.apply_flag("p42=20%").unwrap_err().to_string();
        assert!(err.contains("--threshold") && err.contains("p42"), "{err}");
        let err = t.apply_flag("p99").unwrap_err().to_string();
        assert!(err.contains("METRIC=CHANGE"), "{err}");
    }

    #[test]
    fn file_scopes_and_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            r#"
p99 = "30%"
"p99.9" = "60%"
throughput = "-5%"

[group.scaling]
throughput = "15%"

[cell."rate/session-redis/r3"]
p99 = "40%"
"#,
        )
        .unwrap();
        let t = Thresholds::build(Some(&path), &["p99=35%".to_owned()]).unwrap();
        assert_eq!(t.get(Metric::P99_9, None, None), 0.6);
        assert_eq!(t.get(Metric::P99, Some("any"), Some("equal-rate")), 0.35);
        assert_eq!(
            t.get(
                Metric::P99,
                Some("rate/session-redis/r3"),
                Some("equal-rate")
            ),
            0.4
        );
        assert_eq!(t.get(Metric::Throughput, Some("c"), Some("scaling")), 0.15);
        assert_eq!(
            t.get(Metric::Throughput, Some("c"), Some("equal-rate")),
            0.05
        );
        assert_eq!(
            t.get(Metric::Cpu, None, None),
            Metric::Cpu.default_threshold()
        );
    }

    #[test]
    fn file_errors_name_the_flag_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        for (text, needle) in [
            ("p99 = 25", "as a string"),
            ("p98 = \"25%\"", "p98"),
            ("[cell.\"x\"]\np99 = \"-5%\"", "[cell.\"x\"] p99"),
            ("p99 = ", "not TOML"),
            ("group = 3", "table of tables"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Thresholds::build(Some(&path), &[]).unwrap_err().to_string();
            assert!(
                err.contains("--thresholds") && err.contains("bad.toml") && err.contains(needle),
                "{text}: {err}"
            );
        }
        let err = Thresholds::build(Some(&dir.path().join("none.toml")), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read"), "{err}");
    }
}
