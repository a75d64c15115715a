//! `--inject-cpu-us`: a deliberate, known slowdown of every credential check — the knob that
//! shows the CI regression gate (`loadgen compare`) catching a regression.
//!
//! With `--inject-cpu-us N` every session lookup and every JWT verification first spins until
//! its thread has used N µs of CPU (the thread's CPU clock, `CLOCK_THREAD_CPUTIME_ID`). It
//! spins rather than sleeps, so the slowdown costs CPU the way a slower verification would:
//! it shows in CPU per request and in throughput, not only in latency. Counting the thread's
//! CPU rather than wall time keeps the injected cost exact when the replica is preempted
//! mid-burn (on a busy machine a wall-clock spin is charged less CPU than asked). It is 0 (off, not even a clock read) unless asked for; real measurements never
//! set it. Each burn is counted in `/metrics` (`authbench_injected_cpu_checks_total`,
//! `authbench_injected_cpu_seconds_total`).

use std::time::{Duration, Instant};

/// The largest `--inject-cpu-us` accepted: one second per check is already absurd.
pub const MAX_INJECT_CPU: Duration = Duration::from_secs(1);

/// CPU to burn in every credential check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuBurn {
    per_check: Duration,
}

impl CpuBurn {
    /// Burns `per_check` in every check (zero: off).
    pub fn new(per_check: Duration) -> Self {
        CpuBurn { per_check }
    }

    /// Whether nothing is burnt.
    pub fn is_off(&self) -> bool {
        self.per_check.is_zero()
    }

    /// The CPU time burnt per check.
    pub fn per_check(&self) -> Duration {
        self.per_check
    }

    /// Spins until this thread has used `per_check` of CPU; returns the CPU spent (at least
    /// `per_check`; zero, without reading the clock, when off). Where the thread's CPU clock
    /// cannot be read, it falls back to the monotonic clock.
    pub fn burn(&self) -> Duration {
        if self.is_off() {
            return Duration::ZERO;
        }
        match thread_cpu_time() {
            Some(started) => self.burn_with(|| {
                thread_cpu_time().map_or(self.per_check, |now| now.saturating_sub(started))
            }),
            None => {
                let started = Instant::now();
                self.burn_with(|| started.elapsed())
            }
        }
    }

    /// [`burn`](Self::burn) with an injected clock: `elapsed` returns the time since the burn
    /// started. Returns its first reading at or past `per_check`.
    pub fn burn_with(&self, mut elapsed: impl FnMut() -> Duration) -> Duration {
        if self.is_off() {
            return Duration::ZERO;
        }
        let mut spins: u64 = 0;
        loop {
            let now = elapsed();
            if now >= self.per_check {
                return now;
            }
            // Keeps the loop (and the clock reads) from being optimised away.
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
}

/// CPU time used by the calling thread so far, if the clock can be read.
fn thread_cpu_time() -> Option<Duration> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    Some(Duration::from(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burns_until_the_clock_passes_the_budget() {
        let burn = CpuBurn::new(Duration::from_micros(100));
        let mut reads = 0u32;
        let spent = burn.burn_with(|| {
            reads += 1;
            Duration::from_micros(15) * reads
        });
        // 15, 30, …, 105 µs: the seventh read is the first at or past 100 µs.
        assert_eq!(reads, 7);
        assert_eq!(spent, Duration::from_micros(105));
    }

    #[test]
    fn off_reads_no_clock() {
        let burn = CpuBurn::default();
        assert!(burn.is_off());
        assert_eq!(
            burn.burn_with(|| panic!("the clock was read while off")),
            Duration::ZERO
        );
        assert_eq!(burn.burn(), Duration::ZERO);
    }

    #[test]
    fn the_real_clock_spends_at_least_the_budget() {
        let burn = CpuBurn::new(Duration::from_micros(200));
        let before = thread_cpu_time().expect("Linux has a thread CPU clock");
        assert!(burn.burn() >= Duration::from_micros(200));
        let used = thread_cpu_time().expect("Linux has a thread CPU clock") - before;
        assert!(
            used >= Duration::from_micros(200),
            "the thread used {used:?} of CPU"
        );
    }
}
