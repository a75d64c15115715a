//! Latency family: S3, X2.

use super::*;
use crate::model::Network;
use crate::render::cost::Resolved;
use crate::render::distance;
use crate::render::interval::Interval;
use crate::render::latency::{AddedLatency, LatencyDifference, MIN_TRIALS};

/// Where the projected shared store saturates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saturation {
    /// At this many replicas (within [`PROJECTION_HORIZON`]).
    Within(usize),
    /// Not within the horizon.
    Beyond,
    /// The store's capacity was not measured.
    Unknown,
}

/// S3: a shared store's cost and limit. Supported when Redis sessions' added CPU resolved as
/// more than in-process ones' (the cost part) *and* the store saturates within the projection
/// horizon; refuted when neither; depends otherwise. An unknown capacity decides on cost
/// alone.
pub fn s3_rule(redis_vs_memory: Resolved, saturation: Saturation) -> Outcome {
    let costlier = redis_vs_memory == Resolved::More;
    match (costlier, saturation) {
        (true, Saturation::Within(_) | Saturation::Unknown) => Outcome::Supported,
        (false, Saturation::Beyond | Saturation::Unknown) => Outcome::Refuted,
        (true, Saturation::Beyond) => Outcome::Depends(format!(
            "on scale: the shared store costs more per request but would carry more than {PROJECTION_HORIZON} replicas"
        )),
        (false, Saturation::Within(n)) => Outcome::Depends(format!(
            "on scale: the shared store costs no more per request but would saturate at {n} replicas"
        )),
    }
}

pub(super) fn s3(run: &SuiteRun) -> (Outcome, String) {
    let mem = eq_rate(run, pick::session(Store::Memory));
    let redis = eq_rate(run, pick::session(Store::Redis));
    let mem_cost = cost_of(run, pick::session(Store::Memory));
    let redis_cost = cost_of(run, pick::session(Store::Redis));
    let (Some(mem), Some(redis), Some(mem_cost), Some(redis_cost)) =
        (mem, redis, mem_cost, redis_cost)
    else {
        if run.cost.is_empty() {
            return super::cost::no_cost_part(run);
        }
        return (
            not_measured(run, "Redis sessions", &["redis"]),
            String::new(),
        );
    };
    let (diff, costlier) = crate::render::cost::compare(&redis_cost, &mem_cost);
    let proj = projection::projections(run)
        .into_iter()
        .find(|p| p.name == "session · redis");
    let saturation = match proj.as_ref().and_then(|p| p.saturates_at) {
        Some(n) if n <= PROJECTION_HORIZON => Saturation::Within(n),
        Some(_) => Saturation::Beyond,
        None => Saturation::Unknown,
    };
    let outcome = s3_rule(costlier, saturation);
    let mut ev = format!(
        "Redis over in-process sessions: added CPU {} vs {}, difference {} ({}); {}",
        f::interval_us(&redis_cost.total),
        f::interval_us(&mem_cost.total),
        f::interval_us(&diff),
        super::cost::resolved(costlier),
        s3_latency(run, &mem, &redis),
    );
    ev.push_str(&super::distance::s3_distance(run));
    match (&proj, saturation) {
        (Some(p), Saturation::Within(n)) => {
            let _ = write!(
                ev,
                "; projection: the store ({}) saturates at {n} replicas, {}",
                match &p.limit {
                    projection::StoreLimit::Measured { .. } => "measured capacity",
                    _ => "one Redis core",
                },
                f::rps(p.store_rps.unwrap_or(f64::NAN))
            );
        }
        (Some(_), Saturation::Beyond) => {
            let _ = write!(
                ev,
                "; projection: the store lasts beyond {PROJECTION_HORIZON} replicas"
            );
        }
        _ => {
            let _ = write!(ev, "; the store's capacity was not measured");
        }
    }
    let series = stats::scaling_series(run, pick::session(Store::Redis));
    if let Some(last) = series.last().filter(|p| p.replicas > 1) {
        let _ = write!(
            ev,
            "; measured on {} shared cores: {} replicas {} (efficiency {})",
            run.env.cores,
            last.replicas,
            f::rps(last.stats.throughput_rps),
            last.efficiency.map_or("–".to_owned(), f::ratio)
        );
    }
    (outcome, ev)
}

/// Where an interval lies from zero: its nearest and farthest magnitude.
fn magnitude(i: &Interval) -> (f64, f64) {
    let near = if i.low > 0.0 {
        i.low
    } else if i.high < 0.0 {
        -i.high
    } else {
        0.0
    };
    (near, i.low.abs().max(i.high.abs()))
}

/// What the session–JWT differences at one network show, by [`x2_finding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum X2Finding {
    /// Some p50 difference is tens of ms over its whole interval.
    TensOfMs,
    /// Only a p99 difference is.
    TensOfMsAtP99,
    /// Some p50 difference is over a millisecond, every one short of tens of ms.
    OverMs,
    /// Every p50 interval stays within a millisecond.
    SubMs,
    /// A p50 interval spans a threshold.
    Unresolved,
}

impl X2Finding {
    /// The verdict this finding gives on its own.
    pub fn outcome(self) -> Outcome {
        match self {
            X2Finding::TensOfMs => Outcome::Supported,
            X2Finding::SubMs => Outcome::Refuted,
            X2Finding::TensOfMsAtP99 => {
                Outcome::Depends("on the percentile: tens of ms only at p99".into())
            }
            X2Finding::OverMs => Outcome::Depends(
                "on the configuration: over a millisecond at p50 for some, short of tens of ms"
                    .into(),
            ),
            X2Finding::Unresolved => Outcome::Depends(
                "on precision: a p50 difference's interval spans a threshold of the rule (more trials would decide)"
                    .into(),
            ),
        }
    }
}

/// X2 on the session–JWT latency differences, one `(p50, p99)` pair of intervals per
/// session × JWT configuration. A difference counts only over its whole interval:
/// supported when some p50 difference is at least [`TENS_OF_MS_US`]; depends on the
/// percentile when only a p99 one is; refuted when every p50 interval stays within
/// [`SUB_MS_US`]; depends on the configuration when some p50 difference is over
/// [`SUB_MS_US`] and every p50 interval short of tens of ms; otherwise a p50 interval spans
/// a threshold and the verdict waits for more trials. A p99 interval that merely reaches
/// tens of ms does not stand in the way of refuting: a short trial's p99 is made of its few
/// slowest requests, and one stall of the machine widens it that far with no difference
/// between the schemes (the evidence shows the interval).
pub fn x2_rule(pairs: &[(Interval, Interval)]) -> Outcome {
    x2_finding(pairs).outcome()
}

/// The finding behind [`x2_rule`].
pub fn x2_finding(pairs: &[(Interval, Interval)]) -> X2Finding {
    let any = |f: &dyn Fn(&(Interval, Interval)) -> bool| pairs.iter().any(f);
    let all = |f: &dyn Fn(&(Interval, Interval)) -> bool| pairs.iter().all(f);
    if any(&|(p50, _)| magnitude(p50).0 >= TENS_OF_MS_US) {
        X2Finding::TensOfMs
    } else if any(&|(_, p99)| magnitude(p99).0 >= TENS_OF_MS_US) {
        X2Finding::TensOfMsAtP99
    } else if all(&|(p50, _)| magnitude(p50).1 < SUB_MS_US) {
        X2Finding::SubMs
    } else if any(&|(p50, _)| magnitude(p50).0 >= SUB_MS_US)
        && all(&|(p50, _)| magnitude(p50).1 < TENS_OF_MS_US)
    {
        X2Finding::OverMs
    } else {
        X2Finding::Unresolved
    }
}

/// Why there are no latency intervals: too few trials of the equal-rate cells.
fn too_few_trials(run: &SuiteRun) -> (Outcome, String) {
    let most = stats::all_cells(run, EQUAL_RATE)
        .map(|c| c.trials.len())
        .max()
        .unwrap_or(0);
    (
        Outcome::NotMeasured(format!(
            "latency intervals need at least {MIN_TRIALS} trials of the equal-rate cells (set `trials` on them in the matrix, or run with --trials {MIN_TRIALS})"
        )),
        format!("the equal-rate cells ran {most} trial(s)"),
    )
}

/// The session–JWT comparison at one network.
struct AtNetwork {
    network: Network,
    sessions: Vec<(String, AddedLatency)>,
    jwts: Vec<(String, AddedLatency)>,
    pairs: Vec<(String, LatencyDifference)>,
}

impl AtNetwork {
    fn finding(&self) -> X2Finding {
        x2_finding(
            &self
                .pairs
                .iter()
                .map(|(_, d)| (d.p50, d.p99))
                .collect::<Vec<_>>(),
        )
    }

    /// The figures at this network: the largest differences, then every added latency.
    fn evidence(&self, run: &SuiteRun) -> String {
        let pairs = &self.pairs;
        let largest = |f: &dyn Fn(&LatencyDifference) -> Interval| {
            pairs
                .iter()
                .max_by(|a, b| magnitude(&f(&a.1)).1.total_cmp(&magnitude(&f(&b.1)).1))
                .map(|(name, d)| format!("{} ({name})", f::interval_lat(&f(d))))
                .unwrap_or_default()
        };
        let trials = pairs.iter().map(|(_, d)| d.trials).min().unwrap_or(0);
        let mut ev = format!(
            "largest session–JWT difference over {trials} paired trials: p50 {}, p99 {}",
            largest(&|d| d.p50),
            largest(&|d| d.p99),
        );
        let rate = distance::baseline(run, &self.network)
            .and_then(CellStats::of)
            .and_then(|b| b.offered_rps)
            .map_or(String::new(), |r| format!(" at {}", f::rps(r)));
        let added: Vec<String> = self
            .sessions
            .iter()
            .chain(&self.jwts)
            .map(|(n, a)| {
                format!(
                    " {n} p50 {}, p99 {}",
                    f::interval_lat(&a.p50),
                    f::interval_lat(&a.p99)
                )
            })
            .collect();
        let _ = write!(ev, "; added over no-auth{rate}:{}", added.join(";"));
        ev
    }
}

pub(super) fn x2(run: &SuiteRun) -> (Outcome, String) {
    let networks: Vec<Network> = distance::networks(run)
        .into_iter()
        .filter(|n| {
            let has = |pred: &dyn Fn(&CellConfig) -> bool| {
                stats::find_at(run, EQUAL_RATE, n, pred).is_some()
            };
            has(&|c| pick::session(Store::Memory)(c) || pick::session(Store::Redis)(c))
                && has(&|c| Alg::ALL.iter().any(|&a| pick::jwt(a)(c)))
        })
        .collect();
    if networks.is_empty() {
        return no_equal_rate_cells(run);
    }
    let measured: Vec<AtNetwork> = networks
        .into_iter()
        .map(|network| {
            let sessions = distance::sessions_at(run, &network);
            let jwts = distance::jwts_at(run, &network);
            let pairs = distance::session_minus_jwt(&sessions, &jwts);
            AtNetwork {
                network,
                sessions,
                jwts,
                pairs,
            }
        })
        .filter(|m| !m.pairs.is_empty())
        .collect();
    if measured.is_empty() {
        return too_few_trials(run);
    }
    if let [only] = measured.as_slice() {
        let ev = only.evidence(run);
        let ev = if only.network.is_loopback() {
            ev
        } else {
            format!("at {}: {ev}", distance::label(&only.network))
        };
        return (only.finding().outcome(), ev);
    }
    let findings: Vec<(String, X2Finding)> = measured
        .iter()
        .map(|m| (m.network.profile.to_string(), m.finding()))
        .collect();
    let (outcome, decider) = x2_combine(&findings);
    let mut ev = format!(
        "decided at {}: {}",
        distance::label(&measured[decider].network),
        measured[decider].evidence(run)
    );
    for (i, m) in measured.iter().enumerate().rev() {
        if i != decider {
            let _ = write!(
                ev,
                "; at {}: {}",
                distance::label(&m.network),
                m.evidence(run)
            );
        }
    }
    (outcome, ev)
}

/// S3's latency side: Redis sessions over in-process ones, with intervals when the trials
/// allow, else the single-trial figures marked as such.
fn s3_latency(run: &SuiteRun, mem: &CellStats, redis: &CellStats) -> String {
    let lat = distance::sessions_at(run, &Network::default());
    let get = |name: &str| lat.iter().find(|(n, _)| n == name).map(|(_, a)| a);
    match get("Redis sessions").zip(get("in-process sessions")) {
        Some((r, m)) => match r.minus(m) {
            Some(d) => format!(
                "latency Redis − in-process over {} paired trials: p50 {} ({}), p99 {}",
                d.trials,
                f::interval_lat(&d.p50),
                super::cost::resolved(d.p50_resolved(r, m)),
                f::interval_lat(&d.p99)
            ),
            None => single_trial_latency(mem, redis),
        },
        None => single_trial_latency(mem, redis),
    }
}

fn single_trial_latency(mem: &CellStats, redis: &CellStats) -> String {
    format!(
        "p50 {} vs {} ({}), p99 {} vs {} (fewer than {MIN_TRIALS} trials: no interval)",
        f::lat(redis.p50_us),
        f::lat(mem.p50_us),
        f::lat_signed(redis.p50_us - mem.p50_us),
        f::lat(redis.p99_us),
        f::lat(mem.p99_us),
    )
}
