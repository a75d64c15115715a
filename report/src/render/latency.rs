//! Added latency over the baseline, with intervals: the numbers the latency verdicts read.
//!
//! The trials of the equal-rate cells take turns (trial 1 of every cell, then trial 2 …), so
//! trial *t* of a configuration and trial *t* of the no-auth baseline ran side by side. A
//! configuration's added latency is the median over trials of (configuration − baseline) at
//! p50 and at p99 (corrected for coordinated omission), with a 95 % percentile-bootstrap
//! interval ([`super::interval`]); two configurations are compared on their own per-trial
//! differences, which the baseline cancels out of. Fewer than [`MIN_TRIALS`] paired trials
//! give no interval, and no figure.

use super::cost::{judge, Resolved};
use super::interval::{bootstrap_median, seed_of, Interval};
use crate::model::{Cell, CellConfig, Trial};

/// Paired trials an interval needs.
pub const MIN_TRIALS: usize = 3;

/// A configuration's p50 and p99 in each usable trial (`None`: the trial is missing or had
/// errors, so neither it nor its partner counts).
type PerTrial = Vec<Option<(f64, f64)>>;

/// A configuration's latency over the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedLatency {
    /// The configuration.
    pub config: CellConfig,
    /// Trials paired with the baseline.
    pub trials: usize,
    /// Added p50, µs.
    pub p50: Interval,
    /// Added p99, µs.
    pub p99: Interval,
    /// The configuration's own p50/p99 per trial, for comparisons.
    per_trial: PerTrial,
}

/// How one configuration's latency compares with another's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyDifference {
    /// Trials paired.
    pub trials: usize,
    /// p50 difference (first − second), µs.
    pub p50: Interval,
    /// p99 difference, µs.
    pub p99: Interval,
}

impl LatencyDifference {
    /// The p50 difference judged at the resolution of [`judge`] (the larger of 1 µs and
    /// 10 % of the larger added p50).
    pub fn p50_resolved(&self, a: &AddedLatency, b: &AddedLatency) -> Resolved {
        judge(&self.p50, a.p50.estimate.abs().max(b.p50.estimate.abs()))
    }
}

fn per_trial(trials: &[Trial]) -> PerTrial {
    trials
        .iter()
        .map(|t| {
            (t.errors == 0).then(|| {
                let p = &t.latency.corrected;
                (p.p50_us as f64, p.p99_us as f64)
            })
        })
        .collect()
}

/// Pairs two per-trial series by index; `f` makes one sample of a pair.
fn paired(
    a: &PerTrial,
    b: &PerTrial,
    f: impl Fn((f64, f64), (f64, f64)) -> (f64, f64),
) -> Vec<(f64, f64)> {
    a.iter()
        .zip(b)
        .filter_map(|(x, y)| Some(f((*x)?, (*y)?)))
        .collect()
}

fn intervals(pairs: &[(f64, f64)], seed: u64) -> (Interval, Interval) {
    let p50: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let p99: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    (
        bootstrap_median(&p50, seed),
        bootstrap_median(&p99, seed ^ 1),
    )
}

impl AddedLatency {
    /// `cell` over `baseline`, from their trials paired by index; `None` with fewer than
    /// [`MIN_TRIALS`] usable pairs.
    pub fn of(cell: &Cell, baseline: &Cell) -> Option<AddedLatency> {
        let mine = per_trial(&cell.trials);
        let pairs = paired(&mine, &per_trial(&baseline.trials), |c, b| {
            (c.0 - b.0, c.1 - b.1)
        });
        if pairs.len() < MIN_TRIALS {
            return None;
        }
        let (p50, p99) = intervals(&pairs, seed_of(&cell.config) ^ 0x1a7e);
        Some(AddedLatency {
            config: cell.config.clone(),
            trials: pairs.len(),
            p50,
            p99,
            per_trial: mine,
        })
    }

    /// `self − other`, from their trials paired by index; `None` with fewer than
    /// [`MIN_TRIALS`] usable pairs.
    pub fn minus(&self, other: &AddedLatency) -> Option<LatencyDifference> {
        let pairs = paired(&self.per_trial, &other.per_trial, |a, b| {
            (a.0 - b.0, a.1 - b.1)
        });
        if pairs.len() < MIN_TRIALS {
            return None;
        }
        let seed = seed_of(&self.config) ^ seed_of(&other.config).rotate_left(17);
        let (p50, p99) = intervals(&pairs, seed);
        Some(LatencyDifference {
            trials: pairs.len(),
            p50,
            p99,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Alg, Auth};
    use crate::render::example::example_run;

    /// A copy of `cell` whose trials have these corrected p50/p99.
    fn with_latency(cell: &Cell, lat: &[(u64, u64)]) -> Cell {
        let mut c = cell.clone();
        c.trials = lat
            .iter()
            .map(|&(p50, p99)| {
                let mut t = cell.trials[0].clone();
                t.latency.corrected.p50_us = p50;
                t.latency.corrected.p99_us = p99;
                t
            })
            .collect();
        c
    }

    fn cells() -> (Cell, Cell) {
        let run = example_run();
        let base = run
            .cells
            .iter()
            .find(|c| c.config.auth == Auth::None)
            .unwrap();
        let other = run
            .cells
            .iter()
            .find(|c| c.config.auth == Auth::Jwt)
            .unwrap();
        (base.clone(), other.clone())
    }

    #[test]
    fn the_drift_shared_by_a_trial_cancels() {
        let (base, case) = cells();
        // The machine slows down trial by trial; the configuration always adds 30 µs / 100 µs.
        let base = with_latency(&base, &[(100, 400), (160, 700), (130, 500)]);
        let case = with_latency(&case, &[(130, 500), (190, 800), (160, 600)]);
        let added = AddedLatency::of(&case, &base).unwrap();
        assert_eq!(added.trials, 3);
        assert_eq!(
            (added.p50.low, added.p50.estimate, added.p50.high),
            (30.0, 30.0, 30.0)
        );
        assert_eq!(added.p99.estimate, 100.0);
    }

    #[test]
    fn a_comparison_pairs_trials_and_reports_its_interval() {
        let (base, case) = cells();
        let base = with_latency(&base, &[(100, 400), (160, 700), (130, 500), (120, 450)]);
        let a = with_latency(&case, &[(150, 500), (215, 800), (178, 600), (172, 560)]);
        let mut b = with_latency(&case, &[(110, 420), (170, 720), (141, 520), (129, 470)]);
        b.config.alg = Some(Alg::Es256);
        let (a, b) = (
            AddedLatency::of(&a, &base).unwrap(),
            AddedLatency::of(&b, &base).unwrap(),
        );
        let d = a.minus(&b).unwrap();
        assert_eq!(d.trials, 4);
        assert!(d.p50.low >= 37.0 && d.p50.high <= 45.0, "{d:?}");
        assert_eq!(d.p50_resolved(&a, &b), Resolved::More);
        assert_eq!(b.minus(&a).unwrap().p50_resolved(&b, &a), Resolved::Less);
    }

    #[test]
    fn too_few_trials_or_trials_with_errors_give_no_figure() {
        let (base, case) = cells();
        let base = with_latency(&base, &[(100, 400), (160, 700), (130, 500)]);
        let two = with_latency(&case, &[(130, 500), (190, 800)]);
        assert_eq!(AddedLatency::of(&two, &base), None);
        let mut errors = with_latency(&case, &[(130, 500), (190, 800), (160, 600)]);
        errors.trials[1].errors = 4;
        assert_eq!(AddedLatency::of(&errors, &base), None);
    }
}
