//! The store guard: every call to a remote store (Redis) gets a deadline and goes through the
//! store's [`Circuit`]. A stalled Redis (no answers, connections open) then costs a request
//! at most `--store-timeout`, and once the circuit is open nothing: the replica answers 503
//! `store_unavailable` at once until a probe finds the store answering again.
//!
//! On a timeout the multiplexed Redis connection is kept: the unanswered command stays queued
//! on it, and when Redis answers again the late reply is matched to it (replies are read in
//! order) and dropped, so later commands get their own replies. Redis answering again after a
//! stall first works through the backlog of commands sent during the stall; the circuit keeps
//! that backlog short (only probes are sent while it is open).

use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::circuit::{Admission, Circuit, CircuitConfig, CircuitState, Transition};
use super::{StoreError, StoreResult};

/// Deadline and circuit settings (`--store-timeout`, `--store-circuit-failures`,
/// `--store-circuit-cooldown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Deadline of one store call (all its round trips, and waiting for a reconnect).
    pub timeout: Duration,
    /// Consecutive failures that open the circuit (0: never).
    pub circuit_failures: u32,
    /// How long the open circuit fails fast before a probe.
    pub circuit_cooldown: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            timeout: Duration::from_millis(250),
            circuit_failures: 5,
            circuit_cooldown: Duration::from_millis(500),
        }
    }
}

/// Why a guarded call failed, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No answer within the deadline.
    Timeout,
    /// Connection refused, reset or closed.
    Connection,
    /// Redis answered with an error.
    Server,
    /// Not called: the circuit is open.
    CircuitOpen,
}

impl FailureKind {
    const ALL: [FailureKind; 4] = [
        FailureKind::Timeout,
        FailureKind::Connection,
        FailureKind::Server,
        FailureKind::CircuitOpen,
    ];

    /// `timeout`, `connection`, `server`, `circuit_open`.
    pub const fn label(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Connection => "connection",
            FailureKind::Server => "server",
            FailureKind::CircuitOpen => "circuit_open",
        }
    }

    /// The kind of `err`; `None` for a corrupt record (the store answered) or a bad URL.
    pub fn of(err: &StoreError) -> Option<FailureKind> {
        match err {
            StoreError::Timeout(_) => Some(FailureKind::Timeout),
            StoreError::CircuitOpen => Some(FailureKind::CircuitOpen),
            StoreError::Redis(e) if e.is_timeout() => Some(FailureKind::Timeout),
            StoreError::Redis(e) if e.is_io_error() || e.is_connection_dropped() => {
                Some(FailureKind::Connection)
            }
            StoreError::Redis(_) => Some(FailureKind::Server),
            StoreError::Corrupt(_) | StoreError::BadUrl(_) => None,
        }
    }
}

/// Deadline plus circuit for one store connection, with its counters.
#[derive(Debug)]
pub struct StoreGuard {
    timeout: Duration,
    circuit: Mutex<Circuit>,
    failures: [AtomicU64; 4],
    state: AtomicU8,
    /// Transitions into each state.
    transitions: [AtomicU64; 3],
}

impl StoreGuard {
    /// A guard with a closed circuit.
    pub fn new(config: GuardConfig) -> StoreGuard {
        StoreGuard {
            timeout: config.timeout,
            circuit: Mutex::new(Circuit::new(CircuitConfig {
                failures: config.circuit_failures,
                cooldown: config.circuit_cooldown,
                probe_timeout: config.timeout,
            })),
            failures: std::array::from_fn(|_| AtomicU64::new(0)),
            state: AtomicU8::new(CircuitState::Closed as u8),
            transitions: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// The deadline of one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `call` under the deadline, unless the circuit is open (then fails at once with
    /// [`StoreError::CircuitOpen`]).
    pub async fn run<T>(&self, call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        let admission = {
            let (admission, transition) = self.lock().admit(Instant::now());
            self.note(transition);
            admission
        };
        if admission == Admission::Reject {
            self.count(FailureKind::CircuitOpen);
            return Err(StoreError::CircuitOpen);
        }
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        };
        let failure = result.as_ref().err().and_then(FailureKind::of);
        if let Some(kind) = failure {
            self.count(kind);
        }
        let transition = self
            .lock()
            .record(admission, failure.is_none(), Instant::now());
        self.note(transition);
        result
    }

    /// The circuit's state now.
    pub fn state(&self) -> CircuitState {
        CircuitState::ALL[usize::from(self.state.load(Relaxed)).min(2)]
    }

    /// Failed calls of `kind` so far.
    pub fn failures(&self, kind: FailureKind) -> u64 {
        self.failures[kind as usize].load(Relaxed)
    }

    /// Transitions into `state` so far.
    pub fn transitions_to(&self, state: CircuitState) -> u64 {
        self.transitions[state as usize].load(Relaxed)
    }

    /// Appends the guard's series to a Prometheus text, each with `labels`.
    pub fn render(&self, out: &mut String, labels: &str) {
        let _ = writeln!(
            out,
            "# HELP authbench_store_timeouts_total Store calls that got no answer within --store-timeout.\n\
             # TYPE authbench_store_timeouts_total counter\n\
             authbench_store_timeouts_total{{{labels}}} {}",
            self.failures(FailureKind::Timeout)
        );
        out.push_str("# HELP authbench_store_failures_total Failed store calls, by kind (circuit_open: failed fast, not called).\n");
        out.push_str("# TYPE authbench_store_failures_total counter\n");
        for kind in FailureKind::ALL {
            let _ = writeln!(
                out,
                "authbench_store_failures_total{{{labels},kind=\"{}\"}} {}",
                kind.label(),
                self.failures(kind)
            );
        }
        let _ = writeln!(
            out,
            "# HELP authbench_store_circuit_state The store circuit: 0 closed, 1 open (failing fast), 2 half-open (probing).\n\
             # TYPE authbench_store_circuit_state gauge\n\
             authbench_store_circuit_state{{{labels}}} {}",
            self.state() as u8
        );
        out.push_str("# HELP authbench_store_circuit_transitions_total Store circuit state changes, by the state entered.\n");
        out.push_str("# TYPE authbench_store_circuit_transitions_total counter\n");
        for state in CircuitState::ALL {
            let _ = writeln!(
                out,
                "authbench_store_circuit_transitions_total{{{labels},to=\"{}\"}} {}",
                state.label(),
                self.transitions_to(state)
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Circuit> {
        // The circuit holds no invariant a panicking holder could break halfway.
        self.circuit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn count(&self, kind: FailureKind) {
        self.failures[kind as usize].fetch_add(1, Relaxed);
    }

    fn note(&self, transition: Option<Transition>) {
        let Some((from, to)) = transition else {
            return;
        };
        self.state.store(to as u8, Relaxed);
        self.transitions[to as usize].fetch_add(1, Relaxed);
        match to {
            CircuitState::Open => tracing::warn!(
                from = from.label(),
                "store circuit open: failing fast without calling the store"
            ),
            _ => tracing::info!(from = from.label(), to = to.label(), "store circuit"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CONFIG: GuardConfig = GuardConfig {
        timeout: Duration::from_millis(250),
        circuit_failures: 3,
        circuit_cooldown: Duration::from_millis(500),
    };

    async fn stalled() -> StoreResult<u32> {
        std::future::pending().await
    }

    async fn answered() -> StoreResult<u32> {
        Ok(7)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_store_times_out_then_fails_fast_then_recovers_by_probe() {
        let guard = StoreGuard::new(CONFIG);
        let t0 = Instant::now();
        for i in 1..=3 {
            let err = guard.run(stalled()).await.unwrap_err();
            assert!(matches!(err, StoreError::Timeout(_)), "{err}");
            assert_eq!(t0.elapsed(), CONFIG.timeout * i, "each waits the deadline");
        }
        assert_eq!(guard.state(), CircuitState::Open);
        let before = Instant::now();
        let err = guard.run(stalled()).await.unwrap_err();
        assert!(matches!(err, StoreError::CircuitOpen));
        assert_eq!(before.elapsed(), Duration::ZERO, "open: no waiting");
        // Still stalled when the cooldown ends: the probe times out, open again.
        tokio::time::advance(CONFIG.circuit_cooldown).await;
        assert!(matches!(
            guard.run(stalled()).await,
            Err(StoreError::Timeout(_))
        ));
        assert_eq!(guard.state(), CircuitState::Open);
        // The store answers again: the next probe closes the circuit.
        tokio::time::advance(CONFIG.circuit_cooldown).await;
        assert_eq!(guard.run(answered()).await.unwrap(), 7);
        assert_eq!(guard.state(), CircuitState::Closed);
        assert_eq!(guard.run(answered()).await.unwrap(), 7);
        assert_eq!(guard.failures(FailureKind::Timeout), 4);
        assert_eq!(guard.failures(FailureKind::CircuitOpen), 1);
        assert_eq!(guard.transitions_to(CircuitState::Open), 2);
        assert_eq!(guard.transitions_to(CircuitState::HalfOpen), 2);
        assert_eq!(guard.transitions_to(CircuitState::Closed), 1);
        let mut text = String::new();
        guard.render(&mut text, "replica=\"r0\"");
        for line in [
            "authbench_store_timeouts_total{replica=\"r0\"} 4",
            "authbench_store_failures_total{replica=\"r0\",kind=\"circuit_open\"} 1",
            "authbench_store_circuit_state{replica=\"r0\"} 0",
            "authbench_store_circuit_transitions_total{replica=\"r0\",to=\"open\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn corrupt_records_are_answers_not_failures() {
        let guard = StoreGuard::new(CONFIG);
        for _ in 0..5 {
            let err = guard
                .run(async { Err::<(), _>(StoreError::Corrupt("k".into())) })
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Corrupt(_)));
        }
        assert_eq!(guard.state(), CircuitState::Closed);
    }
}
