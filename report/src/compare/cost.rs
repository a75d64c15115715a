//! The cost part in the gate: CPU each configuration adds over `/healthz` (µs per request),
//! compared as a difference — an in-process lookup adds about nothing, so a ratio would be
//! noise over noise.
//!
//! Observations are grouped by run: each run's per-round added costs form one group, and the
//! bootstrap resamples runs before rounds (as it does trials before seconds for cells), so
//! the spread between runs sets the width. Configurations are matched by their slug.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::CostPart;

use super::input::Side;
use super::metric::Metric;
use super::observe::{Basis, Observations};
use super::report::{count, test_metric, Counts, MetricReport, Settings};
use super::stats::{derive_seed, BootstrapSettings};

/// The threshold grows to this share of the baseline's added cost when that is more than
/// the configured µs.
pub const ADDED_CPU_SHARE: f64 = 0.15;

/// One configuration of the cost part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    /// `cost/<slug>`.
    pub id: String,
    /// Its configuration, in words.
    pub description: String,
    /// The comparison (groups: runs; observations: rounds).
    #[serde(flatten)]
    pub result: MetricReport,
}

/// Per-round added totals (µs per request) of one part.
pub fn added_per_round(part: &CostPart) -> Vec<f64> {
    part.rounds
        .iter()
        .filter_map(|r| Some(r.case.total_us()? - r.baseline.total_us()?))
        .filter(|v| v.is_finite())
        .collect()
}

fn by_config(side: &Side) -> BTreeMap<String, (String, Vec<Vec<f64>>)> {
    let mut out: BTreeMap<String, (String, Vec<Vec<f64>>)> = BTreeMap::new();
    for (_, run) in &side.runs {
        for part in &run.cost {
            let values = added_per_round(part);
            if values.is_empty() {
                continue;
            }
            out.entry(format!("cost/{}", part.config.slug()))
                .or_insert_with(|| (part.config.describe(), Vec::new()))
                .1
                .push(values);
        }
    }
    out
}

fn observations(groups: &[Vec<f64>]) -> Observations {
    let medians: Vec<f64> = groups
        .iter()
        .filter_map(|g| super::stats::median(g))
        .collect();
    Observations {
        groups: groups.to_vec(),
        trial_values: medians.clone(),
        raw: medians,
        dropped: 0,
    }
}

/// Compares the cost parts both sides have.
pub fn compare_cost(
    baseline: &Side,
    candidate: &Side,
    settings: &Settings,
    counts: &mut Counts,
) -> Vec<CostReport> {
    let metric = Metric::AddedCpu;
    let (base, cand) = (by_config(baseline), by_config(candidate));
    let mut out = Vec::new();
    for (id, (description, b)) in &base {
        let Some((_, c)) = cand.get(id) else {
            continue;
        };
        // The configured µs, or a share of what the configuration adds when that is more:
        // an ES256 check's 100 µs moves by more than 5 µs with the machine alone.
        let added = super::stats::pooled_median(b).unwrap_or(0.0);
        let threshold = settings
            .thresholds
            .get(metric, Some(id), Some("cost"))
            .max(ADDED_CPU_SHARE * added.abs());
        let bootstrap = BootstrapSettings {
            seed: derive_seed(settings.bootstrap.seed, &[id, metric.name()]),
            ..settings.bootstrap
        };
        let result = test_metric(
            metric,
            &observations(b),
            &observations(c),
            Basis::Rounds,
            threshold,
            bootstrap,
            "runs",
        );
        count(counts, result.verdict, true);
        out.push(CostReport {
            id: id.clone(),
            description: description.clone(),
            result,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::decide::Verdict;
    use crate::compare::report::{compare, Normalise};
    use crate::compare::stats::BootstrapSettings;
    use crate::compare::threshold::Thresholds;
    use crate::model::SuiteRun;
    use crate::render::example::example_run;

    fn settings() -> Settings {
        Settings {
            normalise: Normalise::Auto,
            bootstrap: BootstrapSettings {
                resamples: 2000,
                confidence: 0.95,
                seed: 1,
            },
            thresholds: Thresholds::default(),
        }
    }

    /// The example run with every round's case slowed by `extra_us` per request, and a
    /// run-specific wobble so runs are not identical.
    fn run(extra_us: f64, wobble: f64) -> SuiteRun {
        let mut run = example_run();
        for part in &mut run.cost {
            for r in &mut part.rounds {
                let n = r.case.requests as f64;
                r.case.app_user_seconds += n * (extra_us + wobble) / 1e6;
            }
        }
        run
    }

    fn side(name: &str, extra_us: f64) -> Side {
        Side::from_runs(name, [0.0, 0.3, -0.2].map(|w| run(extra_us, w)).to_vec())
    }

    fn verdict_of(report: &crate::compare::Report, id: &str) -> Verdict {
        report
            .cost
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.result.verdict)
            .unwrap_or(Verdict::Untested)
    }

    #[test]
    fn the_same_build_is_unchanged_and_a_slower_check_regresses() {
        let same = compare(&side("a", 0.0), &side("b", 0.0), &settings()).unwrap();
        assert_eq!(same.cost.len(), run(0.0, 0.0).cost.len());
        assert!(same
            .cost
            .iter()
            .all(|c| c.result.verdict == Verdict::Unchanged));
        assert!(!same.regressed());

        let slower = compare(&side("a", 0.0), &side("b", 8.0), &settings()).unwrap();
        assert_eq!(verdict_of(&slower, "cost/jwt-hs256/r1"), Verdict::Regressed);
        assert!(slower.regressed());
        let hs = slower
            .cost
            .iter()
            .find(|c| c.id == "cost/jwt-hs256/r1")
            .unwrap();
        assert_eq!(hs.result.basis, Basis::Rounds);
        assert!(
            (hs.result.change.unwrap() - 8.0).abs() < 1.0,
            "{:?}",
            hs.result.change
        );
        // 8 µs is within 15 % of what a pure-Rust ES256 check adds: not a regression there.
        assert_eq!(
            verdict_of(&slower, "cost/jwt-es256-rust-crypto/r1"),
            Verdict::Unchanged
        );
        let md = crate::compare::markdown::render(&slower);
        assert!(md.contains("**Added CPU regressed:** "), "{md}");
        assert!(
            md.contains("### CPU added over no auth (cost part)"),
            "{md}"
        );
        assert!(
            md.contains("| jwt HS256 | added CPU/request | +5.3 µs | +13.3 µs | +8.0 µs |"),
            "{md}"
        );
    }
}
