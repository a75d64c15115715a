//! Network distance: the equal-rate cells network profile by network profile.
//!
//! The equal-rate group may hold, for each network profile ([`CellConfig::network`]), its own
//! no-auth baseline and the configurations measured there. A configuration's added latency
//! at a profile is paired against the baseline **of the same profile** only: that baseline
//! crossed the same client link, so what remains is what the scheme adds at that distance
//! (a session's store round trips, a JWT's verification). All equal-rate trials took turns,
//! so trial *t* of every cell of every profile ran side by side.
//!
//! Profiles are ordered by store distance: the store's round trip first, then the other
//! hops; loopback (no link anywhere) comes first.

use crate::model::{Alg, Cell, CellConfig, Hop, Network, Store, SuiteRun};
use crate::render::format as f;
use crate::render::latency::{AddedLatency, LatencyDifference};
use crate::render::stats::{self, pick, CellStats, EQUAL_RATE};

/// The order of store distance: store round trip, then the client and balancer hops.
fn distance_key(n: &Network) -> (u64, u64, u64, crate::model::NetworkProfile) {
    (n.store_rtt_us(), n.client_us, n.balancer_us, n.profile)
}

/// The networks the equal-rate cells ran at, nearest store first (loopback first).
pub fn networks(run: &SuiteRun) -> Vec<Network> {
    let mut out: Vec<Network> = Vec::new();
    for c in stats::all_cells(run, EQUAL_RATE) {
        let n = if c.config.network.is_loopback() {
            Network::default()
        } else {
            c.config.network
        };
        if !out.iter().any(|o| stats::same_network(o, &n)) {
            out.push(n);
        }
    }
    out.sort_by_key(distance_key);
    out
}

/// Whether the equal-rate cells ran at any network other than loopback.
pub fn has_distance(run: &SuiteRun) -> bool {
    networks(run).iter().any(|n| !n.is_loopback())
}

/// A network's store round trip as configured (twice its one-way delay), µs.
pub fn store_rtt_us(n: &Network) -> f64 {
    n.store_rtt_us() as f64
}

/// A network's store round trip: `0`, `0.5 ms`, `30 ms`.
pub fn rtt(n: &Network) -> String {
    if n.store_rtt_us() == 0 {
        "0".to_owned()
    } else {
        f::ms(store_rtt_us(n) / 1e3)
    }
}

/// How the report names a network: `loopback`, `same-zone (store RTT 0.5 ms)`,
/// `custom (client 0.3 ms, store 2 ms; store RTT 4.0 ms)`.
pub fn label(n: &Network) -> String {
    if n.is_loopback() {
        return "loopback".to_owned();
    }
    let name = n.describe();
    match name.strip_suffix(')') {
        Some(open) => format!("{open}; store RTT {})", rtt(n)),
        None => format!("{name} (store RTT {})", rtt(n)),
    }
}

/// `config` at loopback: the key that matches one configuration across networks.
pub fn at_loopback(config: &CellConfig) -> CellConfig {
    CellConfig {
        network: Network::default(),
        ..config.clone()
    }
}

/// The no-auth baseline at `network`.
pub fn baseline<'r>(run: &'r SuiteRun, network: &Network) -> Option<&'r Cell> {
    stats::find_at(run, EQUAL_RATE, network, pick::baseline)
}

/// `cell`'s latency over the baseline of its own network.
pub fn added(run: &SuiteRun, cell: &Cell) -> Option<AddedLatency> {
    AddedLatency::of(cell, baseline(run, &cell.config.network)?)
}

/// The configuration `pred` picks at `network`, over that network's own baseline.
pub fn added_at(
    run: &SuiteRun,
    network: &Network,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<AddedLatency> {
    added(run, stats::find_at(run, EQUAL_RATE, network, pred)?)
}

/// Added latency at `network` of the session stores the latency verdicts compare:
/// `in-process sessions`, `Redis sessions`.
pub fn sessions_at(run: &SuiteRun, network: &Network) -> Vec<(String, AddedLatency)> {
    [
        ("in-process sessions", Store::Memory),
        ("Redis sessions", Store::Redis),
    ]
    .into_iter()
    .filter_map(|(name, store)| {
        added_at(run, network, pick::session(store)).map(|a| (name.to_owned(), a))
    })
    .collect()
}

/// Added latency at `network` of the stateless JWTs, by algorithm: `JWT HS256` …
pub fn jwts_at(run: &SuiteRun, network: &Network) -> Vec<(String, AddedLatency)> {
    Alg::ALL
        .iter()
        .filter_map(|&alg| {
            added_at(run, network, pick::jwt(alg)).map(|a| (format!("JWT {alg}"), a))
        })
        .collect()
}

/// Every session − JWT latency difference at `network`, named `Redis sessions − JWT HS256`.
pub fn session_minus_jwt(
    sessions: &[(String, AddedLatency)],
    jwts: &[(String, AddedLatency)],
) -> Vec<(String, LatencyDifference)> {
    let mut out = Vec::new();
    for (s_name, s) in sessions {
        for (j_name, j) in jwts {
            if let Some(d) = s.minus(j) {
                out.push((format!("{s_name} − {j_name}"), d));
            }
        }
    }
    out
}

/// One configuration at one network.
#[derive(Debug, Clone)]
pub struct Point<'r> {
    /// The network.
    pub network: Network,
    /// The cell.
    pub cell: &'r Cell,
    /// Its medians.
    pub stats: CellStats,
    /// Its latency over the same network's baseline (`None`: no baseline, or too few
    /// paired trials).
    pub added: Option<AddedLatency>,
}

/// One authenticated configuration measured at several networks.
#[derive(Debug, Clone)]
pub struct Series<'r> {
    /// Its name without the network, e.g. `session · redis`.
    pub name: String,
    /// The configuration at loopback.
    pub config: CellConfig,
    /// Its points, nearest store first.
    pub points: Vec<Point<'r>>,
}

/// Every authenticated equal-rate configuration measured at two or more networks, in the
/// order of the run.
pub fn series(run: &SuiteRun) -> Vec<Series<'_>> {
    let order = networks(run);
    let mut out: Vec<Series<'_>> = Vec::new();
    for c in stats::all_cells(run, EQUAL_RATE) {
        if c.config.auth == crate::model::Auth::None {
            continue;
        }
        let key = at_loopback(&c.config);
        if out.iter().any(|s| s.config == key) {
            continue;
        }
        let points: Vec<Point<'_>> = order
            .iter()
            .filter_map(|n| {
                let cell = stats::find_at(run, EQUAL_RATE, n, |x| at_loopback(x) == key)?;
                Some(Point {
                    network: *n,
                    cell,
                    stats: CellStats::of(cell)?,
                    added: added(run, cell),
                })
            })
            .collect();
        if points.len() >= 2 {
            out.push(Series {
                name: stats::scheme_name(&key),
                config: key,
                points,
            });
        }
    }
    out
}

/// What the round trips through one hop measured, over the equal-rate cells of a network.
#[derive(Debug, Clone, PartialEq)]
pub struct HopSummary {
    /// The network.
    pub network: Network,
    /// The hop.
    pub hop: Hop,
    /// Its configured one-way delay, µs.
    pub delay_us: u64,
    /// Hop records (one per cell and upstream) the medians are over.
    pub records: usize,
    /// Median round trip through the link, µs.
    pub rtt_us: f64,
    /// Median round trip without it, µs.
    pub direct_rtt_us: f64,
    /// Median of what the link added, µs (ideally twice the delay).
    pub added_us: f64,
}

/// The hop round trips the equal-rate cells recorded, per network (nearest store first) and
/// hop (client side first).
pub fn hops(run: &SuiteRun) -> Vec<HopSummary> {
    let mut out = Vec::new();
    for n in networks(run).iter().filter(|n| !n.is_loopback()) {
        for hop in Hop::ALL {
            let records: Vec<_> = stats::cells_at(run, EQUAL_RATE, *n)
                .flat_map(|c| c.hops.iter())
                .filter(|h| h.hop == hop)
                .collect();
            let med = |g: &dyn Fn(&crate::model::HopRtt) -> f64| {
                stats::median(records.iter().map(|h| g(h))).unwrap_or(f64::NAN)
            };
            if records.is_empty() {
                continue;
            }
            out.push(HopSummary {
                network: *n,
                hop,
                delay_us: n.delay_us(hop),
                records: records.len(),
                rtt_us: med(&|h| h.rtt_us),
                direct_rtt_us: med(&|h| h.direct_rtt_us),
                added_us: med(&|h| h.added_us()),
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{HopRtt, NetworkProfile};
    use crate::render::example::example_run;

    /// Copies at `network` of the example's baseline, Redis session and HS256 cells: every
    /// trial `client_us` slower for the client link, the Redis session another `store_us`.
    pub(crate) fn at_network(
        mut run: SuiteRun,
        network: Network,
        client_us: u64,
        store_us: u64,
    ) -> SuiteRun {
        for (id, extra) in [
            ("rate/none", client_us),
            ("rate/session-redis", client_us + store_us),
            ("rate/jwt-hs256", client_us),
        ] {
            let mut c = run.cells.iter().find(|c| c.id == id).unwrap().clone();
            c.config.network = network;
            c.id = format!("{id}@{}", network.slug());
            for t in &mut c.trials {
                t.latency.corrected.p50_us += extra;
                t.latency.corrected.p99_us += extra;
            }
            c.hops.push(HopRtt {
                hop: Hop::Client,
                to: "entry".to_owned(),
                delay_us: network.client_us,
                samples: 20,
                rtt_us: 58.0 + 2.0 * network.client_us as f64 + 3.0,
                direct_rtt_us: 58.0,
            });
            run.cells.push(c);
        }
        run
    }

    /// The example without its cells at other networks than loopback.
    pub(crate) fn loopback_example() -> SuiteRun {
        let mut run = example_run();
        run.cells.retain(|c| c.config.network.is_loopback());
        run
    }

    /// [`at_network`] at same-zone, on [`loopback_example`].
    pub(crate) fn with_same_zone(client_us: u64, store_us: u64) -> SuiteRun {
        let zone = Network::preset(NetworkProfile::SameZone);
        at_network(loopback_example(), zone, client_us, store_us)
    }

    #[test]
    fn networks_are_ordered_by_store_distance() {
        let mut run = with_same_zone(500, 500);
        let mut far = run.cells[0].clone();
        far.config.network = Network::preset(NetworkProfile::CrossRegionStore);
        run.cells.insert(0, far);
        let names: Vec<String> = networks(&run).iter().map(label).collect();
        assert_eq!(
            names,
            [
                "loopback",
                "same-zone (store RTT 0.5 ms)",
                "cross-region-store (store RTT 30 ms)"
            ]
        );
        let mut custom = Network::preset(NetworkProfile::Custom);
        custom.store_us = 2_000;
        assert_eq!(label(&custom), "custom (store 2 ms; store RTT 4.0 ms)");
    }

    /// A same-zone configuration is paired with the same-zone baseline, never with loopback.
    #[test]
    fn each_network_has_its_own_baseline() {
        let run = with_same_zone(500, 550);
        let zone = Network::preset(NetworkProfile::SameZone);
        let redis = added_at(&run, &zone, pick::session(Store::Redis)).unwrap();
        let loop_redis = added_at(&run, &Network::default(), pick::session(Store::Redis)).unwrap();
        // The client link's 500 µs cancels against the same-zone baseline; the store's stays.
        assert!(
            (redis.p50.estimate - loop_redis.p50.estimate - 550.0).abs() < 1.0,
            "{redis:?} vs {loop_redis:?}"
        );
        let jwt = added_at(&run, &zone, pick::jwt(Alg::Hs256)).unwrap();
        let loop_jwt = added_at(&run, &Network::default(), pick::jwt(Alg::Hs256)).unwrap();
        assert!((jwt.p50.estimate - loop_jwt.p50.estimate).abs() < 1.0);
        // Without its own baseline a network has no added latency at all.
        let mut orphan = run.clone();
        orphan.cells.retain(|c| {
            c.config.auth != crate::model::Auth::None || c.config.network.is_loopback()
        });
        assert_eq!(added_at(&orphan, &zone, pick::session(Store::Redis)), None);
        let s = series(&orphan);
        assert!(s.iter().all(|s| s.points[1].added.is_none()));
    }

    #[test]
    fn series_and_hops_span_the_networks() {
        let run = with_same_zone(500, 550);
        let s = series(&run);
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["session · redis", "jwt HS256"]);
        assert!(s
            .iter()
            .all(|s| s.points.len() == 2 && s.points[0].network.is_loopback()));
        let h = hops(&run);
        assert_eq!(h.len(), 1);
        assert_eq!(
            (h[0].hop, h[0].records, h[0].added_us),
            (Hop::Client, 3, 503.0)
        );
        assert!(!has_distance(&loopback_example()));
        assert!(has_distance(&example_run()));
    }
}
