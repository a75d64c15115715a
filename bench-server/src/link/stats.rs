//! What a link counted: connections, bytes and chunks per direction, and the one-way delay
//! each chunk actually got (arrival to the end of its write), as an HDR histogram in µs.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

/// A direction of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client → upstream.
    Up,
    /// Upstream → client.
    Down,
}

impl Direction {
    /// Its label in metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// Counters of one direction.
#[derive(Debug, Default)]
pub struct DirectionStats {
    /// Bytes forwarded.
    pub bytes: AtomicU64,
    /// Chunks forwarded (one read, released as one write).
    pub chunks: AtomicU64,
}

/// Everything a link counts.
#[derive(Debug)]
pub struct LinkStats {
    /// Connections accepted and forwarded.
    pub connections: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// Connections closed at once: refused by the toxic.
    pub refused: AtomicU64,
    /// Connections closed at once: over `--max-connections`.
    pub over_limit: AtomicU64,
    /// Upstream connects that failed or timed out.
    pub connect_errors: AtomicU64,
    /// Connections reset by the reset toxic.
    pub resets: AtomicU64,
    /// Client → upstream.
    pub up: DirectionStats,
    /// Upstream → client.
    pub down: DirectionStats,
    delay: Mutex<Histogram<u64>>,
}

impl Default for LinkStats {
    fn default() -> LinkStats {
        LinkStats {
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            over_limit: AtomicU64::new(0),
            connect_errors: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            up: DirectionStats::default(),
            down: DirectionStats::default(),
            delay: Mutex::new(new_histogram()),
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 100 s at 3 significant digits; cannot fail with these bounds.
    Histogram::new_with_bounds(1, 100_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

impl LinkStats {
    /// The counters of `direction`.
    pub fn direction(&self, direction: Direction) -> &DirectionStats {
        match direction {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }

    /// Records a chunk of `bytes` forwarded in `direction` that spent `delay` in the link.
    pub fn forwarded(&self, direction: Direction, bytes: usize, delay: Duration) {
        let d = self.direction(direction);
        d.bytes.fetch_add(bytes as u64, Relaxed);
        d.chunks.fetch_add(1, Relaxed);
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX).max(1);
        self.delay
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .saturating_record(us);
    }

    /// The achieved one-way delay at these quantiles (0–1), µs, and the chunk count.
    pub fn delay_quantiles(&self, quantiles: &[f64]) -> (Vec<u64>, u64) {
        let h = self.delay.lock().unwrap_or_else(|e| e.into_inner());
        (
            quantiles.iter().map(|q| h.value_at_quantile(*q)).collect(),
            h.len(),
        )
    }

    /// Forgets the recorded delays (e.g. after a warm-up).
    pub fn reset_delays(&self) {
        self.delay.lock().unwrap_or_else(|e| e.into_inner()).reset();
    }
}
