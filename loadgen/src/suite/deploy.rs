//! One configuration brought up as a real cluster (replica processes, Redis, balancer), and
//! snapshots of what its processes have counted and spent.

use std::time::Duration;

use anyhow::Context as _;

use authbench_contract::backend::CryptoBackend as ServerBackend;
use authbench_contract::cluster::{
    BalancerKind, ChildLogs, Cluster, ClusterSpec, HopKind, HopMeasurement, NetworkDelays,
    RedisMode,
};
use authbench_contract::keys::JwtAlg;
use authbench_contract::policy::Policy as ServerPolicy;
use authbench_contract::serve::{Revocation as ServerRevocation, StoreKind};

use super::context::{RedisSource, SuiteContext};
use super::scrape::{self, RedisSnapshot, ReplicaSnapshot};
use authbench_report::model::{
    Alg, Auth, Balancer, CellConfig, CryptoBackend, Hop, HopRtt, Network, Policy, Revocation, Store,
};

// The run document's names, as bench-server's own types: every variant maps, so a name
// added on either side fails to compile here instead of falling back to a default.

fn server_store(store: Store) -> StoreKind {
    match store {
        Store::Memory => StoreKind::Memory,
        Store::Redis => StoreKind::Redis,
    }
}

fn server_alg(alg: Alg) -> JwtAlg {
    match alg {
        Alg::Hs256 => JwtAlg::Hs256,
        Alg::Rs256 => JwtAlg::Rs256,
        Alg::Es256 => JwtAlg::Es256,
        Alg::EdDsa => JwtAlg::EdDsa,
    }
}

fn server_revocation(revocation: Revocation) -> ServerRevocation {
    match revocation {
        Revocation::None => ServerRevocation::None,
        Revocation::Denylist => ServerRevocation::Denylist,
        Revocation::TokenVersion => ServerRevocation::TokenVersion,
        Revocation::Refresh => ServerRevocation::Refresh,
    }
}

fn server_backend(backend: CryptoBackend) -> ServerBackend {
    match backend {
        CryptoBackend::AwsLc => ServerBackend::AwsLc,
        CryptoBackend::RustCrypto => ServerBackend::RustCrypto,
    }
}

fn server_balancer(balancer: Balancer) -> BalancerKind {
    match balancer {
        Balancer::Builtin => BalancerKind::Builtin,
        Balancer::Haproxy => BalancerKind::Haproxy,
        Balancer::Nginx => BalancerKind::Nginx,
        Balancer::None => BalancerKind::None,
        Balancer::Gateway => BalancerKind::Gateway,
    }
}

/// The cluster's policy for `policy`; [`Policy::None`] (no balancer, so nothing uses it)
/// is the cluster's default, round robin.
fn server_policy(policy: Policy) -> ServerPolicy {
    match policy {
        Policy::RoundRobin | Policy::None => ServerPolicy::RoundRobin,
        Policy::LeastConn => ServerPolicy::LeastConn,
        Policy::StickyCookie => ServerPolicy::StickyCookie,
        Policy::HashSession => ServerPolicy::HashSession,
    }
}

/// The cluster's hop delays for `network`.
fn delays(network: &Network) -> NetworkDelays {
    let us = |hop| Duration::from_micros(network.delay_us(hop));
    NetworkDelays {
        client: us(Hop::Client),
        balancer: us(Hop::Balancer),
        store: us(Hop::Store),
    }
}

/// A hop measured by the cluster, as the run records it.
fn hop_rtt(m: &HopMeasurement) -> HopRtt {
    HopRtt {
        hop: match m.hop {
            HopKind::Client => Hop::Client,
            HopKind::Balancer => Hop::Balancer,
            HopKind::Store => Hop::Store,
        },
        to: m.to.clone(),
        delay_us: m.delay_us,
        samples: m.samples,
        rtt_us: m.rtt_us,
        direct_rtt_us: m.direct_rtt_us,
    }
}

/// A running cluster for one configuration.
#[derive(Debug)]
pub struct Deployment {
    /// The cluster.
    pub cluster: Cluster,
    /// What it runs.
    pub config: CellConfig,
    /// Round trips measured through each hop's link at start (empty on loopback).
    pub hops: Vec<HopRtt>,
}

/// Everything counted at one instant.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Per replica, in order (`None`: killed or not answering).
    pub replicas: Vec<Option<ReplicaSnapshot>>,
    /// Balancer process tree CPU, seconds.
    pub balancer_cpu: Option<f64>,
    /// Redis counters.
    pub redis: Option<RedisSnapshot>,
}

impl Snapshot {
    /// Sum of replica CPU seconds.
    pub fn app_cpu(&self) -> f64 {
        self.replicas.iter().flatten().map(|r| r.cpu_seconds).sum()
    }

    /// Requests the replicas counted on `route`.
    pub fn route_requests(&self, route: &str) -> u64 {
        self.replicas
            .iter()
            .flatten()
            .map(|r| r.requests.get(route).copied().unwrap_or(0))
            .sum()
    }

    /// Requests on load routes (everything but `/metrics`; `/healthz` only when `healthz`).
    pub fn load_requests(&self, healthz: bool) -> u64 {
        self.replicas
            .iter()
            .flatten()
            .map(|r| r.load_requests(healthz))
            .sum()
    }

    /// Store operations counted by the replicas.
    pub fn store_ops(&self) -> u64 {
        self.replicas.iter().flatten().map(|r| r.store_ops).sum()
    }
}

/// Access-token lifetime the suite gives replicas under the `refresh` strategy: short
/// access tokens are the point of it, and its revocation window is this long, so it is
/// measured in seconds instead of waited out for the default 15 minutes.
pub const REFRESH_ACCESS_TTL: Duration = Duration::from_secs(3);

/// The `bench-server serve` flags for `config`.
pub fn serve_args(ctx: &SuiteContext, config: &CellConfig, users: usize) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--users".into(),
        users.max(1).to_string(),
        "--password-hash-cost".into(),
        ctx.password_hash_cost.clone(),
        "--key-dir".into(),
        ctx.key_dir.display().to_string(),
        "--session-store".into(),
        server_store(config.store).to_string(),
    ];
    if config.auth == Auth::Jwt {
        // Flag values as bench-server itself spells them.
        for (flag, value) in [
            ("--jwt-alg", config.alg.map(|a| server_alg(a).to_string())),
            (
                "--revocation",
                config.revocation.map(|r| server_revocation(r).to_string()),
            ),
            (
                "--crypto-backend",
                config.crypto_backend.map(|b| server_backend(b).to_string()),
            ),
        ] {
            if let Some(value) = value {
                args.push(flag.into());
                args.push(value);
            }
        }
        if config.revocation == Some(Revocation::Refresh) {
            args.push("--jwt-ttl".into());
            args.push(format!("{}s", REFRESH_ACCESS_TTL.as_secs()));
        }
        if config.extra_claim_bytes > 0 {
            args.push("--jwt-extra-claim-bytes".into());
            args.push(config.extra_claim_bytes.to_string());
        }
    }
    if config.store == Store::Redis {
        args.push("--redis-namespace".into());
        args.push(ctx.namespace());
    }
    if ctx.slowdown_us > 0 {
        args.push("--inject-cpu-us".into());
        args.push(ctx.slowdown_us.to_string());
    }
    args
}

/// Why a configuration cannot run here, if it cannot (Redis or a balancer missing).
pub fn unavailable(ctx: &SuiteContext, config: &CellConfig) -> Option<(String, String)> {
    if config.store == Store::Redis {
        if let RedisSource::Unavailable(reason) = &ctx.redis {
            return Some((
                reason.clone(),
                "install redis-server (Debian: apt-get install -y redis-server) or pass --redis-url redis://HOST:PORT".into(),
            ));
        }
    }
    for (kind, package) in [(Balancer::Haproxy, "haproxy"), (Balancer::Nginx, "nginx")] {
        if config.balancer == kind && super::context::which(kind.as_str()).is_none() {
            return Some((
                format!("{kind} is not installed"),
                format!("install it (Debian: apt-get install -y {package}) or use balancer = \"builtin\""),
            ));
        }
    }
    None
}

/// Starts a cluster for `config` with `users` seeded accounts.
pub async fn start(
    ctx: &SuiteContext,
    config: &CellConfig,
    users: usize,
) -> anyhow::Result<Deployment> {
    start_with(ctx, config, users, &[]).await
}

/// [`start`], with `extra` `bench-server serve` flags for every replica.
pub async fn start_with(
    ctx: &SuiteContext,
    config: &CellConfig,
    users: usize,
    extra: &[String],
) -> anyhow::Result<Deployment> {
    start_shaped(ctx, config, users, extra, |_| {}).await
}

/// [`start_with`], with the cluster spec finished by `shape` (a function pool, the gateway's
/// authorizer cache).
pub async fn start_shaped(
    ctx: &SuiteContext,
    config: &CellConfig,
    users: usize,
    extra: &[String],
    shape: impl FnOnce(&mut ClusterSpec),
) -> anyhow::Result<Deployment> {
    let mut spec = ClusterSpec::new(&ctx.bench_server);
    spec.replicas = config.replicas;
    spec.balancer = server_balancer(config.balancer);
    spec.policy = server_policy(config.policy);
    spec.redis = match (config.store, &ctx.redis) {
        (Store::Redis, RedisSource::Spawn) => RedisMode::Spawn,
        (Store::Redis, RedisSource::External(url)) => RedisMode::External(url.clone()),
        _ => RedisMode::None,
    };
    // Replicas restarted by fault runs come back within this.
    spec.health_interval = Duration::from_millis(250);
    spec.startup_timeout = Duration::from_secs(20);
    spec.child_logs = ChildLogs::Errors;
    spec.serve_args = serve_args(ctx, config, users);
    spec.serve_args.extend_from_slice(extra);
    spec.network = delays(&config.network);
    shape(&mut spec);
    let cluster = Cluster::start(spec)
        .await
        .with_context(|| format!("starting {}", config.describe()))?;
    let hops = cluster.hops().iter().map(hop_rtt).collect();
    Ok(Deployment {
        cluster,
        config: config.clone(),
        hops,
    })
}

impl Deployment {
    /// Where load goes.
    pub fn entry(&self) -> String {
        self.cluster.entry_url()
    }

    /// Scrapes every replica, the balancer and Redis.
    pub async fn snapshot(&self, ctx: &SuiteContext) -> Snapshot {
        let info = self.cluster.info();
        let mut replicas = Vec::with_capacity(info.replicas.len());
        for replica in &info.replicas {
            let snap = match replica.pid {
                Some(_) => scrape::replica(&ctx.http, &replica.url).await.ok(),
                None => None,
            };
            replicas.push(snap);
        }
        let balancer_cpu = info
            .balancer
            .as_ref()
            .and_then(|b| scrape::process_tree_cpu_seconds(b.pid));
        let redis = match self.cluster.redis_url() {
            Some(url) => scrape::redis(url).await.ok(),
            None => None,
        };
        Snapshot {
            replicas,
            balancer_cpu,
            redis,
        }
    }

    /// Stops every process.
    pub async fn stop(self) {
        self.cluster.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// bench-server spells every name as the run document does (its flags are given these).
    #[test]
    fn bench_server_spells_every_name_the_same() {
        for &s in Store::ALL {
            assert_eq!(server_store(s).to_string(), s.as_str());
        }
        for &a in Alg::ALL {
            assert_eq!(server_alg(a).to_string(), a.as_str());
        }
        for &r in Revocation::ALL {
            assert_eq!(server_revocation(r).to_string(), r.as_str());
        }
        for &b in CryptoBackend::ALL {
            assert_eq!(server_backend(b).to_string(), b.as_str());
        }
        for &b in Balancer::ALL {
            assert_eq!(server_balancer(b).to_string(), b.as_str());
        }
        for &p in Policy::ALL.iter().filter(|p| **p != Policy::None) {
            assert_eq!(server_policy(p).as_str(), p.as_str());
        }
        assert_eq!(server_policy(Policy::None), ServerPolicy::RoundRobin);
    }
}
