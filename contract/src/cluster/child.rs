//! Child processes that die with the cluster.
//!
//! Every child gets `PR_SET_PDEATHSIG = SIGKILL` before `exec`, so the kernel kills it when
//! the thread that spawned it dies (including a SIGKILL of the cluster process), and is
//! killed when its handle is dropped (normal exit, panic unwinding). The death signal is tied
//! to the *spawning thread*: spawn from a runtime worker or the main thread, never from a
//! short-lived `spawn_blocking` thread.

use std::io;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::error::ClusterError;

/// Where children's stderr goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChildLogs {
    /// The cluster's own stderr.
    #[default]
    Inherit,
    /// The cluster's own stderr, errors only (`RUST_LOG=error` unless set): a child that
    /// fails to start still says why, while the warnings a deliberate fault provokes (backend
    /// down, store call failed) stay out of the way.
    Errors,
    /// Nowhere (tests).
    Discard,
}

/// A running child process; SIGKILLed when dropped.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    pid: u32,
    stdout: Option<Lines<BufReader<ChildStdout>>>,
}

impl ChildProcess {
    /// Spawns `command` as part `name` (e.g. `replica r0`), its stdout piped.
    pub fn spawn(
        name: &str,
        mut command: Command,
        logs: ChildLogs,
    ) -> Result<ChildProcess, ClusterError> {
        let program = Path::new(command.as_std().get_program()).to_path_buf();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(match logs {
                ChildLogs::Inherit | ChildLogs::Errors => Stdio::inherit(),
                ChildLogs::Discard => Stdio::null(),
            })
            .kill_on_drop(true);
        if logs == ChildLogs::Errors && std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "error");
        }
        die_with_parent(&mut command);
        let mut child = command.spawn().map_err(|source| ClusterError::Spawn {
            name: name.to_owned(),
            program,
            source,
        })?;
        let pid = child.id().ok_or_else(|| ClusterError::Startup {
            name: name.to_owned(),
            reason: "exited at once".into(),
        })?;
        let stdout = child.stdout.take().map(|out| BufReader::new(out).lines());
        tracing::debug!(part = name, pid, "started");
        Ok(ChildProcess {
            name: name.to_owned(),
            child,
            pid,
            stdout,
        })
    }

    /// Its name, e.g. `replica r0`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process ID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The next stdout line, within `timeout`.
    pub async fn read_line(&mut self, timeout: Duration) -> Result<String, ClusterError> {
        let startup = |reason: String| ClusterError::Startup {
            name: self.name.clone(),
            reason,
        };
        let lines = self
            .stdout
            .as_mut()
            .ok_or_else(|| startup("stdout is not piped".into()))?;
        match tokio::time::timeout(timeout, lines.next_line()).await {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => Err(startup("exited before printing its address".into())),
            Ok(Err(err)) => Err(startup(format!("reading its stdout: {err}"))),
            Err(_) => Err(startup(format!("printed no address within {timeout:?}"))),
        }
    }

    /// The URL of a `<prefix> http://HOST:PORT` line (e.g. `listening on`).
    pub async fn read_url(
        &mut self,
        prefix: &str,
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let addr = self.read_addr(prefix, "http://", timeout).await?;
        Ok(format!("http://{addr}"))
    }

    /// The `HOST:PORT` of a `<prefix> <scheme>HOST:PORT` line (e.g. `listening on tcp://`).
    pub async fn read_addr(
        &mut self,
        prefix: &str,
        scheme: &str,
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let line = self.read_line(timeout).await?;
        match line
            .strip_prefix(prefix)
            .map(str::trim)
            .and_then(|rest| rest.strip_prefix(scheme))
        {
            Some(addr) => Ok(addr.to_owned()),
            None => Err(ClusterError::Startup {
                name: self.name.clone(),
                reason: format!("expected '{prefix} {scheme}HOST:PORT' on stdout, got {line:?}"),
            }),
        }
    }

    /// SIGKILL, then reap.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL; reaps it.
    pub async fn stop(&mut self, grace: Duration) {
        if let Ok(pid) = i32::try_from(self.pid) {
            let _ = signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(part = %self.name, pid = self.pid, "ignored SIGTERM; sending SIGKILL");
            self.kill().await;
        }
    }

    /// Sends `signal` (e.g. SIGSTOP / SIGCONT for a stall fault).
    pub fn signal(&self, signal: Signal) -> Result<(), ClusterError> {
        let pid =
            i32::try_from(self.pid).map_err(|_| ClusterError::NoSuchPart(self.name.clone()))?;
        signal::kill(Pid::from_raw(pid), signal).map_err(|e| ClusterError::Signal {
            name: self.name.clone(),
            signal: signal.as_str(),
            reason: e.to_string(),
        })
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Makes the kernel SIGKILL the child when the spawning thread dies, and refuses to start it
/// if the cluster already died between `fork` and `prctl`.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: the hook runs in the forked child before `exec`. It only calls prctl(2) and
    // getppid(2), which are async-signal-safe, and allocates nothing (io::Error from an
    // errno is a plain value), so it cannot deadlock on a lock held by another thread of
    // the parent at fork time.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            if nix::unistd::getppid() != parent {
                return Err(io::Error::from(nix::errno::Errno::ESRCH));
            }
            Ok(())
        });
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for programs that cannot report the
/// port they bound: redis-server, haproxy, nginx).
pub fn free_port() -> Result<u16, ClusterError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(ClusterError::io("finding a free port"))
}

/// The path of `program` on PATH (or in /usr/sbin and /sbin, where haproxy and nginx live
/// and a non-root PATH may not look), or a [`ClusterError::Missing`] naming `package`.
pub fn find_program(
    program: &str,
    package: &'static str,
) -> Result<std::path::PathBuf, ClusterError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| ClusterError::Missing {
            program: program.to_owned(),
            package,
        })
}
