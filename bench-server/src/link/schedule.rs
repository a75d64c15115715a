//! When each chunk a link read is due on the other side.
//!
//! A direction of a link is a wire of the given bandwidth followed by a propagation delay:
//! a chunk that arrives at `t` goes onto the wire when the wire is free (`max(t, free)`),
//! takes `bytes × 8 / bandwidth` to go out, and reaches the far side `delay ± jitter`
//! later. Release times never go backwards, so jitter delays a chunk but never reorders the
//! byte stream (TCP could not reorder it either).

use std::time::{Duration, Instant};

use authbench_contract::link::Bandwidth;
use rand::Rng as _;

/// The release times of one direction.
#[derive(Debug)]
pub struct Schedule {
    delay: Duration,
    jitter: Duration,
    bandwidth: Option<Bandwidth>,
    wire_free: Option<Instant>,
    last_release: Option<Instant>,
}

impl Schedule {
    /// A direction with this delay, jitter (uniform within ±`jitter`, clamped so a chunk is
    /// never early) and bandwidth (`None`: unlimited).
    pub fn new(delay: Duration, jitter: Duration, bandwidth: Option<Bandwidth>) -> Schedule {
        Schedule {
            delay,
            jitter,
            bandwidth,
            wire_free: None,
            last_release: None,
        }
    }

    /// When a chunk of `bytes` that arrived at `arrived` is due; `draw` is a uniform sample
    /// in [0, 1) for the jitter.
    pub fn release_with(&mut self, arrived: Instant, bytes: usize, draw: f64) -> Instant {
        let on_wire = self.wire_free.map_or(arrived, |free| free.max(arrived));
        let sent = match self.bandwidth {
            Some(bw) => on_wire + bw.transmit_time(bytes),
            None => on_wire,
        };
        self.wire_free = Some(sent);
        let spread = (self.jitter.as_nanos() as f64 * (2.0 * draw - 1.0)).round() as i128;
        let propagation = (self.delay.as_nanos() as i128 + spread).max(0);
        let due = sent + Duration::from_nanos(u64::try_from(propagation).unwrap_or(u64::MAX));
        let due = self.last_release.map_or(due, |last| due.max(last));
        self.last_release = Some(due);
        due
    }

    /// [`Self::release_with`] with a fresh random draw.
    pub fn release(&mut self, arrived: Instant, bytes: usize) -> Instant {
        let draw = if self.jitter.is_zero() {
            0.5
        } else {
            rand::rng().random::<f64>()
        };
        self.release_with(arrived, bytes, draw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Duration = Duration::from_micros(1);

    #[test]
    fn a_chunk_is_due_its_delay_after_it_arrived() {
        let t0 = Instant::now();
        let mut s = Schedule::new(250 * US, Duration::ZERO, None);
        assert_eq!(s.release_with(t0, 100, 0.5), t0 + 250 * US);
        assert_eq!(s.release_with(t0 + 10 * US, 100, 0.5), t0 + 260 * US);
    }

    #[test]
    fn jitter_spreads_around_the_delay_but_never_reorders() {
        let t0 = Instant::now();
        let mut s = Schedule::new(250 * US, 50 * US, None);
        assert_eq!(s.release_with(t0, 1, 1.0), t0 + 300 * US);
        // Drawn 200 µs, but the previous chunk is due at 300 µs: this one waits for it.
        assert_eq!(s.release_with(t0 + 20 * US, 1, 0.0), t0 + 300 * US);
        assert_eq!(s.release_with(t0 + 200 * US, 1, 0.5), t0 + 450 * US);
        // Jitter larger than the delay clamps at no delay, never before arrival.
        let mut wide = Schedule::new(10 * US, 100 * US, None);
        assert_eq!(wide.release_with(t0, 1, 0.0), t0);
    }

    #[test]
    fn bandwidth_queues_chunks_on_the_wire() {
        let t0 = Instant::now();
        // 8 Mbit/s: 1 byte per µs.
        let bw: Bandwidth = "8mbit".parse().unwrap_or(Bandwidth {
            bits_per_second: 8_000_000,
        });
        let mut s = Schedule::new(100 * US, Duration::ZERO, Some(bw));
        assert_eq!(s.release_with(t0, 1000, 0.5), t0 + 1100 * US);
        // Arrives while the first is still going out: starts when the wire is free.
        assert_eq!(s.release_with(t0 + 500 * US, 1000, 0.5), t0 + 2100 * US);
        // Arrives after the wire went idle: only its own transmit time.
        assert_eq!(s.release_with(t0 + 5000 * US, 10, 0.5), t0 + 5110 * US);
    }
}
