//! One replica: a `bench-server serve` child on 127.0.0.1, restartable on the same port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use super::child::{ChildLogs, ChildProcess};
use super::error::ClusterError;
use super::health::{addr_of, wait_healthy};

/// A replica and how to start it again.
#[derive(Debug)]
pub struct Replica {
    id: String,
    binary: PathBuf,
    args: Vec<String>,
    logs: ChildLogs,
    url: String,
    port: u16,
    process: Option<ChildProcess>,
}

impl Replica {
    /// Starts `binary serve --listen 127.0.0.1:0 --replica-id ID ARGS…` and reads its address.
    pub async fn start(
        binary: &Path,
        id: &str,
        args: Vec<String>,
        logs: ChildLogs,
        timeout: Duration,
    ) -> Result<Replica, ClusterError> {
        let mut replica = Replica {
            id: id.to_owned(),
            binary: binary.to_owned(),
            args,
            logs,
            url: String::new(),
            port: 0,
            process: None,
        };
        replica.spawn(timeout).await?;
        Ok(replica)
    }

    async fn spawn(&mut self, timeout: Duration) -> Result<(), ClusterError> {
        let mut command = Command::new(&self.binary);
        command
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--replica-id", &self.id])
            .args(&self.args);
        let mut process = ChildProcess::spawn(&format!("replica {}", self.id), command, self.logs)?;
        let url = process.read_url("listening on", timeout).await?;
        if self.port == 0 {
            self.port = addr_of(&url).map_or(0, |a| a.port());
            self.url = url;
        }
        self.process = Some(process);
        Ok(())
    }

    /// Its ID, `r<i>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its URL, `http://127.0.0.1:PORT` (the same across restarts).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its PID while running.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ChildProcess::pid)
    }

    /// Waits for its `/healthz`.
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<(), ClusterError> {
        wait_healthy(&format!("replica {}", self.id), &self.url, timeout).await
    }

    /// SIGKILL: in-flight requests and in-process sessions are lost.
    pub async fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
    }

    /// Starts it again on its port and waits until healthy; a no-op while it runs.
    pub async fn restart(&mut self, timeout: Duration) -> Result<(), ClusterError> {
        if self.process.is_none() {
            self.spawn(timeout).await?;
        }
        self.wait_healthy(timeout).await
    }

    /// SIGTERM and up to `grace` to drain, then SIGKILL.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(mut process) = self.process.take() {
            process.stop(grace).await;
        }
    }
}
