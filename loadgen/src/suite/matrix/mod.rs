//! The suite's matrix: what to measure, read from TOML (the built-in `default` and `quick`
//! matrices are TOML files too, under `loadgen/matrices/`), expanded into a [`SuitePlan`].
//!
//! Every list-valued key of an entry multiplies: `auth = ["session", "jwt"]` with
//! `replicas = [1, 3]` is four configurations. Keys that do not apply to a configuration are
//! dropped before duplicates are removed (sessions have no JWT algorithm; a JWT without
//! revocation keeps no state, so its store does not matter).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use serde::Deserialize;

use super::deploy::REFRESH_ACCESS_TTL;
use authbench_report::model::{
    Alg, Auth, Balancer, CellConfig, CryptoBackend, FaultKind, Load, Policy, Revocation, Store,
    Trigger,
};
use authbench_report::network::{Network, NetworkProfile};
use authbench_report::vocabulary::StateMeasure;

/// The built-in matrix the README's main command runs (about 3½ minutes on 2 cores).
pub const DEFAULT_MATRIX: &str = include_str!("../../../matrices/default.toml");
/// The CI matrix (`--quick`, under 45 seconds on 2 cores).
pub const QUICK_MATRIX: &str = include_str!("../../../matrices/quick.toml");
/// Added latency at every network profile (`--matrix network`).
pub const NETWORK_MATRIX: &str = include_str!("../../../matrices/network.toml");

mod deployment;
mod file;
mod network;
pub use deployment::{
    DeploymentEntry, DeploymentPlan, RotationEntry, RotationPlan, DEFAULT_STAGES,
};
pub use file::*;
pub use network::NetworkEntry;

/// A load cell to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CellPlan {
    /// Unique id.
    pub id: String,
    /// Group.
    pub group: String,
    /// Configuration.
    pub config: CellConfig,
    /// Load.
    pub load: Load,
    /// Measured length.
    pub seconds: Duration,
    /// Warm-up.
    pub warmup: Duration,
    /// Virtual users.
    pub users: usize,
    /// Trials.
    pub trials: u32,
}

/// State-cost measurements to run.
#[derive(Debug, Clone, PartialEq)]
pub struct StateCostPlan {
    /// Entries seeded per measurement (`--sessions` overrides).
    pub sessions: u64,
    /// What to measure, in order.
    pub kinds: Vec<StateMeasure>,
}

/// Credential sizes to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSizesPlan {
    /// Algorithms measured at no extra claims.
    pub algs: Vec<Alg>,
    /// Extra claim sizes measured with the first algorithm.
    pub extra_claim_bytes: Vec<usize>,
}

/// A revocation-window measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct RevocationPlan {
    /// Configuration (replicas probed one by one).
    pub config: CellConfig,
    /// What ends the credential.
    pub trigger: Trigger,
    /// Probe at most this long.
    pub observe: Duration,
    /// Behind the gateway: its authorizer (probes go through the entry).
    pub gateway: Option<authbench_report::deployment::GatewaySettings>,
}

/// A fault run.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Unique id.
    pub id: String,
    /// The fault.
    pub kind: FaultKind,
    /// Configuration.
    pub config: CellConfig,
    /// Open-loop rate.
    pub rate: f64,
    /// Measured length.
    pub seconds: Duration,
    /// Virtual users.
    pub users: usize,
}

/// The whole expanded matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct SuitePlan {
    /// `default`, `quick` or the file's path.
    pub name: String,
    /// Defaults, after overrides.
    pub defaults: Defaults,
    /// Load cells in order.
    pub cells: Vec<CellPlan>,
    /// State-cost kinds and the entry count.
    pub state_cost: Option<StateCostPlan>,
    /// Credential sizes.
    pub token_sizes: Option<TokenSizesPlan>,
    /// Revocation windows.
    pub revocation: Vec<RevocationPlan>,
    /// Fault runs.
    pub faults: Vec<FaultPlan>,
    /// Store capacity.
    pub store_capacity: Option<CapacityEntry>,
    /// The added-cost part.
    pub cost: Option<CostPlan>,
    /// The deployment part (A1, A2).
    pub deployments: Vec<DeploymentPlan>,
    /// The key rotation through the gateway.
    pub rotation: Option<RotationPlan>,
}

impl SuitePlan {
    /// Whether any part needs Redis.
    pub fn needs_redis(&self) -> bool {
        let redis = |c: &CellConfig| c.store == Store::Redis;
        self.cells.iter().any(|c| redis(&c.config))
            || self
                .cost
                .as_ref()
                .is_some_and(|c| c.configs.iter().any(redis))
            || self.revocation.iter().any(|r| redis(&r.config))
            || self.deployments.iter().any(|d| redis(&d.config))
            || self.faults.iter().any(|f| redis(&f.config))
            || self.store_capacity.is_some()
            || self
                .state_cost
                .as_ref()
                .is_some_and(|s| s.kinds.iter().any(|k| k.store() == Store::Redis))
    }
}

/// Parses and expands a matrix; `name` is what the run records as its matrix.
pub fn parse(name: &str, text: &str) -> anyhow::Result<SuitePlan> {
    let file: MatrixFile = toml::from_str(text)
        .map_err(TomlError)
        .with_context(|| format!("matrix {name}"))?;
    expand(name, file).with_context(|| format!("matrix {name}"))
}

/// The TOML parser's error, shown without the line break its message ends with.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.to_string().trim())]
struct TomlError(toml::de::Error);

/// Reads a matrix: `default`, `quick`, `network`, or a TOML file.
pub fn load(spec: &str) -> anyhow::Result<SuitePlan> {
    match spec {
        "default" => parse("default", DEFAULT_MATRIX),
        "quick" => parse("quick", QUICK_MATRIX),
        "network" => parse("network", NETWORK_MATRIX),
        path => {
            let text = std::fs::read_to_string(Path::new(path))
                .with_context(|| format!("--matrix {path:?}: cannot read it"))?;
            parse(path, &text)
        }
    }
}

/// `value` as one of `allowed`, or an error naming the key and the value.
fn one_of<T: Copy + fmt::Display>(key: &str, value: &str, allowed: &[T]) -> anyhow::Result<T> {
    allowed
        .iter()
        .copied()
        .find(|a| a.to_string() == value)
        .ok_or_else(|| {
            let names: Vec<String> = allowed.iter().map(T::to_string).collect();
            anyhow!("{key} = {value:?} is not one of {}", names.join(", "))
        })
}

/// The values of `key` (one or a list) as members of `allowed`; `default` when absent.
fn each_of<T: Copy + fmt::Display>(
    key: &str,
    given: &Option<OneOrMany<String>>,
    default: T,
    allowed: &[T],
) -> anyhow::Result<Vec<T>> {
    match given {
        None => Ok(vec![default]),
        Some(OneOrMany::One(v)) => Ok(vec![one_of(key, v, allowed)?]),
        Some(OneOrMany::Many(vs)) => vs.iter().map(|v| one_of(key, v, allowed)).collect(),
    }
}

/// Every configuration an entry describes, normalised and without duplicates.
fn configs(
    entry: &Entry,
    section: &str,
    profiles: &BTreeMap<NetworkProfile, Network>,
) -> anyhow::Result<Vec<CellConfig>> {
    let auths = OneOrMany::values(&entry.auth, Auth::Jwt);
    let stores = OneOrMany::values(&entry.store, Store::Memory);
    let key = |name: &str| format!("{section}.{name}");
    let algs = each_of(&key("alg"), &entry.alg, Alg::Hs256, Alg::ALL)?;
    let revocations = each_of(
        &key("revocation"),
        &entry.revocation,
        Revocation::None,
        Revocation::ALL,
    )?;
    let backends = each_of(
        &key("crypto_backend"),
        &entry.crypto_backend,
        CryptoBackend::AwsLc,
        CryptoBackend::ALL,
    )?;
    let extras = OneOrMany::values(&entry.extra_claim_bytes, 0);
    let replicas = OneOrMany::values(&entry.replicas, 1);
    let balancers = each_of(
        &key("balancer"),
        &entry.balancer,
        Balancer::None,
        Balancer::ALL,
    )?;
    // `none` is what a configuration without a balancer records, not a policy to ask for.
    let balancing: Vec<Policy> = Policy::ALL
        .iter()
        .copied()
        .filter(|p| *p != Policy::None)
        .collect();
    let policies = each_of(
        &key("policy"),
        &entry.policy,
        Policy::RoundRobin,
        &balancing,
    )?;
    let networks = network::of_entry(&entry.network, section, profiles)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for &network in &networks {
        for &auth in &auths {
            for &store in &stores {
                for &alg in &algs {
                    for &revocation in &revocations {
                        for &backend in &backends {
                            for &extra in &extras {
                                for &n in &replicas {
                                    for &balancer in &balancers {
                                        for &policy in &policies {
                                            let config = normalise(CellConfig {
                                                auth,
                                                store,
                                                alg: Some(alg),
                                                revocation: Some(revocation),
                                                crypto_backend: Some(backend),
                                                extra_claim_bytes: extra,
                                                replicas: n,
                                                balancer,
                                                policy,
                                                network,
                                            });
                                            check(&config, section)?;
                                            let key = format!("{config:?}");
                                            if seen.insert(key) {
                                                out.push(config);
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Drops what does not apply: JWT settings for other schemes, the store of a JWT without
/// revocation, the policy without a balancer.
fn normalise(mut c: CellConfig) -> CellConfig {
    if c.auth != Auth::Jwt {
        c.alg = None;
        c.revocation = None;
        c.crypto_backend = None;
        c.extra_claim_bytes = 0;
    } else if c.revocation == Some(Revocation::None) {
        c.store = Store::Memory;
    }
    if c.auth == Auth::None {
        c.store = Store::Memory;
    }
    if c.balancer == Balancer::None {
        c.policy = Policy::None;
    }
    c
}

fn check(c: &CellConfig, section: &str) -> anyhow::Result<()> {
    if c.replicas == 0 {
        bail!("{section}.replicas must be at least 1");
    }
    if c.balancer == Balancer::None && c.replicas > 1 {
        bail!(
            "{section}: {} replicas need a balancer (balancer = \"builtin\", \"haproxy\" or \"nginx\")",
            c.replicas
        );
    }
    if c.balancer == Balancer::Gateway && c.auth == Auth::Jwt {
        if c.alg == Some(Alg::Hs256) {
            bail!(
                "{section}: the gateway verifies with the issuer's public keys, and alg = \"HS256\" \
                 publishes none (use ES256, RS256 or EdDSA)"
            );
        }
        let checked = matches!(
            c.revocation,
            Some(Revocation::Denylist | Revocation::TokenVersion)
        );
        if checked && c.store != Store::Redis {
            bail!(
                "{section}: behind the gateway the edge checks revocation, so the state must be \
                 shared: store = \"redis\""
            );
        }
    }
    if c.balancer == Balancer::Nginx && c.policy == Policy::StickyCookie {
        bail!(
            "{section}: open-source nginx has no sticky cookie; use policy = \"hash-session\" or balancer = \"builtin\"/\"haproxy\""
        );
    }
    Ok(())
}

fn secs(key: &str, value: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0 && value < 86_400.0) {
        bail!("{key} = {value} must be a positive number of seconds");
    }
    Ok(Duration::from_secs_f64(value))
}

/// A warm-up: zero or more seconds, less than a day (a larger value is an error here, not a
/// panic in `Duration::from_secs_f64`).
fn warmup_secs(key: &str, value: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value >= 0.0) {
        bail!("{key} = {value} must be ≥ 0");
    }
    if value >= 86_400.0 {
        bail!("{key} = {value} must be less than a day of seconds");
    }
    Ok(Duration::from_secs_f64(value))
}

fn expand(name: &str, file: MatrixFile) -> anyhow::Result<SuitePlan> {
    let d = &file.defaults;
    secs("defaults.seconds", d.seconds)?;
    warmup_secs("defaults.warmup", d.warmup)?;
    if d.trials == 0 {
        bail!("defaults.trials must be at least 1");
    }
    let profiles = network::profiles(&file.networks)?;
    let mut cells = Vec::new();
    let mut ids = BTreeSet::new();
    for (i, entry) in file.cells.iter().enumerate() {
        let section = format!("cells[{i}]");
        let group = entry.group.clone().unwrap_or_else(|| "cells".into());
        let load = match entry.load.as_deref().unwrap_or("open") {
            "open" => Load::Open {
                rate: entry.rate.unwrap_or(d.rate),
            },
            "closed" => Load::Closed {
                concurrency: entry.concurrency.unwrap_or(d.concurrency),
            },
            other => bail!("{section}.load = {other:?} is not open or closed"),
        };
        match load {
            Load::Open { rate } if !(rate.is_finite() && rate > 0.0) => {
                bail!("{section}.rate = {rate} must be positive")
            }
            Load::Closed { concurrency: 0 } => {
                bail!("{section}.concurrency must be at least 1")
            }
            _ => {}
        }
        let seconds = secs(
            &format!("{section}.seconds"),
            entry.seconds.unwrap_or(d.seconds),
        )?;
        let warmup = warmup_secs(
            &format!("{section}.warmup"),
            entry.warmup.unwrap_or(d.warmup),
        )?;
        let trials = entry.trials.unwrap_or(d.trials);
        if trials == 0 {
            bail!("{section}.trials must be at least 1");
        }
        for config in configs(entry, &section, &profiles)? {
            let id = format!("{group}/{}", config.slug());
            if !ids.insert(id.clone()) {
                bail!("{section}: cell {id} appears twice");
            }
            cells.push(CellPlan {
                id,
                group: group.clone(),
                config,
                load: load.clone(),
                seconds,
                warmup,
                users: entry.users.unwrap_or(d.users),
                trials,
            });
        }
    }
    let mut revocation = Vec::new();
    for (i, entry) in file.revocation.iter().enumerate() {
        let section = format!("revocation[{i}]");
        let observe = secs(&format!("{section}.observe"), entry.observe.unwrap_or(2.0))?;
        let triggers = each_of(
            &format!("{section}.triggers"),
            &entry.triggers,
            Trigger::Logout,
            Trigger::ALL,
        )?;
        for config in configs(entry, &section, &profiles)? {
            if config.auth == Auth::None {
                bail!("{section}: auth = \"none\" has nothing to revoke");
            }
            // Refresh rotation revokes when the access token expires: watch for that long.
            let observe = if config.revocation == Some(Revocation::Refresh) {
                observe.max(REFRESH_ACCESS_TTL + Duration::from_secs(2))
            } else {
                observe
            };
            let gateways = if config.balancer == Balancer::Gateway {
                let mut out = Vec::new();
                for ttl in OneOrMany::values(&entry.authorizer_cache_ttl, 0.0) {
                    if !(ttl.is_finite() && (0.0..=3600.0).contains(&ttl)) {
                        bail!("{section}.authorizer_cache_ttl = {ttl} must be 0–3600 seconds");
                    }
                    out.push(Some(authbench_report::deployment::GatewaySettings {
                        authorizer_cache_ttl_ms: (ttl * 1000.0).round() as u64,
                        edge_revocation: config.revocation.is_some_and(|r| {
                            matches!(r, Revocation::Denylist | Revocation::TokenVersion)
                        }),
                    }));
                }
                out
            } else if entry.authorizer_cache_ttl.is_some() {
                bail!("{section}.authorizer_cache_ttl needs balancer = \"gateway\"");
            } else {
                vec![None]
            };
            for gateway in gateways {
                // A cached decision outlives the logout by up to its TTL: watch past it.
                let cached = gateway.map_or(Duration::ZERO, |g| {
                    Duration::from_millis(g.authorizer_cache_ttl_ms)
                });
                let observe = if cached.is_zero() {
                    observe
                } else {
                    observe.max(cached + Duration::from_secs(1))
                };
                for &trigger in &triggers {
                    revocation.push(RevocationPlan {
                        config: config.clone(),
                        trigger,
                        observe,
                        gateway,
                    });
                }
            }
        }
    }
    let mut faults = Vec::new();
    for (i, entry) in file.faults.iter().enumerate() {
        let section = format!("faults[{i}]");
        let seconds = secs(
            &format!("{section}.seconds"),
            entry.seconds.unwrap_or(d.seconds),
        )?;
        let kinds = each_of(
            &format!("{section}.kind"),
            &entry.kind,
            FaultKind::KillReplica,
            FaultKind::ALL,
        )?;
        for kind in kinds {
            for config in configs(entry, &section, &profiles)? {
                let on_redis = matches!(kind, FaultKind::RestartRedis | FaultKind::StallRedis);
                if on_redis && config.store != Store::Redis {
                    continue;
                }
                if !on_redis && config.replicas < 2 {
                    bail!("{section}: {kind} needs at least 2 replicas behind a balancer");
                }
                let id = format!("{kind}/{}", config.slug());
                if !ids.insert(id.clone()) {
                    bail!("{section}: fault {id} appears twice");
                }
                faults.push(FaultPlan {
                    id,
                    kind,
                    config,
                    rate: entry.rate.unwrap_or(d.rate),
                    seconds,
                    users: entry.users.unwrap_or(d.users),
                });
            }
        }
    }
    let state_cost = match &file.state_cost {
        Some(state) => {
            let kinds = state
                .kinds
                .iter()
                .map(|k| one_of("state_cost.kinds", k, StateMeasure::ALL))
                .collect::<Result<Vec<_>, _>>()?;
            if state.sessions == 0 {
                bail!("state_cost.sessions must be at least 1");
            }
            Some(StateCostPlan {
                sessions: state.sessions,
                kinds,
            })
        }
        None => None,
    };
    let token_sizes = match &file.token_sizes {
        Some(tokens) => {
            let algs = tokens
                .algs
                .iter()
                .map(|a| one_of("token_sizes.algs", a, Alg::ALL))
                .collect::<Result<Vec<_>, _>>()?;
            if algs.is_empty() {
                bail!("token_sizes.algs must name at least one algorithm");
            }
            Some(TokenSizesPlan {
                algs,
                extra_claim_bytes: tokens.extra_claim_bytes.clone(),
            })
        }
        None => None,
    };
    if let Some(cap) = &file.store_capacity {
        secs("store_capacity.seconds", cap.seconds)?;
        if cap.connections == 0 {
            bail!("store_capacity.connections must be at least 1");
        }
    }
    let cost = match &file.cost {
        Some(entry) => Some(cost::cost_plan(entry, &cells)?),
        None => None,
    };
    let deployments = deployment::expand(&file.deployments, &mut ids, &profiles)?;
    let rotation = file
        .rotation
        .as_ref()
        .map(deployment::rotation)
        .transpose()?;
    Ok(SuitePlan {
        name: name.to_owned(),
        defaults: file.defaults,
        cells,
        state_cost,
        token_sizes,
        revocation,
        faults,
        store_capacity: file.store_capacity,
        cost,
        deployments,
        rotation,
    })
}

mod cost;

pub use cost::{CostEntry, CostPlan};

#[cfg(test)]
mod tests;
