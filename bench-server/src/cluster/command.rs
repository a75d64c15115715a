//! `bench-server cluster`: flags, and running until Ctrl-C, SIGTERM or the parent's death.
//!
//! Replica flags follow `--`: `bench-server cluster --replicas 3 -- --jwt-alg ES256`.
//!
//! Stdout: [`super::ClusterInfo::to_text`] once everything is healthy, or with `--json` one
//! JSON object on one line. Logs go to stderr.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use super::{
    BalancerKind, ChildLogs, Cluster, ClusterSpec, FunctionsSpec, NetworkDelays, RedisMode,
};
use crate::balance::Policy;
use crate::config::DurationArg;
use authbench_contract::link::DelayArg;

/// Flags of `cluster`.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Number of replicas (`r0` … `r{N-1}`).
    #[arg(long, default_value_t = 3)]
    pub replicas: usize,
    /// The balancer in front: builtin, gateway (builtin verifying JWTs at the edge; needs
    /// `-- --jwt-alg ES256|RS256|EdDSA`), haproxy, nginx or none (entry = replica r0).
    #[arg(long, value_enum, default_value_t = BalancerKind::Builtin)]
    pub balancer: BalancerKind,
    /// Balancing policy (nginx has no sticky-cookie).
    #[arg(long, value_enum, default_value_t = Policy::RoundRobin)]
    pub policy: Policy,
    /// The balancer's address (the entry); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Start a redis-server child on a free port for the replicas (sessions in Redis).
    #[arg(long, conflicts_with = "redis_url")]
    pub redis_server: bool,
    /// Use an external Redis for the replicas: `redis://HOST:PORT` (Redis, Valkey) or a Redis
    /// Cluster, `redis+cluster://HOST:PORT[,HOST:PORT…]`.
    #[arg(long, env = "AUTHBENCH_CLUSTER_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Health-check interval of the built-in balancer and HAProxy.
    #[arg(long, default_value = "1s")]
    pub health_interval: DurationArg,
    /// Balancer threads (built-in: tokio workers, default one per core; HAProxy: nbthread,
    /// default 1).
    #[arg(long)]
    pub balancer_threads: Option<usize>,
    /// Bound on starting every part.
    #[arg(long, default_value = "10s")]
    pub startup_timeout: DurationArg,
    /// One-way delay of a link between the client and the entry (e.g. `250us`; 0: none).
    #[arg(long, default_value = "0us")]
    pub client_delay: DelayArg,
    /// One-way delay of a link between the balancer and each replica.
    #[arg(long, default_value = "0us")]
    pub balancer_delay: DelayArg,
    /// One-way delay of a link between the replicas and Redis.
    #[arg(long, default_value = "0us")]
    pub store_delay: DelayArg,
    /// Put a function pool behind the balancer (`bench-server functions`): instances of
    /// `serve` started on demand, one request at a time each by default, stopped when idle.
    /// The replicas still start; r0 issues the keys the gateway fetches.
    #[arg(long)]
    pub functions: bool,
    /// With --functions: most instances at once; beyond it requests get 429.
    #[arg(long, default_value_t = 4, requires = "functions")]
    pub max_instances: usize,
    /// With --functions: requests one instance serves at a time.
    #[arg(long, default_value_t = 1, requires = "functions")]
    pub instance_concurrency: usize,
    /// With --functions: an instance idle this long is stopped.
    #[arg(long, default_value = "10s", requires = "functions")]
    pub idle_timeout: DurationArg,
    /// With --balancer gateway: how long the edge caches an authorizer decision per token
    /// (0: every request is verified).
    #[arg(long, default_value = "0s")]
    pub authorizer_cache_ttl: DurationArg,
    /// Print one JSON line (entry, replicas, redis, balancer, links, pids) instead of text.
    #[arg(long)]
    pub json: bool,
    /// The bench-server binary for replicas and the built-in balancer (default: this one).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// `bench-server serve` flags for every replica, after `--`.
    #[arg(last = true, value_name = "SERVE_FLAGS")]
    pub serve_args: Vec<String>,
}

impl ClusterArgs {
    /// The cluster these flags describe.
    pub fn to_spec(&self) -> anyhow::Result<ClusterSpec> {
        let binary = match &self.binary {
            Some(path) => path.clone(),
            None => {
                std::env::current_exe().context("cannot find this program's path (use --binary)")?
            }
        };
        Ok(ClusterSpec {
            binary,
            replicas: self.replicas,
            balancer: self.balancer,
            policy: self.policy,
            listen: self.listen,
            redis: match (&self.redis_url, self.redis_server) {
                (Some(url), _) => RedisMode::External(url.clone()),
                (None, true) => RedisMode::Spawn,
                (None, false) => RedisMode::None,
            },
            serve_args: self.serve_args.clone(),
            health_interval: self.health_interval.0,
            balancer_threads: self.balancer_threads,
            startup_timeout: self.startup_timeout.0,
            child_logs: ChildLogs::Inherit,
            network: NetworkDelays {
                client: self.client_delay.0,
                balancer: self.balancer_delay.0,
                store: self.store_delay.0,
            },
            functions: self.functions.then_some(FunctionsSpec {
                max_instances: self.max_instances,
                instance_concurrency: self.instance_concurrency,
                idle_timeout: self.idle_timeout.0,
            }),
            authorizer_cache_ttl: self.authorizer_cache_ttl.0,
        })
    }
}

/// Starts the cluster, prints it, and runs until Ctrl-C / SIGTERM / the parent's death.
pub async fn cluster(args: ClusterArgs) -> anyhow::Result<()> {
    let spec = args.to_spec()?;
    // Handlers first: a signal that arrives once the address is printed must stop the
    // cluster gracefully, not kill it with the default action.
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let cluster = Cluster::start(spec).await?;
    let info = cluster.info();
    {
        let mut stdout = std::io::stdout().lock();
        if args.json {
            writeln!(stdout, "{}", serde_json::to_string(&info)?)?;
        } else {
            write!(stdout, "{}", info.to_text())?;
        }
        stdout.flush()?;
    }
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM; stopping the cluster"),
        _ = interrupt.recv() => tracing::info!("Ctrl-C; stopping the cluster"),
        () = parent_gone() => tracing::info!("parent process gone; stopping the cluster"),
    }
    cluster.shutdown().await;
    Ok(())
}

/// Completes when this process is re-parented (its parent died).
async fn parent_gone() {
    let parent = nix::unistd::getppid();
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    loop {
        ticker.tick().await;
        if nix::unistd::getppid() != parent {
            return;
        }
    }
}
