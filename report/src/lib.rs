//! # authbench-report
//!
//! The suite's run document and everything computed from it alone. `loadgen suite` measures
//! and writes `run.json` through [`model`]; this crate turns one run into verdicts and a
//! report, several runs into an agreement table, and two sets of runs into a regression
//! verdict. Nothing here starts a process, opens a socket or reads a clock: a better analysis
//! re-reads old runs, and the tests run on synthetic ones.
//!
//! ## Layout
//!
//! Data flows one way: [`model`] → [`render`] / [`compare`].
//!
//! * [`model`] — `run.json`: cells, parts, environment (schema:
//!   `report/schema/suite-run.schema.json`); [`vocabulary`] — its enums (scheme, store,
//!   algorithm, balancer …), one display label each; [`measure`] — the percentiles and
//!   per-second points loadgen's recorder hands over;
//! * [`render`] — verdicts on the claims (`docs/claims.md`), tables, charts, `summary.md`
//!   and `report.html` (`loadgen report`, `loadgen verdicts`);
//! * [`compare`] — the CI performance-regression gate (`loadgen compare`);
//! * [`cost_part`] — the cost part's rounds, as `run.json` records them;
//! * [`deployment`] — the deployment part (load balancer + servers vs gateway + functions)
//!   and the key rotation, as `run.json` records them;
//! * [`network`] — network profiles: the one-way delay of each hop, and the round trips
//!   measured through them;
//! * [`fsutil`] — atomic file writes, so no result is ever half written.

pub mod compare;
pub mod cost_part;
pub mod deployment;
pub mod fsutil;
#[cfg(test)]
mod fuzz;
pub mod measure;
pub mod model;
pub mod network;
pub mod render;
pub mod vocabulary;
