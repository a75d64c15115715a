//! `loadgen suite`: the comparison suite — a matrix of clusters driven by the engine, plus
//! state-cost, revocation-window and fault experiments — written as one run folder.
//!
//! Data flows one way: [`matrix`] (TOML) → [`matrix::SuitePlan`] → the experiments
//! ([`cell`], [`cost`], [`state_cost`], [`tokens`], [`revocation`], [`faults`], [`capacity`],
//! [`deployment`]), each
//! reading the servers' own counters through [`scrape`] →
//! [`SuiteRun`](authbench_report::model::SuiteRun) → `run.json` and the report.
//!
//! The run document and its vocabulary are [`authbench_report::model`] and
//! [`authbench_report::vocabulary`].
//!
//! * [`matrix`] — the matrix file and its expansion.
//! * [`scrape`] — replica `/metrics`, balancer CPU from `/proc`, Redis `INFO`.
//! * [`target`] and [`external`] — `--deployment FILE` (bring your own cluster): the plan's
//!   fitting parts run against a deployment described in a TOML file instead of local
//!   clusters (not the A1/A2 [`deployment`] part).

pub mod capacity;
pub mod cell;
pub mod client;
pub mod command;
pub mod context;
pub mod cost;
pub mod deploy;
pub mod deployment;
pub mod env;
pub mod external;
pub mod faults;
pub mod matrix;
pub mod pin;
pub mod revocation;
pub mod rotation;
pub mod runner;
pub mod scrape;
pub mod security;
pub mod state_cost;
pub mod target;
pub mod tokens;

use std::path::Path;

/// Writes the run's reports (`summary.md`, `report.html`) next to its `run.json`.
pub fn finish(run_dir: &Path, run: &authbench_report::model::SuiteRun) -> anyhow::Result<()> {
    authbench_report::render::write(run_dir, run)?;
    Ok(())
}
