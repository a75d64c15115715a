//! Function replicas (`bench-server functions`): a pool of `bench-server serve` instances
//! started on demand, Lambda style, behind one HTTP port — what an API gateway in front of
//! AWS Lambda (or Cloud Run, Azure Functions) does to a function, on one machine.
//!
//! The model:
//! * a request takes a free slot on a **ready** instance — the most recently used one first,
//!   so the others stay idle and age out;
//! * with no free slot and fewer than `--max-instances` instances (starting ones counted), a
//!   new instance is started **for that request**, which waits for it (as a Lambda
//!   invocation waits for the sandbox it triggered) — a **cold start**. Its response carries
//!   `X-Cold-Start-Us: <µs>`, spawn to ready: the `listening on` line read (process start,
//!   key load, store connection) and a first connection made. A starting instance takes no
//!   other request;
//! * with no free slot and `--max-instances` reached: an immediate **429**
//!   `{"error":"throttled",…}`, counted;
//! * `--instance-concurrency C` (default 1, Lambda's) requests in flight per instance, each
//!   on its own keep-alive connection; a slot is busy until the response body has been sent
//!   to the end, or the client went away;
//! * an instance with nothing in flight for `--idle-timeout` is stopped (SIGTERM, SIGKILL
//!   after `--stop-grace`) and reaped; so is every instance at shutdown;
//! * an instance that does not start (spawn error, early exit, `--cold-start-timeout`) gives
//!   its request a 503 with the reason; one that dies gives its in-flight requests a 502
//!   `instance_failed`; either way it is removed and counted, and the next request starts a
//!   new one. Nothing waits without a bound.
//!
//! Instances are `f0`, `f1`, … (their `--replica-id`, hence `X-Replica`), never reused in
//! a run. Unless the instance flags name a `--key-dir`, the pool makes one key set for all
//! of them (a token issued by one verifies on all).
//!
//! * [`scheduler`] — the decisions, clock injected, no processes;
//! * [`pool`] — the decisions carried out: cold starts, slots, the idle reaper, shutdown;
//! * [`instance`] — one instance; [`spawner`] — the thread that forks and watches them;
//! * [`proxy`] — forwarding; [`body`] — streamed bodies holding their slot;
//! * [`admin`] — `/metrics`, `/instances`, `/healthz`; [`stats`] — counters, cold starts;
//! * [`command`] — `bench-server functions`; the accept loop is the built-in balancer's
//!   ([`crate::balance::server`]);
//! * [`error`] — bad flags and failed starts.

pub mod admin;
pub mod body;
pub mod command;
pub mod error;
pub mod instance;
pub mod pool;
pub mod proxy;
pub mod scheduler;
pub mod spawner;
pub mod stats;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;

pub use command::FunctionsArgs;
pub use error::FunctionsError;
pub use pool::FunctionPool;

use crate::cli::ServeArgs;
use crate::cluster::ChildLogs;
use crate::config::StoreKind;
use scheduler::Limits;

/// Default `--max-instances`.
pub const DEFAULT_MAX_INSTANCES: usize = 10;
/// Default `--instance-concurrency` (Lambda's: one request per instance).
pub const DEFAULT_INSTANCE_CONCURRENCY: usize = 1;
/// Default `--idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--cold-start-timeout`.
pub const DEFAULT_COLD_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--stop-grace`.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(5);

/// The flags the pool sets on every instance itself.
const OWNED_FLAGS: [&str; 2] = ["--listen", "--replica-id"];

/// A function pool's configuration.
#[derive(Debug, Clone)]
pub struct FunctionsConfig {
    /// The `bench-server` binary instances run (`<program> serve …`).
    pub program: PathBuf,
    /// `bench-server serve` flags of every instance (not `--listen`, `--replica-id`).
    pub serve_args: Vec<String>,
    /// Most instances at once, starting ones included.
    pub max_instances: usize,
    /// Requests in flight per instance.
    pub instance_concurrency: usize,
    /// Time with nothing in flight after which an instance is stopped.
    pub idle_timeout: Duration,
    /// Bound on a cold start (spawn to ready).
    pub cold_start_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when an instance is stopped.
    pub stop_grace: Duration,
    /// Where instances' stderr goes.
    pub instance_logs: ChildLogs,
    /// Client connection timeouts and limits of the pool's own ports (instances take
    /// theirs from `serve_args`).
    pub conn: crate::conn::ConnLimits,
}

impl FunctionsConfig {
    /// The defaults, running `program`.
    pub fn new(program: impl Into<PathBuf>) -> FunctionsConfig {
        FunctionsConfig {
            program: program.into(),
            serve_args: Vec::new(),
            max_instances: DEFAULT_MAX_INSTANCES,
            instance_concurrency: DEFAULT_INSTANCE_CONCURRENCY,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            cold_start_timeout: DEFAULT_COLD_START_TIMEOUT,
            stop_grace: DEFAULT_STOP_GRACE,
            instance_logs: ChildLogs::Errors,
            conn: crate::conn::ConnLimits::default(),
        }
    }

    /// The scheduler's limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_instances: self.max_instances,
            concurrency: self.instance_concurrency,
            idle_timeout: self.idle_timeout,
        }
    }

    /// Checks every value; returns the instance flags parsed the way an instance will.
    pub fn validate(&self) -> Result<ServeArgs, FunctionsError> {
        if self.max_instances == 0 {
            return Err(FunctionsError::bad_flag(
                "--max-instances",
                0,
                "must be at least 1",
            ));
        }
        if self.instance_concurrency == 0 {
            return Err(FunctionsError::bad_flag(
                "--instance-concurrency",
                0,
                "must be at least 1",
            ));
        }
        for (flag, value) in [
            ("--idle-timeout", self.idle_timeout),
            ("--cold-start-timeout", self.cold_start_timeout),
        ] {
            if value.is_zero() {
                return Err(FunctionsError::bad_flag(
                    flag,
                    "0s",
                    "must be more than zero",
                ));
            }
        }
        if let Err(bad) = self.conn.check() {
            return Err(FunctionsError::bad_flag(bad.flag, bad.value, bad.reason));
        }
        for owned in OWNED_FLAGS {
            let given = self.serve_args.iter().any(|arg| {
                arg == owned
                    || arg
                        .strip_prefix(owned)
                        .is_some_and(|rest| rest.starts_with('='))
            });
            if given {
                return Err(FunctionsError::bad_flag(
                    format!("-- {owned}"),
                    self.serve_args.join(" "),
                    "the pool sets it for every instance (127.0.0.1:0, f0, f1, …)",
                ));
            }
        }
        let argv =
            std::iter::once("bench-server serve".to_owned()).chain(self.serve_args.iter().cloned());
        let serve = match ServeCommand::try_parse_from(argv) {
            Ok(command) => command.args,
            Err(err) => {
                let first = err.to_string();
                let reason = first.lines().next().unwrap_or("invalid").to_owned();
                return Err(FunctionsError::bad_flag(
                    "-- SERVE_FLAGS",
                    self.serve_args.join(" "),
                    reason,
                ));
            }
        };
        if serve.session_store == StoreKind::Redis && serve.redis_url.is_none() {
            return Err(FunctionsError::bad_flag(
                "-- --session-store",
                "redis",
                "needs --redis-url redis://HOST:PORT among the instance flags",
            ));
        }
        Ok(serve)
    }
}

/// `bench-server serve` alone, to check instance flags the way an instance will.
#[derive(Debug, Parser)]
#[command(name = "bench-server serve")]
struct ServeCommand {
    #[command(flatten)]
    args: ServeArgs,
}

/// Runs a pool for `config` on `listener` (metrics on `admin`, if given) until `shutdown`
/// completes; then drains open requests and stops every instance.
pub async fn run(
    listener: TcpListener,
    admin: Option<TcpListener>,
    config: FunctionsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), FunctionsError> {
    let pool = FunctionPool::start(&config)?;
    serve(listener, admin, pool, shutdown).await;
    Ok(())
}

/// Runs an already started `pool` (see [`run`]); for callers that keep a handle on it.
pub async fn serve(
    listener: TcpListener,
    admin: Option<TcpListener>,
    pool: Arc<FunctionPool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let reaper = tokio::spawn(Arc::clone(&pool).reap_idle());
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_task = admin.map(|admin| {
        let pool = Arc::clone(&pool);
        let hardening = crate::conn::Hardening::new(pool.conn().limits, 2);
        tokio::spawn(crate::conn::serve(
            admin,
            hardening,
            move |req| admin::handle(Arc::clone(&pool), req),
            async move {
                let _ = admin_stopped.await;
            },
        ))
    });
    let proxy = Arc::clone(&pool);
    crate::conn::serve(
        listener,
        pool.conn().clone(),
        move |req| proxy::handle(Arc::clone(&proxy), req),
        shutdown,
    )
    .await;
    pool.shutdown().await;
    reaper.abort();
    let _ = stop_admin.send(());
    if let Some(task) = admin_task {
        let _ = task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(serve_args: &[&str]) -> FunctionsConfig {
        FunctionsConfig {
            serve_args: serve_args.iter().map(|s| (*s).to_owned()).collect(),
            ..FunctionsConfig::new("bench-server")
        }
    }

    fn refused(config: &FunctionsConfig) -> String {
        match config.validate() {
            Ok(_) => panic!("{config:?} was accepted"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn bad_values_name_the_flag_and_the_value() {
        let zero = FunctionsConfig {
            max_instances: 0,
            ..config(&[])
        };
        assert!(refused(&zero).starts_with("--max-instances 0:"));
        let zero = FunctionsConfig {
            instance_concurrency: 0,
            ..config(&[])
        };
        assert!(refused(&zero).starts_with("--instance-concurrency 0:"));
        let zero = FunctionsConfig {
            idle_timeout: Duration::ZERO,
            ..config(&[])
        };
        assert!(refused(&zero).starts_with("--idle-timeout 0s:"));
        let zero = FunctionsConfig {
            cold_start_timeout: Duration::ZERO,
            ..config(&[])
        };
        assert!(refused(&zero).starts_with("--cold-start-timeout 0s:"));
    }

    #[test]
    fn instance_flags_are_checked_and_the_pool_owns_listen_and_replica_id() {
        assert!(config(&["--users", "20"]).validate().is_ok());
        let err = refused(&config(&["--listen", "127.0.0.1:1"]));
        assert!(
            err.starts_with("-- --listen --listen 127.0.0.1:1:"),
            "{err}"
        );
        let err = refused(&config(&["--users", "3", "--replica-id=x"]));
        assert!(err.starts_with("-- --replica-id"), "{err}");
        let err = refused(&config(&["--users", "many"]));
        assert!(err.starts_with("-- SERVE_FLAGS --users many:"), "{err}");
        assert!(err.contains("many"), "{err}");
        let err = refused(&config(&["--session-store", "redis"]));
        assert!(err.contains("--redis-url"), "{err}");
    }
}
