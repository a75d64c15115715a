//! Function replicas in a cluster: a `bench-server functions` child (the pool that starts
//! `bench-server serve` instances on demand) as the balancer's one backend.
//!
//! The long-lived replicas still start: replica r0 is the issuer whose JWKS the gateway
//! fetches (a real platform's identity provider is not a function either), and the target of
//! per-replica probes. Load through the entry reaches only the pool's instances.

use std::time::Duration;

use tokio::process::Command;

use super::child::{ChildLogs, ChildProcess};
use super::error::ClusterError;

/// How the cluster's function pool behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionsSpec {
    /// Most instances alive at once (starting ones included); beyond it requests get 429.
    pub max_instances: usize,
    /// Requests one instance serves at a time.
    pub instance_concurrency: usize,
    /// An instance idle this long is stopped.
    pub idle_timeout: Duration,
}

impl Default for FunctionsSpec {
    /// 4 instances of concurrency 1, stopped after 10 s idle.
    fn default() -> Self {
        FunctionsSpec {
            max_instances: 4,
            instance_concurrency: 1,
            idle_timeout: Duration::from_secs(10),
        }
    }
}

impl FunctionsSpec {
    /// Checks the numbers, naming the `cluster` flag of each.
    pub fn validate(&self) -> Result<(), ClusterError> {
        if self.max_instances == 0 {
            return Err(ClusterError::bad_flag(
                "--max-instances",
                0,
                "must be at least 1",
            ));
        }
        if self.instance_concurrency == 0 {
            return Err(ClusterError::bad_flag(
                "--instance-concurrency",
                0,
                "must be at least 1",
            ));
        }
        if self.idle_timeout.is_zero() {
            return Err(ClusterError::bad_flag(
                "--idle-timeout",
                "0s",
                "must be more than zero",
            ));
        }
        Ok(())
    }
}

/// A running function pool.
#[derive(Debug)]
pub struct RunningPool {
    /// Where requests go (the balancer's backend).
    pub url: String,
    /// Its admin port (`/metrics`, `/instances`).
    pub admin_url: String,
    /// The pool process (its instances are its children and die with it).
    pub process: ChildProcess,
}

impl RunningPool {
    /// Starts `binary functions` with `spec`, giving every instance `serve_args`.
    pub async fn start(
        binary: &std::path::Path,
        spec: &FunctionsSpec,
        serve_args: &[String],
        logs: ChildLogs,
        startup_timeout: Duration,
    ) -> Result<RunningPool, ClusterError> {
        let mut command = Command::new(binary);
        command
            .arg("functions")
            .args(["--listen", "127.0.0.1:0"])
            .args(["--admin-listen", "127.0.0.1:0"])
            .args(["--max-instances", &spec.max_instances.to_string()])
            .args([
                "--instance-concurrency",
                &spec.instance_concurrency.to_string(),
            ])
            .args([
                "--idle-timeout",
                &format!("{}ms", spec.idle_timeout.as_millis()),
            ])
            .args([
                "--cold-start-timeout",
                &format!("{}ms", startup_timeout.as_millis()),
            ]);
        if logs != ChildLogs::Discard {
            command.arg("--instance-logs");
        }
        command.arg("--").args(serve_args);
        let mut process = ChildProcess::spawn("functions", command, logs)?;
        let url = process.read_url("listening on", startup_timeout).await?;
        let admin_url = process.read_url("admin on", startup_timeout).await?;
        Ok(RunningPool {
            url,
            admin_url,
            process,
        })
    }
}
