//! One configuration brought up as a real cluster (replica processes, Redis, balancer), and
//! snapshots of what its processes have counted and spent.

use std::time::Duration;

use bench_server::balance::Policy;
use bench_server::cluster::{
    BalancerKind, ChildLogs, Cluster, ClusterError, ClusterSpec, RedisMode,
};

use super::context::{RedisSource, SuiteContext};
use super::model::{Auth, CellConfig, Store};
use super::scrape::{self, RedisSnapshot, ReplicaSnapshot};

/// A running cluster for one configuration.
#[derive(Debug)]
pub struct Deployment {
    /// The cluster.
    pub cluster: Cluster,
    /// What it runs.
    pub config: CellConfig,
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
        config.store.to_string(),
    ];
    if config.auth == Auth::Jwt {
        for (flag, value) in [
            ("--jwt-alg", config.alg.as_deref()),
            ("--revocation", config.revocation.as_deref()),
            ("--crypto-backend", config.crypto_backend.as_deref()),
        ] {
            if let Some(value) = value {
                args.push(flag.into());
                args.push(value.into());
            }
        }
        if config.revocation.as_deref() == Some("refresh") {
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
    for (kind, package) in [("haproxy", "haproxy"), ("nginx", "nginx")] {
        if config.balancer == kind && super::context::which(kind).is_none() {
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
) -> Result<Deployment, String> {
    start_with(ctx, config, users, &[]).await
}

/// [`start`], with `extra` `bench-server serve` flags for every replica.
pub async fn start_with(
    ctx: &SuiteContext,
    config: &CellConfig,
    users: usize,
    extra: &[String],
) -> Result<Deployment, String> {
    let mut spec = ClusterSpec::new(&ctx.bench_server);
    spec.replicas = config.replicas;
    spec.balancer = match config.balancer.as_str() {
        "builtin" => BalancerKind::Builtin,
        "haproxy" => BalancerKind::Haproxy,
        "nginx" => BalancerKind::Nginx,
        _ => BalancerKind::None,
    };
    spec.policy = match config.policy.as_str() {
        "least-conn" => Policy::LeastConn,
        "sticky-cookie" => Policy::StickyCookie,
        "hash-session" => Policy::HashSession,
        _ => Policy::RoundRobin,
    };
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
    let cluster = Cluster::start(spec)
        .await
        .map_err(|e: ClusterError| format!("starting {}: {e}", config.describe()))?;
    Ok(Deployment {
        cluster,
        config: config.clone(),
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
