//! The deployment part, as `run.json` records it: the two deployments the advice names
//! (claims A1 and A2) under one bursty open-loop load, and the key rotation measured through
//! the gateway.
//!
//! * **load balancer + long-lived servers** — replicas that live as long as the run, behind
//!   the built-in balancer (sticky or round-robin);
//! * **gateway + functions** — the built-in balancer in gateway mode, verifying JWTs at the
//!   edge with keys from the issuer's JWKS, in front of a pool of `bench-server serve`
//!   instances that start on demand, serve a bounded number of requests at a time and stop
//!   when idle.
//!
//! The load idles long enough for idle instances to stop, then bursts, so cold starts happen
//! where they would: exchanges that waited for one are a latency class of their own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::measure::Percentiles;
use crate::model::{CellConfig, Trial};
use crate::vocabulary::Deployment;

/// What the gateway does besides verifying signatures and claims at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GatewaySettings {
    /// How long the authorizer's decision is cached per token, ms (0: every request is
    /// verified).
    pub authorizer_cache_ttl_ms: u64,
    /// Whether the edge authorizer checks the revocation store (the replicas' deny-list or
    /// token versions) before allowing a token.
    pub edge_revocation: bool,
}

/// How the function pool behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FunctionSettings {
    /// Most instances alive at once (starting ones included); beyond it requests get 429.
    pub max_instances: usize,
    /// Requests one instance serves at a time.
    pub instance_concurrency: usize,
    /// An instance idle this long is stopped, ms.
    pub idle_timeout_ms: u64,
}

/// One stage of an open-loop schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadStage {
    /// Length, seconds.
    pub seconds: f64,
    /// Requests per second (0: idle).
    pub rate: f64,
}

/// Exchanges that waited for a function instance to start, as loadgen saw them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStartClass {
    /// Exchanges that waited.
    pub count: u64,
    /// Of which, per phase (`login`, `request`, …).
    pub phases: BTreeMap<String, u64>,
    /// Their corrected latency.
    pub latency: Percentiles,
    /// The start-up time the pool reported for them (process start to ready).
    pub startup: Percentiles,
    /// Corrected latency of the authenticated requests that found a warm instance.
    pub warm_requests: Percentiles,
}

/// What the gateway counted over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EdgeCounters {
    /// Tokens verified at the edge (signature and claims checked, not a cached decision).
    pub verifications: u64,
    /// Requests the edge answered 401 itself, by reason.
    pub rejections: BTreeMap<String, u64>,
    /// Decisions served from the authorizer cache.
    pub cache_hits: u64,
    /// JWKS fetches (start-up, TTL expiry, unknown key).
    pub jwks_fetches: u64,
    /// Gateway CPU per request it forwarded or answered, µs.
    pub cpu_us_per_request: Option<f64>,
}

/// What the function pool counted over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PoolCounters {
    /// Instances started.
    pub cold_starts: u64,
    /// Requests answered 429 because every instance was busy and the pool was full.
    pub throttled: u64,
    /// Instances stopped for being idle.
    pub stopped_idle: u64,
    /// Sum of instance lifetimes, seconds (what a platform bills).
    pub instance_seconds: f64,
    /// Mean start-up time of the instances started, µs (process start to ready).
    pub startup_mean_us: Option<f64>,
    /// Requests the pool received (throttled ones included): the server-side count that
    /// cross-checks loadgen's.
    pub requests: u64,
    /// Instance CPU per request the pool forwarded, µs.
    pub cpu_us_per_request: Option<f64>,
}

/// One deployment under the part's load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRun {
    /// Stable identifier, e.g. `deployment/gateway-functions/jwt-es256`.
    pub id: String,
    /// Which of the two deployments.
    pub deployment: Deployment,
    /// Scheme, store and cluster (for functions, `replicas` is the pool's instance cap).
    pub config: CellConfig,
    /// What the gateway did besides verifying (gateway deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_settings: Option<GatewaySettings>,
    /// How the function pool behaved (function deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_settings: Option<FunctionSettings>,
    /// The open-loop schedule, in order.
    pub stages: Vec<LoadStage>,
    /// Virtual users.
    pub users: usize,
    /// The run: latency, statuses (429s included), 401s by reason, per-second timeline; CPU
    /// `app` is the replicas or the function instances, `balancer` the balancer or gateway.
    pub trial: Trial,
    /// The cold-start latency class; absent when nothing waited for a start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_starts: Option<ColdStartClass>,
    /// The gateway's counters (gateway deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeCounters>,
    /// The function pool's counters (function deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions: Option<PoolCounters>,
}

/// A signing key rotated under load, measured through the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRotation {
    /// What ran.
    pub config: CellConfig,
    /// Authenticated requests over the run.
    pub requests: u64,
    /// Of which errors (any status ≥ 400 or no response).
    pub errors: u64,
    /// 401s by reason over the run.
    pub unauthorized: BTreeMap<String, u64>,
    /// From the start of the rotation to every replica having reloaded its keys, ms.
    pub reloaded_ms: f64,
    /// From the start of the rotation to a token signed with the new key in hand (a login
    /// after the reloads), ms.
    pub new_token_ms: f64,
    /// From the start of the rotation to the first request with that token that the gateway
    /// accepted, ms; `None` when none was accepted before the probe gave up. Minus
    /// `new_token_ms`, the gateway's own delay in learning the new key.
    pub new_key_accepted_ms: Option<f64>,
    /// Whether a token signed before the rotation still worked after it (the previous key
    /// stays in the JWKS).
    pub old_token_accepted_after: bool,
    /// JWKS fetches the gateway made because of a key it did not know.
    pub unknown_key_fetches: u64,
}
