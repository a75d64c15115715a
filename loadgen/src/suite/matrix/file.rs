//! What a matrix file holds, as parsed from TOML before expansion into plans.

use std::collections::BTreeMap;

use super::deployment::{DeploymentEntry, RotationEntry};
use super::network::NetworkEntry;
use super::*;

/// A scalar or a list of them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One value.
    One(T),
    /// Several, multiplied with the other keys.
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    pub(super) fn values(this: &Option<Self>, default: T) -> Vec<T> {
        match this {
            None => vec![default],
            Some(OneOrMany::One(v)) => vec![v.clone()],
            Some(OneOrMany::Many(vs)) => vs.clone(),
        }
    }
}

/// Settings every entry inherits.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Measured seconds per trial.
    #[serde(default = "defaults::seconds")]
    pub seconds: f64,
    /// Warm-up seconds per trial (sent, not recorded).
    #[serde(default = "defaults::warmup")]
    pub warmup: f64,
    /// Trials per load cell.
    #[serde(default = "defaults::trials")]
    pub trials: u32,
    /// Open-loop rate, requests per second.
    #[serde(default = "defaults::rate")]
    pub rate: f64,
    /// Closed-loop concurrency.
    #[serde(default = "defaults::concurrency")]
    pub concurrency: usize,
    /// Virtual users per cell.
    #[serde(default = "defaults::users")]
    pub users: usize,
}

mod defaults {
    pub fn seconds() -> f64 {
        3.0
    }
    pub fn warmup() -> f64 {
        1.0
    }
    pub fn trials() -> u32 {
        1
    }
    pub fn rate() -> f64 {
        2000.0
    }
    pub fn concurrency() -> usize {
        32
    }
    pub fn users() -> usize {
        200
    }
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            seconds: defaults::seconds(),
            warmup: defaults::warmup(),
            trials: defaults::trials(),
            rate: defaults::rate(),
            concurrency: defaults::concurrency(),
            users: defaults::users(),
        }
    }
}

/// One entry of `[[cells]]`, `[[revocation]]` or `[[faults]]`: configuration axes (each a
/// value or a list) plus the section's own keys.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Cells: `equal-rate`, `scaling`, `balancing`, `claims` (or any name).
    pub group: Option<String>,
    /// Faults: `kill-replica`, `restart-redis`, `stall-redis`, `churn`.
    pub kind: Option<OneOrMany<String>>,
    /// `none`, `session`, `jwt`.
    pub auth: Option<OneOrMany<Auth>>,
    /// `memory`, `redis`.
    pub store: Option<OneOrMany<Store>>,
    /// JWT algorithm.
    pub alg: Option<OneOrMany<String>>,
    /// JWT revocation strategy.
    pub revocation: Option<OneOrMany<String>>,
    /// JWT crypto backend.
    pub crypto_backend: Option<OneOrMany<String>>,
    /// Extra claim bytes per JWT.
    pub extra_claim_bytes: Option<OneOrMany<usize>>,
    /// Replica count.
    pub replicas: Option<OneOrMany<usize>>,
    /// `builtin`, `haproxy`, `nginx`, `none`.
    pub balancer: Option<OneOrMany<String>>,
    /// `round-robin`, `least-conn`, `sticky-cookie`, `hash-session`.
    pub policy: Option<OneOrMany<String>>,
    /// Cells and faults: `open` (default) or `closed`.
    pub load: Option<String>,
    /// Open-loop rate.
    pub rate: Option<f64>,
    /// Closed-loop concurrency.
    pub concurrency: Option<usize>,
    /// Measured seconds.
    pub seconds: Option<f64>,
    /// Cells: warm-up seconds before each trial.
    pub warmup: Option<f64>,
    /// Cells: trials (the trials of a group's cells take turns).
    pub trials: Option<u32>,
    /// Virtual users.
    pub users: Option<usize>,
    /// Revocation: `logout`, `force-logout`.
    pub triggers: Option<OneOrMany<String>>,
    /// Revocation: how long to probe, seconds.
    pub observe: Option<f64>,
    /// Revocation behind `balancer = "gateway"`: seconds the edge caches an authorizer
    /// decision (0 = off; one value or a list).
    pub authorizer_cache_ttl: Option<OneOrMany<f64>>,
    /// Network profiles: `loopback` (default), `same-zone`, `cross-zone`,
    /// `cross-region-store`, `custom`.
    pub network: Option<OneOrMany<String>>,
}

/// `[state_cost]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StateCostEntry {
    /// Entries seeded per measurement (`--sessions` overrides).
    pub sessions: u64,
    /// What to measure: `session-memory`, `session-redis`, `denylist-memory`,
    /// `denylist-redis`, `token-version-redis`.
    pub kinds: Vec<String>,
}

/// `[token_sizes]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenSizesEntry {
    /// Algorithms measured at no extra claims.
    pub algs: Vec<String>,
    /// Extra claim sizes measured with the first algorithm.
    pub extra_claim_bytes: Vec<usize>,
}

/// `[store_capacity]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapacityEntry {
    /// Concurrent connections.
    pub connections: usize,
    /// Seconds to measure.
    pub seconds: f64,
}

/// A matrix file.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    /// Settings every entry inherits.
    #[serde(default)]
    pub defaults: Defaults,
    /// Load cells.
    #[serde(default)]
    pub cells: Vec<Entry>,
    /// Bytes per session / revoked token.
    pub state_cost: Option<StateCostEntry>,
    /// Credential sizes.
    pub token_sizes: Option<TokenSizesEntry>,
    /// Revocation windows.
    #[serde(default)]
    pub revocation: Vec<Entry>,
    /// Fault runs.
    #[serde(default)]
    pub faults: Vec<Entry>,
    /// The shared store's own capacity.
    pub store_capacity: Option<CapacityEntry>,
    /// The added-cost part.
    pub cost: Option<CostEntry>,
    /// Hop delays of network profiles, overriding the built-in ones (`[networks.same-zone]`)
    /// or giving `custom` its own.
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkEntry>,
    /// The deployment part: load balancer + servers vs gateway + functions.
    #[serde(default)]
    pub deployments: Vec<DeploymentEntry>,
    /// A signing key rotated under load through the gateway.
    pub rotation: Option<RotationEntry>,
}
