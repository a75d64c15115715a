//! `bench-server balance`: flags and the command.
//!
//! Stdout: `listening on http://HOST:PORT` first, then `admin on http://HOST:PORT` when
//! `--admin-listen` is given; logs go to stderr.

use std::net::SocketAddr;

use clap::Args;
use tokio::net::TcpListener;

use super::{BackendSpec, BalanceConfig, BalanceError, Policy};
use crate::config::DurationArg;
use crate::conn::ConnLimits;
use crate::gateway::command::GatewayArgs;
use crate::gateway::Gateway;
use authbench_contract::conn::ConnArgs;

/// Flags of `balance`.
#[derive(Debug, Clone, Args)]
pub struct BalanceArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// A backend, `[NAME=]http://HOST:PORT`; repeat for each. NAME goes into the sticky
    /// cookie and metric labels (default `b0`, `b1`, …).
    #[arg(long = "backend", required = true)]
    pub backends: Vec<BackendSpec>,
    /// round-robin, least-conn, sticky-cookie (inserted `SERVERID` cookie) or hash-session
    /// (hash of the `sid` cookie).
    #[arg(long, value_enum, default_value_t = Policy::RoundRobin)]
    pub policy: Policy,
    /// Address of the admin port serving `/metrics` (off by default).
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
    /// Interval of the active `GET /healthz` checks.
    #[arg(long, default_value = "1s")]
    pub health_interval: DurationArg,
    /// Tokio worker threads (default: one per core; 1 runs everything on one thread).
    #[arg(long)]
    pub worker_threads: Option<usize>,
    /// The API-gateway mode.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Client connection timeouts and limits.
    #[command(flatten)]
    pub conn: ConnArgs,
}

impl BalanceArgs {
    /// The configuration these flags describe.
    pub fn to_config(&self) -> BalanceConfig {
        BalanceConfig {
            backends: self.backends.clone(),
            policy: self.policy,
            health_interval: self.health_interval.0,
        }
    }
}

/// Binds, prints the addresses and balances until Ctrl-C / SIGTERM.
pub async fn balance(args: BalanceArgs) -> Result<(), BalanceError> {
    let gateway = match args.gateway.to_config()? {
        Some(config) => {
            tracing::info!(
                jwks = %config.jwks_url,
                authorizer_cache_ttl = ?config.authorizer_cache_ttl,
                revocation = %config.revocation,
                identity = config.identity_secret_file.is_some(),
                "gateway mode: verifying bearer tokens at the edge"
            );
            Some(Gateway::start(config).await?)
        }
        None => None,
    };
    crate::conn::limits::raise_nofile_limit();
    let balancer = args
        .to_config()
        .build_hardened(gateway, ConnLimits::from(&args.conn))?;
    let listener = bind("--listen", args.listen).await?;
    let admin = match args.admin_listen {
        Some(addr) => Some(bind("--admin-listen", addr).await?),
        None => None,
    };
    crate::balance::server::announce(&listener, admin.as_ref())?;
    tracing::info!(
        addr = %listener.local_addr()?,
        policy = %args.policy,
        backends = balancer.backends().len(),
        max_connections = balancer.conn().max_connections,
        "balancing"
    );
    super::run(
        listener,
        admin,
        balancer,
        args.health_interval.0,
        crate::shutdown_signal(),
    )
    .await;
    tracing::info!("stopped");
    Ok(())
}

async fn bind(flag: &'static str, addr: SocketAddr) -> Result<TcpListener, BalanceError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BalanceError::Bind { flag, addr, source })
}
