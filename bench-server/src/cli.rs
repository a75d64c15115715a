//! Command-line interface: `bench-server serve`, `keys`, `balance`, `cluster`, `link` and
//! `functions`.
//!
//! Every `serve` flag can also be set by an environment variable (`AUTHBENCH_*`), so that a
//! cluster can pass one configuration to all replicas.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::balance::command::BalanceArgs;
use crate::cluster::command::ClusterArgs;
use crate::config::ServerConfig;
use crate::functions::FunctionsArgs;
use crate::jwt::keys::{create_key_dir, rotate_key};
use crate::jwt::{JwtAlg, KeyRing};
use crate::state::AppState;

pub use authbench_contract::link::LinkArgs;
pub use authbench_contract::serve::ServeArgs;

/// Session-ID and JWT authentication, served side by side for measurement.
#[derive(Debug, Parser)]
#[command(name = "bench-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one replica.
    Serve(Box<ServeArgs>),
    /// Create a key directory shared by replicas, or rotate its keys (`--rotate`).
    Keys(KeysArgs),
    /// Run the built-in load balancer in front of running replicas.
    Balance(Box<BalanceArgs>),
    /// Run N replicas (and optionally Redis) behind a balancer until Ctrl-C.
    Cluster(Box<ClusterArgs>),
    /// Forward TCP to an upstream with a one-way delay (a network hop between tiers).
    Link(Box<LinkArgs>),
    /// Run a pool of `serve` instances started on demand (function replicas, Lambda style).
    Functions(Box<FunctionsArgs>),
}

impl From<&ServeArgs> for ServerConfig {
    /// The replica configuration these flags describe.
    fn from(args: &ServeArgs) -> ServerConfig {
        ServerConfig {
            replica_id: args.replica_id.clone(),
            store: args.session_store,
            redis_url: args.redis_url.clone(),
            redis_namespace: args.redis_namespace.clone(),
            store_guard: crate::store::GuardConfig {
                timeout: args.store_timeout.0,
                circuit_failures: args.store_circuit_failures,
                circuit_cooldown: args.store_circuit_cooldown.0,
            },
            jwt_alg: args.jwt_alg,
            key_dir: args.key_dir.clone(),
            jwt_ttl: args.jwt_ttl.0,
            jwt_leeway: args.jwt_leeway.0,
            jwt_issuer: args.jwt_issuer.clone(),
            jwt_audience: args.jwt_audience.clone(),
            jwt_extra_claim_bytes: args.jwt_extra_claim_bytes,
            crypto_backend: args.crypto_backend,
            session_ttl: args.session_ttl.0,
            revocation: args.revocation,
            refresh_ttl: args.refresh_ttl.0,
            users: args.users,
            password_hash_cost: args.password_hash_cost,
            secure_cookies: args.secure_cookies,
            max_body_bytes: args.max_body_bytes,
            conn: crate::conn::ConnLimits::from(&args.conn),
            admin_token: args.admin_token.clone(),
            purge_interval: args.purge_interval.0,
            inject_cpu: std::time::Duration::from_micros(args.inject_cpu_us),
            trust_gateway: args.trust_gateway,
            identity_secret_file: args.identity_secret_file.clone(),
        }
    }
}

/// Flags of `keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Algorithm to create a key for, or `all`.
    #[arg(long, default_value = "all")]
    pub alg: String,
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
    /// Rotate instead of create: a new key becomes current (signs), the current one is kept
    /// as `jwt-<alg>.previous.<ext>` (verifies only) and an older previous one is deleted.
    /// With `--alg all`, every algorithm that has a key in `--out` is rotated. Replicas pick
    /// the new keys up on SIGHUP or `POST /admin/keys/reload`.
    #[arg(long)]
    pub rotate: bool,
}

/// Runs a parsed command line. Builds the tokio runtime itself, since `serve` takes the
/// worker count from its flags.
pub fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keys(args) => keys(&args),
        Command::Serve(args) => {
            init_tracing();
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.enable_all();
            if let Some(threads) = args.worker_threads {
                anyhow::ensure!(threads > 0, "--worker-threads: must be at least 1");
                builder.worker_threads(threads);
            }
            let runtime = builder.build().context("cannot start the tokio runtime")?;
            runtime.block_on(serve(*args))
        }
        Command::Balance(args) => {
            init_tracing();
            let runtime = runtime(args.worker_threads)?;
            Ok(runtime.block_on(crate::balance::command::balance(*args))?)
        }
        Command::Cluster(args) => {
            init_tracing();
            // One thread: children are spawned from the main thread, which lives as long as
            // the process, so their parent-death signal fires exactly when the cluster dies.
            let runtime = runtime(Some(1))?;
            runtime.block_on(crate::cluster::command::cluster(*args))
        }
        Command::Link(args) => {
            init_tracing();
            // The forwarding runs on threads of its own; the runtime only accepts and serves
            // the admin port.
            let runtime = runtime(Some(1))?;
            runtime.block_on(crate::link::command::link(*args))
        }
        Command::Functions(args) => {
            init_tracing();
            // Instances are forked by a thread of the pool's own, whatever the runtime.
            let runtime = runtime(args.worker_threads)?;
            Ok(runtime.block_on(crate::functions::command::functions(*args))?)
        }
    }
}

/// A tokio runtime with `threads` workers (default: one per core); one thread means the
/// current-thread scheduler, the cheapest when pinned to one core.
fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        Some(0) => anyhow::bail!("--worker-threads 0: must be at least 1"),
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
}

fn keys(args: &KeysArgs) -> anyhow::Result<()> {
    let all = args.alg.eq_ignore_ascii_case("all");
    let algs: Vec<JwtAlg> = if all {
        JwtAlg::ALL.to_vec()
    } else {
        vec![args
            .alg
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--alg: {e}"))?]
    };
    if args.rotate {
        anyhow::ensure!(
            !args.force,
            "--rotate and --force: pick one (--rotate keeps the current key to verify the tokens it signed; --force replaces it, and those tokens stop verifying)"
        );
        return rotate(args, algs, all);
    }
    let written = create_key_dir(&args.out, &algs, args.force).context("--out")?;
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `keys --rotate`: rotates `algs` (with `--alg all`, those that have a key) and prints
/// the files and `kid`s.
fn rotate(args: &KeysArgs, mut algs: Vec<JwtAlg>, all: bool) -> anyhow::Result<()> {
    let dir = &args.out;
    if all {
        algs.retain(|alg| dir.join(alg.file_name()).exists());
        anyhow::ensure!(
            !algs.is_empty(),
            "--out {}: no key to rotate (create keys with `bench-server keys --out {}`)",
            dir.display(),
            dir.display()
        );
    }
    for alg in algs {
        let rotation = rotate_key(dir, alg).context("--out")?;
        let ring = KeyRing::load(dir, alg).context("--out: the rotated keys do not load")?;
        let previous_kid = ring.previous().map_or("-", |key| key.kid());
        println!(
            "{alg}: wrote {} (current, signs, kid {}); kept {} (previous, verifies only, kid {previous_kid}){}",
            rotation.current.display(),
            ring.current().kid(),
            rotation.previous.display(),
            if rotation.retired {
                "; the older previous key is retired"
            } else {
                ""
            }
        );
    }
    println!("replicas sign with the new keys after SIGHUP or POST /admin/keys/reload");
    Ok(())
}

/// Starts one replica and serves until Ctrl-C / SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    crate::conn::limits::raise_nofile_limit();
    let config = ServerConfig::from(&args);
    let state = AppState::build(&config).await?;
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let hangups = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
        tokio::spawn(crate::key_reload::reload_on_hangup(state.clone(), hangups));
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
    let addr = listener.local_addr().context("listener has no address")?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
    }
    tracing::info!(
        %addr,
        replica = %config.replica_id,
        store = %config.store,
        jwt_alg = %config.jwt_alg,
        revocation = %config.revocation,
        crypto = %config.crypto_backend,
        users = config.users,
        inject_cpu_us = config.inject_cpu.as_micros(),
        trust_gateway = config.trust_gateway,
        max_connections = state.conn.max_connections,
        "serving"
    );
    crate::run(listener, state, crate::shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
