//! The link's fault toxics, switched on its admin port: stall (hold every byte for a
//! while), reset (RST every open connection) and refuse (close new connections at once).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The toxics in force.
#[derive(Debug, Default)]
pub struct Toxics {
    stalled_until: Mutex<Option<Instant>>,
    refusing_until: Mutex<Option<Instant>>,
}

fn until(slot: &Mutex<Option<Instant>>, now: Instant) -> Option<Instant> {
    let guard = slot.lock().unwrap_or_else(|e| e.into_inner());
    guard.filter(|t| *t > now)
}

fn set(slot: &Mutex<Option<Instant>>, value: Option<Instant>) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = value;
}

impl Toxics {
    /// Holds every byte in both directions for `duration` from `now` (bytes keep arriving
    /// and are released, in order, when the stall ends). Zero ends a stall.
    pub fn stall(&self, now: Instant, duration: Duration) {
        set(
            &self.stalled_until,
            (!duration.is_zero()).then(|| now + duration),
        );
    }

    /// Until when bytes are held, if they are at `now`.
    pub fn stalled_until(&self, now: Instant) -> Option<Instant> {
        until(&self.stalled_until, now)
    }

    /// Closes new connections with a reset for `duration` from `now`. Zero ends it.
    pub fn refuse(&self, now: Instant, duration: Duration) {
        set(
            &self.refusing_until,
            (!duration.is_zero()).then(|| now + duration),
        );
    }

    /// Whether new connections are refused at `now`.
    pub fn refusing(&self, now: Instant) -> bool {
        until(&self.refusing_until, now).is_some()
    }

    /// Ends every toxic.
    pub fn clear(&self) {
        set(&self.stalled_until, None);
        set(&self.refusing_until, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toxics_last_their_duration_on_the_given_clock() {
        let t0 = Instant::now();
        let toxics = Toxics::default();
        assert_eq!(toxics.stalled_until(t0), None);
        toxics.stall(t0, Duration::from_secs(2));
        assert_eq!(
            toxics.stalled_until(t0 + Duration::from_secs(1)),
            Some(t0 + Duration::from_secs(2))
        );
        assert_eq!(toxics.stalled_until(t0 + Duration::from_secs(2)), None);
        toxics.refuse(t0, Duration::from_secs(1));
        assert!(toxics.refusing(t0));
        assert!(!toxics.refusing(t0 + Duration::from_secs(1)));
        toxics.refuse(t0, Duration::from_secs(5));
        toxics.stall(t0, Duration::from_secs(5));
        toxics.clear();
        assert!(!toxics.refusing(t0) && toxics.stalled_until(t0).is_none());
    }
}
