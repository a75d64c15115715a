//! # loadgen
//!
//! A load generator for authbench: virtual users log in (session cookie or JWT), send
//! authenticated requests, log in again when rejected or near expiry, and log out. Latency is
//! recorded without coordinated omission: in open loop every request is timed from the
//! instant the schedule meant to send it, so a stalled server shows in the percentiles
//! instead of slowing the load down.
//!
//! ## Layout
//!
//! Data flows one way: flags → [`plan`] → [`engine`] (with [`schedule`], [`worker`], [`user`],
//! [`http`]) → [`record`] → [`result`] → [`summary`]; [`hdrlog`] writes the recorder's
//! intervals.
//!
//! * [`cli`] — `loadgen run` flags and the entry point;
//! * [`plan`] — the validated plan: target, scheme, load model, stop condition, mix;
//! * [`schedule`] — intended send times of the open loop (pure, clock-free);
//! * [`engine`] — runs the plan: dispatcher, workers, recorder task, shutdown;
//! * [`worker`] — one connection serving a group of users;
//! * [`user`] — one virtual user's login → request → logout state machine;
//! * [`http`] — the lean HTTP/1.1 client (pre-serialised requests, `httparse` responses);
//! * [`sink`] — a worker's sample batches on their way to the recorder;
//! * [`record`] — samples, HdrHistograms (µs), per-second timeline;
//! * [`result`] — the run's outcome and the versioned JSON result;
//! * [`hdrlog`] — HdrHistogram V2 interval logs per second, and merging them;
//! * [`summary`] — the console summary; [`progress`] — the live line on a terminal;
//! * [`suite`] — `loadgen suite`: the matrix, the experiments, the run document;
//! * [`shard`] — `--shard I/N`: the split of a plan; [`start_at`] — `--start-at`;
//! * [`merge`] — `loadgen merge` of sharded run results;
//! * [`serde_util`] — serde helpers (durations as seconds).
//!
//! The run document, the report rendered from it and `loadgen compare` live in the
//! `authbench-report` crate (re-exported here as [`fsutil`]); `loadgen report`, `verdicts`
//! and `compare` are its subcommands.

pub mod cli;
pub mod engine;
pub mod hdrlog;
pub mod http;
pub mod merge;
pub mod plan;
pub mod progress;
pub mod record;
pub mod result;
pub mod schedule;
pub mod serde_util;
pub mod shard;
pub mod sink;
pub mod start_at;
pub mod suite;
pub mod summary;
pub mod user;
pub mod worker;

pub use authbench_contract::shutdown_signal;
/// Completes on Ctrl-C or SIGTERM (the same signal handling as bench-server's).
pub use authbench_report::fsutil;
