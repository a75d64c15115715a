//! The thread that starts instances and watches them until they exit.
//!
//! Every instance is a [`ChildProcess`] with `PR_SET_PDEATHSIG = SIGKILL`, and that signal is
//! tied to the thread that forked it. Request handlers run on runtime workers that may come
//! and go (or on `spawn_blocking` threads), so all forking happens on one dedicated thread
//! running a current-thread runtime of its own, alive as long as the pool. That thread also
//! owns every child: when the pool closes it, its runtime is dropped (every child left is
//! SIGKILLed, `kill_on_drop`), and when the whole process dies, the kernel kills them.
//!
//! One supervisor task per instance: spawn, read the `listening on http://…` line, then wait
//! for either a stop order (SIGTERM, a grace period, SIGKILL) or the process's own exit
//! (its stdout closing). Either way the CPU time is read from `/proc/PID/stat` between the
//! exit and the reaping, when it is final, and reported with the exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use crate::cluster::child::{ChildLogs, ChildProcess};
use crate::process_stats::{pid_stat, CpuTimes};

/// How often a stopping instance is checked for having exited.
const EXIT_POLL: Duration = Duration::from_millis(5);

/// How often a running instance whose stdout closed is checked for having exited.
const WATCH_POLL: Duration = Duration::from_millis(100);

/// How long a read of an instance's stdout waits before it is started again.
const WATCH_READ: Duration = Duration::from_secs(3600);

/// One instance to start and supervise.
#[derive(Debug)]
pub struct Launch {
    /// Its name, `f<id>`, also its `--replica-id`.
    pub name: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments (`serve --listen … --replica-id … SERVE_FLAGS`).
    pub args: Vec<String>,
    /// Where its stderr goes.
    pub logs: ChildLogs,
    /// Bound on reading its `listening on` line.
    pub timeout: Duration,
    /// Set to its PID once spawned.
    pub pid: Arc<AtomicU32>,
    /// Its address once it printed it, or why it did not start.
    pub ready: oneshot::Sender<Result<SocketAddr, String>>,
    /// A stop order; dropping the sender kills it at once.
    pub control: oneshot::Receiver<StopOrder>,
    /// Sent once it has exited and been reaped (or never started).
    pub exited: oneshot::Sender<Exit>,
}

/// How to stop an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopOrder {
    /// Time between SIGTERM and SIGKILL; zero sends SIGKILL at once.
    pub grace: Duration,
}

/// An instance that is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exit {
    /// Its CPU time, read after it exited and before it was reaped (`None`: unreadable, or
    /// it never ran).
    pub cpu: Option<CpuTimes>,
}

/// The spawner thread, seen from the pool.
#[derive(Debug)]
pub struct Spawner {
    launches: Mutex<Option<mpsc::UnboundedSender<Launch>>>,
    done: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

impl Spawner {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Spawner> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (launches, mut received) = mpsc::unbounded_channel::<Launch>();
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("functions-spawner".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(launch) = received.recv().await {
                        tokio::spawn(supervise(launch));
                    }
                });
                // Dropping the runtime drops every supervisor and so SIGKILLs every child
                // still running; whatever survives that dies with this thread.
                drop(runtime);
                let _ = done_tx.send(());
            })?;
        Ok(Spawner {
            launches: Mutex::new(Some(launches)),
            done: tokio::sync::Mutex::new(Some(done)),
        })
    }

    /// Hands `launch` to the thread; gives it back once the spawner is closed.
    pub fn launch(&self, launch: Launch) -> Result<(), Box<Launch>> {
        let launches = self
            .launches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match launches.as_ref() {
            Some(sender) => sender.send(launch).map_err(|err| Box::new(err.0)),
            None => Err(Box::new(launch)),
        }
    }

    /// Ends the thread: every instance still running is SIGKILLed. Waits for it.
    pub async fn close(&self) {
        drop(
            self.launches
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        if let Some(done) = self.done.lock().await.take() {
            let _ = done.await;
        }
    }
}

async fn supervise(launch: Launch) {
    let Launch {
        name,
        program,
        args,
        logs,
        timeout,
        pid,
        ready,
        mut control,
        exited,
    } = launch;
    let mut command = Command::new(&program);
    command.args(&args);
    let mut process = match ChildProcess::spawn(&format!("instance {name}"), command, logs) {
        Ok(process) => process,
        Err(err) => {
            let _ = ready.send(Err(err.to_string()));
            let _ = exited.send(Exit::default());
            return;
        }
    };
    pid.store(process.pid(), Ordering::Relaxed);
    let started = tokio::select! {
        url = process.read_url("listening on", timeout) => url
            .map_err(|err| err.to_string())
            .and_then(|url| parse_addr(&url)),
        order = &mut control => {
            let exit = stop(&mut process, order.ok()).await;
            let _ = ready.send(Err("stopped before it was ready".into()));
            let _ = exited.send(exit);
            return;
        }
    };
    match started {
        Ok(addr) => {
            let _ = ready.send(Ok(addr));
        }
        Err(reason) => {
            let exit = stop(&mut process, None).await;
            let _ = ready.send(Err(reason));
            let _ = exited.send(exit);
            return;
        }
    }
    let exit = watch(&mut process, &mut control).await;
    let _ = exited.send(exit);
}

/// Waits until `process` is ordered to stop (and stops it) or exits by itself.
async fn watch(process: &mut ChildProcess, control: &mut oneshot::Receiver<StopOrder>) -> Exit {
    let pid = process.pid();
    let mut stdout_open = true;
    loop {
        tokio::select! {
            order = &mut *control => return stop(process, order.ok()).await,
            // bench-server serve prints nothing after its address: end of stdout is its exit.
            line = process.read_line(WATCH_READ), if stdout_open => {
                if line.is_err() {
                    stdout_open = false;
                    if !running(pid) {
                        return reap(process).await;
                    }
                }
            }
            () = tokio::time::sleep(WATCH_POLL), if !stdout_open => {
                if !running(pid) {
                    return reap(process).await;
                }
            }
        }
    }
}

/// Stops `process`: SIGTERM and up to `grace` to exit, then SIGKILL (at once without an
/// order, i.e. when the pool dropped it); reads its final CPU time and reaps it.
async fn stop(process: &mut ChildProcess, order: Option<StopOrder>) -> Exit {
    let pid = process.pid();
    let grace = order.map_or(Duration::ZERO, |o| o.grace);
    if !grace.is_zero() {
        if let Ok(raw) = i32::try_from(pid) {
            let _ = signal::kill(Pid::from_raw(raw), Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while running(pid) && Instant::now() < deadline {
            tokio::time::sleep(EXIT_POLL).await;
        }
        if running(pid) {
            tracing::warn!(instance = %process.name(), pid, "ignored SIGTERM; sending SIGKILL");
        }
    }
    reap(process).await
}

/// Reads the CPU time of a process that exited (or is about to be killed), then SIGKILLs and
/// reaps it.
async fn reap(process: &mut ChildProcess) -> Exit {
    let cpu = pid_stat(process.pid()).map(|stat| stat.cpu);
    process.kill().await;
    tracing::debug!(instance = %process.name(), pid = process.pid(), "reaped");
    Exit { cpu }
}

fn running(pid: u32) -> bool {
    pid_stat(pid).is_some_and(|stat| stat.is_running())
}

fn parse_addr(url: &str) -> Result<SocketAddr, String> {
    url.strip_prefix("http://")
        .and_then(|authority| authority.trim_end_matches('/').parse().ok())
        .ok_or_else(|| format!("printed an address that is not http://IP:PORT: {url:?}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn addresses_are_ip_and_port() {
        assert_eq!(
            parse_addr("http://127.0.0.1:4000").unwrap(),
            "127.0.0.1:4000".parse().unwrap()
        );
        assert!(parse_addr("http://localhost:4000")
            .unwrap_err()
            .contains("localhost"));
    }

    #[tokio::test]
    async fn a_program_that_cannot_start_is_reported_not_hung() {
        let spawner = Spawner::start().unwrap();
        let (ready, ready_rx) = oneshot::channel();
        let (_control, control) = oneshot::channel();
        let (exited, exited_rx) = oneshot::channel();
        spawner
            .launch(Launch {
                name: "f0".into(),
                program: "/nonexistent/bench-server".into(),
                args: vec![],
                logs: ChildLogs::Discard,
                timeout: Duration::from_secs(5),
                pid: Arc::new(AtomicU32::new(0)),
                ready,
                control,
                exited,
            })
            .unwrap();
        let reason = ready_rx.await.unwrap().unwrap_err();
        assert!(reason.contains("instance f0"), "{reason}");
        assert_eq!(exited_rx.await.unwrap(), Exit::default());
        spawner.close().await;
    }

    #[tokio::test]
    async fn a_program_that_prints_no_address_is_killed_and_reported() {
        let spawner = Spawner::start().unwrap();
        let (ready, ready_rx) = oneshot::channel();
        let (_control, control) = oneshot::channel();
        let (exited, exited_rx) = oneshot::channel();
        let pid = Arc::new(AtomicU32::new(0));
        spawner
            .launch(Launch {
                name: "f1".into(),
                program: "/bin/sh".into(),
                args: vec!["-c".into(), "echo hello; exec sleep 60".into()],
                logs: ChildLogs::Discard,
                timeout: Duration::from_secs(5),
                pid: Arc::clone(&pid),
                ready,
                control,
                exited,
            })
            .unwrap();
        let reason = ready_rx.await.unwrap().unwrap_err();
        assert!(reason.contains("hello"), "{reason}");
        exited_rx.await.unwrap();
        let pid = pid.load(Ordering::Relaxed);
        assert!(pid != 0);
        assert!(!running(pid));
        spawner.close().await;
    }
}
