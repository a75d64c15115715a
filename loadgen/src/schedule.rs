//! The open-loop schedule: when each request is *meant* to be sent.
//!
//! A pure function of the stages, so it is tested without a clock. The engine sends request
//! `k` at `start + offset(k)` whether or not earlier responses have arrived, and times its
//! latency from that intended instant: a stalled server then shows up in the percentiles
//! instead of silently slowing the load down (coordinated omission).

use std::time::Duration;

use crate::plan::Stage;

/// Iterates the intended send offsets of an open-loop run.
#[derive(Debug, Clone)]
pub struct Schedule {
    stages: Vec<Stage>,
    stage: usize,
    stage_start: f64,
    /// Cumulative requests at the start of the current stage (fractional).
    stage_count: f64,
    prev_rate: f64,
    next: u64,
}

impl Schedule {
    /// A schedule over `stages`, starting with request 0 at offset 0.
    pub fn new(stages: &[Stage]) -> Schedule {
        Schedule {
            stages: stages.to_vec(),
            stage: 0,
            stage_start: 0.0,
            stage_count: 0.0,
            prev_rate: 0.0,
            next: 0,
        }
    }

    /// Number of requests the whole schedule sends.
    pub fn total(stages: &[Stage]) -> u64 {
        let mut prev = 0.0;
        let mut total = 0.0;
        for s in stages {
            let start = if s.ramp { prev } else { s.rate };
            total += (start + s.rate) / 2.0 * s.length.as_secs_f64();
            prev = s.rate;
        }
        // Requests k = 0, 1, … are sent while k < total.
        total.ceil() as u64
    }
}

impl Schedule {
    /// The arrivals `(k, offset)` of the whole schedule that `shard` sends (`k mod N = I`),
    /// or all of them without a shard; `k` is the whole schedule's request index.
    pub fn shard(
        self,
        shard: Option<crate::shard::Shard>,
    ) -> impl Iterator<Item = (u64, Duration)> + Send {
        (0u64..)
            .zip(self)
            .filter(move |(k, _)| shard.is_none_or(|s| s.owns(*k)))
    }
}

impl Iterator for Schedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let k = self.next as f64;
        loop {
            let stage = self.stages.get(self.stage)?;
            let length = stage.length.as_secs_f64();
            let a = if stage.ramp {
                self.prev_rate
            } else {
                stage.rate
            };
            let b = stage.rate;
            let area = (a + b) / 2.0 * length;
            let n = k - self.stage_count;
            if n < area {
                let t = if (b - a).abs() < f64::EPSILON {
                    n / a
                } else {
                    // Solve a·t + (b − a)/(2L)·t² = n for t in [0, L].
                    let slope = (b - a) / length;
                    (-a + (a * a + 2.0 * slope * n).max(0.0).sqrt()) / slope
                };
                self.next += 1;
                return Some(Duration::from_secs_f64(
                    self.stage_start + t.clamp(0.0, length),
                ));
            }
            self.stage_start += length;
            self.stage_count += area;
            self.prev_rate = b;
            self.stage += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(secs: u64, rate: f64, ramp: bool) -> Stage {
        Stage {
            length: Duration::from_secs(secs),
            rate,
            ramp,
        }
    }

    #[test]
    fn constant_rate_hits_the_count_and_spacing() {
        let stages = [stage(10, 1000.0, false)];
        let offsets: Vec<Duration> = Schedule::new(&stages).collect();
        assert_eq!(offsets.len() as u64, Schedule::total(&stages));
        let expected = 10_000.0;
        assert!((offsets.len() as f64 - expected).abs() / expected < 0.01);
        assert_eq!(offsets[0], Duration::ZERO);
        assert_eq!(offsets[1], Duration::from_millis(1));
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        assert!(*offsets.last().unwrap() < Duration::from_secs(10));
    }

    #[test]
    fn ramps_integrate_the_rate() {
        // 0 → 1000 rps over 10 s sends 5,000 requests, more of them late than early.
        let stages = [stage(10, 1000.0, true), stage(5, 1000.0, false)];
        let offsets: Vec<Duration> = Schedule::new(&stages).collect();
        let total = offsets.len() as f64;
        assert!((total - 10_000.0).abs() / 10_000.0 < 0.01, "{total}");
        let first_half = offsets
            .iter()
            .filter(|t| **t < Duration::from_secs(5))
            .count() as f64;
        assert!((first_half - 1250.0).abs() / 1250.0 < 0.01, "{first_half}");
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn shards_together_send_the_whole_schedule() {
        use crate::shard::Shard;
        let stages = [stage(2, 300.0, false), stage(2, 900.0, true)];
        let whole: Vec<(u64, Duration)> = Schedule::new(&stages).shard(None).collect();
        let mut merged: Vec<(u64, Duration)> = (0..3)
            .flat_map(|index| Schedule::new(&stages).shard(Some(Shard { index, count: 3 })))
            .collect();
        merged.sort();
        assert_eq!(merged, whole);
        // Interleaved: shard 1's first send is the whole schedule's second.
        let first = Schedule::new(&stages)
            .shard(Some(Shard { index: 1, count: 3 }))
            .next();
        assert_eq!(first, Some(whole[1]));
    }

    #[test]
    fn a_zero_rate_stage_is_a_pause() {
        let stages = [
            stage(1, 100.0, false),
            stage(2, 0.0, false),
            stage(1, 100.0, false),
        ];
        let offsets: Vec<Duration> = Schedule::new(&stages).collect();
        assert_eq!(offsets.len(), 200);
        assert!(offsets
            .iter()
            .all(|t| *t < Duration::from_secs(1) || *t >= Duration::from_secs(3)));
    }
}
