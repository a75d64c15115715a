//! Added cost over the baseline, with intervals: the numbers the cost verdicts read.
//!
//! Each round of the cost part gives one difference, configuration minus `/healthz` on the
//! same server. A configuration's added cost is the median of its rounds' differences, with a
//! 95 % percentile-bootstrap interval; two configurations are compared by bootstrapping the
//! difference of their medians. The resampling uses a fixed seed, so re-rendering a run gives
//! the same intervals. Thresholds: docs/claims.md, "How the report decides".

pub use super::interval::Interval;
use super::interval::{bootstrap_difference, bootstrap_median, median, seed_of};
use crate::model::{CellConfig, CostPart, CostRound};

/// A difference smaller than this many CPU-µs per request is below the resolution we claim.
pub const MIN_DIFF_US: f64 = 1.0;
/// …or smaller than this share of the larger of the two costs compared.
pub const MIN_DIFF_SHARE: f64 = 0.10;

/// How one cost compares with another (or with the baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// Resolved as more expensive.
    More,
    /// Resolved as cheaper.
    Less,
    /// The interval includes zero, or the difference is below the minimum.
    Indistinguishable,
}

/// Judges a difference: resolved only when its whole interval lies beyond the minimum — the
/// larger of [`MIN_DIFF_US`] and [`MIN_DIFF_SHARE`] of `scale` (the larger cost) — so it
/// excludes zero and the difference exceeds the minimum even at the interval's near end.
/// A difference near the minimum then reads "indistinguishable" in most runs instead of
/// flipping with the noise of each.
pub fn judge(diff: &Interval, scale: f64) -> Resolved {
    let min = MIN_DIFF_US.max(MIN_DIFF_SHARE * scale.abs());
    if diff.low >= min {
        Resolved::More
    } else if diff.high <= -min {
        Resolved::Less
    } else {
        Resolved::Indistinguishable
    }
}

/// A configuration's cost over the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedCost {
    /// The configuration.
    pub config: CellConfig,
    /// Rounds measured.
    pub rounds: usize,
    /// The baseline's own cost (app + store), median over rounds, µs per request.
    pub baseline_us: f64,
    /// Added replica CPU, µs per request.
    pub app: Interval,
    /// Of which user space (median of differences).
    pub app_user_us: f64,
    /// Of which kernel (median of differences).
    pub app_system_us: f64,
    /// Added store CPU, when the configuration has a Redis.
    pub store: Option<Interval>,
    /// Added app + store CPU.
    pub total: Interval,
    /// Per-round added totals, for comparisons.
    pub samples: Vec<f64>,
}

impl AddedCost {
    /// From a cost part (rounds with errors or logins in a window left out); `None` with
    /// fewer than two usable rounds.
    pub fn of(part: &CostPart) -> Option<AddedCost> {
        let rounds: Vec<&CostRound> = part
            .rounds
            .iter()
            // A round with errors may have served cheap rejections: not a cost of the scheme.
            .filter(|r| r.baseline.errors == 0 && r.case.errors == 0)
            // A login in the window hashed a password on the measured CPU.
            .filter(|r| r.baseline.logins == 0 && r.case.logins == 0)
            .filter(|r| r.baseline.total_us().is_some() && r.case.total_us().is_some())
            .collect();
        if rounds.len() < 2 {
            return None;
        }
        let diff = |f: &dyn Fn(&crate::model::CostSample) -> Option<f64>| -> Vec<f64> {
            rounds
                .iter()
                .filter_map(|r| Some(f(&r.case)? - f(&r.baseline)?))
                .collect()
        };
        let seed = seed_of(&part.config);
        let samples = diff(&|s| s.total_us());
        let has_store = rounds.iter().any(|r| r.case.store_seconds.is_some());
        Some(AddedCost {
            config: part.config.clone(),
            rounds: rounds.len(),
            baseline_us: median(
                rounds
                    .iter()
                    .filter_map(|r| r.baseline.total_us())
                    .collect(),
            ),
            app: bootstrap_median(&diff(&|s| s.app_us()), seed),
            app_user_us: median(diff(&|s| s.app_user_us())),
            app_system_us: median(diff(&|s| s.app_system_us())),
            store: has_store.then(|| bootstrap_median(&diff(&|s| s.store_us()), seed ^ 1)),
            total: bootstrap_median(&samples, seed ^ 2),
            samples,
        })
    }

    /// How the added cost compares with the baseline.
    pub fn over_baseline(&self) -> Resolved {
        judge(&self.total, self.baseline_us + self.total.estimate.max(0.0))
    }

    /// Cores that 100,000 requests/s of this configuration would need (baseline + added).
    pub fn cores_per_100k(&self) -> f64 {
        (self.baseline_us + self.total.estimate) * 100_000.0 / 1e6
    }
}

/// `self − other` on added totals, bootstrapped, and how it is resolved.
pub fn compare(a: &AddedCost, b: &AddedCost) -> (Interval, Resolved) {
    let seed = seed_of(&a.config) ^ seed_of(&b.config).rotate_left(17);
    let diff = bootstrap_difference(&a.samples, &b.samples, seed);
    let scale = a.total.estimate.abs().max(b.total.estimate.abs());
    (diff, judge(&diff, scale))
}

/// Every cost part of a run, in order.
pub fn added_costs(run: &crate::model::SuiteRun) -> Vec<AddedCost> {
    run.cost.iter().filter_map(AddedCost::of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::interval::SplitMix;

    fn noisy(center: f64, spread: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix(seed);
        (0..n)
            .map(|_| center + spread * ((rng.next() % 2001) as f64 / 1000.0 - 1.0))
            .collect()
    }

    /// A cost of `samples`; configurations (and so the resampling seeds of a comparison)
    /// differ by `seed`.
    fn added(samples: Vec<f64>, seed: u64) -> AddedCost {
        use crate::model::{Alg, Auth, Balancer, Policy, Store};
        AddedCost {
            config: CellConfig {
                auth: Auth::Jwt,
                store: Store::Memory,
                alg: Some(Alg::Hs256),
                revocation: None,
                crypto_backend: None,
                extra_claim_bytes: seed as usize,
                replicas: 1,
                balancer: Balancer::None,
                policy: Policy::None,
                network: Default::default(),
            },
            rounds: samples.len(),
            baseline_us: 20.0,
            app: bootstrap_median(&samples, seed),
            app_user_us: 0.0,
            app_system_us: 0.0,
            store: None,
            total: bootstrap_median(&samples, seed),
            samples,
        }
    }

    #[test]
    fn equal_costs_with_noise_are_indistinguishable_never_a_flip() {
        // Noise within the minimum difference: never resolved, whatever the draw.
        for seed in 0..200 {
            let a = added(noisy(5.0, 0.45, 8, seed), seed);
            let b = added(noisy(5.0, 0.45, 8, seed + 1_000), seed + 1);
            assert_eq!(
                compare(&a, &b).1,
                Resolved::Indistinguishable,
                "seed {seed}"
            );
        }
        // Noise far above it: rarely resolved (the interval's 5 % plus small-sample
        // optimism), and never in both directions for the same pair.
        let mut resolved = 0;
        for seed in 0..200 {
            let a = added(noisy(5.0, 3.0, 8, seed), seed);
            let b = added(noisy(5.0, 3.0, 8, seed + 1_000), seed + 1);
            let (ab, ba) = (compare(&a, &b).1, compare(&b, &a).1);
            if ab != Resolved::Indistinguishable {
                resolved += 1;
                assert_ne!(ab, ba, "seed {seed}");
            }
        }
        assert!(resolved <= 20, "{resolved} of 200 equal pairs resolved");
    }

    #[test]
    fn five_us_with_tight_intervals_is_more_expensive() {
        let a = added(noisy(5.2, 0.4, 8, 1), 1);
        let b = added(noisy(0.2, 0.4, 8, 2), 2);
        let (d, r) = compare(&a, &b);
        assert_eq!(r, Resolved::More, "{d:?}");
        assert!(d.low > 4.0 && d.high < 6.0, "{d:?}");
        assert_eq!(compare(&b, &a).1, Resolved::Less);
    }

    #[test]
    fn a_resolved_difference_below_the_minimum_is_not_reported() {
        // 0.5 µs apart with no noise: the interval excludes zero, but 0.5 µs < 1 µs.
        let a = added(vec![5.5; 6], 1);
        let b = added(vec![5.0; 6], 2);
        assert_eq!(compare(&a, &b).1, Resolved::Indistinguishable);
        // 3 µs on 60 µs is 5 %: below the 10 % share.
        let a = added(vec![63.0; 6], 1);
        let b = added(vec![60.0; 6], 2);
        assert_eq!(compare(&a, &b).1, Resolved::Indistinguishable);
    }

    #[test]
    fn below_the_baseline_is_resolved_as_less() {
        let a = added(vec![-4.0, -5.0, -4.5, -5.5, -4.8, -5.2], 3);
        assert_eq!(a.over_baseline(), Resolved::Less);
        let tiny = added(vec![0.1, 0.3, -0.2, 0.2, 0.0, 0.4], 4);
        assert_eq!(tiny.over_baseline(), Resolved::Indistinguishable);
    }

    #[test]
    fn rounds_with_errors_or_logins_are_left_out() {
        use crate::model::{CostPart, CostRound, CostSample};
        let side = |us: f64, errors: u64, logins: u64| CostSample {
            requests: 1_000,
            logins,
            errors,
            seconds: 0.1,
            app_user_seconds: us * 1e-3,
            app_system_seconds: 0.0,
            store_seconds: None,
        };
        let round = |case_us: f64, errors: u64, logins: u64| CostRound {
            baseline: side(20.0, 0, 0),
            case: side(case_us, errors, logins),
        };
        let part = CostPart {
            config: added(vec![0.0], 1).config,
            concurrency: 16,
            seconds: 0.1,
            warmup_seconds: 0.03,
            worker_threads: 1,
            server_core: None,
            client_cores: Vec::new(),
            rounds: vec![
                round(25.0, 0, 0),
                round(25.0, 0, 0),
                // Cheap rejections, and a window that hashed passwords.
                round(21.0, 30, 0),
                round(400.0, 0, 16),
            ],
        };
        let a = AddedCost::of(&part).unwrap();
        assert_eq!(a.rounds, 2);
        assert!((a.total.estimate - 5.0).abs() < 1e-9, "{a:?}");
        let mut part = part;
        part.rounds.truncate(1);
        part.rounds.push(round(400.0, 0, 3));
        assert_eq!(
            AddedCost::of(&part),
            None,
            "one usable round is no interval"
        );
    }
}
