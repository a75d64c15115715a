//! The store circuit: after `failures` consecutive failed store calls (errors or timeouts) a
//! replica stops calling the store for `cooldown` and answers 503 at once; then one probe is
//! let through (half-open): its success closes the circuit, its failure opens it again.
//!
//! Pure logic over an injected clock (`now` is passed in), so it is tested with paused time.

use std::time::Duration;

use tokio::time::Instant;

/// Circuit settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitConfig {
    /// Consecutive failures that open the circuit (0: the circuit never opens).
    pub failures: u32,
    /// How long an open circuit fails fast before letting a probe through.
    pub cooldown: Duration,
    /// How long a probe may stay unanswered before another one is let through (the store
    /// deadline: a probe cancelled by its client must not keep the circuit half-open forever).
    pub probe_timeout: Duration,
}

/// The state, as exposed in `/metrics` (`0` closed, `1` open, `2` half-open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go to the store.
    Closed = 0,
    /// Calls fail fast.
    Open = 1,
    /// One probe is in flight; other calls fail fast.
    HalfOpen = 2,
}

impl CircuitState {
    /// Every state, in gauge order.
    pub const ALL: [CircuitState; 3] = [
        CircuitState::Closed,
        CircuitState::Open,
        CircuitState::HalfOpen,
    ];

    /// `closed`, `open`, `half_open`.
    pub const fn label(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

/// What the circuit lets a call do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Call the store.
    Call,
    /// Call the store as the half-open probe.
    Probe,
    /// Fail fast.
    Reject,
}

/// A state change, for metrics and logs.
pub type Transition = (CircuitState, CircuitState);

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_since: Instant },
}

/// The circuit of one store connection.
#[derive(Debug)]
pub struct Circuit {
    config: CircuitConfig,
    inner: Inner,
}

impl Circuit {
    /// A closed circuit.
    pub fn new(config: CircuitConfig) -> Circuit {
        Circuit {
            config,
            inner: Inner::Closed { failures: 0 },
        }
    }

    /// The state now.
    pub fn state(&self) -> CircuitState {
        match self.inner {
            Inner::Closed { .. } => CircuitState::Closed,
            Inner::Open { .. } => CircuitState::Open,
            Inner::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Whether a call may go to the store at `now`, and the transition deciding it caused.
    pub fn admit(&mut self, now: Instant) -> (Admission, Option<Transition>) {
        match self.inner {
            Inner::Closed { .. } => (Admission::Call, None),
            Inner::Open { until } if now >= until => {
                self.inner = Inner::HalfOpen { probe_since: now };
                let to = (CircuitState::Open, CircuitState::HalfOpen);
                (Admission::Probe, Some(to))
            }
            Inner::Open { .. } => (Admission::Reject, None),
            Inner::HalfOpen { probe_since } if now >= probe_since + self.config.probe_timeout => {
                // The probe never reported (cancelled): let another one through.
                self.inner = Inner::HalfOpen { probe_since: now };
                (Admission::Probe, None)
            }
            Inner::HalfOpen { .. } => (Admission::Reject, None),
        }
    }

    /// Records the outcome of a call admitted as `admitted` that finished at `now`. While
    /// half-open only probes count: a call admitted before the circuit opened and answered
    /// late says nothing about the store now.
    pub fn record(&mut self, admitted: Admission, ok: bool, now: Instant) -> Option<Transition> {
        let from = self.state();
        let probe = admitted == Admission::Probe;
        self.inner = match (self.inner, ok) {
            (half @ Inner::HalfOpen { .. }, _) if !probe => half,
            (Inner::Closed { .. } | Inner::HalfOpen { .. }, true) => Inner::Closed { failures: 0 },
            (Inner::Closed { failures }, false) => {
                let failures = failures.saturating_add(1);
                if self.config.failures > 0 && failures >= self.config.failures {
                    self.open(now)
                } else {
                    Inner::Closed { failures }
                }
            }
            (Inner::HalfOpen { .. }, false) => self.open(now),
            // A call admitted before the circuit opened: it changes nothing.
            (open @ Inner::Open { .. }, _) => open,
        };
        let to = self.state();
        (from != to).then_some((from, to))
    }

    fn open(&self, now: Instant) -> Inner {
        Inner::Open {
            until: now + self.config.cooldown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CircuitState::{Closed, HalfOpen, Open};

    const CONFIG: CircuitConfig = CircuitConfig {
        failures: 3,
        cooldown: Duration::from_millis(500),
        probe_timeout: Duration::from_millis(250),
    };

    async fn after(ms: u64) -> Instant {
        tokio::time::advance(Duration::from_millis(ms)).await;
        Instant::now()
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_a_success_resets_the_count() {
        let mut c = Circuit::new(CONFIG);
        let now = Instant::now();
        assert_eq!(c.record(Admission::Call, false, now), None);
        assert_eq!(c.record(Admission::Call, false, now), None);
        assert_eq!(
            c.record(Admission::Call, true, now),
            None,
            "a success resets the count"
        );
        assert_eq!(c.record(Admission::Call, false, now), None);
        assert_eq!(c.record(Admission::Call, false, now), None);
        assert_eq!(c.admit(now), (Admission::Call, None));
        assert_eq!(c.record(Admission::Call, false, now), Some((Closed, Open)));
        assert_eq!(c.admit(now), (Admission::Reject, None));
        // Late answers of calls admitted before it opened change nothing.
        assert_eq!(c.record(Admission::Call, true, now), None);
        assert_eq!(c.state(), Open);
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_cooldown_one_probe_decides() {
        let mut c = Circuit::new(CONFIG);
        for _ in 0..3 {
            c.record(Admission::Call, false, Instant::now());
        }
        assert_eq!(c.admit(after(499).await), (Admission::Reject, None));
        let now = after(1).await;
        assert_eq!(c.admit(now), (Admission::Probe, Some((Open, HalfOpen))));
        assert_eq!(
            c.admit(now),
            (Admission::Reject, None),
            "one probe at a time"
        );
        // The probe fails: open for another cooldown.
        let failed = after(250).await;
        assert_eq!(
            c.record(Admission::Probe, false, failed),
            Some((HalfOpen, Open))
        );
        assert_eq!(c.admit(after(499).await), (Admission::Reject, None));
        assert_eq!(c.admit(after(1).await).0, Admission::Probe);
        // A call admitted before the circuit opened, answered late: not the probe's answer.
        assert_eq!(c.record(Admission::Call, true, after(1).await), None);
        assert_eq!(c.state(), HalfOpen);
        // The probe succeeds: closed, calls flow again.
        assert_eq!(
            c.record(Admission::Probe, true, after(1).await),
            Some((HalfOpen, Closed))
        );
        assert_eq!(c.admit(Instant::now()), (Admission::Call, None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_never_reports_is_replaced_after_the_probe_timeout() {
        let mut c = Circuit::new(CONFIG);
        for _ in 0..3 {
            c.record(Admission::Call, false, Instant::now());
        }
        assert_eq!(c.admit(after(500).await).0, Admission::Probe);
        assert_eq!(c.admit(after(249).await).0, Admission::Reject);
        assert_eq!(c.admit(after(1).await), (Admission::Probe, None));
        assert_eq!(c.state(), HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_failures_means_never_open() {
        let mut c = Circuit::new(CircuitConfig {
            failures: 0,
            ..CONFIG
        });
        for _ in 0..100 {
            assert_eq!(c.record(Admission::Call, false, Instant::now()), None);
        }
        assert_eq!(c.admit(Instant::now()).0, Admission::Call);
    }
}
