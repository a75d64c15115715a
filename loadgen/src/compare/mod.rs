//! `loadgen compare BASELINE CANDIDATE`: the CI performance-regression gate.
//!
//! Each side is a `run.json`, a run folder, or a folder of run folders whose trials are
//! pooled per cell (how interleaved A/B rounds are combined). Cells are matched by `id`;
//! state cost entries by kind and store. For every cell and metric — throughput, corrected
//! p50 / p99 / p99.9, server CPU per request, error rate — and every state cost entry
//! (bytes per entry), the gate reports the change of the candidate against the baseline,
//! its confidence interval, and a verdict.
//!
//! # How it decides
//!
//! * **Never on a single delta.** The change is the ratio of medians (candidate ÷ baseline;
//!   a difference for the error rate), and its confidence interval comes from a seeded
//!   bootstrap ([`stats`]), so the same inputs always give the same verdict. A metric
//!   *regresses* only when the whole interval lies beyond its threshold in the bad
//!   direction ([`decide`]); thresholds default to values loose enough for shared CI
//!   runners ([`metric::Metric::default_threshold`]) and can be changed per metric, group
//!   or cell ([`threshold`]).
//! * **Machine drift cancels.** When both sides carry the in-run baseline cell (no
//!   authentication, `equal-rate`), latencies and CPU per request are divided by that cell's
//!   value in the same run and trial before testing (not throughput: that cell runs at a
//!   fixed offered rate, so its throughput does not track the machine). The baseline cell itself is compared raw: it
//!   catches a slowdown shared by every route, which normalising would hide (and it is not
//!   gated when the runs come from different machines, where its raw change is the machine).
//! * **Few trials.** CI affords 3–5 trials a side. Throughput, p50 and p99 also use each
//!   trial's per-second values, grouped by trial, when they are sound ([`observe`]); the
//!   bootstrap resamples trials before seconds, so the spread between trials still sets the
//!   width. With 3 trials a side, a 95 % interval of medians covers the truth about 85 % of
//!   the time (the bootstrap's small-sample optimism) — which is why a verdict also needs
//!   the threshold, not just an interval excluding zero. Below 2 trials a side nothing is
//!   tested. The Mann-Whitney U p-value of the trial values is reported alongside, as a
//!   second opinion that makes no distributional assumption; it does not decide, since with
//!   3 against 3 it cannot go below 0.1.
//! * **Tails need samples.** p99 and p99.9 are tested only when every trial has at least 10
//!   samples beyond them ([`observe::min_trial_requests`]); otherwise they are reported as
//!   untested rather than gated on one or two requests.
//!
//! Exit status: 0 nothing regressed, 1 a gated metric regressed, 2 the comparison could not
//! be made (bad flag, missing file, different `schema_version`, no common cells).
//!
//! * [`input`] — reading the sides; [`pool`] — trials per cell across runs;
//! * [`observe`] — the observations of a metric; [`stats`] — bootstrap and Mann-Whitney;
//! * [`metric`], [`threshold`], [`decide`] — what is compared, how much counts, the verdict;
//! * [`report`] — the comparison document (`--json`); [`markdown`] — its summary.

pub mod cost;
pub mod decide;
pub mod error;
pub mod input;
pub mod markdown;
pub mod metric;
pub mod observe;
pub mod pool;
pub mod report;
pub mod stats;
pub mod threshold;

use std::path::Path;

pub use error::CompareError;
pub use report::{compare, Normalise, Report, Settings};

use crate::cli::CompareArgs;
use input::Side;
use stats::BootstrapSettings;
use threshold::Thresholds;

/// Exit status when a gated metric regressed.
pub const EXIT_REGRESSED: u8 = 1;
/// Exit status when the comparison cannot be made.
pub const EXIT_UNCOMPARABLE: u8 = 2;
/// Default bootstrap resamples.
pub const DEFAULT_RESAMPLES: usize = 10_000;
/// Default bootstrap seed.
pub const DEFAULT_SEED: u64 = 1;

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
pub fn command(args: &CompareArgs) -> Result<bool, CompareError> {
    let settings = args.to_settings()?;
    let baseline = Side::load("BASELINE", &args.baseline)?;
    let candidate = Side::load("CANDIDATE", &args.candidate)?;
    let report = compare(&baseline, &candidate, &settings)?;
    let text = markdown::render(&report);
    if let Some(path) = &args.json {
        crate::result::write_atomically(path, &report)
            .map_err(|e| write_error("--json", path, e))?;
    }
    match &args.markdown {
        Some(path) => crate::result::write_bytes_atomically(path, text.as_bytes())
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
