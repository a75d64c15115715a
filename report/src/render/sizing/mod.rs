//! "Scale on paper": a deployment sized for a target rate of authenticated requests per
//! scheme, by arithmetic on the per-request costs one suite run measured
//! (`loadgen report --project RPS RUN_DIR`, `docs/scale.md`).
//!
//! Nothing here is measured on a cluster. Every figure is a measured median from `run.json`
//! times the target rate, divided by a planning headroom:
//!
//! * **cores** = RPS × CPU-µs per request ÷ 10⁶ ÷ headroom, for the replicas and the balancer
//!   apart, with the costs [`projection::measured_costs`] picks (the saturated one-replica
//!   `scaling` cell when the run has one), else the cost part's saturated rounds, else the
//!   equal-rate cell; **replicas** = ⌈cores ÷ cores per replica⌉;
//! * **Redis Cluster shards** (primaries) = ⌈RPS × store ops per request ÷ (one shard's
//!   measured ops/s × headroom)⌉, one shard's capacity being the run's `store_capacity`, else
//!   one core at the Redis CPU per request the cells measured;
//! * **bandwidth** = RPS × HTTP bytes per request × 8, request and response apart;
//! * **state memory** = entries × the measured bytes per entry.
//!
//! A figure the run did not measure is [`Figure::NotMeasured`], never a default.

mod markdown;
#[cfg(test)]
mod tests;

pub use markdown::markdown;

use crate::model::{Auth, Cell, CellConfig, CostPart, Revocation, StateKind, Store, SuiteRun};
use crate::render::projection::{self, MeasuredCosts, StoreLimit};
use crate::render::stats::{self, CellStats, EQUAL_RATE, SCALING};

/// Planning utilisation when `--headroom` is not given: plan every core and shard at 70 %.
pub const DEFAULT_HEADROOM: f64 = 0.7;
/// Live sessions when `--sessions` is not given (an input, not a measurement).
pub const DEFAULT_SESSIONS: u64 = 10_000_000;
/// Deny-list entries the state memory is quoted for (a unit, not an assumption).
pub const REVOKED_UNIT: u64 = 1_000_000;
/// Redis Cluster's hash slots.
pub const HASH_SLOTS: u32 = 16_384;

/// What to size for.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Authenticated requests per second.
    pub rps: f64,
    /// Planned utilisation of every core and shard, in (0, 1].
    pub headroom: f64,
    /// Cores per replica (and per balancer node); `None`: the run's machine (`env.cores`).
    pub cores_per_replica: Option<usize>,
    /// Live sessions (and users, for token versions).
    pub sessions: u64,
}

/// A flag value the sizing cannot use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    /// `--project` not a positive, finite number.
    #[error("--project {0}: must be a positive number of requests per second")]
    Rps(String),
    /// `--headroom` outside (0, 1].
    #[error("--headroom {0}: must be above 0 and at most 1 (e.g. 0.7 plans at 70 % utilisation)")]
    Headroom(String),
    /// `--cores-per-replica 0`.
    #[error("--cores-per-replica {0}: must be at least 1")]
    Cores(usize),
}

impl Target {
    /// Checks the flags: a positive rate, a headroom in (0, 1], at least one core.
    pub fn validate(&self) -> Result<(), TargetError> {
        if !(self.rps.is_finite() && self.rps > 0.0) {
            return Err(TargetError::Rps(self.rps.to_string()));
        }
        if !(self.headroom > 0.0 && self.headroom <= 1.0) {
            return Err(TargetError::Headroom(self.headroom.to_string()));
        }
        match self.cores_per_replica {
            Some(0) => Err(TargetError::Cores(0)),
            _ => Ok(()),
        }
    }
}

/// A number and where it came from, or the fact that the run did not measure it.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// Measured (or computed from measured figures).
    Known {
        /// The value.
        value: f64,
        /// Its inputs, for a reader to trace (cell ids, parts).
        source: String,
    },
    /// The run did not measure what it needs; why.
    NotMeasured(String),
}

impl Figure {
    fn known(value: f64, source: impl Into<String>) -> Figure {
        if value.is_finite() && value >= 0.0 {
            Figure::Known {
                value,
                source: source.into(),
            }
        } else {
            Figure::NotMeasured(format!("{} is not a usable number", source.into()))
        }
    }

    /// The value, when known.
    pub fn value(&self) -> Option<f64> {
        match self {
            Figure::Known { value, .. } => Some(*value),
            Figure::NotMeasured(_) => None,
        }
    }
}

/// Where a scheme's state lives.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Nothing per request: a stateless JWT.
    None,
    /// In each replica's memory: not shared, so sessions need sticky routing and a
    /// per-replica deny-list or version table only knows what that replica saw.
    InProcess,
    /// A Redis all replicas share.
    Shared(StoreSizing),
}

/// The shared store's sizing.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSizing {
    /// Store operations per request.
    pub ops_per_request: Figure,
    /// Store operations per second at the target rate.
    pub ops_per_second: Option<f64>,
    /// One shard's capacity, operations/s.
    pub shard_ops_per_second: Figure,
    /// With a measured capacity: what one Redis core would serve at the Redis CPU the load
    /// cells measured, shown beside it.
    pub cpu_check: Option<Figure>,
    /// Primaries: ⌈ops/s ÷ (capacity × headroom)⌉.
    pub shards: Option<u64>,
}

/// State memory at the target.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    /// What one entry is.
    pub kind: StateKind,
    /// Bytes per entry.
    pub bytes_per_entry: Figure,
    /// Entries sized for.
    pub entries: u64,
    /// How `entries` was chosen.
    pub entries_from: String,
    /// `entries × bytes per entry`.
    pub total_bytes: Option<f64>,
}

/// Bytes on the wire at the target.
#[derive(Debug, Clone, PartialEq)]
pub struct Bandwidth {
    /// HTTP request bytes per request.
    pub sent: Figure,
    /// HTTP response bytes per request.
    pub received: Figure,
    /// Credential header bytes per request.
    pub credential: Figure,
}

/// One scheme's deployment at the target.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemeSizing {
    /// The scheme, e.g. `session · redis`.
    pub name: String,
    /// The equal-rate cell that names the scheme.
    pub cell: String,
    /// Replica CPU per request, µs.
    pub app_us: Figure,
    /// Replica cores: RPS × app ÷ 10⁶ ÷ headroom.
    pub app_cores: Option<f64>,
    /// ⌈app cores ÷ cores per replica⌉.
    pub replicas: Option<u64>,
    /// Balancer CPU per request, µs.
    pub balancer_us: Figure,
    /// Balancer cores.
    pub balancer_cores: Option<f64>,
    /// ⌈balancer cores ÷ cores per node⌉.
    pub balancer_nodes: Option<u64>,
    /// Where the scheme's state lives, and the store's sizing.
    pub state: State,
    /// Bytes on the wire.
    pub bandwidth: Bandwidth,
    /// State memory, when the scheme keeps state and the run measured it.
    pub memory: Option<Memory>,
}

/// The whole sizing.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizing {
    /// What was sized for.
    pub target: Target,
    /// Cores per replica used.
    pub cores_per_replica: usize,
    /// Where they came from.
    pub cores_from: String,
    /// The store's capacity measurement, quoted.
    pub store_method: Option<String>,
    /// One sizing per scheme the run measured, in run order.
    pub schemes: Vec<SchemeSizing>,
}

/// The command line that makes this sizing: `loadgen report --project …`, every flag
/// spelled out so the header says exactly what was assumed.
pub fn command_line(target: &Target, run_dir: &str, out: Option<&str>) -> String {
    let mut words = vec![
        "loadgen report".to_owned(),
        format!("--project {}", target.rps),
        format!("--headroom {}", target.headroom),
    ];
    if let Some(c) = target.cores_per_replica {
        words.push(format!("--cores-per-replica {c}"));
    }
    words.push(format!("--sessions {}", target.sessions));
    if let Some(out) = out {
        words.push(format!("--out {out}"));
    }
    words.push(run_dir.to_owned());
    words.join(" ")
}

/// Sizes `run` for `target` and renders it, the header quoting [`command_line`] with
/// `run_dir` and `out` as given.
pub fn markdown_for(run: &SuiteRun, target: &Target, run_dir: &str, out: Option<&str>) -> String {
    let sizing = size(run, target);
    markdown(run, &sizing, &command_line(target, run_dir, out), run_dir)
}

/// Cores for `us` CPU-µs per request at the target.
pub fn cores(rps: f64, us: f64, headroom: f64) -> f64 {
    rps * us / 1e6 / headroom
}

/// ⌈`need` ÷ `per`⌉, at least 1 for any positive need (and 0 for none).
pub fn ceil_div(need: f64, per: f64) -> u64 {
    if need <= 0.0 || per <= 0.0 || !need.is_finite() {
        return 0;
    }
    // A hair of tolerance so 4.0000000001 from float rounding stays 4.
    ((need / per) - 1e-9).ceil().max(1.0) as u64
}

/// Gbit/s for `bytes` per request at `rps`.
pub fn gbit_per_s(rps: f64, bytes: f64) -> f64 {
    rps * bytes * 8.0 / 1e9
}

/// Whether two configurations are the same scheme (whatever their replicas, balancer,
/// policy and network).
fn same_scheme(a: &CellConfig, b: &CellConfig) -> bool {
    a.auth == b.auth
        && a.store == b.store
        && a.alg == b.alg
        && a.revocation == b.revocation
        && a.crypto_backend == b.crypto_backend
        && a.extra_claim_bytes == b.extra_claim_bytes
}

/// The state kind a scheme keeps per entry, if any.
fn state_kind(c: &CellConfig) -> Option<StateKind> {
    match (c.auth, c.revocation) {
        (Auth::Session, _) => Some(StateKind::Session),
        (Auth::Jwt, Some(Revocation::Denylist)) => Some(StateKind::Denylist),
        (Auth::Jwt, Some(Revocation::TokenVersion)) => Some(StateKind::TokenVersion),
        _ => None,
    }
}

/// Median app and store CPU-µs per request of the cost part's usable rounds for `config`
/// (rounds with errors or logins left out, as the cost verdict does); `None` with fewer than
/// two.
fn cost_part_us(run: &SuiteRun, config: &CellConfig) -> Option<(f64, Option<f64>, usize)> {
    let part: &CostPart = run.cost.iter().find(|p| same_scheme(&p.config, config))?;
    let rounds: Vec<_> = part
        .rounds
        .iter()
        .map(|r| &r.case)
        .filter(|c| c.errors == 0 && c.logins == 0)
        .collect();
    let app = stats::median(rounds.iter().filter_map(|c| c.app_us()))?;
    let store = rounds
        .iter()
        .any(|c| c.store_seconds.is_some())
        .then(|| stats::median(rounds.iter().filter_map(|c| c.store_us())))
        .flatten();
    (rounds.len() >= 2).then_some((app, store, rounds.len()))
}

fn list(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sizes every scheme the run measured (its loopback equal-rate cells, baseline aside) for
/// `target`, which must be valid ([`Target::validate`]).
pub fn size(run: &SuiteRun, target: &Target) -> Sizing {
    let (cores_per_replica, cores_from) = match target.cores_per_replica {
        Some(c) => (c, "`--cores-per-replica`".to_owned()),
        None if run.env.cores > 0 => (
            run.env.cores,
            "the run's machine, `env.cores`; `--cores-per-replica` overrides it".to_owned(),
        ),
        None => (
            1,
            "1: the run did not record its cores (`env.cores` is 0); `--cores-per-replica` \
             sets it"
                .to_owned(),
        ),
    };
    let schemes = stats::cells(run, EQUAL_RATE)
        .filter(|c| c.config.auth != Auth::None)
        .filter_map(|cell| size_scheme(run, cell, target, cores_per_replica))
        .collect();
    Sizing {
        target: target.clone(),
        cores_per_replica,
        cores_from,
        store_method: run.store_capacity.as_ref().map(|c| c.method.clone()),
        schemes,
    }
}

fn size_scheme(
    run: &SuiteRun,
    cell: &Cell,
    target: &Target,
    cores_per_replica: usize,
) -> Option<SchemeSizing> {
    let config = &cell.config;
    let shared = stats::uses_redis(config);
    let pred = |c: &CellConfig| same_scheme(c, config);
    let m: MeasuredCosts = projection::measured_costs(run, cell, &pred, shared)?;
    let here = CellStats::of(cell)?;
    let (rps, headroom) = (target.rps, target.headroom);
    let per = cores_per_replica as f64;

    // Replica CPU: saturated scaling cell, else the cost part's saturated rounds, else the
    // equal-rate cell (which includes waking an idle server: an upper bound).
    let cost_part = (!m.saturated).then(|| cost_part_us(run, config)).flatten();
    let (app, store, from) = match (m.saturated, cost_part) {
        (true, _) => (
            m.costs.app_us,
            m.costs.store_us,
            format!("median of `{}`: closed loop, saturated", m.app_cell),
        ),
        (false, Some((app, store, rounds))) => (
            app,
            store,
            format!(
                "median of {rounds} cost-part rounds: closed loop, saturated, one pinned \
                 replica"
            ),
        ),
        (false, None) => (
            m.costs.app_us,
            m.costs.store_us,
            format!(
                "median of `{}`: open loop at an equal rate, which includes waking an idle \
                 server, so an upper bound",
                m.app_cell
            ),
        ),
    };
    let app_us = Figure::known(app, from.clone());
    let store_us = store.filter(|&u| u > 0.0).map(|u| (u, from));
    let app_cores = app_us
        .value()
        .filter(|&u| u > 0.0)
        .map(|u| cores(rps, u, headroom));
    let balancer_us = balancer(run, config, &m);
    let balancer_cores = balancer_us.value().map(|u| cores(rps, u, headroom));

    let state = if shared {
        State::Shared(store_sizing(&m, store_us, target))
    } else if here.store_ops.is_some_and(|o| o > 0.0) || state_kind(config).is_some() {
        State::InProcess
    } else {
        State::None
    };
    let bandwidth = bandwidth(cell, &here);
    let replicas = app_cores.map(|c| ceil_div(c, per));
    let memory = memory(run, config, target, &state);
    Some(SchemeSizing {
        name: stats::scheme_name(config),
        cell: cell.id.clone(),
        app_us,
        app_cores,
        replicas,
        balancer_cores,
        balancer_nodes: balancer_cores.map(|c| ceil_div(c, per)),
        balancer_us,
        state,
        bandwidth,
        memory,
    })
}

/// Balancer CPU per request: this scheme's saturated `scaling` cells; else every saturated
/// `scaling` cell (the balancer forwards requests without reading credentials, so its cost
/// barely depends on the scheme); else what the projection picked (open-loop cells, which
/// include waking an idle balancer).
fn balancer(run: &SuiteRun, config: &CellConfig, m: &MeasuredCosts) -> Figure {
    let scaling = || stats::cells(run, SCALING).filter(|c| c.config.replicas > 1);
    let own = projection::balancer_median(
        scaling()
            .filter(|c| same_scheme(&c.config, config))
            .collect(),
    );
    if let Some((us, ids)) = own {
        return Figure::known(us, format!("median of {}", list(&ids)));
    }
    if let Some((us, ids)) = projection::balancer_median(scaling().collect()) {
        return Figure::known(
            us,
            format!(
                "no saturated balanced cell of this scheme; median of every one, {}: the \
                 balancer forwards without reading the credential",
                list(&ids)
            ),
        );
    }
    if m.costs.balancer_measured {
        Figure::known(
            m.costs.balancer_us,
            format!(
                "median of {}: open loop, which includes waking an idle balancer, so an upper bound",
                list(&m.balancer_cells)
            ),
        )
    } else {
        Figure::NotMeasured("no balanced cell measured the balancer's CPU".to_owned())
    }
}

fn store_sizing(
    m: &MeasuredCosts,
    store_us: Option<(f64, String)>,
    target: &Target,
) -> StoreSizing {
    let ops_per_request = if m.store_ops_counted {
        Figure::known(
            m.costs.store_ops,
            format!("`store_ops_per_request`, median of `{}`", m.app_cell),
        )
    } else {
        Figure::NotMeasured(format!(
            "`{}` did not count its store operations",
            m.app_cell
        ))
    };
    let ops = ops_per_request.value();
    // One Redis core at the Redis CPU the load cells measured per request.
    let one_core = match (ops, &store_us) {
        (Some(o), Some((us, from))) if o > 0.0 => Some(Figure::known(
            1e6 * o / us,
            format!(
                "one core at {us:.1} Redis CPU-µs per request for {o:.2} ops ({from}); Redis \
                 runs commands on one thread"
            ),
        )),
        _ => None,
    };
    let (shard_ops_per_second, cpu_check) = match (&m.limit, one_core) {
        (StoreLimit::Measured { ops_per_second, .. }, check) => (
            Figure::known(
                *ops_per_second,
                "`store_capacity.ops_per_second`: one redis-server, measured directly",
            ),
            check,
        ),
        (_, Some(f)) => (f, None),
        (_, None) => (
            Figure::NotMeasured(
                "neither `store_capacity` nor Redis CPU per request was measured".to_owned(),
            ),
            None,
        ),
    };
    let ops_per_second = ops.map(|o| target.rps * o);
    let shards = match (ops_per_second, shard_ops_per_second.value()) {
        (Some(need), Some(cap)) => Some(ceil_div(need, cap * target.headroom)),
        _ => None,
    };
    StoreSizing {
        ops_per_request,
        ops_per_second,
        shard_ops_per_second,
        cpu_check,
        shards,
    }
}

fn bandwidth(cell: &Cell, s: &CellStats) -> Bandwidth {
    let fig = |v: f64, what: &str| {
        if v > 0.0 {
            Figure::known(v, format!("`bytes.{what}`, median of `{}`", cell.id))
        } else {
            Figure::NotMeasured(format!("`{}` recorded no {what} bytes", cell.id))
        }
    };
    Bandwidth {
        sent: fig(s.bytes_sent, "sent"),
        received: fig(s.bytes_received, "received"),
        credential: fig(s.credential_bytes, "credential_header"),
    }
}

fn memory(run: &SuiteRun, config: &CellConfig, target: &Target, state: &State) -> Option<Memory> {
    let kind = state_kind(config)?;
    if matches!(state, State::None) {
        return None;
    }
    let (entries, entries_from) = match kind {
        StateKind::Session => (target.sessions, "`--sessions` live sessions".to_owned()),
        StateKind::TokenVersion => (
            target.sessions,
            "one per user, users = `--sessions` (one session each)".to_owned(),
        ),
        StateKind::Denylist => (
            REVOKED_UNIT,
            "per million revoked, unexpired tokens".to_owned(),
        ),
    };
    let store = if config.store == Store::Redis {
        Store::Redis
    } else {
        Store::Memory
    };
    let bytes_per_entry = match run
        .state_cost
        .iter()
        .find(|s| s.kind == kind && s.store == store)
    {
        Some(s) => Figure::known(
            s.bytes_per_entry,
            format!(
                "`state_cost` {kind} in {store}: {} over {} entries",
                s.measured, s.entries
            ),
        ),
        None => Figure::NotMeasured(format!("no `state_cost` for {kind} in {store}")),
    };
    let total_bytes = bytes_per_entry.value().map(|b| b * entries as f64);
    Some(Memory {
        kind,
        bytes_per_entry,
        entries,
        entries_from,
        total_bytes,
    })
}
