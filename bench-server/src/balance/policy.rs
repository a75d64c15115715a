//! Load-balancing policies and the choice of a backend for one request.
//!
//! * `round-robin` — the next healthy backend in turn;
//! * `least-conn` — the healthy backend with the fewest requests in flight (ties go round
//!   robin);
//! * `sticky-cookie` — the backend named by the balancer's own `SERVERID` cookie, inserted on
//!   the first response (see [`super::cookie`]); round robin for new clients;
//! * `hash-session` — rendezvous hash of the `sid` session cookie over the healthy backends,
//!   so that only the sessions of a backend that goes down move; round robin without `sid`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub use authbench_contract::policy::Policy;

use super::backend::Backend;
use super::hash::fnv1a;

/// Picks backends; holds the round-robin cursor.
#[derive(Debug, Default)]
pub struct Picker {
    next: AtomicUsize,
}

impl Picker {
    /// The next healthy backend in turn, skipping `except`.
    pub fn round_robin(&self, backends: &[Arc<Backend>], except: Option<usize>) -> Option<usize> {
        let n = backends.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| Some(i) != except && backends[i].is_up())
    }

    /// The healthy backend with the fewest requests in flight, skipping `except`; among
    /// equals, the first from a rotating start.
    pub fn least_conn(&self, backends: &[Arc<Backend>], except: Option<usize>) -> Option<usize> {
        let n = backends.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| (start + k) % n)
            .filter(|&i| Some(i) != except && backends[i].is_up())
            .min_by_key(|&i| backends[i].in_flight())
    }

    /// The healthy backend with the highest rendezvous score for `key`, skipping `except`.
    pub fn hash(
        &self,
        backends: &[Arc<Backend>],
        key: &str,
        except: Option<usize>,
    ) -> Option<usize> {
        let key_hash = fnv1a(key.as_bytes());
        (0..backends.len())
            .filter(|&i| Some(i) != except && backends[i].is_up())
            .max_by_key(|&i| mix(key_hash ^ backends[i].name_hash()))
    }

    /// The backend `key` hashes to when every backend is up (its "home").
    pub fn hash_home(&self, backends: &[Arc<Backend>], key: &str) -> usize {
        let key_hash = fnv1a(key.as_bytes());
        (0..backends.len())
            .max_by_key(|&i| mix(key_hash ^ backends[i].name_hash()))
            .unwrap_or(0)
    }
}

/// splitmix64 finaliser: spreads the combined key/backend hash.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::balance::backend::BackendSpec;

    fn backends(n: usize) -> Vec<Arc<Backend>> {
        (0..n)
            .map(|i| {
                let spec: BackendSpec = format!("b{i}=http://127.0.0.1:{}", 1000 + i)
                    .parse()
                    .unwrap();
                Arc::new(Backend::new(spec))
            })
            .collect()
    }

    #[test]
    fn policies_round_trip_through_their_names() {
        for p in Policy::ALL {
            assert_eq!(p.as_str().parse::<Policy>().unwrap(), p);
        }
        let err = "sticky".parse::<Policy>().unwrap_err();
        assert!(err.contains("\"sticky\""), "{err}");
    }

    #[test]
    fn round_robin_skips_down_and_excluded_backends() {
        let b = backends(3);
        let p = Picker::default();
        let picks: Vec<_> = (0..6).map(|_| p.round_robin(&b, None).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        b[1].set_up(false);
        assert!((0..6).all(|_| p.round_robin(&b, Some(0)) == Some(2)));
        b[2].set_up(false);
        assert_eq!(p.round_robin(&b, Some(0)), None);
    }

    #[test]
    fn least_conn_prefers_the_idle_backend() {
        let b = backends(3);
        let p = Picker::default();
        let _g0 = b[0].start_request();
        let _g2 = b[2].start_request();
        assert!((0..5).all(|_| p.least_conn(&b, None) == Some(1)));
    }

    #[test]
    fn hash_is_stable_and_moves_only_the_keys_of_a_down_backend() {
        let b = backends(3);
        let p = Picker::default();
        let keys: Vec<String> = (0..300).map(|i| format!("session-{i}")).collect();
        let before: Vec<_> = keys.iter().map(|k| p.hash(&b, k, None).unwrap()).collect();
        for i in 0..3 {
            let share = before.iter().filter(|&&x| x == i).count();
            assert!(
                (60..=140).contains(&share),
                "backend {i} got {share} of 300"
            );
        }
        b[1].set_up(false);
        for (k, &was) in keys.iter().zip(&before) {
            let now = p.hash(&b, k, None).unwrap();
            if was != 1 {
                assert_eq!(now, was, "a key of a healthy backend moved");
            } else {
                assert_ne!(now, 1);
            }
        }
    }
}
