//! `loadgen suite`: flags, the run folder, Ctrl-C, and the exit status.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{bail, Context as _};
use clap::Args;
use tokio::sync::watch;

use super::context::{RedisSource, SuiteContext};
use super::external;
use super::matrix;
use super::runner::{self, RunMeta};
use super::target::ExternalTarget;

/// Flags of `suite`.
#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// The CI matrix: every claim family once, short cells (under 45 s on 2 cores).
    #[arg(long, conflicts_with = "matrix")]
    pub quick: bool,
    /// A built-in matrix (`default`, `quick`, `network`: added latency as the store moves
    /// away) or a TOML matrix file (see loadgen/matrices/default.toml for the format).
    #[arg(long)]
    pub matrix: Option<String>,
    /// Trials per load cell (overrides the matrix).
    #[arg(long)]
    pub trials: Option<u32>,
    /// Sessions (and revoked tokens) seeded to measure bytes per entry (up to 1,000,000).
    #[arg(long)]
    pub sessions: Option<u64>,
    /// Where run folders go.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Label of the run folder (default: the matrix name).
    #[arg(long)]
    pub label: Option<String>,
    /// Use this Redis (all clusters share it, each under its own key namespace) instead of
    /// starting redis-server children.
    #[arg(long, env = "AUTHBENCH_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// The bench-server binary (default: next to this loadgen binary).
    #[arg(long)]
    pub bench_server: Option<PathBuf>,
    /// Argon2 cost of the seeded users' passwords (the suite measures authenticated
    /// requests; login hashing is measured by scripts/bench-server).
    #[arg(long, default_value = "m=256,t=1,p=1")]
    pub password_hash_cost: String,
    /// Make every replica burn this many µs of CPU per verification / lookup (to test a
    /// regression gate; 0 = off).
    #[arg(long, default_value_t = 0)]
    pub slowdown_us: u64,
    /// Tokio worker threads of the load generator (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Bring your own cluster: run the parts that fit against the deployment described in
    /// this TOML file instead of starting local clusters (docs/deployment-file.md).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bench_server", "slowdown_us"])]
    pub deployment: Option<PathBuf>,
}

const MAX_SESSIONS: u64 = 1_000_000;

/// Runs the suite; an error when a part failed (the run folder is written anyway).
pub fn execute(args: &SuiteArgs, argv: Vec<String>) -> anyhow::Result<()> {
    let spec = match (&args.matrix, args.quick) {
        (Some(file), _) => file.as_str(),
        (None, true) => "quick",
        (None, false) => "default",
    };
    let mut plan = matrix::load(spec)?;
    if let Some(trials) = args.trials {
        if trials == 0 {
            bail!("--trials 0: must be at least 1");
        }
        plan.defaults.trials = trials;
        plan.cells.iter_mut().for_each(|c| c.trials = trials);
    }
    if let Some(n) = args.sessions {
        if n == 0 || n > MAX_SESSIONS {
            bail!("--sessions {n}: must be between 1 and {MAX_SESSIONS}");
        }
    }
    if let Some(url) = &args.redis_url {
        if !url.starts_with("redis://") && !url.starts_with("rediss://") {
            bail!(
                "--redis-url {:?}: expected redis://HOST:PORT",
                authbench_contract::redact_url(url)
            );
        }
    }
    let target = match &args.deployment {
        Some(path) => Some(ExternalTarget::load(path)?),
        None => None,
    };
    if target.is_some() && args.redis_url.is_some() {
        // Not a conflict: AUTHBENCH_REDIS_URL may be set for local runs.
        eprintln!(
            "loadgen suite: --redis-url (or AUTHBENCH_REDIS_URL) is ignored with --deployment; the file's redis_url is read"
        );
    }
    let bench_server = match &args.bench_server {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context("locating this executable")?
            .with_file_name("bench-server"),
    };
    if target.is_none() && !bench_server.is_file() {
        bail!(
            "--bench-server {}: no such file (build it with `cargo build --release -p bench-server`, or pass its path)",
            bench_server.display()
        );
    }
    if args.threads == Some(0) {
        bail!("--threads 0: must be at least 1");
    }
    let label = args.label.clone().unwrap_or_else(|| {
        std::path::Path::new(&plan.name)
            .file_stem()
            .map_or_else(|| "suite".into(), |s| s.to_string_lossy().into_owned())
    });
    let env = super::env::collect(argv.clone(), &std::env::current_dir().unwrap_or_default());
    std::fs::create_dir_all(&args.out).with_context(|| format!("--out {}", args.out.display()))?;
    let run_dir = runner::run_dir(&args.out, &env.hostname, &label, SystemTime::now());
    std::fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    crate::fsutil::write_atomically(&run_dir.join("env.json"), &env)
        .with_context(|| format!("writing {}/env.json", run_dir.display()))?;

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads);
    }
    let runtime = builder.build().context("cannot start the tokio runtime")?;
    let redis = match &target {
        Some(_) => RedisSource::Unavailable("the deployment file's own".into()),
        None => RedisSource::detect(args.redis_url.as_deref()),
    };
    match &target {
        Some(t) => eprintln!(
            "loadgen suite: matrix {} against deployment file {:?} ({}), writing {}",
            plan.name,
            t.name,
            t.entry_url,
            run_dir.display()
        ),
        None => eprintln!(
            "loadgen suite: matrix {} ({} load cells), Redis {}, writing {}",
            plan.name,
            plan.cells.len(),
            redis.label(),
            run_dir.display()
        ),
    }
    let (run, failed) = runtime.block_on(async {
        let (stop_tx, stop_rx) = watch::channel(false);
        let signal = tokio::spawn(async move {
            crate::shutdown_signal().await;
            eprintln!(
                "loadgen suite: stopping; finished parts are kept (run.json is marked partial)"
            );
            let _ = stop_tx.send(true);
        });
        let mut ctx = SuiteContext::new(
            bench_server,
            redis,
            run_dir.clone(),
            args.password_hash_cost.clone(),
            args.slowdown_us,
            stop_rx,
        )?;
        let meta = RunMeta {
            label,
            command: argv,
            env,
            sessions: args.sessions,
        };
        let outcome = match &target {
            Some(target) => {
                if let Err(e) = target.verify(&ctx.http).await {
                    let _ = std::fs::remove_dir_all(&run_dir);
                    return Err(e.context(format!(
                        "--deployment {}",
                        args.deployment.clone().unwrap_or_default().display()
                    )));
                }
                if let Some(token) = &target.admin_token {
                    ctx.admin_token = token.expose().to_owned();
                }
                external::run(&plan, &ctx, target, meta).await
            }
            None => runner::run(&plan, &ctx, meta).await,
        };
        signal.abort();
        anyhow::Ok(outcome)
    })?;
    super::finish(&run_dir, &run)?;
    eprintln!(
        "loadgen suite: {} in {:.0} s → {}",
        if run.partial { "stopped" } else { "done" },
        run.wall_seconds,
        run_dir.display()
    );
    for skipped in &run.skipped {
        eprintln!(
            "skipped: {} — {}; to enable: {}",
            skipped.what, skipped.reason, skipped.enable
        );
    }
    if run.partial {
        bail!(
            "interrupted: {} holds the parts that finished (run.json is marked partial)",
            run_dir.display()
        );
    }
    if !failed.is_empty() {
        bail!(
            "{} part(s) failed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        );
    }
    Ok(())
}
