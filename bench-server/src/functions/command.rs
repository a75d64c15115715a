//! `bench-server functions`: flags and the command.
//!
//! Instance flags follow `--`: `bench-server functions --max-instances 4 -- --users 100`.
//! Stdout: `listening on http://HOST:PORT` first, then `admin on http://HOST:PORT` when
//! `--admin-listen` is given; logs go to stderr (instances' errors included).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tokio::net::TcpListener;

use super::{FunctionPool, FunctionsConfig, FunctionsError};
use crate::cluster::ChildLogs;
use crate::config::DurationArg;

/// Flags of `functions`.
#[derive(Debug, Clone, Args)]
pub struct FunctionsArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Address of the admin port serving `/metrics`, `/instances` and `/healthz` (off by
    /// default).
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
    /// Most instances at once, starting ones included; beyond, requests get 429.
    #[arg(long, default_value_t = super::DEFAULT_MAX_INSTANCES)]
    pub max_instances: usize,
    /// Requests in flight per instance (1: Lambda's one request per instance).
    #[arg(long, default_value_t = super::DEFAULT_INSTANCE_CONCURRENCY)]
    pub instance_concurrency: usize,
    /// An instance with nothing in flight this long is stopped.
    #[arg(long, default_value = "10s")]
    pub idle_timeout: DurationArg,
    /// Bound on a cold start (spawn to ready); beyond, the waiting request gets 503.
    #[arg(long, default_value = "10s")]
    pub cold_start_timeout: DurationArg,
    /// Time a stopped instance gets between SIGTERM and SIGKILL.
    #[arg(long, default_value = "5s")]
    pub stop_grace: DurationArg,
    /// The bench-server binary instances run (default: this one).
    #[arg(long)]
    pub program: Option<PathBuf>,
    /// Show instances' info logs on stderr (default: errors only).
    #[arg(long)]
    pub instance_logs: bool,
    /// Tokio worker threads (default: one per core; 1 runs everything on one thread).
    #[arg(long)]
    pub worker_threads: Option<usize>,
    /// Client connection timeouts and limits of the pool's ports (instances take theirs
    /// from the serve flags after `--`).
    #[command(flatten)]
    pub conn: authbench_contract::conn::ConnArgs,
    /// `bench-server serve` flags for every instance, after `--` (not `--listen`,
    /// `--replica-id`: the pool sets them).
    #[arg(last = true, value_name = "SERVE_FLAGS")]
    pub serve_args: Vec<String>,
}

impl FunctionsArgs {
    /// The configuration these flags describe.
    pub fn to_config(&self) -> Result<FunctionsConfig, FunctionsError> {
        let program = match &self.program {
            Some(path) => path.clone(),
            None => std::env::current_exe().map_err(|err| {
                FunctionsError::bad_flag(
                    "--program",
                    "(default)",
                    format!("cannot find this program's path ({err}); give --program"),
                )
            })?,
        };
        Ok(FunctionsConfig {
            program,
            serve_args: self.serve_args.clone(),
            max_instances: self.max_instances,
            instance_concurrency: self.instance_concurrency,
            idle_timeout: self.idle_timeout.0,
            cold_start_timeout: self.cold_start_timeout.0,
            stop_grace: self.stop_grace.0,
            instance_logs: if self.instance_logs {
                ChildLogs::Inherit
            } else {
                ChildLogs::Errors
            },
            conn: crate::conn::ConnLimits::from(&self.conn),
        })
    }
}

/// Checks the flags, binds, prints the addresses and serves until Ctrl-C / SIGTERM.
pub async fn functions(args: FunctionsArgs) -> Result<(), FunctionsError> {
    let config = args.to_config()?;
    if !config.program.is_file() {
        return Err(FunctionsError::bad_flag(
            "--program",
            config.program.display(),
            "no such file",
        ));
    }
    crate::conn::limits::raise_nofile_limit();
    let pool = FunctionPool::start(&config)?;
    let listener = bind("--listen", args.listen).await?;
    let admin = match args.admin_listen {
        Some(addr) => Some(bind("--admin-listen", addr).await?),
        None => None,
    };
    crate::balance::server::announce(&listener, admin.as_ref())?;
    tracing::info!(
        addr = %listener.local_addr()?,
        max_instances = config.max_instances,
        instance_concurrency = config.instance_concurrency,
        idle_timeout = ?config.idle_timeout,
        "function pool ready"
    );
    super::serve(listener, admin, pool, crate::shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

async fn bind(flag: &'static str, addr: SocketAddr) -> Result<TcpListener, FunctionsError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| FunctionsError::Bind { flag, addr, source })
}
