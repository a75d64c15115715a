//! Command line: `loadgen run`, `merge`, `suite`, `report`, `compare` and `verdicts`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::fsutil::write_atomically;
use crate::plan::{
    parse_duration, parse_stages, parse_target, LoadModel, Mix, Plan, PlanError, Scheme, Stage,
    StopAt,
};
use crate::result::RunResult;

/// Drives virtual users through login → requests → logout against a bench-server and
/// records latency without coordinated omission.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one load test and write its result.
    Run(Box<RunArgs>),
    /// Merge the JSON results of `run --shard I/N` into one result, or HdrHistogram
    /// interval logs (`run --hdr-log`); the kind is told from the first file's content.
    Merge(MergeArgs),
    /// Run the comparison suite (a matrix of clusters) and write a run folder with a report.
    Suite(Box<crate::suite::command::SuiteArgs>),
    /// Compare two suite runs (or pooled folders of runs): the CI regression gate. Exits 0
    /// when nothing regressed, 1 when something did, 2 when they cannot be compared.
    Compare(Box<authbench_report::compare::command::CompareArgs>),
    /// Re-render a suite run folder's summary.md and report.html from its run.json; with
    /// --project RPS, size a deployment for that rate from its measured costs instead.
    Report(ReportArgs),
    /// How the verdicts of several runs of one build agree, claim by claim. Exits 0 when
    /// every claim agreed in at least --min-agree runs (or without --min-agree), 1 when some
    /// claim agreed in fewer, 2 when it cannot tell: a run folder without a readable run.json
    /// (missing, not a run, another schema_version) or a bad flag.
    Verdicts(VerdictsArgs),
}

/// Flags of `verdicts`.
#[derive(Debug, Args)]
pub struct VerdictsArgs {
    /// Run folders (holding run.json), e.g. those of ten `loadgen suite --quick` runs.
    #[arg(required = true)]
    pub run_dirs: Vec<PathBuf>,
    /// Exit 1 when a claim's majority verdict was given by fewer than this many runs
    /// (1 to the number of runs; outside that, exit 2).
    #[arg(long, value_name = "N")]
    pub min_agree: Option<usize>,
}

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run folder (holding run.json), e.g. results/2026-11-26-bench-2c-default.
    pub run_dir: PathBuf,
    /// Instead of re-rendering the report, size a deployment for this many authenticated
    /// requests/s per scheme from the run's measured costs, as Markdown on stdout (or
    /// --out); the run folder is left as it is. See docs/scale.md.
    #[arg(long, value_name = "RPS", allow_negative_numbers = true)]
    pub project: Option<f64>,
    /// With --project: planned utilisation of every core and Redis shard, above 0 and at
    /// most 1.
    #[arg(
        long,
        value_name = "SHARE",
        default_value_t = authbench_report::render::sizing::DEFAULT_HEADROOM,
        allow_negative_numbers = true,
        requires = "project"
    )]
    pub headroom: f64,
    /// With --project: cores per replica and per balancer node [default: the run's
    /// machine's cores].
    #[arg(long, value_name = "N", requires = "project")]
    pub cores_per_replica: Option<usize>,
    /// With --project: live sessions (and users) to size state memory for.
    #[arg(
        long,
        value_name = "N",
        default_value_t = authbench_report::render::sizing::DEFAULT_SESSIONS,
        requires = "project"
    )]
    pub sessions: u64,
    /// With --project: write the Markdown to this file rather than stdout.
    #[arg(long, value_name = "FILE", requires = "project")]
    pub out: Option<PathBuf>,
}

impl ReportArgs {
    /// The sizing target of `--project` and its flags, validated; `None` without
    /// `--project`.
    pub fn target(
        &self,
    ) -> Result<
        Option<authbench_report::render::sizing::Target>,
        authbench_report::render::sizing::TargetError,
    > {
        let Some(rps) = self.project else {
            return Ok(None);
        };
        let target = authbench_report::render::sizing::Target {
            rps,
            headroom: self.headroom,
            cores_per_replica: self.cores_per_replica,
            sessions: self.sessions,
        };
        target.validate()?;
        Ok(Some(target))
    }
}

/// Flags of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Where to write the merged result or log (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Results written by `loadgen run --shard I/N --out`, or logs written by
    /// `loadgen run --hdr-log`.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    /// Results: merge even when some shards are missing (the result says which ran).
    #[arg(long)]
    pub allow_partial: bool,
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Base URL of the target, e.g. http://127.0.0.1:8080 (a replica or a balancer).
    #[arg(long)]
    pub target: String,
    /// Authentication scheme of the virtual users.
    #[arg(long, value_enum)]
    pub scheme: Scheme,
    /// Open loop: constant arrival rate, requests per second.
    #[arg(long, group = "load", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Open loop with stages: `LENGTH:RATE[~],…` (`~` ramps from the previous rate).
    #[arg(long, group = "load")]
    pub stages: Option<String>,
    /// Closed loop: this many users send back to back.
    #[arg(long, group = "load")]
    pub concurrency: Option<usize>,
    /// Run length (warm-up included); not with --stages, whose lengths decide it.
    #[arg(long)]
    pub duration: Option<String>,
    /// Stop after this many measured requests instead of after a duration.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Initial period whose requests are sent but not recorded.
    #[arg(long, default_value = "0s")]
    pub warmup: String,
    /// Virtual users: seeded accounts user<first>…, each with its own credential.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// Index of the first seeded account to use.
    #[arg(long, default_value_t = 0)]
    pub first_user: usize,
    /// Open loop: connections (one worker each), the most requests in flight
    /// (default: --users, at most 512). Users are spread over them.
    #[arg(long)]
    pub connections: Option<usize>,
    /// Weighted request mix, e.g. "GET /jwt/me=9,GET /healthz=1" (default: GET /<scheme>/me).
    #[arg(long)]
    pub mix: Option<String>,
    /// Each user logs out and in again after this many requests.
    #[arg(long)]
    pub logout_every: Option<u64>,
    /// Do not log users out when the run ends.
    #[arg(long)]
    pub no_logout_at_end: bool,
    /// Log in again this long before the credential expires.
    #[arg(long, default_value = "30s")]
    pub renew_before: String,
    /// Per-request timeout.
    #[arg(long, default_value = "10s")]
    pub timeout: String,
    /// Write the JSON result here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write per-second request latency histograms here (HdrHistogram V2 interval log).
    #[arg(long)]
    pub hdr_log: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Run slice I (0-based) of N of the plan, e.g. `--shard 0/2`: disjoint users, 1/N of
    /// the arrivals (interleaved), connections and closed-loop users split; merge the
    /// results with `loadgen merge --out all.json shard*.json`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Start the schedule at this wall-clock instant (seconds since the Unix epoch,
    /// fractions allowed), so shards on several machines start together. More than 1 s in
    /// the past is an error.
    #[arg(long, value_name = "UNIX_TIME")]
    pub start_at: Option<String>,
    /// Tokio worker threads (default: one per core); 1 when pinned to a single core, which
    /// runs everything on one thread with tokio's current-thread scheduler.
    #[arg(long)]
    pub threads: Option<usize>,
}

fn duration_flag(flag: &'static str, value: &str) -> Result<Duration, PlanError> {
    parse_duration(value).map_err(|message| PlanError::new(flag, value, message))
}

impl RunArgs {
    /// The whole plan and the slice this process runs (the same plan without `--shard`).
    pub fn to_plans(&self) -> Result<(Plan, Plan), PlanError> {
        let whole = self.to_plan()?;
        let slice = match &self.shard {
            None => whole.clone(),
            Some(text) => text
                .parse::<crate::shard::Shard>()
                .map_err(|m| PlanError::new("--shard", text, m))?
                .slice(&whole)?,
        };
        Ok((whole, slice))
    }

    /// Validates the flags into a plan (the whole plan, ignoring `--shard`).
    pub fn to_plan(&self) -> Result<Plan, PlanError> {
        let (target, authority) = parse_target(&self.target)?;
        let warmup = duration_flag("--warmup", &self.warmup)?;
        let duration = self
            .duration
            .as_deref()
            .map(|d| duration_flag("--duration", d))
            .transpose()?;
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(PlanError::new(
                "--duration",
                self.duration.as_deref().unwrap_or(""),
                "must be longer than 0",
            ));
        }
        if self.users == 0 {
            return Err(PlanError::new("--users", 0, "must be at least 1"));
        }
        if self.requests == Some(0) {
            return Err(PlanError::new("--requests", 0, "must be at least 1"));
        }
        if self.logout_every == Some(0) {
            return Err(PlanError::new("--logout-every", 0, "must be at least 1"));
        }
        let default_length = Duration::from_secs(30);
        let model = match (self.rate, &self.stages, self.concurrency) {
            (Some(rate), None, None) => {
                if !rate.is_finite() || rate <= 0.0 {
                    return Err(PlanError::new("--rate", rate, "must be a positive number of requests per second"));
                }
                // With --requests the schedule runs until the count is reached.
                let length = match (duration, self.requests) {
                    (Some(d), _) => d,
                    (None, Some(n)) => Duration::from_secs_f64(n as f64 / rate) + warmup + Duration::from_secs(1),
                    (None, None) => default_length,
                };
                LoadModel::Open {
                    stages: vec![Stage { length, rate, ramp: false }],
                }
            }
            (None, Some(stages), None) => {
                if self.duration.is_some() {
                    return Err(PlanError::new("--duration", self.duration.as_deref().unwrap_or(""), "not allowed with --stages (the stages set the length)"));
                }
                LoadModel::Open {
                    stages: parse_stages(stages).map_err(|m| PlanError::new("--stages", stages, m))?,
                }
            }
            (None, None, Some(concurrency)) => {
                if concurrency == 0 {
                    return Err(PlanError::new("--concurrency", 0, "must be at least 1"));
                }
                LoadModel::Closed { concurrency }
            }
            _ => {
                return Err(PlanError::new(
                    "--rate",
                    "",
                    "give exactly one of --rate (open loop), --stages (open loop) or --concurrency (closed loop)",
                ))
            }
        };
        let stop = match (self.requests, &model) {
            (Some(count), _) => StopAt::Requests { count },
            (None, LoadModel::Open { stages }) => StopAt::Duration {
                length: stages.iter().map(|s| s.length).sum(),
            },
            (None, LoadModel::Closed { .. }) => StopAt::Duration {
                length: duration.unwrap_or(default_length),
            },
        };
        if let StopAt::Duration { length } = stop {
            if warmup >= length {
                return Err(PlanError::new(
                    "--warmup",
                    &self.warmup,
                    "must be shorter than the run",
                ));
            }
        }
        let mix = match &self.mix {
            Some(text) => text
                .parse::<Mix>()
                .map_err(|m| PlanError::new("--mix", text, m))?,
            None => Mix::default_for(self.scheme),
        };
        let connections = match (&model, self.connections) {
            (LoadModel::Closed { concurrency }, None) => *concurrency,
            (LoadModel::Closed { .. }, Some(n)) => {
                return Err(PlanError::new(
                    "--connections",
                    n,
                    "closed loop uses --concurrency connections",
                ))
            }
            (LoadModel::Open { .. }, Some(0)) => {
                return Err(PlanError::new("--connections", 0, "must be at least 1"))
            }
            (LoadModel::Open { .. }, Some(n)) => n,
            (LoadModel::Open { .. }, None) => self.users.min(512),
        };
        Ok(Plan {
            connections,
            target,
            authority,
            scheme: self.scheme,
            model,
            stop,
            warmup,
            users: self.users,
            first_user: self.first_user,
            mix,
            logout_every: self.logout_every,
            logout_at_end: !self.no_logout_at_end,
            renew_before: duration_flag("--renew-before", &self.renew_before)?,
            timeout: duration_flag("--timeout", &self.timeout)?,
            shard: None,
        })
    }
}

/// Runs a parsed command line; the exit status on success (`compare` exits 1 on a
/// regression).
pub fn execute(cli: Cli, argv: Vec<String>) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run(&args, argv).map(|()| ExitCode::SUCCESS),
        Command::Report(args) => report(&args).map(|()| ExitCode::SUCCESS),
        Command::Verdicts(args) => verdicts(&args),
        Command::Merge(args) => merge(&args, argv).map(|()| ExitCode::SUCCESS),
        Command::Suite(args) => {
            crate::suite::command::execute(&args, argv).map(|()| ExitCode::SUCCESS)
        }
        Command::Compare(args) => Ok(match authbench_report::compare::command::execute(&args)? {
            true => ExitCode::from(authbench_report::compare::EXIT_REGRESSED),
            false => ExitCode::SUCCESS,
        }),
    }
}

/// The exit status for an error `execute` returned: 2 for a comparison that cannot be made
/// or verdicts that cannot be gathered (as for clap's usage errors), 1 otherwise.
pub fn failure_code(err: &anyhow::Error) -> ExitCode {
    if err
        .downcast_ref::<authbench_report::compare::CompareError>()
        .is_some()
    {
        ExitCode::from(authbench_report::compare::EXIT_UNCOMPARABLE)
    } else if err.downcast_ref::<VerdictsError>().is_some() {
        ExitCode::from(authbench_report::render::agreement::EXIT_UNUSABLE)
    } else {
        ExitCode::FAILURE
    }
}

/// Why `verdicts` cannot judge agreement; exits 2, apart from the 1 of too little agreement.
#[derive(Debug, thiserror::Error)]
pub enum VerdictsError {
    /// A run folder without a readable run.json.
    #[error(transparent)]
    Load(#[from] authbench_report::render::ReportError),
    /// `--min-agree` outside 1..=runs.
    #[error("--min-agree {value}: must be between 1 and the number of runs ({runs})")]
    MinAgree {
        /// The value given.
        value: usize,
        /// Run folders given.
        runs: usize,
    },
}

fn report(args: &ReportArgs) -> anyhow::Result<()> {
    if let Some(target) = args.target()? {
        return project(args, &target);
    }
    let run = authbench_report::render::load(&args.run_dir)?;
    let written = authbench_report::render::write(&args.run_dir, &run)?;
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `report --project`: the sizing as Markdown, on stdout or in `--out`.
fn project(
    args: &ReportArgs,
    target: &authbench_report::render::sizing::Target,
) -> anyhow::Result<()> {
    let run = authbench_report::render::load(&args.run_dir)?;
    let markdown = authbench_report::render::sizing::markdown_for(
        &run,
        target,
        &args.run_dir.display().to_string(),
        args.out
            .as_ref()
            .map(|p| p.display().to_string())
            .as_deref(),
    );
    match &args.out {
        Some(path) => {
            crate::fsutil::write_bytes_atomically(path, markdown.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}", path.display());
        }
        None => print!("{markdown}"),
    }
    Ok(())
}

fn verdicts(args: &VerdictsArgs) -> anyhow::Result<ExitCode> {
    use authbench_report::render::agreement::EXIT_TOO_FEW_AGREE;
    let runs = args
        .run_dirs
        .iter()
        .map(|dir| authbench_report::render::load(dir))
        .collect::<Result<Vec<_>, _>>()
        .map_err(VerdictsError::from)?;
    if let Some(n) = args.min_agree {
        if !(1..=runs.len()).contains(&n) {
            return Err(VerdictsError::MinAgree {
                value: n,
                runs: runs.len(),
            }
            .into());
        }
    }
    let rows = authbench_report::render::agreement::agreement(&runs);
    print!("{}", authbench_report::render::agreement::markdown(&rows));
    let short = rows
        .iter()
        .filter(|r| args.min_agree.is_some_and(|n| r.agree < n))
        .count();
    Ok(if short > 0 {
        eprintln!(
            "loadgen verdicts: {short} claim(s) agreed in fewer than {} of {} runs",
            args.min_agree.unwrap_or(0),
            runs.len()
        );
        ExitCode::from(EXIT_TOO_FEW_AGREE)
    } else {
        ExitCode::SUCCESS
    })
}

fn merge(args: &MergeArgs, argv: Vec<String>) -> anyhow::Result<()> {
    if crate::merge::is_result(&args.logs[0])? {
        let mut merged = crate::merge::merge_files(&args.logs, args.allow_partial)?;
        merged["command"] = serde_json::json!(argv);
        write_atomically(&args.out, &merged)
            .with_context(|| format!("--out {}", args.out.display()))?;
        println!(
            "merged {} results into {}",
            args.logs.len(),
            args.out.display()
        );
        return Ok(());
    }
    let inputs: Vec<&std::path::Path> = args.logs.iter().map(PathBuf::as_path).collect();
    let totals = crate::hdrlog::merge(&inputs, &args.out)?;
    for (tag, histogram) in &totals {
        let p = crate::record::Percentiles::of(histogram);
        println!(
            "{tag}: count {} p50 {:.3} ms p99 {:.3} ms p99.9 {:.3} ms max {:.3} ms",
            p.count,
            p.p50_us as f64 / 1e3,
            p.p99_us as f64 / 1e3,
            p.p99_9_us as f64 / 1e3,
            p.max_us as f64 / 1e3
        );
    }
    println!("merged {} logs into {}", inputs.len(), args.out.display());
    Ok(())
}

fn run(args: &RunArgs, argv: Vec<String>) -> anyhow::Result<()> {
    let (whole, plan) = args.to_plans()?;
    let start_at = args
        .start_at
        .as_deref()
        .map(crate::start_at::parse)
        .transpose()?;
    // Refuse a stale --start-at before starting anything.
    crate::start_at::lead(start_at, std::time::SystemTime::now())?;
    let mut builder = match args.threads {
        Some(0) => return Err(PlanError::new("--threads", 0, "must be at least 1").into()),
        // One thread: the current-thread scheduler, without the work-stealing machinery.
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(threads) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(threads);
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all();
    let runtime = builder.build().context("cannot start the tokio runtime")?;
    let outcome = runtime.block_on(crate::engine::run_at(
        plan.clone(),
        crate::shutdown_signal(),
        !args.quiet,
        start_at,
    ))?;
    let result = RunResult::new(&plan, &outcome, argv).with_shard(&whole, &outcome);
    if let Some(path) = &args.out {
        write_atomically(path, &result).with_context(|| format!("--out {}", path.display()))?;
    }
    if let Some(path) = &args.hdr_log {
        let comment = format!(
            "loadgen {} {} → {}",
            plan.scheme,
            env!("CARGO_PKG_VERSION"),
            plan.target
        );
        crate::hdrlog::write(
            path,
            outcome.started_at,
            &comment,
            &outcome.recorder.intervals,
        )
        .with_context(|| "--hdr-log")?;
    }
    if !args.quiet {
        print!("{}", crate::summary::render(&result));
        if let Some(path) = &args.out {
            println!("result: {}", path.display());
        }
    }
    Ok(())
}
