//! One instance as the pool sees it: a `bench-server serve` process (run by the
//! [`spawner`](super::spawner)), its keep-alive connections once it is ready, what it has
//! served, and how it is being stopped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use super::scheduler::InstanceId;
use super::spawner::StopOrder;
use crate::balance::pool::Pool;
use crate::process_stats::{pid_stat, CpuTimes};

/// Why an instance was stopped (the `reason` label of `stopped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Nothing in flight for `--idle-timeout`.
    Idle,
    /// It exited by itself, or stopped accepting connections.
    Died,
    /// It did not become ready (spawn failed, exited early, cold-start timeout).
    StartFailed,
    /// The pool shut down.
    Shutdown,
}

impl StopReason {
    /// Every reason, in label order.
    pub const ALL: [StopReason; 4] = [
        StopReason::Idle,
        StopReason::Died,
        StopReason::StartFailed,
        StopReason::Shutdown,
    ];

    /// Its label.
    pub fn label(self) -> &'static str {
        match self {
            StopReason::Idle => "idle",
            StopReason::Died => "died",
            StopReason::StartFailed => "start_failed",
            StopReason::Shutdown => "shutdown",
        }
    }

    /// Its index in [`StopReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A ready instance's address, connections and cold start.
#[derive(Debug)]
struct Ready {
    addr: SocketAddr,
    cold_start: Duration,
    conns: Pool,
}

/// One instance, from the moment it is decided on until it has been reaped.
#[derive(Debug)]
pub struct Instance {
    id: InstanceId,
    name: String,
    spawned: Instant,
    started_unix_ms: u64,
    pid: Arc<AtomicU32>,
    ready: OnceLock<Ready>,
    requests: AtomicU64,
    control: Mutex<Option<oneshot::Sender<StopOrder>>>,
    retiring: OnceLock<StopReason>,
    last_cpu: Mutex<CpuTimes>,
}

impl Instance {
    /// An instance about to be spawned; `control` reaches its supervisor.
    pub fn new(id: InstanceId, control: oneshot::Sender<StopOrder>) -> Instance {
        let started_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Instance {
            id,
            name: name_of(id),
            spawned: Instant::now(),
            started_unix_ms,
            pid: Arc::new(AtomicU32::new(0)),
            ready: OnceLock::new(),
            requests: AtomicU64::new(0),
            control: Mutex::new(Some(control)),
            retiring: OnceLock::new(),
            last_cpu: Mutex::new(CpuTimes::default()),
        }
    }

    /// Its number.
    pub fn id(&self) -> InstanceId {
        self.id
    }

    /// Its name, `f<id>` (its `--replica-id`, hence its `X-Replica`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When the pool decided to start it.
    pub fn spawned(&self) -> Instant {
        self.spawned
    }

    /// The same, as milliseconds since the Unix epoch.
    pub fn started_unix_ms(&self) -> u64 {
        self.started_unix_ms
    }

    /// Where the spawner writes its PID.
    pub fn pid_slot(&self) -> Arc<AtomicU32> {
        Arc::clone(&self.pid)
    }

    /// Its PID, once spawned.
    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Relaxed)).filter(|&pid| pid != 0)
    }

    /// Records that it is ready at `addr` after a cold start of `cold_start`.
    pub fn set_ready(&self, addr: SocketAddr, cold_start: Duration) {
        let _ = self.ready.set(Ready {
            addr,
            cold_start,
            conns: Pool::new(addr),
        });
    }

    /// Its address, once ready.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.ready.get().map(|r| r.addr)
    }

    /// Its cold start, once ready.
    pub fn cold_start(&self) -> Option<Duration> {
        self.ready.get().map(|r| r.cold_start)
    }

    /// Its keep-alive connections, once ready.
    pub fn conns(&self) -> Option<&Pool> {
        self.ready.get().map(|r| &r.conns)
    }

    /// Counts a request sent to it.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests sent to it.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Whether its process still runs (false before it was spawned).
    pub fn is_running(&self) -> bool {
        self.pid()
            .and_then(pid_stat)
            .is_some_and(|stat| stat.is_running())
    }

    /// CPU time it has used: read now from `/proc`, or the last reading once it is gone.
    pub fn cpu(&self) -> CpuTimes {
        let mut last = self
            .last_cpu
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(stat) = self.pid().and_then(pid_stat) {
            *last = max_cpu(*last, stat.cpu);
        }
        *last
    }

    /// Its final CPU time: `exit` (read between exit and reaping) or the last reading.
    pub fn final_cpu(&self, exit: Option<CpuTimes>) -> CpuTimes {
        let seen = self.cpu();
        let mut last = self
            .last_cpu
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = exit.map_or(seen, |cpu| max_cpu(seen, cpu));
        *last
    }

    /// Why it is being stopped, once it is.
    pub fn retiring(&self) -> Option<StopReason> {
        self.retiring.get().copied()
    }

    /// Starts stopping it (the first call wins; later ones return false): its idle
    /// connections are closed and its supervisor told to stop it within `grace` (zero:
    /// SIGKILL at once).
    pub fn retire(&self, reason: StopReason, grace: Duration) -> bool {
        if self.retiring.set(reason).is_err() {
            return false;
        }
        if let Some(conns) = self.conns() {
            conns.clear();
        }
        let control = self
            .control
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(control) = control {
            let _ = control.send(StopOrder { grace });
        }
        true
    }
}

/// The name of instance `id`.
pub fn name_of(id: InstanceId) -> String {
    format!("f{id}")
}

fn max_cpu(a: CpuTimes, b: CpuTimes) -> CpuTimes {
    CpuTimes {
        user: a.user.max(b.user),
        system: a.system.max(b.system),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retiring_happens_once_and_tells_the_supervisor() {
        let (control, mut orders) = oneshot::channel();
        let instance = Instance::new(7, control);
        assert_eq!(instance.name(), "f7");
        assert_eq!(instance.pid(), None);
        assert!(!instance.is_running());
        assert!(instance.retire(StopReason::Idle, Duration::from_secs(1)));
        assert!(!instance.retire(StopReason::Died, Duration::ZERO));
        assert_eq!(instance.retiring(), Some(StopReason::Idle));
        assert_eq!(
            orders.try_recv().ok(),
            Some(StopOrder {
                grace: Duration::from_secs(1)
            })
        );
    }

    #[test]
    fn final_cpu_never_goes_below_what_was_seen() {
        let (control, _orders) = oneshot::channel();
        let instance = Instance::new(0, control);
        let seen = CpuTimes {
            user: Duration::from_millis(30),
            system: Duration::from_millis(10),
        };
        *instance.last_cpu.lock().unwrap_or_else(|e| e.into_inner()) = seen;
        let exit = CpuTimes {
            user: Duration::from_millis(40),
            system: Duration::from_millis(5),
        };
        let total = instance.final_cpu(Some(exit));
        assert_eq!(total.user, Duration::from_millis(40));
        assert_eq!(total.system, Duration::from_millis(10));
        assert_eq!(instance.final_cpu(None), total);
    }
}
