//! The function pool: the [`Scheduler`]'s decisions carried out on real instances — cold
//! starts (bounded, measured), slots held until a response is over, idle instances stopped
//! by the reaper, dead ones noticed and removed, all stopped at shutdown.
//!
//! Every instance is counted exactly once when it is gone: its exit (reported by the
//! spawner after reaping) removes it from the list, adds its lifetime and final CPU time to
//! the totals, and counts it under the reason it was stopped for (`died` if nobody stopped
//! it). The totals and the live instances are read under one lock, so the CPU and lifetime
//! counters never go backwards.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use super::error::{FunctionsError, StartError};
use super::instance::{name_of, Instance, StopReason};
use super::scheduler::{Counts, Decision, InstanceId, Phase, Scheduler};
use super::spawner::{Exit, Launch, Spawner};
use super::stats::{micros, Stats};
use super::FunctionsConfig;
use crate::balance::pool::{Pool, Sender};
use crate::cluster::ChildLogs;
use crate::process_stats::CpuTimes;

/// The pool of instances behind the functions port.
#[derive(Debug)]
pub struct FunctionPool {
    program: PathBuf,
    serve_args: Vec<String>,
    logs: ChildLogs,
    cold_start_timeout: Duration,
    stop_grace: Duration,
    inner: Mutex<Inner>,
    spawner: Spawner,
    stats: Stats,
    closing: AtomicBool,
    conn: crate::conn::Hardening,
    _keys: Option<tempfile::TempDir>,
}

#[derive(Debug)]
struct Inner {
    scheduler: Scheduler,
    /// Every instance from the decision to start it until it has been reaped.
    instances: BTreeMap<InstanceId, Arc<Instance>>,
    retired_lifetime: Duration,
    retired_cpu: CpuTimes,
}

/// What [`FunctionPool::acquire`] got for a request.
#[derive(Debug)]
pub enum Acquired {
    /// A slot on a ready instance.
    Warm(Slot, Arc<Instance>),
    /// The go-ahead to start this instance ([`FunctionPool::cold_start`]).
    Cold(InstanceId),
    /// Every instance busy, `--max-instances` reached.
    Throttled,
    /// The pool is shutting down.
    Closing,
}

/// One request's slot on an instance; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    pool: Arc<FunctionPool>,
    id: InstanceId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.lock().scheduler.release(self.id, Instant::now());
    }
}

/// A cold start that succeeded: the new instance, the request's slot on it, and the
/// connection made to it.
#[derive(Debug)]
pub struct Started {
    /// The request's slot.
    pub slot: Slot,
    /// The instance.
    pub instance: Arc<Instance>,
    /// The first connection to it, ready for the request.
    pub sender: Sender,
    /// Spawn to ready (address printed and a connection made).
    pub cold_start: Duration,
}

/// The pool's state for the admin port.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Instances by state.
    pub counts: Counts,
    /// Every instance, stopping ones included.
    pub instances: Vec<InstanceInfo>,
    /// CPU time of the instances: the live ones' so far plus the gone ones' final.
    pub instance_cpu: CpuTimes,
    /// Lifetime of the instances: the live ones' so far plus the gone ones'.
    pub instance_time: Duration,
}

/// One instance in `/instances`.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceInfo {
    /// `f<n>`.
    pub id: String,
    /// Its PID (`null` until spawned).
    pub pid: Option<u32>,
    /// Its URL, `http://127.0.0.1:PORT` (`null` until ready).
    pub url: Option<String>,
    /// `starting`, `idle`, `busy` or `stopping`.
    pub state: &'static str,
    /// When it was started, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// Its cold start, µs (`null` until ready).
    pub cold_start_us: Option<u64>,
    /// Requests sent to it.
    pub requests: u64,
    /// Requests in flight on it.
    pub in_flight: usize,
}

impl FunctionPool {
    /// A pool with no instances yet, and its spawner thread. Checks `config`, and creates a
    /// key set for the instances unless their flags name one.
    pub fn start(config: &FunctionsConfig) -> Result<Arc<FunctionPool>, FunctionsError> {
        let serve = config.validate()?;
        let mut serve_args = config.serve_args.clone();
        let keys = if serve.key_dir.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("authbench-functions.")
                .tempdir()
                .map_err(|e| FunctionsError::Keys(e.to_string()))?;
            crate::jwt::keys::create_key_dir(dir.path(), &[serve.jwt_alg], false)
                .map_err(|e| FunctionsError::Keys(e.to_string()))?;
            serve_args.push("--key-dir".into());
            serve_args.push(dir.path().display().to_string());
            Some(dir)
        } else {
            None
        };
        Ok(Arc::new(FunctionPool {
            program: config.program.clone(),
            serve_args,
            logs: config.instance_logs,
            cold_start_timeout: config.cold_start_timeout,
            stop_grace: config.stop_grace,
            inner: Mutex::new(Inner {
                scheduler: Scheduler::new(config.limits()),
                instances: BTreeMap::new(),
                retired_lifetime: Duration::ZERO,
                retired_cpu: CpuTimes::default(),
            }),
            spawner: Spawner::start()?,
            stats: Stats::default(),
            closing: AtomicBool::new(false),
            // A proxied connection costs two descriptors: the client's and the instance's.
            conn: crate::conn::Hardening::new(config.conn, 2),
            _keys: keys,
        }))
    }

    /// Its counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Client connection limits and counters of its proxy port.
    pub fn conn(&self) -> &crate::conn::Hardening {
        &self.conn
    }

    /// Its `--max-instances` and `--instance-concurrency`.
    pub fn limits(&self) -> (usize, usize) {
        let limits = self.lock().scheduler.limits();
        (limits.max_instances, limits.concurrency)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update under this lock is a few field writes: a panic cannot leave it torn.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides where a request goes and takes its slot.
    pub fn acquire(self: &Arc<Self>) -> Acquired {
        if self.closing.load(Ordering::Relaxed) {
            return Acquired::Closing;
        }
        let mut inner = self.lock();
        loop {
            match inner.scheduler.acquire(Instant::now()) {
                Decision::Warm(id) => match inner.instances.get(&id) {
                    Some(instance) => {
                        let instance = Arc::clone(instance);
                        drop(inner);
                        let slot = Slot {
                            pool: Arc::clone(self),
                            id,
                        };
                        return Acquired::Warm(slot, instance);
                    }
                    // Not possible (counted instances are listed); never hand it out.
                    None => {
                        inner.scheduler.remove(id);
                    }
                },
                Decision::Cold(id) => return Acquired::Cold(id),
                Decision::Throttled => return Acquired::Throttled,
            }
        }
    }

    /// Starts instance `id` (from [`Acquired::Cold`]) and waits until it is ready, at most
    /// `--cold-start-timeout`. The start goes on if the caller goes away: the instance then
    /// joins the pool idle.
    pub async fn cold_start(self: &Arc<Self>, id: InstanceId) -> Result<Started, StartError> {
        let (tx, rx) = oneshot::channel();
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            let result = pool.start_instance(id).await;
            if let Err(Ok(started)) = tx.send(result) {
                // Nobody waits any more: keep the connection, free the slot.
                if let Some(conns) = started.instance.conns() {
                    conns.put(started.sender);
                }
            }
        });
        rx.await.unwrap_or_else(|_| {
            Err(StartError::Failed {
                name: name_of(id),
                reason: "the cold start was abandoned".into(),
            })
        })
    }

    async fn start_instance(self: Arc<Self>, id: InstanceId) -> Result<Started, StartError> {
        let (control, control_rx) = oneshot::channel();
        let instance = Arc::new(Instance::new(id, control));
        let spawned = instance.spawned();
        let slot = Slot {
            pool: Arc::clone(&self),
            id,
        };
        self.lock().instances.insert(id, Arc::clone(&instance));
        let (ready, ready_rx) = oneshot::channel();
        let (exited, exited_rx) = oneshot::channel();
        let pool = Arc::clone(&self);
        tokio::spawn(async move {
            let exit = exited_rx.await.unwrap_or_default();
            pool.gone(id, exit);
        });
        let mut args: Vec<String> = ["serve", "--listen", "127.0.0.1:0", "--replica-id"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        args.push(instance.name().to_owned());
        args.extend(self.serve_args.iter().cloned());
        let launch = Launch {
            name: instance.name().to_owned(),
            program: self.program.clone(),
            args,
            logs: self.logs,
            timeout: self.cold_start_timeout,
            pid: instance.pid_slot(),
            ready,
            control: control_rx,
            exited,
        };
        if self.spawner.launch(launch).is_err() {
            self.retire(&instance, StopReason::StartFailed);
            return Err(StartError::ShuttingDown);
        }
        let deadline = tokio::time::Instant::from_std(spawned + self.cold_start_timeout);
        let attempt = tokio::time::timeout_at(deadline, async {
            let addr = ready_rx
                .await
                .map_err(|_| "the spawner stopped".to_owned())??;
            let sender = Pool::new(addr)
                .connect()
                .await
                .map_err(|err| err.to_string())?;
            Ok::<_, String>((addr, sender))
        })
        .await;
        let failed = |reason: String| StartError::Failed {
            name: instance.name().to_owned(),
            reason,
        };
        let (addr, sender) = match attempt {
            Ok(Ok(ready)) => ready,
            Ok(Err(reason)) => {
                self.retire(&instance, StopReason::StartFailed);
                if self.closing.load(Ordering::Relaxed) {
                    return Err(StartError::ShuttingDown);
                }
                return Err(failed(reason));
            }
            Err(_) => {
                self.retire(&instance, StopReason::StartFailed);
                return Err(StartError::Timeout {
                    name: instance.name().to_owned(),
                    timeout: self.cold_start_timeout,
                });
            }
        };
        let cold_start = spawned.elapsed();
        instance.set_ready(addr, cold_start);
        if !self.lock().scheduler.ready(id, Instant::now()) {
            // Stopped meanwhile: the pool is closing, or it died right after starting.
            return Err(if self.closing.load(Ordering::Relaxed) {
                StartError::ShuttingDown
            } else {
                failed("exited right after it started".into())
            });
        }
        self.stats.record_cold_start(cold_start);
        tracing::debug!(instance = instance.name(), pid = ?instance.pid(), cold_start_us = micros(cold_start), "instance ready");
        Ok(Started {
            slot,
            instance,
            sender,
            cold_start,
        })
    }

    /// Stops counting `instance` and has it stopped: gracefully (SIGTERM, `stop_grace`) when
    /// idle or at shutdown, at once (SIGKILL) when it failed.
    pub fn retire(&self, instance: &Instance, reason: StopReason) {
        self.lock().scheduler.remove(instance.id());
        let grace = match reason {
            StopReason::Idle | StopReason::Shutdown => self.stop_grace,
            StopReason::Died | StopReason::StartFailed => Duration::ZERO,
        };
        if instance.retire(reason, grace) {
            tracing::debug!(
                instance = instance.name(),
                reason = reason.label(),
                "stopping instance"
            );
        }
    }

    /// A request to `instance` failed: if its process is gone, it is removed now (its exit
    /// report may still be on its way).
    pub fn check_failed(&self, instance: &Instance) {
        if !instance.is_running() {
            self.retire(instance, StopReason::Died);
        }
    }

    /// An instance has exited and been reaped: counted once, under the reason it was
    /// stopped for, or `died` if nobody stopped it.
    fn gone(&self, id: InstanceId, exit: Exit) {
        let mut inner = self.lock();
        let Some(instance) = inner.instances.remove(&id) else {
            return;
        };
        inner.scheduler.remove(id);
        let reason = instance.retiring().unwrap_or(StopReason::Died);
        let cpu = instance.final_cpu(exit.cpu);
        inner.retired_cpu.user += cpu.user;
        inner.retired_cpu.system += cpu.system;
        inner.retired_lifetime += instance.spawned().elapsed();
        self.stats.count_stopped(reason);
        drop(inner);
        if reason == StopReason::Died {
            tracing::warn!(instance = instance.name(), pid = ?instance.pid(), "instance exited by itself");
        } else {
            tracing::debug!(
                instance = instance.name(),
                reason = reason.label(),
                "instance stopped"
            );
        }
    }

    /// Stops idle instances as they expire, until the pool closes.
    pub async fn reap_idle(self: Arc<Self>) {
        while !self.closing.load(Ordering::Relaxed) {
            let now = Instant::now();
            let (expired, next) = {
                let mut inner = self.lock();
                let expired: Vec<Arc<Instance>> = inner
                    .scheduler
                    .take_expired(now)
                    .into_iter()
                    .filter_map(|id| inner.instances.get(&id).cloned())
                    .collect();
                (expired, inner.scheduler.next_expiry())
            };
            for instance in expired {
                self.retire(&instance, StopReason::Idle);
            }
            // An instance that goes idle later expires no earlier than now + the timeout.
            let timeout = self.lock().scheduler.limits().idle_timeout;
            let wake = next.map_or(now + timeout, |next| next.min(now + timeout));
            tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await;
        }
    }

    /// Refuses new requests, stops every instance (each gets `stop_grace` after SIGTERM),
    /// waits until all are reaped, and ends the spawner thread (which SIGKILLs anything
    /// left).
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::Relaxed);
        let all: Vec<Arc<Instance>> = self.lock().instances.values().cloned().collect();
        for instance in &all {
            self.retire(instance, StopReason::Shutdown);
        }
        let deadline = Instant::now() + self.stop_grace + Duration::from_secs(1);
        while !self.lock().instances.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.spawner.close().await;
    }

    /// The state shown on the admin port.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        let mut cpu = inner.retired_cpu;
        let mut time = inner.retired_lifetime;
        let mut instances = Vec::with_capacity(inner.instances.len());
        for instance in inner.instances.values() {
            let used = instance.cpu();
            cpu.user += used.user;
            cpu.system += used.system;
            time += instance.spawned().elapsed();
            let counted = inner.scheduler.state_of(instance.id());
            let state = match (instance.retiring(), counted) {
                (Some(_), _) | (None, None) => "stopping",
                (None, Some((Phase::Starting, _))) => "starting",
                (None, Some((Phase::Ready, 0))) => "idle",
                (None, Some((Phase::Ready, _))) => "busy",
            };
            instances.push(InstanceInfo {
                id: instance.name().to_owned(),
                pid: instance.pid(),
                url: instance.addr().map(|addr| format!("http://{addr}")),
                state,
                started_unix_ms: instance.started_unix_ms(),
                cold_start_us: instance.cold_start().map(micros),
                requests: instance.requests(),
                in_flight: counted.map_or(0, |(_, n)| n),
            });
        }
        Snapshot {
            counts: inner.scheduler.counts(),
            instances,
            instance_cpu: cpu,
            instance_time: time,
        }
    }
}
