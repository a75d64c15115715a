//! Per-metric regression thresholds: the defaults, `--thresholds FILE` (TOML) and
//! `--threshold METRIC=CHANGE` flags.
//!
//! A threshold is the smallest change in the bad direction that counts: `p99=25%` means the
//! candidate's p99 must be more than 25 % above the baseline's (with the whole confidence
//! interval beyond that) to be a regression; `throughput=10%` (or `-10%`) means more than 10 %
//! below. The error rate's threshold is in percentage points: `error-rate=1%` flags a rise
//! from 0.2 % to above 1.2 %. A sign is optional, but if given it must point the bad way.
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
//! ```
//!
//! Precedence, most specific first: the file's `[cell."ID"]`, its `[group.NAME]`, then
//! `--threshold` flags, then the file's top level, then the built-in defaults.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::error::CompareError;
use super::metric::{Better, Metric};
use super::stats::Contrast;

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
            let toml::Value::String(text) = value else {
                return Err(format!(
                    "{context}{key} = {value}: write the change as a string, e.g. \"25%\""
                ));
            };
            let threshold =
                parse_threshold(metric, text).map_err(|e| format!("{context}{key}: {e}"))?;
            Ok((metric, threshold))
        })
        .collect()
}

/// Parses a threshold for `metric`: `25%`, `+25%`, `-10%` (throughput), `1%` or `1pp` (the
/// error rate, in percentage points). Returns its magnitude as a fraction.
pub fn parse_threshold(metric: Metric, text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let (number, unit_ok) = if let Some(n) = trimmed.strip_suffix('%') {
        (n, true)
    } else if let Some(n) = trimmed.strip_suffix("pp") {
        (n, metric.contrast() == Contrast::Difference)
    } else {
        (trimmed, false)
    };
    if !unit_ok {
        return Err(match metric.contrast() {
            Contrast::Ratio => format!("'{text}': give a percentage, e.g. 20%"),
            Contrast::Difference => {
                format!("'{text}': give percentage points, e.g. 1% or 1pp")
            }
        });
    }
    let number = number.trim();
    let (sign, digits) = match number.as_bytes().first() {
        Some(b'+') => (Some(1.0), &number[1..]),
        Some(b'-') => (Some(-1.0), &number[1..]),
        _ => (None, number),
    };
    let percent: f64 = digits
        .trim()
        .parse()
        .ok()
        .filter(|p: &f64| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("'{text}' is not a percentage"))?;
    let bad_direction = match metric.better() {
        Better::Higher => 1.0,
        Better::Lower => -1.0,
    };
    if sign == Some(bad_direction) && percent > 0.0 {
        let way = if bad_direction > 0.0 {
            "falls"
        } else {
            "rises"
        };
        return Err(format!(
            "'{text}' points the good way: {metric} regresses when it {way}; write {percent}%"
        ));
    }
    let fraction = percent / 100.0;
    if metric.better() == Better::Higher && fraction >= 1.0 {
        return Err(format!("'{text}': a fall must be below 100%"));
    }
    Ok(fraction)
}

#[cfg(test)]
mod tests {
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
