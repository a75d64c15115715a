//! `[cost]`: the added-cost part of a matrix and its expansion into configurations.

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

use super::{secs, warmup_secs, CellPlan};
use authbench_report::model::{Auth, Balancer, CellConfig, Network, Policy};

/// `[cost]`: the added-cost part, run for every configuration of the `equal-rate` cells.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostEntry {
    /// Rounds (baseline, then configuration) per configuration.
    pub rounds: u32,
    /// Measured seconds of each side of a round.
    pub seconds: f64,
    /// Warm-up seconds before each side.
    pub warmup: f64,
    /// Closed-loop connections.
    pub concurrency: usize,
}

/// The cost part to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPlan {
    /// Configurations, each measured against `/healthz` on its own replica.
    pub configs: Vec<CellConfig>,
    /// Rounds per configuration.
    pub rounds: u32,
    /// Measured length of each side.
    pub seconds: Duration,
    /// Warm-up of each side.
    pub warmup: Duration,
    /// Closed-loop connections.
    pub concurrency: usize,
}

/// The cost part of `entry`: every authenticated configuration of the `equal-rate` cells, in
/// their order.
pub(super) fn cost_plan(entry: &CostEntry, cells: &[CellPlan]) -> anyhow::Result<CostPlan> {
    if entry.rounds < 2 {
        bail!(
            "cost.rounds = {} must be at least 2 (an interval needs several rounds)",
            entry.rounds
        );
    }
    let seconds = secs("cost.seconds", entry.seconds)?;
    let warmup = warmup_secs("cost.warmup", entry.warmup)?;
    if entry.concurrency == 0 {
        bail!("cost.concurrency must be at least 1");
    }
    // One replica without a balancer, whatever the cell ran behind: the part measures what
    // the authentication costs the server that does it.
    let mut configs: Vec<CellConfig> = Vec::new();
    for cell in cells.iter().filter(|c| c.group == "equal-rate") {
        let config = CellConfig {
            replicas: 1,
            balancer: Balancer::None,
            policy: Policy::None,
            // CPU per request does not depend on distance; links would only share the cores.
            network: Network::default(),
            ..cell.config.clone()
        };
        if config.auth != Auth::None && !configs.contains(&config) {
            configs.push(config);
        }
    }
    if configs.is_empty() {
        bail!(
            "[cost] measures the configurations of the equal-rate cells, and this matrix has none with auth = \"session\" or \"jwt\""
        );
    }
    Ok(CostPlan {
        configs,
        rounds: entry.rounds,
        seconds,
        warmup,
        concurrency: entry.concurrency,
    })
}
