//! Reading numbers out of a run: medians over trials, finding cells by their configuration,
//! and the derived figures (added latency over the baseline, scaling efficiency).
//!
//! Cells are selected by `group` and [`CellConfig`] fields, never by parsing their ids.
//!
//! A group may hold the same configuration at several network distances
//! ([`CellConfig::network`]). Every lookup here that does not name a network reads the
//! **loopback** cells only, so a figure never mixes distances and a run without other
//! profiles reads as it always did; [`find_at`] and [`cells_at`] read one network, and
//! [`super::distance`] compares them.

use crate::model::{
    Alg, Auth, Balancer, Cell, CellConfig, CryptoBackend, Load, Network, Policy, Revocation,
    SpectrumPoint, Store, SuiteRun,
};

/// Group of the open-loop cells at one fixed offered rate, one replica, no balancer.
pub const EQUAL_RATE: &str = "equal-rate";
/// Group of the closed-loop cells with 1, 2, 3 replicas behind the built-in balancer.
pub const SCALING: &str = "scaling";
/// Group of the open-loop cells with 3 replicas and different balancer policies.
pub const BALANCING: &str = "balancing";
/// Group of the closed-loop cells with growing JWT claims.
pub const CLAIMS: &str = "claims";

/// The median of `values` (mean of the two middle ones for an even count); `None` when
/// there are no finite values.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// `(value − base) / base`; `None` when `base` is not a positive number.
pub fn relative(value: f64, base: f64) -> Option<f64> {
    (base > 0.0 && base.is_finite() && value.is_finite()).then(|| (value - base) / base)
}

/// Scaling efficiency `rps(N) / (N · rps(1))`: 1 is linear scaling.
pub fn scaling_efficiency(rps_n: f64, n: usize, rps_1: f64) -> Option<f64> {
    (n > 0 && rps_1 > 0.0).then(|| rps_n / (n as f64 * rps_1))
}

/// One cell's numbers, each the median over its trials.
#[derive(Debug, Clone, PartialEq)]
pub struct CellStats {
    /// Trials the medians are over.
    pub trials: usize,
    /// Replica processes of the cell.
    pub replicas: usize,
    /// Offered rate (open loop) or `None` (closed loop).
    pub offered_rps: Option<f64>,
    /// Achieved throughput, requests/s.
    pub throughput_rps: f64,
    /// Requests, summed over trials.
    pub requests: u64,
    /// Errors, summed over trials.
    pub errors: u64,
    /// Errors ÷ requests over all trials.
    pub error_rate: f64,
    /// Share of requests answered 401 (median).
    pub unauthorized_share: f64,
    /// 401 responses, summed over trials.
    pub unauthorized: u64,
    /// Corrected p50, µs.
    pub p50_us: f64,
    /// Corrected p90, µs.
    pub p90_us: f64,
    /// Corrected p99, µs.
    pub p99_us: f64,
    /// Corrected p99.9, µs.
    pub p99_9_us: f64,
    /// Corrected p99.99, µs.
    pub p99_99_us: f64,
    /// Corrected maximum, µs.
    pub max_us: f64,
    /// Replica CPU per request, µs.
    pub app_us: f64,
    /// Store CPU per request, µs, when measured.
    pub store_us: Option<f64>,
    /// Balancer CPU per request, µs, when there was a balancer.
    pub balancer_us: Option<f64>,
    /// App + store CPU per request, µs.
    pub total_us: f64,
    /// Store operations per request, when counted.
    pub store_ops: Option<f64>,
    /// Request bytes.
    pub bytes_sent: f64,
    /// Response bytes.
    pub bytes_received: f64,
    /// Credential header bytes.
    pub credential_bytes: f64,
    /// Coefficient of variation of requests per replica.
    pub imbalance_cv: f64,
    /// Requests per replica of the median-throughput trial, by replica name.
    pub per_replica: Vec<(String, u64)>,
    /// The corrected percentile spectrum of the trial with the median p99.
    pub spectrum: Vec<SpectrumPoint>,
}

fn med_opt(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    median(values.into_iter().flatten())
}

impl CellStats {
    /// Medians over `cell`'s trials; `None` when it has none.
    pub fn of(cell: &Cell) -> Option<CellStats> {
        let t = &cell.trials;
        if t.is_empty() {
            return None;
        }
        let m = |f: &dyn Fn(&crate::model::Trial) -> f64| median(t.iter().map(f));
        let requests: u64 = t.iter().map(|x| x.requests).sum();
        let errors: u64 = t.iter().map(|x| x.errors).sum();
        let unauthorized: u64 = t
            .iter()
            .map(|x| x.status.get("401").copied().unwrap_or(0))
            .sum();
        // The trial whose p99 is the (lower) median stands for the cell in charts.
        let mut by_p99: Vec<usize> = (0..t.len()).collect();
        by_p99.sort_by_key(|&i| t[i].latency.corrected.p99_us);
        let representative = &t[by_p99[(t.len() - 1) / 2]];
        let mut by_rps: Vec<usize> = (0..t.len()).collect();
        by_rps.sort_by(|&a, &b| t[a].throughput_rps.total_cmp(&t[b].throughput_rps));
        let middle = &t[by_rps[(t.len() - 1) / 2]];
        Some(CellStats {
            replicas: cell.config.replicas,
            trials: t.len(),
            offered_rps: match cell.load {
                Load::Open { rate } => Some(rate),
                Load::Closed { .. } => None,
            },
            throughput_rps: m(&|x| x.throughput_rps).unwrap_or(0.0),
            requests,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            unauthorized_share: m(&|x| x.unauthorized_share()).unwrap_or(0.0),
            unauthorized,
            p50_us: m(&|x| x.latency.corrected.p50_us as f64).unwrap_or(0.0),
            p90_us: m(&|x| x.latency.corrected.p90_us as f64).unwrap_or(0.0),
            p99_us: m(&|x| x.latency.corrected.p99_us as f64).unwrap_or(0.0),
            p99_9_us: m(&|x| x.latency.corrected.p99_9_us as f64).unwrap_or(0.0),
            p99_99_us: m(&|x| x.latency.corrected.p99_99_us as f64).unwrap_or(0.0),
            max_us: m(&|x| x.latency.corrected.max_us as f64).unwrap_or(0.0),
            app_us: m(&|x| x.cpu.app_us_per_request).unwrap_or(0.0),
            store_us: med_opt(t.iter().map(|x| x.cpu.store_us_per_request)),
            balancer_us: med_opt(t.iter().map(|x| x.cpu.balancer_us_per_request)),
            total_us: m(&|x| x.cpu.total_us_per_request).unwrap_or(0.0),
            store_ops: med_opt(t.iter().map(|x| x.store_ops_per_request)),
            bytes_sent: m(&|x| x.bytes.sent).unwrap_or(0.0),
            bytes_received: m(&|x| x.bytes.received).unwrap_or(0.0),
            credential_bytes: m(&|x| x.bytes.credential_header).unwrap_or(0.0),
            imbalance_cv: m(&|x| x.imbalance_cv(cell.config.replicas)).unwrap_or(0.0),
            per_replica: middle
                .replicas
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            spectrum: representative.latency.spectrum.clone(),
        })
    }

    /// Whether an open-loop cell kept up with its offered rate (within 5 %), so that its
    /// latency and CPU are comparable with the other cells at that rate.
    pub fn kept_up(&self) -> bool {
        self.offered_rps
            .is_none_or(|rate| self.throughput_rps >= 0.95 * rate)
    }
}

/// Whether two networks are the same distance (every loopback counts as one, whatever its
/// profile name).
pub fn same_network(a: &Network, b: &Network) -> bool {
    a == b || (a.is_loopback() && b.is_loopback())
}

/// Every cell of `group`, at any network, in run order (for tables that list them all; a
/// figure reads [`cells`] or [`cells_at`]).
pub fn all_cells<'r>(run: &'r SuiteRun, group: &'r str) -> impl Iterator<Item = &'r Cell> + 'r {
    run.cells.iter().filter(move |c| c.group == group)
}

/// The cells of `group` at `network`, in run order.
pub fn cells_at<'r>(
    run: &'r SuiteRun,
    group: &'r str,
    network: Network,
) -> impl Iterator<Item = &'r Cell> + 'r {
    all_cells(run, group).filter(move |c| same_network(&c.config.network, &network))
}

/// The loopback cells of `group`, in run order.
pub fn cells<'r>(run: &'r SuiteRun, group: &'r str) -> impl Iterator<Item = &'r Cell> + 'r {
    cells_at(run, group, Network::default())
}

/// The first cell of `group` at `network`, with trials, whose configuration matches `pred`.
pub fn find_at<'r>(
    run: &'r SuiteRun,
    group: &str,
    network: &Network,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<&'r Cell> {
    run.cells.iter().find(|c| {
        c.group == group
            && !c.trials.is_empty()
            && same_network(&c.config.network, network)
            && pred(&c.config)
    })
}

/// The first loopback cell of `group`, with trials, whose configuration matches `pred`.
pub fn find<'r>(
    run: &'r SuiteRun,
    group: &str,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<&'r Cell> {
    find_at(run, group, &Network::default(), pred)
}

/// [`CellStats`] of the first loopback cell of `group` matching `pred`.
pub fn stats(run: &SuiteRun, group: &str, pred: impl Fn(&CellConfig) -> bool) -> Option<CellStats> {
    find(run, group, pred).and_then(CellStats::of)
}

/// Configuration predicates for [`find`].
pub mod pick {
    use super::{Alg, Auth, CellConfig, CryptoBackend, Policy, Revocation, Store};

    /// The default crypto backend (none recorded, or aws-lc).
    pub fn default_backend(c: &CellConfig) -> bool {
        c.crypto_backend.is_none_or(|b| b == CryptoBackend::AwsLc)
    }

    fn no_revocation(c: &CellConfig) -> bool {
        c.revocation.is_none_or(|r| !r.revokes())
    }

    /// The unauthenticated baseline.
    pub fn baseline(c: &CellConfig) -> bool {
        c.auth == Auth::None
    }

    /// Sessions in `store`.
    pub fn session(store: Store) -> impl Fn(&CellConfig) -> bool {
        move |c| c.auth == Auth::Session && c.store == store
    }

    /// Sessions in `store` behind the balancer `policy`.
    pub fn session_policy(store: Store, policy: Policy) -> impl Fn(&CellConfig) -> bool {
        move |c| c.auth == Auth::Session && c.store == store && c.policy == policy
    }

    /// A stateless JWT (no revocation) with `alg`, default backend, no extra claims.
    pub fn jwt(alg: Alg) -> impl Fn(&CellConfig) -> bool {
        move |c| {
            c.auth == Auth::Jwt
                && c.alg == Some(alg)
                && no_revocation(c)
                && default_backend(c)
                && c.extra_claim_bytes == 0
        }
    }

    /// Any stateless JWT with default backend and no extra claims.
    pub fn any_stateless_jwt(c: &CellConfig) -> bool {
        c.auth == Auth::Jwt && no_revocation(c) && default_backend(c) && c.extra_claim_bytes == 0
    }

    /// A JWT with `alg` checked against `strategy` (a deny-list, token versions) in `store`.
    pub fn jwt_revoking(
        alg: Alg,
        strategy: Revocation,
        store: Store,
    ) -> impl Fn(&CellConfig) -> bool {
        move |c| {
            c.auth == Auth::Jwt
                && c.alg == Some(alg)
                && c.revocation == Some(strategy)
                && c.store == store
                && default_backend(c)
                && c.extra_claim_bytes == 0
        }
    }
}

/// The loopback equal-rate baseline (`/healthz`, no auth).
pub fn baseline(run: &SuiteRun) -> Option<CellStats> {
    stats(run, EQUAL_RATE, pick::baseline)
}

/// Added corrected latency of `cell` over `base`: `(p50, p99)` differences in µs.
pub fn added_latency(cell: &CellStats, base: &CellStats) -> (f64, f64) {
    (cell.p50_us - base.p50_us, cell.p99_us - base.p99_us)
}

/// One point of a throughput-vs-replicas series.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingPoint {
    /// Replicas.
    pub replicas: usize,
    /// The cell's medians.
    pub stats: CellStats,
    /// `rps(N) / (N · rps(1))`, when the 1-replica cell exists.
    pub efficiency: Option<f64>,
}

/// The scaling series of the loopback cells in [`SCALING`] matching `pred`, by replica count.
pub fn scaling_series(run: &SuiteRun, pred: impl Fn(&CellConfig) -> bool) -> Vec<ScalingPoint> {
    series_of(cells(run, SCALING).filter(|c| pred(&c.config)))
}

fn series_of<'r>(cells: impl Iterator<Item = &'r Cell>) -> Vec<ScalingPoint> {
    let mut points: Vec<ScalingPoint> = cells
        .filter_map(|c| {
            CellStats::of(c).map(|stats| ScalingPoint {
                replicas: c.config.replicas,
                stats,
                efficiency: None,
            })
        })
        .collect();
    points.sort_by_key(|p| p.replicas);
    let one = points
        .iter()
        .find(|p| p.replicas == 1)
        .map(|p| p.stats.throughput_rps);
    for p in &mut points {
        p.efficiency =
            one.and_then(|r1| scaling_efficiency(p.stats.throughput_rps, p.replicas, r1));
    }
    points
}

/// The scaling series in the run: one per distinct scheme configuration and network
/// (replicas ignored), as `(name, points)`.
pub fn all_scaling_series(run: &SuiteRun) -> Vec<(String, Vec<ScalingPoint>)> {
    let key_of = |c: &CellConfig| CellConfig {
        replicas: 1,
        ..c.clone()
    };
    let mut keys: Vec<CellConfig> = Vec::new();
    for c in all_cells(run, SCALING) {
        let key = key_of(&c.config);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|key| {
            let name = scheme_name(&key);
            let series = series_of(all_cells(run, SCALING).filter(|c| key_of(&c.config) == key));
            (name, series)
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

/// A cell configuration's scheme without the cluster part, e.g. `jwt HS256` or
/// `session · redis`.
pub fn scheme_name(c: &CellConfig) -> String {
    CellConfig {
        replicas: 1,
        balancer: Balancer::None,
        ..c.clone()
    }
    .describe()
}

/// Whether a store-backed configuration uses Redis.
pub fn uses_redis(c: &CellConfig) -> bool {
    c.store == Store::Redis
        && (c.auth == Auth::Session || c.revocation.is_some_and(Revocation::revokes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median([f64::NAN, 5.0]), Some(5.0));
        assert_eq!(median(Vec::<f64>::new()), None);
    }

    #[test]
    fn ratios() {
        assert_eq!(relative(110.0, 100.0), Some(0.1));
        assert_eq!(relative(1.0, 0.0), None);
        assert_eq!(scaling_efficiency(180.0, 2, 100.0), Some(0.9));
        assert_eq!(scaling_efficiency(1.0, 2, 0.0), None);
    }

    #[test]
    fn example_cells_are_found_by_configuration() {
        let run = crate::render::example::example_run();
        let base = baseline(&run).unwrap();
        let redis = stats(&run, EQUAL_RATE, pick::session(Store::Redis)).unwrap();
        let (p50, p99) = added_latency(&redis, &base);
        assert!(p50 > 0.0 && p99 > p50, "{p50} {p99}");
        assert!(stats(&run, EQUAL_RATE, pick::jwt(Alg::Es256)).is_some());
        let series = scaling_series(&run, pick::session(Store::Redis));
        assert_eq!(
            series.iter().map(|p| p.replicas).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(series[0].efficiency, Some(1.0));
        assert_eq!(all_scaling_series(&run).len(), 2);
    }

    /// A copy of `cell` at `network`, listed before every other cell.
    pub(crate) fn moved(run: &mut SuiteRun, id: &str, network: Network) {
        let mut c = run.cells.iter().find(|c| c.id == id).unwrap().clone();
        c.config.network = network;
        c.id = format!("{}@{}", c.id, network.slug());
        run.cells.insert(0, c);
    }

    #[test]
    fn lookups_without_a_network_read_loopback_cells_only() {
        use crate::model::NetworkProfile;
        let mut run = crate::render::distance::tests::loopback_example();
        let zone = Network::preset(NetworkProfile::SameZone);
        moved(&mut run, "rate/none", zone);
        moved(&mut run, "rate/session-redis", zone);
        let base = find(&run, EQUAL_RATE, pick::baseline).unwrap();
        assert_eq!(base.id, "rate/none");
        let redis = find(&run, EQUAL_RATE, pick::session(Store::Redis)).unwrap();
        assert_eq!(redis.id, "rate/session-redis");
        let far = find_at(&run, EQUAL_RATE, &zone, pick::baseline).unwrap();
        assert_eq!(far.id, "rate/none@same-zone");
        assert!(find_at(&run, EQUAL_RATE, &zone, pick::jwt(Alg::Hs256)).is_none());
        assert!(cells(&run, EQUAL_RATE).all(|c| c.config.network.is_loopback()));
        assert_eq!(cells_at(&run, EQUAL_RATE, zone).count(), 2);
        assert_eq!(
            all_cells(&run, EQUAL_RATE).count(),
            cells(&run, EQUAL_RATE).count() + 2
        );
    }
}
