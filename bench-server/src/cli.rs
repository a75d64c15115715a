//! Command-line interface: `bench-server serve`, `keys`, `balance` and `cluster`.
//!
//! Every `serve` flag can also be set by an environment variable (`AUTHBENCH_*`), so that a
//! cluster can pass one configuration to all replicas.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::balance::command::BalanceArgs;
use crate::cluster::command::ClusterArgs;
use crate::config::{DurationArg, Revocation, ServerConfig, StoreKind};
use crate::jwt::keys::create_key_dir;
use crate::jwt::{CryptoBackend, JwtAlg};
use crate::state::AppState;
use crate::users::HashCost;

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
    /// Create a key directory shared by replicas.
    Keys(KeysArgs),
    /// Run the built-in load balancer in front of running replicas.
    Balance(BalanceArgs),
    /// Run N replicas (and optionally Redis) behind a balancer until Ctrl-C.
    Cluster(Box<ClusterArgs>),
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. The first stdout line is
    /// `listening on http://HOST:PORT`.
    #[arg(long, env = "AUTHBENCH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Name of this replica, returned in `X-Replica`.
    #[arg(long, env = "AUTHBENCH_REPLICA_ID", default_value = "r0")]
    pub replica_id: String,
    /// Where sessions and JWT revocation state live.
    #[arg(long, env = "AUTHBENCH_SESSION_STORE", value_enum, default_value_t = StoreKind::Memory)]
    pub session_store: StoreKind,
    /// Redis URL, for `--session-store redis`.
    #[arg(long, env = "AUTHBENCH_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key.
    #[arg(long, env = "AUTHBENCH_REDIS_NAMESPACE", default_value = "authbench")]
    pub redis_namespace: String,
    /// JWT signing algorithm: HS256, RS256, ES256 or EdDSA.
    #[arg(long, env = "AUTHBENCH_JWT_ALG", default_value = "HS256")]
    pub jwt_alg: JwtAlg,
    /// Directory made by `bench-server keys`; without it keys are generated per process.
    #[arg(long, env = "AUTHBENCH_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// JWT lifetime (e.g. 900s, 15m).
    #[arg(long, env = "AUTHBENCH_JWT_TTL", default_value = "15m")]
    pub jwt_ttl: DurationArg,
    /// Clock skew tolerated on exp/nbf; 0 keeps revocation windows exact.
    #[arg(long, env = "AUTHBENCH_JWT_LEEWAY", default_value = "0s")]
    pub jwt_leeway: DurationArg,
    /// `iss` claim.
    #[arg(long, env = "AUTHBENCH_JWT_ISSUER", default_value = "authbench")]
    pub jwt_issuer: String,
    /// `aud` claim.
    #[arg(long, env = "AUTHBENCH_JWT_AUDIENCE", default_value = "authbench-api")]
    pub jwt_audience: String,
    /// Bytes of filler claim added to every token, to measure the cost of size.
    #[arg(long, env = "AUTHBENCH_JWT_EXTRA_CLAIM_BYTES", default_value_t = 0)]
    pub jwt_extra_claim_bytes: usize,
    /// Crypto library behind jsonwebtoken: aws-lc or rust-crypto.
    #[arg(long, env = "AUTHBENCH_CRYPTO_BACKEND", default_value = "aws-lc")]
    pub crypto_backend: CryptoBackend,
    /// Session lifetime.
    #[arg(long, env = "AUTHBENCH_SESSION_TTL", default_value = "30m")]
    pub session_ttl: DurationArg,
    /// JWT revocation strategy.
    #[arg(long, env = "AUTHBENCH_REVOCATION", value_enum, default_value_t = Revocation::None)]
    pub revocation: Revocation,
    /// Refresh-token lifetime with `--revocation refresh` (each use rotates the token).
    #[arg(long, env = "AUTHBENCH_REFRESH_TTL", default_value = "24h")]
    pub refresh_ttl: DurationArg,
    /// Number of seeded users: `user<i>` with password `secret-<i>`.
    #[arg(long, env = "AUTHBENCH_USERS", default_value_t = 1000)]
    pub users: usize,
    /// argon2id cost as `m=KiB,t=passes,p=lanes` (default: OWASP's 19 MiB, 2 passes).
    #[arg(
        long,
        env = "AUTHBENCH_PASSWORD_HASH_COST",
        default_value = "m=19456,t=2,p=1"
    )]
    pub password_hash_cost: HashCost,
    /// Add `Secure` to the session cookie (needs HTTPS in front).
    #[arg(long, env = "AUTHBENCH_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Largest request body; larger gets 413.
    #[arg(long, env = "AUTHBENCH_MAX_BODY_BYTES", default_value_t = 4096)]
    pub max_body_bytes: usize,
    /// Largest header value (all headers: 4×); larger gets 431.
    #[arg(long, env = "AUTHBENCH_MAX_HEADER_BYTES", default_value_t = 8192)]
    pub max_header_bytes: usize,
    /// Admin bearer credential (default: `admin.token` in --key-dir).
    #[arg(long, env = "AUTHBENCH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// How often expired in-process sessions and deny-list entries are purged.
    #[arg(long, env = "AUTHBENCH_PURGE_INTERVAL", default_value = "10s")]
    pub purge_interval: DurationArg,
    /// Tokio worker threads (default: one per core).
    #[arg(long, env = "AUTHBENCH_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
    /// Regression-gate test knob: burn this many µs of CPU in every session lookup and JWT
    /// verification (0: off). Never set in real measurements.
    #[arg(long, env = "AUTHBENCH_INJECT_CPU_US", default_value_t = 0)]
    pub inject_cpu_us: u64,
}

impl ServeArgs {
    /// The replica configuration these flags describe.
    pub fn to_config(&self) -> ServerConfig {
        ServerConfig {
            replica_id: self.replica_id.clone(),
            store: self.session_store,
            redis_url: self.redis_url.clone(),
            redis_namespace: self.redis_namespace.clone(),
            jwt_alg: self.jwt_alg,
            key_dir: self.key_dir.clone(),
            jwt_ttl: self.jwt_ttl.0,
            jwt_leeway: self.jwt_leeway.0,
            jwt_issuer: self.jwt_issuer.clone(),
            jwt_audience: self.jwt_audience.clone(),
            jwt_extra_claim_bytes: self.jwt_extra_claim_bytes,
            crypto_backend: self.crypto_backend,
            session_ttl: self.session_ttl.0,
            revocation: self.revocation,
            refresh_ttl: self.refresh_ttl.0,
            users: self.users,
            password_hash_cost: self.password_hash_cost,
            secure_cookies: self.secure_cookies,
            max_body_bytes: self.max_body_bytes,
            max_header_bytes: self.max_header_bytes,
            admin_token: self.admin_token.clone(),
            purge_interval: self.purge_interval.0,
            inject_cpu: std::time::Duration::from_micros(self.inject_cpu_us),
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
            Ok(runtime.block_on(crate::balance::command::balance(args))?)
        }
        Command::Cluster(args) => {
            init_tracing();
            // One thread: children are spawned from the main thread, which lives as long as
            // the process, so their parent-death signal fires exactly when the cluster dies.
            let runtime = runtime(Some(1))?;
            runtime.block_on(crate::cluster::command::cluster(*args))
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
    let algs: Vec<JwtAlg> = if args.alg.eq_ignore_ascii_case("all") {
        JwtAlg::ALL.to_vec()
    } else {
        vec![args
            .alg
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--alg: {e}"))?]
    };
    let written = create_key_dir(&args.out, &algs, args.force).context("--out")?;
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Starts one replica and serves until Ctrl-C / SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.to_config();
    let state = AppState::build(&config).await?;
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
