//! The statistics of the gate: medians, a seeded hierarchical bootstrap of the ratio (or
//! difference) of medians, and the Mann-Whitney U test.
//!
//! Observations come in *groups*: one group per trial, holding either the trial's own value
//! or its per-second values. The bootstrap resamples groups with replacement, then values
//! within each drawn group (a two-level, "hierarchical" bootstrap), so the spread between
//! trials — usually the larger part of benchmark noise — is never mistaken for precision
//! gained from many seconds inside one trial. With one value per group it is the ordinary
//! bootstrap.
//!
//! Randomness comes from [`SplitMix64`], a fully specified generator, so a comparison gives
//! bit-for-bit the same confidence interval on every machine and with every crate version.

use std::cmp::Ordering;

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and specified to the bit.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift; the bias, below n / 2⁶⁴, is
    /// immaterial here.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A seed for one test, derived from the user's seed and names (FNV-1a over them), so every
/// cell and metric has its own stream and adding a cell changes no other cell's interval.
pub fn derive_seed(seed: u64, parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The median (mean of the middle two for an even count); `None` when empty. Reorders
/// `values`.
pub fn median_in_place(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = values[..mid]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(upper);
    Some((lower + upper) / 2.0)
}

/// The median of `values`; `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    median_in_place(&mut values.to_vec())
}

/// The `q`-quantile (0–1) of sorted values, interpolating linearly between order statistics
/// (Hyndman & Fan type 7, R's and NumPy's default); `None` when empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = q.clamp(0.0, 1.0) * last as f64;
    let below = h.floor() as usize;
    let above = (below + 1).min(last);
    Some(sorted[below] + (h - below as f64) * (sorted[above] - sorted[below]))
}

/// How the two sides' medians are set against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contrast {
    /// Candidate ÷ baseline.
    Ratio,
    /// Candidate − baseline.
    Difference,
}

impl Contrast {
    /// Sets `candidate` against `baseline`. A ratio over a zero baseline is 1 when the
    /// candidate is zero too, and infinite otherwise.
    pub fn of(self, baseline: f64, candidate: f64) -> f64 {
        match self {
            Contrast::Difference => candidate - baseline,
            Contrast::Ratio if baseline == 0.0 && candidate == 0.0 => 1.0,
            Contrast::Ratio if baseline == 0.0 => f64::INFINITY,
            Contrast::Ratio => candidate / baseline,
        }
    }
}

/// How to bootstrap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapSettings {
    /// Resamples drawn.
    pub resamples: usize,
    /// Two-sided confidence level, e.g. 0.95.
    pub confidence: f64,
    /// Seed of the generator.
    pub seed: u64,
}

/// A contrast of medians with its bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The contrast of the observed medians.
    pub estimate: f64,
    /// Lower end of the percentile interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The median of all values of `groups`, pooled.
pub fn pooled_median(groups: &[Vec<f64>]) -> Option<f64> {
    let mut all: Vec<f64> = groups.iter().flatten().copied().collect();
    median_in_place(&mut all)
}

/// One hierarchical resample of `groups`: as many groups as there are, drawn with
/// replacement, each contributing as many values as it has, drawn with replacement from it;
/// returns their pooled median.
fn resampled_median(groups: &[Vec<f64>], rng: &mut SplitMix64, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    for _ in 0..groups.len() {
        let group = &groups[rng.below(groups.len())];
        for _ in 0..group.len() {
            scratch.push(group[rng.below(group.len())]);
        }
    }
    median_in_place(scratch).unwrap_or(f64::NAN)
}

/// The percentile bootstrap interval of `contrast(median(baseline), median(candidate))`,
/// resampling each side hierarchically (see the module docs). `None` when a side has no
/// values or the observed contrast is not finite (a zero baseline).
pub fn bootstrap(
    baseline: &[Vec<f64>],
    candidate: &[Vec<f64>],
    contrast: Contrast,
    settings: BootstrapSettings,
) -> Option<Interval> {
    let baseline: Vec<Vec<f64>> = baseline.iter().filter(|g| !g.is_empty()).cloned().collect();
    let candidate: Vec<Vec<f64>> = candidate
        .iter()
        .filter(|g| !g.is_empty())
        .cloned()
        .collect();
    let estimate = contrast.of(pooled_median(&baseline)?, pooled_median(&candidate)?);
    if !estimate.is_finite() {
        return None;
    }
    let mut rng = SplitMix64::new(settings.seed);
    let mut scratch = Vec::new();
    let mut draws: Vec<f64> = (0..settings.resamples.max(1))
        .map(|_| {
            let b = resampled_median(&baseline, &mut rng, &mut scratch);
            let c = resampled_median(&candidate, &mut rng, &mut scratch);
            contrast.of(b, c)
        })
        .collect();
    draws.sort_by(f64::total_cmp);
    let tail = (1.0 - settings.confidence.clamp(0.0, 1.0)) / 2.0;
    Some(Interval {
        estimate,
        low: quantile_sorted(&draws, tail)?,
        high: quantile_sorted(&draws, 1.0 - tail)?,
    })
}

/// The Mann-Whitney U test of two independent samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the second sample: pairs in which it is larger, ties counting ½.
    pub u: f64,
    /// `u ÷ (n₁·n₂)`: the probability that a random value of the second sample exceeds one
    /// of the first (ties ½).
    pub superiority: f64,
    /// Two-sided p-value.
    pub p_two_sided: f64,
    /// Whether `p_two_sided` is exact (no ties, both samples ≤ 50) rather than the normal
    /// approximation with tie and continuity corrections.
    pub exact: bool,
}

/// Largest sample size for which the exact distribution of U is computed.
const EXACT_MAX: usize = 50;

/// Mann-Whitney U of `y` against `x`; `None` when either is empty.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut u = 0.0;
    for &b in y {
        for &a in x {
            u += match b.total_cmp(&a) {
                Ordering::Greater => 1.0,
                Ordering::Equal => 0.5,
                Ordering::Less => 0.0,
            };
        }
    }
    let pairs = (n1 * n2) as f64;
    let ties = tie_term(x, y);
    let exact = ties == 0.0 && n1 <= EXACT_MAX && n2 <= EXACT_MAX;
    let p = if exact {
        exact_two_sided(n1, n2, u)
    } else {
        normal_two_sided(n1, n2, u, ties)
    };
    Some(MannWhitney {
        u,
        superiority: u / pairs,
        p_two_sided: p.min(1.0),
        exact,
    })
}

/// Σ (t³ − t) over groups of tied values in the pooled sample.
fn tie_term(x: &[f64], y: &[f64]) -> f64 {
    let mut all: Vec<f64> = x.iter().chain(y).copied().collect();
    all.sort_by(f64::total_cmp);
    let mut sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i + 1;
        while j < all.len() && all[j].total_cmp(&all[i]) == Ordering::Equal {
            j += 1;
        }
        let t = (j - i) as f64;
        sum += t * t * t - t;
        i = j;
    }
    sum
}

/// Exact two-sided p of U without ties: counts the arrangements of the pooled ranks by their
/// U (the classic recurrence), then doubles the smaller tail.
fn exact_two_sided(n1: usize, n2: usize, u: f64) -> f64 {
    let max_u = n1 * n2;
    // counts[m][k]: arrangements of m values of the second sample among k of the first, by U.
    // Built up one sample size at a time: f(m, k, u) = f(m − 1, k, u − k) + f(m, k − 1, u).
    let mut prev: Vec<Vec<f64>> = (0..=n1)
        .map(|_| {
            let mut row = vec![0.0; max_u + 1];
            row[0] = 1.0;
            row
        })
        .collect();
    for _m in 1..=n2 {
        let mut next: Vec<Vec<f64>> = vec![vec![0.0; max_u + 1]; n1 + 1];
        next[0][0] = 1.0;
        for k in 1..=n1 {
            for v in 0..=max_u {
                let with_top_from_y = if v >= k { prev[k][v - k] } else { 0.0 };
                next[k][v] = with_top_from_y + next[k - 1][v];
            }
        }
        prev = next;
    }
    let counts = &prev[n1];
    let total: f64 = counts.iter().sum();
    let u = u.round() as usize;
    let lower: f64 = counts[..=u.min(max_u)].iter().sum::<f64>() / total;
    let upper: f64 = counts[u.min(max_u)..].iter().sum::<f64>() / total;
    2.0 * lower.min(upper)
}

/// Two-sided p of U from the normal approximation, with tie and continuity corrections.
fn normal_two_sided(n1: usize, n2: usize, u: f64, ties: f64) -> f64 {
    let (a, b) = (n1 as f64, n2 as f64);
    let n = a + b;
    let mean = a * b / 2.0;
    let variance = a * b / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 {
        return 1.0; // every value tied
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / variance.sqrt();
    erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error
/// below 1.2 × 10⁻⁷ — ample for a p-value).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    /// A standard normal deviate (Box-Muller).
    fn normal(rng: &mut SplitMix64) -> f64 {
        let u1 = rng.unit().max(f64::MIN_POSITIVE);
        let u2 = rng.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `trials` groups of `seconds` log-normal values around `median`: each trial has its
    /// own offset (spread `between`), each value its own noise (spread `within`).
    fn synthetic(
        rng: &mut SplitMix64,
        median: f64,
        trials: usize,
        seconds: usize,
        between: f64,
        within: f64,
    ) -> Vec<Vec<f64>> {
        (0..trials)
            .map(|_| {
                let offset = between * normal(rng);
                (0..seconds)
                    .map(|_| median * (offset + within * normal(rng)).exp())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs for seed 1234567 from the reference C implementation.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(rng.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn medians_and_quantiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&sorted, 0.5), Some(3.0));
        assert_eq!(quantile_sorted(&sorted, 0.125), Some(1.5));
        assert_eq!(quantile_sorted(&sorted, 1.0), Some(5.0));
        assert_eq!(
            pooled_median(&[vec![1.0, 9.0], vec![2.0], vec![]]),
            Some(2.0)
        );
    }

    #[test]
    fn bootstrap_is_reproducible_and_seed_dependent() {
        let mut rng = SplitMix64::new(7);
        // Seconds within trials, so the resampled medians are not confined to a few values.
        let b = synthetic(&mut rng, 100.0, 5, 10, 0.1, 0.05);
        let c = synthetic(&mut rng, 110.0, 5, 10, 0.1, 0.05);
        let settings = BootstrapSettings {
            resamples: 2000,
            confidence: 0.95,
            seed: 42,
        };
        let one = bootstrap(&b, &c, Contrast::Ratio, settings);
        assert_eq!(one, bootstrap(&b, &c, Contrast::Ratio, settings));
        let other = bootstrap(
            &b,
            &c,
            Contrast::Ratio,
            BootstrapSettings {
                seed: 43,
                ..settings
            },
        );
        assert_ne!(one, other);
        let one = one.unwrap();
        assert!(
            one.low <= one.estimate && one.estimate <= one.high,
            "{one:?}"
        );
    }

    #[test]
    fn a_zero_baseline_is_not_a_ratio() {
        let settings = BootstrapSettings {
            resamples: 100,
            confidence: 0.95,
            seed: 1,
        };
        assert_eq!(
            bootstrap(&[vec![0.0]], &[vec![1.0]], Contrast::Ratio, settings),
            None
        );
        assert_eq!(
            bootstrap(&[], &[vec![1.0]], Contrast::Ratio, settings),
            None
        );
        let diff = bootstrap(&[vec![0.0]], &[vec![0.5]], Contrast::Difference, settings).unwrap();
        assert_eq!((diff.estimate, diff.low, diff.high), (0.5, 0.5, 0.5));
    }

    /// Share of `experiments` synthetic comparisons whose 95 % interval covers the true ratio
    /// of medians, 1.2.
    fn coverage(trials: usize, seconds: usize, between: f64, within: f64) -> f64 {
        let mut rng = SplitMix64::new(2024);
        let experiments = 200;
        let mut covered = 0;
        for i in 0..experiments {
            let b = synthetic(&mut rng, 100.0, trials, seconds, between, within);
            let c = synthetic(&mut rng, 120.0, trials, seconds, between, within);
            let settings = BootstrapSettings {
                resamples: 1000,
                confidence: 0.95,
                seed: i,
            };
            let ci = bootstrap(&b, &c, Contrast::Ratio, settings).unwrap();
            if ci.low <= 1.2 && 1.2 <= ci.high {
                covered += 1;
            }
        }
        f64::from(covered) / f64::from(experiments as u32)
    }

    #[test]
    fn bootstrap_interval_covers_the_true_ratio() {
        // Plain bootstrap, 20 values a side: close to the nominal 95 %.
        let flat = coverage(20, 1, 0.2, 0.0);
        assert!((0.90..=0.99).contains(&flat), "flat coverage {flat}");
        // Hierarchical, 5 trials × 10 seconds with trial-to-trial drift as large as the
        // per-second noise: still close to nominal, because whole trials are resampled.
        let nested = coverage(5, 10, 0.1, 0.1);
        assert!((0.88..=0.99).contains(&nested), "nested coverage {nested}");
    }

    #[test]
    fn pooling_seconds_naively_would_be_overconfident() {
        // The reason for the two-level resampling: with 3 trials × 10 s and drift between
        // trials, treating the 30 seconds as independent gives far too narrow an interval.
        let mut rng = SplitMix64::new(5);
        let b = synthetic(&mut rng, 100.0, 3, 10, 0.1, 0.02);
        let c = synthetic(&mut rng, 100.0, 3, 10, 0.1, 0.02);
        let settings = BootstrapSettings {
            resamples: 2000,
            confidence: 0.95,
            seed: 9,
        };
        let nested = bootstrap(&b, &c, Contrast::Ratio, settings).unwrap();
        let flatten = |g: &[Vec<f64>]| g.iter().flatten().map(|&v| vec![v]).collect::<Vec<_>>();
        let naive = bootstrap(&flatten(&b), &flatten(&c), Contrast::Ratio, settings).unwrap();
        assert!(
            nested.high - nested.low > 2.0 * (naive.high - naive.low),
            "nested {nested:?} naive {naive:?}"
        );
    }

    #[test]
    fn mann_whitney_exact_known_examples() {
        // Complete separation, 3 vs 3: U = 9, p = 2 / C(6,3) = 0.1.
        let t = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(t.u, 9.0);
        assert_eq!(t.superiority, 1.0);
        assert!(t.exact && close(t.p_two_sided, 0.1, 1e-12), "{t:?}");
        // 5 vs 5: p = 2 / C(10,5) = 2/252.
        let t = mann_whitney(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert!(close(t.p_two_sided, 2.0 / 252.0, 1e-12), "{t:?}");
        // SciPy's documented example (exact): U₁ = 17 for x, so U = 3 for y; p = 0.1111.
        let x = [19.0, 22.0, 16.0, 29.0, 24.0];
        let y = [20.0, 11.0, 17.0, 12.0];
        let t = mann_whitney(&x, &y).unwrap();
        assert_eq!(t.u, 3.0);
        assert!(close(t.p_two_sided, 14.0 / 126.0, 1e-12), "{t:?}");
        // Symmetric: swapping the samples mirrors U and keeps p.
        let s = mann_whitney(&y, &x).unwrap();
        assert_eq!(s.u, 17.0);
        assert!(close(s.p_two_sided, t.p_two_sided, 1e-12));
        // Identical samples: nothing to see.
        let t = mann_whitney(&[1.0, 2.0, 3.0], &[1.5, 2.5, 0.5]).unwrap();
        assert!(t.p_two_sided > 0.5, "{t:?}");
    }

    #[test]
    fn mann_whitney_normal_approximation_with_ties() {
        // Ties force the normal approximation. By hand (as SciPy's asymptotic method with
        // continuity correction): U = 22 for y; ties 1,1 | 2,2,2 | 3,3,3 | 4,4 give
        // Σ(t³−t) = 60, so σ² = 25/12·(11 − 60/90) = 21.528; z = (|22 − 12.5| − 0.5)/σ
        // = 1.9397; p = erfc(z/√2) = 0.05241.
        let x = [1.0, 1.0, 2.0, 2.0, 3.0];
        let y = [2.0, 3.0, 3.0, 4.0, 4.0];
        let t = mann_whitney(&x, &y).unwrap();
        assert!(!t.exact);
        assert_eq!(t.u, 22.0);
        assert!(close(t.p_two_sided, 0.052_41, 1e-4), "{t:?}");
    }

    #[test]
    fn erfc_reference_values() {
        assert!(close(erfc(0.0), 1.0, 1e-7));
        assert!(close(erfc(1.0), 0.157_299_207, 1e-7));
        assert!(close(erfc(-1.0), 1.842_700_793, 1e-7));
        assert!(close(erfc(2.0), 0.004_677_735, 1e-8));
    }
}
