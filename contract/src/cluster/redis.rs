//! A `redis-server` child on a free port (no persistence), which can be stopped and started
//! again on the same port as a fault, or stalled (SIGSTOP: connections stay open, nothing is
//! answered) and resumed (SIGCONT). It is never left stopped: stopping it, and dropping it,
//! resume it first.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::Command;

use super::child::{find_program, free_port, ChildLogs, ChildProcess};
use super::error::ClusterError;

/// A local Redis for the replicas.
#[derive(Debug)]
pub struct RedisChild {
    port: u16,
    logs: ChildLogs,
    process: Option<ChildProcess>,
    /// SIGSTOPped by [`RedisChild::stall`] and not yet resumed.
    stalled: bool,
}

impl RedisChild {
    /// Starts `redis-server` on a free port and waits for `PING` (bounded by `timeout`).
    pub async fn start(logs: ChildLogs, timeout: Duration) -> Result<RedisChild, ClusterError> {
        let mut redis = RedisChild {
            port: free_port()?,
            logs,
            process: None,
            stalled: false,
        };
        redis.start_again(timeout).await?;
        Ok(redis)
    }

    /// Its URL, `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its PID while running.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ChildProcess::pid)
    }

    /// SIGKILL: every key is lost, as in a crash.
    pub async fn stop(&mut self) {
        let _ = self.resume();
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
    }

    /// Fault: SIGSTOP. Redis keeps its connections and its keys and answers nothing until
    /// [`RedisChild::resume`].
    pub fn stall(&mut self) -> Result<(), ClusterError> {
        let process = self.process.as_ref().ok_or_else(not_running)?;
        // Marked first: if the signal went through but reported an error, resume still runs.
        self.stalled = true;
        process.signal(Signal::SIGSTOP)
    }

    /// SIGCONT after [`RedisChild::stall`]; a no-op when it is not stalled.
    pub fn resume(&mut self) -> Result<(), ClusterError> {
        if !self.stalled {
            return Ok(());
        }
        self.stalled = false;
        match &self.process {
            Some(process) => process.signal(Signal::SIGCONT),
            None => Ok(()),
        }
    }

    /// Starts it (again) on its port; a no-op while it runs.
    pub async fn start_again(&mut self, timeout: Duration) -> Result<(), ClusterError> {
        if self.process.is_some() {
            return Ok(());
        }
        let program = find_program("redis-server", "redis-server")?;
        let mut command = Command::new(program);
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning"]);
        self.process = Some(ChildProcess::spawn("redis-server", command, self.logs)?);
        wait_for_pong(self.port, timeout).await
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        // The process is SIGKILLed with its handle; never leave it stopped meanwhile.
        let _ = self.resume();
    }
}

fn not_running() -> ClusterError {
    ClusterError::NoSuchPart("the redis-server child is not running".into())
}

async fn wait_for_pong(port: u16, timeout: Duration) -> Result<(), ClusterError> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match ping(port).await {
            Ok(()) => return Ok(()),
            Err(err) => err,
        };
        if Instant::now() >= deadline {
            return Err(ClusterError::Unhealthy {
                name: "redis-server".into(),
                url: format!("redis://127.0.0.1:{port}"),
                timeout,
                last_error: last,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn ping(port: u16) -> Result<(), String> {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await?;
        Ok::<_, std::io::Error>(reply)
    };
    match tokio::time::timeout(Duration::from_millis(500), attempt).await {
        Ok(Ok(reply)) if &reply == b"+PONG\r\n" => Ok(()),
        Ok(Ok(reply)) => Err(format!(
            "unexpected reply {:?}",
            String::from_utf8_lossy(&reply)
        )),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no reply within 500ms".into()),
    }
}
