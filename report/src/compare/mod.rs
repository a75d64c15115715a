//! `loadgen compare BASELINE CANDIDATE`: the CI performance-regression gate.
//!
//! Each side is a `run.json`, a run folder, or a folder of run folders pooled per cell. For
//! every cell (matched by `id`) and metric, the gate reports the candidate's change (a ratio
//! of medians; a difference for the error rate and added CPU), its seeded-bootstrap interval
//! and a verdict: *regressed* only when the whole interval lies beyond the threshold. A
//! metric is tested only with at least [`report::MIN_GROUPS`] trials a side, and a tail
//! percentile only with enough requests per trial ([`observe::min_trial_requests`]).
//! Normalising (`--normalize`, the default when every run has the in-run no-auth cell)
//! divides CPU per request only; latency and throughput are compared raw. The rationale and
//! the measurements behind these choices: `docs/regression-gate.md`.
//!
//! Exit status: 0 nothing regressed, 1 a gated metric regressed, 2 the comparison could not
//! be made (bad flag, missing file, different `schema_version`, no common cells).
//!
//! * [`command`] — the flags and the outputs; [`input`] — reading the sides; [`pool`] —
//!   trials per cell across runs; [`observe`] — the observations of a metric; [`stats`] —
//!   bootstrap and Mann-Whitney; [`metric`], [`threshold`], [`decide`] — what is compared,
//!   how much counts, the verdict; [`report`] — the comparison document (`--json`);
//!   [`markdown`] — its summary; [`cost`] — the added-CPU part.

pub mod command;
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

pub use error::CompareError;
pub use report::{compare, Normalise, Report, Settings};

/// Exit status when a gated metric regressed.
pub const EXIT_REGRESSED: u8 = 1;
/// Exit status when the comparison cannot be made.
pub const EXIT_UNCOMPARABLE: u8 = 2;
/// Default bootstrap resamples.
pub const DEFAULT_RESAMPLES: usize = 10_000;
/// Default bootstrap seed.
pub const DEFAULT_SEED: u64 = 1;
