//! `loadgen compare`: flags, writing the Markdown and JSON, and the exit status.

use std::path::{Path, PathBuf};

use clap::Args;

use super::input::Side;
use super::stats::BootstrapSettings;
use super::threshold::Thresholds;
use super::{compare, markdown, CompareError, Normalise, Settings};

/// Flags of `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline: a run.json, a run folder, or a folder of run folders (pooled per cell).
    pub baseline: PathBuf,
    /// Candidate, likewise.
    pub candidate: PathBuf,
    /// Regression threshold METRIC=CHANGE, repeatable, e.g. p99=20%, throughput=-5%,
    /// error-rate=0.5pp or added-cpu=5us. Ratios (throughput, p50, p99, p99.9, cpu,
    /// state-bytes) take a percentage; error-rate takes percentage points (1% or 1pp);
    /// added-cpu takes CPU-µs per request (5, 5us or 5µs; not %).
    #[arg(long, value_name = "METRIC=CHANGE")]
    pub threshold: Vec<String>,
    /// TOML file of thresholds, global and per `[group.NAME]` / `[cell."ID"]`.
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// Divide CPU per request by the in-run no-auth cell's of the same run and trial (default:
    /// when every run of both sides has that cell). Latency and throughput are never
    /// normalised.
    #[arg(long, conflicts_with = "no_normalize")]
    pub normalize: bool,
    /// Compare raw values.
    #[arg(long)]
    pub no_normalize: bool,
    /// Two-sided confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = super::DEFAULT_RESAMPLES)]
    pub resamples: usize,
    /// Bootstrap seed (the same inputs and seed give the same intervals).
    #[arg(long, default_value_t = super::DEFAULT_SEED)]
    pub seed: u64,
    /// Write the Markdown summary here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the comparison as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl CompareArgs {
    /// Validates the flags into settings.
    pub fn to_settings(&self) -> Result<Settings, CompareError> {
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return Err(CompareError::flag(
                "--confidence",
                self.confidence,
                "must be between 0.5 and 1 (e.g. 0.95)",
            ));
        }
        if !(100..=1_000_000).contains(&self.resamples) {
            return Err(CompareError::flag(
                "--resamples",
                self.resamples,
                "must be between 100 and 1000000",
            ));
        }
        let normalise = match (self.normalize, self.no_normalize) {
            (true, _) => Normalise::On,
            (false, true) => Normalise::Off,
            (false, false) => Normalise::Auto,
        };
        Ok(Settings {
            normalise,
            bootstrap: BootstrapSettings {
                resamples: self.resamples,
                confidence: self.confidence,
                seed: self.seed,
            },
            thresholds: Thresholds::build(self.thresholds.as_deref(), &self.threshold)?,
        })
    }
}

/// Runs `loadgen compare`: writes the Markdown (stdout or `--markdown`) and `--json`, and
/// returns whether a gated metric regressed.
pub fn execute(args: &CompareArgs) -> Result<bool, CompareError> {
    let settings = args.to_settings()?;
    let baseline = Side::load("BASELINE", &args.baseline)?;
    let candidate = Side::load("CANDIDATE", &args.candidate)?;
    let report = compare(&baseline, &candidate, &settings)?;
    let text = markdown::render(&report);
    if let Some(path) = &args.json {
        crate::fsutil::write_atomically(path, &report)
            .map_err(|e| write_error("--json", path, e))?;
    }
    match &args.markdown {
        Some(path) => crate::fsutil::write_bytes_atomically(path, text.as_bytes())
            .map_err(|e| write_error("--markdown", path, e))?,
        None => print!("{text}"),
    }
    let c = report.counts;
    eprintln!(
        "loadgen compare: {} regressed, {} improved, {} unchanged, {} untested",
        c.regressed, c.improved, c.unchanged, c.untested
    );
    Ok(report.regressed())
}

fn write_error(flag: &'static str, path: &Path, err: std::io::Error) -> CompareError {
    CompareError::flag(flag, path.display(), format!("cannot write: {err}"))
}
