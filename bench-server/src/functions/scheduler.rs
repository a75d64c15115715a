//! The scheduling decisions of the pool, with no processes, sockets or clock of its own:
//! which instance takes a request, when to start one, when to throttle, which idle ones to
//! stop. Every call takes `now`, so the rules are tested with made-up instants.
//!
//! Rules (see [`super`] for the whole model):
//! * a request takes a free slot (`in_flight < concurrency`) on a **ready** instance, the
//!   most recently used one first, so that the others stay idle and age out;
//! * with no free slot and fewer than `max_instances` instances (starting ones counted), a new
//!   instance is started for that request alone; it holds one slot from the start;
//! * otherwise the request is throttled;
//! * an instance with nothing in flight for `idle_timeout` since its last use expires.

use std::time::{Duration, Instant};

/// An instance's number: `f{id}`, counted from 0 and never reused within a run.
pub type InstanceId = u64;

/// The limits the scheduler enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most instances at once, starting ones included.
    pub max_instances: usize,
    /// Requests in flight on one instance at once.
    pub concurrency: usize,
    /// Time without a request in flight after which an instance is stopped.
    pub idle_timeout: Duration,
}

/// Where an instance is in its life, as far as scheduling goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Spawned for the request that holds its first slot; not ready yet.
    Starting,
    /// Answering requests (or waiting for some).
    Ready,
}

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it to this ready instance; one of its slots is now taken.
    Warm(InstanceId),
    /// Start this new instance and wait for it; its first slot is taken.
    Cold(InstanceId),
    /// Every instance is busy and no more may be started.
    Throttled,
}

/// How many instances are in each state (for the `instances{state}` gauge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Ready, nothing in flight.
    pub idle: usize,
    /// Ready, at least one request in flight.
    pub busy: usize,
    /// Not ready yet.
    pub starting: usize,
}

#[derive(Debug, Clone)]
struct Entry {
    id: InstanceId,
    phase: Phase,
    in_flight: usize,
    last_used: Instant,
}

/// The instances the pool counts, and the decisions above.
#[derive(Debug)]
pub struct Scheduler {
    limits: Limits,
    next_id: InstanceId,
    entries: Vec<Entry>,
}

impl Scheduler {
    /// No instances yet.
    pub fn new(limits: Limits) -> Scheduler {
        Scheduler {
            limits,
            next_id: 0,
            entries: Vec::new(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Decides where a request arriving at `now` goes, and takes its slot.
    pub fn acquire(&mut self, now: Instant) -> Decision {
        let concurrency = self.limits.concurrency;
        let warm = self
            .entries
            .iter_mut()
            .filter(|e| e.phase == Phase::Ready && e.in_flight < concurrency)
            .max_by_key(|e| (e.last_used, e.id));
        if let Some(entry) = warm {
            entry.in_flight += 1;
            entry.last_used = now;
            return Decision::Warm(entry.id);
        }
        if self.entries.len() >= self.limits.max_instances {
            return Decision::Throttled;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.entries.push(Entry {
            id,
            phase: Phase::Starting,
            in_flight: 1,
            last_used: now,
        });
        Decision::Cold(id)
    }

    /// A starting instance became ready; false when it is no longer counted (stopped).
    pub fn ready(&mut self, id: InstanceId, now: Instant) -> bool {
        match self.entry(id) {
            Some(entry) => {
                entry.phase = Phase::Ready;
                entry.last_used = now;
                true
            }
            None => false,
        }
    }

    /// A request on `id` is over (its response fully sent, or its client gone).
    pub fn release(&mut self, id: InstanceId, now: Instant) {
        if let Some(entry) = self.entry(id) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            entry.last_used = now;
        }
    }

    /// Stops counting `id` (stopped, died, failed to start); false if it was not counted.
    pub fn remove(&mut self, id: InstanceId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id != id);
        self.entries.len() != before
    }

    /// Removes and returns the ready instances idle for `idle_timeout` or longer at `now`.
    pub fn take_expired(&mut self, now: Instant) -> Vec<InstanceId> {
        let timeout = self.limits.idle_timeout;
        let expired: Vec<InstanceId> = self
            .entries
            .iter()
            .filter(|e| {
                e.phase == Phase::Ready
                    && e.in_flight == 0
                    && now.saturating_duration_since(e.last_used) >= timeout
            })
            .map(|e| e.id)
            .collect();
        self.entries.retain(|e| !expired.contains(&e.id));
        expired
    }

    /// When the next idle instance expires, if any is idle.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter(|e| e.phase == Phase::Ready && e.in_flight == 0)
            .map(|e| e.last_used + self.limits.idle_timeout)
            .min()
    }

    /// Removes and returns every instance (shutdown).
    pub fn take_all(&mut self) -> Vec<InstanceId> {
        self.entries.drain(..).map(|e| e.id).collect()
    }

    /// Instances by state.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for e in &self.entries {
            match (e.phase, e.in_flight) {
                (Phase::Starting, _) => counts.starting += 1,
                (Phase::Ready, 0) => counts.idle += 1,
                (Phase::Ready, _) => counts.busy += 1,
            }
        }
        counts
    }

    /// The phase and requests in flight of `id`, while counted.
    pub fn state_of(&self, id: InstanceId) -> Option<(Phase, usize)> {
        self.entries
            .iter()
            .find(|e| e.id == id)
            .map(|e| (e.phase, e.in_flight))
    }

    fn entry(&mut self, id: InstanceId) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(10);

    fn scheduler(max_instances: usize, concurrency: usize) -> Scheduler {
        Scheduler::new(Limits {
            max_instances,
            concurrency,
            idle_timeout: IDLE,
        })
    }

    fn at(base: Instant, millis: u64) -> Instant {
        base + Duration::from_millis(millis)
    }

    #[test]
    fn first_request_starts_an_instance_and_the_next_reuses_it() {
        let t = Instant::now();
        let mut s = scheduler(10, 1);
        assert_eq!(s.acquire(t), Decision::Cold(0));
        assert_eq!(
            s.counts(),
            Counts {
                starting: 1,
                ..Counts::default()
            }
        );
        assert!(s.ready(0, at(t, 5)));
        assert_eq!(s.state_of(0), Some((Phase::Ready, 1)));
        s.release(0, at(t, 6));
        assert_eq!(
            s.counts(),
            Counts {
                idle: 1,
                ..Counts::default()
            }
        );
        assert_eq!(s.acquire(at(t, 7)), Decision::Warm(0));
    }

    #[test]
    fn a_starting_instance_takes_no_other_request() {
        let t = Instant::now();
        let mut s = scheduler(10, 4);
        assert_eq!(s.acquire(t), Decision::Cold(0));
        // Free slots, but not ready: the next request starts its own instance.
        assert_eq!(s.acquire(t), Decision::Cold(1));
        assert!(s.ready(0, t));
        assert_eq!(s.acquire(t), Decision::Warm(0));
    }

    #[test]
    fn concurrency_is_the_number_of_slots_per_instance() {
        let t = Instant::now();
        let mut s = scheduler(10, 2);
        assert_eq!(s.acquire(t), Decision::Cold(0));
        s.ready(0, t);
        assert_eq!(s.acquire(t), Decision::Warm(0));
        assert_eq!(s.state_of(0), Some((Phase::Ready, 2)));
        assert_eq!(s.acquire(t), Decision::Cold(1));
    }

    #[test]
    fn throttles_at_max_instances_counting_starting_ones() {
        let t = Instant::now();
        let mut s = scheduler(2, 1);
        assert_eq!(s.acquire(t), Decision::Cold(0));
        assert_eq!(s.acquire(t), Decision::Cold(1));
        assert_eq!(s.acquire(t), Decision::Throttled);
        s.ready(0, t);
        assert_eq!(s.acquire(t), Decision::Throttled, "f0's one slot is taken");
        s.release(0, at(t, 1));
        assert_eq!(s.acquire(at(t, 2)), Decision::Warm(0));
        // A removed instance frees its place; ids are never reused.
        assert!(s.remove(1));
        assert!(!s.remove(1));
        assert_eq!(s.acquire(at(t, 3)), Decision::Cold(2));
    }

    #[test]
    fn prefers_the_most_recently_used_warm_instance() {
        let t = Instant::now();
        let mut s = scheduler(10, 1);
        for id in 0..3 {
            assert_eq!(s.acquire(t), Decision::Cold(id));
            s.ready(id, t);
        }
        s.release(1, at(t, 10));
        s.release(0, at(t, 30));
        s.release(2, at(t, 20));
        assert_eq!(s.acquire(at(t, 40)), Decision::Warm(0));
        assert_eq!(s.acquire(at(t, 41)), Decision::Warm(2));
        assert_eq!(s.acquire(at(t, 42)), Decision::Warm(1));
        assert_eq!(s.acquire(at(t, 43)), Decision::Cold(3));
    }

    #[test]
    fn idle_instances_expire_after_the_timeout_and_busy_ones_never() {
        let t = Instant::now();
        let mut s = scheduler(10, 1);
        for id in 0..3 {
            assert_eq!(s.acquire(t), Decision::Cold(id));
            s.ready(id, t);
        }
        s.release(0, at(t, 100));
        s.release(1, at(t, 500));
        // f2 stays busy, f0 is idle since 100 ms, f1 since 500 ms.
        assert_eq!(s.next_expiry(), Some(at(t, 100) + IDLE));
        assert!(s
            .take_expired(at(t, 100) + IDLE - Duration::from_millis(1))
            .is_empty());
        assert_eq!(s.take_expired(at(t, 100) + IDLE), vec![0]);
        assert_eq!(s.next_expiry(), Some(at(t, 500) + IDLE));
        assert_eq!(s.take_expired(at(t, 100_000)), vec![1]);
        assert_eq!(s.next_expiry(), None);
        assert_eq!(s.state_of(2), Some((Phase::Ready, 1)));
        // A starting instance never expires either.
        assert_eq!(s.acquire(t), Decision::Cold(3));
        assert!(s.take_expired(at(t, 1_000_000)).is_empty());
        assert_eq!(
            s.counts(),
            Counts {
                idle: 0,
                busy: 1,
                starting: 1
            }
        );
    }

    #[test]
    fn use_postpones_expiry_and_release_of_a_removed_instance_is_ignored() {
        let t = Instant::now();
        let mut s = scheduler(10, 1);
        s.acquire(t);
        s.ready(0, t);
        s.release(0, t);
        assert_eq!(s.acquire(at(t, 9_000)), Decision::Warm(0));
        s.release(0, at(t, 9_500));
        assert!(s.take_expired(at(t, 10_000)).is_empty());
        assert_eq!(s.take_all(), vec![0]);
        s.release(0, at(t, 20_000));
        assert!(!s.ready(0, at(t, 20_000)));
        assert_eq!(s.counts(), Counts::default());
    }
}
