//! The cost part's record in `run.json`: for each configuration, rounds that alternate
//! `/healthz` and the configuration's route on one saturated replica, with what the replica
//! and Redis counted and spent over each measured window (re-exported by [`crate::model`]).

use serde::{Deserialize, Serialize};

use crate::model::CellConfig;

/// One configuration's cost part: rounds alternating `/healthz` (the baseline) and the
/// configuration's authenticated route on one replica, closed loop at saturation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostPart {
    /// The configuration (one replica, no balancer).
    pub config: CellConfig,
    /// Closed-loop connections.
    pub concurrency: usize,
    /// Measured seconds of each side of a round.
    pub seconds: f64,
    /// Warm-up before each side (logins happen here), seconds.
    pub warmup_seconds: f64,
    /// The replica's tokio worker threads.
    pub worker_threads: usize,
    /// The core the replica was pinned to; `None` when it was not (fewer than two cores).
    pub server_core: Option<usize>,
    /// The cores loadgen (and a spawned Redis) were pinned to.
    pub client_cores: Vec<usize>,
    /// The rounds, in the order run.
    pub rounds: Vec<CostRound>,
}

/// One round: the baseline, then the configuration, on the same server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostRound {
    /// `/healthz`.
    pub baseline: CostSample,
    /// The configuration's authenticated route.
    pub case: CostSample,
}

/// What the servers counted and spent over one measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostSample {
    /// Requests the replica served on the measured route in the window.
    pub requests: u64,
    /// Logins the replica served in the window (a round with any is left out: its CPU
    /// includes password hashing).
    #[serde(default)]
    pub logins: u64,
    /// Errors loadgen saw in the window.
    pub errors: u64,
    /// The window, seconds (loadgen's measured window).
    pub seconds: f64,
    /// Replica CPU in user space, seconds.
    pub app_user_seconds: f64,
    /// Replica CPU in the kernel, seconds.
    pub app_system_seconds: f64,
    /// Redis CPU (user + system), seconds; `None` without a Redis.
    pub store_seconds: Option<f64>,
}

impl CostSample {
    fn per_request(&self, seconds: f64) -> Option<f64> {
        (self.requests > 0).then(|| seconds * 1e6 / self.requests as f64)
    }

    /// Replica CPU-µs per request.
    pub fn app_us(&self) -> Option<f64> {
        self.per_request(self.app_user_seconds + self.app_system_seconds)
    }

    /// Replica user-space CPU-µs per request.
    pub fn app_user_us(&self) -> Option<f64> {
        self.per_request(self.app_user_seconds)
    }

    /// Replica kernel CPU-µs per request.
    pub fn app_system_us(&self) -> Option<f64> {
        self.per_request(self.app_system_seconds)
    }

    /// Store CPU-µs per request (0 without a store).
    pub fn store_us(&self) -> Option<f64> {
        self.per_request(self.store_seconds.unwrap_or(0.0))
    }

    /// App + store CPU-µs per request.
    pub fn total_us(&self) -> Option<f64> {
        Some(self.app_us()? + self.store_us()?)
    }
}
