//! The scale-out *projection*: what N replicas on N cores would serve, computed from costs
//! measured per request — not measured itself, because one machine is not a cluster.
//!
//! Model (documented in docs/claims.md, "How the report decides"):
//!
//! * every request costs its replica `app` CPU-µs and the balancer `balancer` CPU-µs —
//!   measured at saturation (the closed-loop one-replica `scaling` cell) when the run has
//!   it, else at the equal offered rate; the
//!   cluster has N cores for replicas and balancing, so it serves at most
//!   `N · 10⁶ / (app + balancer)` requests/s;
//! * requests that touch the shared store make `ops` store operations each; the store serves
//!   at most its measured capacity ([`StoreCapacity`](crate::model::StoreCapacity),
//!   operations/s), or, when that was not measured, `10⁶ / store` requests/s (Redis runs its
//!   commands on one core);
//! * throughput(N) is the smaller of the two; the store saturates at the first N where the
//!   cores could serve more than the store.

use crate::model::{Alg, Balancer, Cell, CellConfig, Policy, Revocation, Store, SuiteRun};
use crate::render::stats::{self, pick, CellStats, EQUAL_RATE, SCALING};

/// Replica counts the projection is computed for.
pub const PROJECTED_REPLICAS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Measured per-request costs of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Costs {
    /// Replica CPU per request, µs (equal-rate, one replica).
    pub app_us: f64,
    /// Balancer CPU per request, µs (from the balanced cells; 0 when not measured).
    pub balancer_us: f64,
    /// Whether `balancer_us` was measured.
    pub balancer_measured: bool,
    /// Shared-store operations per request (0 for a stateless JWT).
    pub store_ops: f64,
    /// Store CPU per request, µs, when measured.
    pub store_us: Option<f64>,
}

/// Where the store's limit comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreLimit {
    /// No shared store: nothing limits scale-out but cores.
    None,
    /// The store's measured capacity, operations/s.
    Measured {
        /// Operations per second.
        ops_per_second: f64,
        /// How it was measured.
        method: String,
    },
    /// One store core at the store CPU per request measured in the cells.
    FromCpu,
    /// A store is used but neither its capacity nor its CPU was measured.
    Unknown,
}

/// One configuration's projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The configuration's name, e.g. `session · redis`.
    pub name: String,
    /// The costs it was computed from.
    pub costs: Costs,
    /// The store's limit and its source.
    pub limit: StoreLimit,
    /// Requests/s one core serves: `10⁶ / (app + balancer)`.
    pub per_core_rps: f64,
    /// Requests/s the store allows, when bounded.
    pub store_rps: Option<f64>,
    /// `(N, requests/s, limited by the store)` for [`PROJECTED_REPLICAS`].
    pub points: Vec<(usize, f64, bool)>,
    /// The smallest N at which the store is the bottleneck, when bounded.
    pub saturates_at: Option<usize>,
}

/// Projects `costs` over [`PROJECTED_REPLICAS`] with the store limited by `limit`.
pub fn project(name: &str, costs: Costs, limit: StoreLimit) -> Projection {
    let per_request = costs.app_us + costs.balancer_us;
    let per_core_rps = if per_request > 0.0 {
        1e6 / per_request
    } else {
        f64::INFINITY
    };
    let store_rps = if costs.store_ops <= 0.0 {
        None
    } else {
        match &limit {
            StoreLimit::Measured { ops_per_second, .. } => Some(ops_per_second / costs.store_ops),
            StoreLimit::FromCpu => costs.store_us.filter(|&s| s > 0.0).map(|s| 1e6 / s),
            StoreLimit::None | StoreLimit::Unknown => None,
        }
    };
    let points = PROJECTED_REPLICAS
        .iter()
        .map(|&n| {
            let cores = n as f64 * per_core_rps;
            match store_rps {
                Some(s) if s < cores => (n, s, true),
                _ => (n, cores, false),
            }
        })
        .collect();
    let saturates_at = store_rps.map(|s| ((s / per_core_rps).floor() as usize + 1).max(1));
    Projection {
        name: name.to_owned(),
        costs,
        limit,
        per_core_rps,
        store_rps,
        points,
        saturates_at,
    }
}

/// Median balancer CPU per request of `cells` (those that measured it), with their ids;
/// `None` when none did.
pub fn balancer_median(cells: Vec<&Cell>) -> Option<(f64, Vec<String>)> {
    let measured: Vec<(f64, String)> = cells
        .into_iter()
        .filter_map(|c| Some((CellStats::of(c)?.balancer_us?, c.id.clone())))
        .collect();
    let value = stats::median(measured.iter().map(|m| m.0))?;
    Some((value, measured.into_iter().map(|m| m.1).collect()))
}

/// Median balancer CPU per request of the balanced cells of this scheme (scaling first,
/// then balancing, then any balanced loopback cell), with the ids of the cells it is the
/// median of; `None` when no balanced cell measured it.
fn balancer_us(run: &SuiteRun, pred: &dyn Fn(&CellConfig) -> bool) -> Option<(f64, Vec<String>)> {
    let median_of = balancer_median;
    let of_group = |group: &str| {
        median_of(
            stats::cells(run, group)
                .filter(|c| c.config.replicas > 1 && pred(&c.config))
                .collect(),
        )
    };
    of_group(SCALING)
        .or_else(|| of_group(stats::BALANCING))
        .or_else(|| {
            // Any balanced cell: both schemes pay about the same per forwarded request.
            median_of(
                run.cells
                    .iter()
                    .filter(|c| c.config.replicas > 1 && c.config.network.is_loopback())
                    .collect(),
            )
        })
}

/// A configuration's measured per-request costs, and the cells they were read from.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredCosts {
    /// The costs.
    pub costs: Costs,
    /// The store's limit and its source.
    pub limit: StoreLimit,
    /// Id of the cell `app_us`, `store_us` and `store_ops` are the medians of.
    pub app_cell: String,
    /// Whether that cell ran at saturation (the closed-loop one-replica `scaling` cell)
    /// rather than at the equal offered rate.
    pub saturated: bool,
    /// Ids of the balanced cells `balancer_us` is the median of (empty: not measured).
    pub balancer_cells: Vec<String>,
    /// Whether that cell counted its store operations (else `store_ops` is an assumed 1).
    pub store_ops_counted: bool,
}

/// The measured costs of the configuration of the equal-rate `cell`, whose scheme `pred`
/// matches (at any replica count, balancer and policy): the one-replica `scaling` cell's
/// medians when the run has it, else `cell`'s. `shared_store`: the scheme's state lives in
/// a store all replicas share (a store op is counted as one per request when the cells did
/// not count them). `None` when `cell` has no trials.
pub fn measured_costs(
    run: &SuiteRun,
    cell: &Cell,
    pred: &dyn Fn(&CellConfig) -> bool,
    shared_store: bool,
) -> Option<MeasuredCosts> {
    let equal_rate = CellStats::of(cell)?;
    // A capacity projection wants the cost per request of a busy replica: the closed-loop
    // one-replica cell when the run has it (at a modest open-loop rate most of a request's
    // CPU is the kernel waking an idle server, which a saturated server does not pay).
    let saturated = stats::find(run, SCALING, |c: &CellConfig| pred(c) && c.replicas == 1)
        .and_then(|c| Some((c, CellStats::of(c)?)));
    let (app_cell, s, is_saturated) = match saturated {
        Some((c, s)) => (c.id.clone(), s, true),
        None => (cell.id.clone(), equal_rate, false),
    };
    let balancer = balancer_us(run, &|c: &CellConfig| {
        pred(&CellConfig {
            replicas: 1,
            balancer: Balancer::None,
            policy: Policy::RoundRobin,
            ..c.clone()
        })
    });
    let store_ops_counted = s.store_ops.is_some();
    let store_ops = if shared_store {
        s.store_ops.unwrap_or(1.0)
    } else {
        0.0
    };
    let limit = if !shared_store {
        StoreLimit::None
    } else if let Some(cap) = &run.store_capacity {
        StoreLimit::Measured {
            ops_per_second: cap.ops_per_second,
            method: cap.method.clone(),
        }
    } else if s.store_us.is_some_and(|u| u > 0.0) {
        StoreLimit::FromCpu
    } else {
        StoreLimit::Unknown
    };
    let (balancer_us, balancer_cells) = balancer.map_or((0.0, Vec::new()), |(v, ids)| (v, ids));
    Some(MeasuredCosts {
        costs: Costs {
            app_us: s.app_us,
            balancer_us,
            balancer_measured: !balancer_cells.is_empty(),
            store_ops,
            store_us: s.store_us,
        },
        limit,
        app_cell,
        saturated: is_saturated,
        balancer_cells,
        store_ops_counted,
    })
}

/// The projections the run's equal-rate cells allow: sessions in Redis, a stateless HS256
/// JWT, and HS256 with a Redis deny-list or token versions when measured.
pub fn projections(run: &SuiteRun) -> Vec<Projection> {
    type Pred = Box<dyn Fn(&CellConfig) -> bool>;
    let candidates: Vec<(Pred, bool)> = vec![
        (Box::new(pick::session(Store::Redis)), true),
        (Box::new(pick::jwt(Alg::Hs256)), false),
        (
            Box::new(pick::jwt_revoking(
                Alg::Hs256,
                Revocation::Denylist,
                Store::Redis,
            )),
            true,
        ),
        (
            Box::new(pick::jwt_revoking(
                Alg::Hs256,
                Revocation::TokenVersion,
                Store::Redis,
            )),
            true,
        ),
    ];
    let mut out = Vec::new();
    for (pred, shared_store) in candidates {
        let Some(cell) = stats::find(run, EQUAL_RATE, &*pred) else {
            continue;
        };
        let Some(m) = measured_costs(run, cell, &*pred, shared_store) else {
            continue;
        };
        out.push(project(&stats::scheme_name(&cell.config), m.costs, m.limit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn costs(app: f64, balancer: f64, ops: f64, store: Option<f64>) -> Costs {
        Costs {
            app_us: app,
            balancer_us: balancer,
            balancer_measured: true,
            store_ops: ops,
            store_us: store,
        }
    }

    #[test]
    fn stateless_scales_linearly() {
        let p = project("jwt", costs(15.0, 5.0, 0.0, None), StoreLimit::None);
        assert_eq!(p.per_core_rps, 50_000.0);
        assert_eq!(p.points[0], (1, 50_000.0, false));
        assert_eq!(p.points[6], (64, 3_200_000.0, false));
        assert_eq!(p.saturates_at, None);
    }

    #[test]
    fn a_shared_store_caps_throughput() {
        let limit = StoreLimit::Measured {
            ops_per_second: 100_000.0,
            method: "GET".into(),
        };
        // 40,000 requests/s per core; the store allows 100,000 ops/s = 100,000 requests/s.
        let p = project("session", costs(20.0, 5.0, 1.0, Some(3.0)), limit.clone());
        assert_eq!(p.store_rps, Some(100_000.0));
        assert_eq!(p.points[1], (2, 80_000.0, false));
        assert_eq!(p.points[2], (4, 100_000.0, true));
        assert_eq!(
            p.saturates_at,
            Some(3),
            "2.5 cores' worth: the 3rd replica is store-bound"
        );
        // Two operations per request halve the store's request rate.
        let p = project("session", costs(20.0, 5.0, 2.0, Some(3.0)), limit);
        assert_eq!(p.store_rps, Some(50_000.0));
        assert_eq!(p.saturates_at, Some(2));
    }

    #[test]
    fn store_cpu_bounds_when_capacity_is_missing() {
        let p = project(
            "session",
            costs(20.0, 0.0, 1.0, Some(4.0)),
            StoreLimit::FromCpu,
        );
        assert_eq!(p.store_rps, Some(250_000.0));
        assert_eq!(p.saturates_at, Some(6));
        let p = project("session", costs(20.0, 0.0, 1.0, None), StoreLimit::Unknown);
        assert_eq!(p.store_rps, None);
        assert_eq!(p.saturates_at, None);
    }

    #[test]
    fn example_projects_session_redis_and_jwt() {
        let run = crate::render::example::example_run();
        let p = projections(&run);
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "session · redis",
                "jwt HS256",
                "jwt HS256 · redis denylist",
                "jwt HS256 · redis token-version"
            ]
        );
        assert!(p[0].saturates_at.is_some());
        assert!(p[0].costs.balancer_measured);
        assert_eq!(p[1].saturates_at, None);
        let none = projections(&crate::render::example::example_run_without_redis());
        assert_eq!(none.len(), 1, "only the stateless JWT without Redis");
    }
}
