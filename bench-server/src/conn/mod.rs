//! The hardened HTTP/1 accept loop shared by replicas (`serve`), the balancer's proxy and
//! admin ports (`balance`) and the function pool's ports (`functions`), against clients
//! that abuse time or resources:
//!
//! * [`limits`] — the timeouts and limits (`--header-read-timeout`, `--keepalive-timeout`,
//!   `--max-connections`, `--max-uri-bytes`, `--max-header-bytes`, `--max-headers`) and the
//!   connection limit derived from the descriptor limit;
//! * [`activity`] — what a connection is doing (idle, receiving a head, busy);
//! * [`watchdog`] — the header-read and keep-alive timeouts enforced on that activity;
//! * [`head`] — request-line and header limits checked before routing;
//! * [`refusal`] — the JSON refusals and the canned `503 too_many_connections`;
//! * [`stats`] — counters, rendered into each process's `/metrics`;
//! * [`accept`] — the loop itself.

pub mod accept;
pub mod activity;
pub mod head;
pub mod limits;
pub mod refusal;
pub mod stats;
pub mod watchdog;

use std::sync::Arc;

use hyper::header::{HeaderName, HeaderValue};

pub use accept::{serve, DRAIN_TIMEOUT};
pub use limits::{BadLimit, ConnLimits};
pub use stats::{CloseReason, ConnStats, Rejection};

/// One server's limits, its resolved connection limit and its counters.
#[derive(Debug, Clone)]
pub struct Hardening {
    /// The limits.
    pub limits: ConnLimits,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Counters.
    pub stats: Arc<ConnStats>,
    /// A header added to the accept loop's own answers (a replica's `X-Replica`).
    pub stamp: Option<(HeaderName, HeaderValue)>,
}

impl Hardening {
    /// `limits` for a server whose connections cost `fds_per_connection` descriptors each
    /// (1 for a replica, 2 for a proxy: the client's and the backend's).
    pub fn new(limits: ConnLimits, fds_per_connection: u64) -> Hardening {
        Hardening {
            limits,
            max_connections: limits.max_connections(fds_per_connection),
            stats: Arc::new(ConnStats::default()),
            stamp: None,
        }
    }

    /// The same, adding `name: value` to the loop's own answers.
    pub fn with_stamp(mut self, name: HeaderName, value: HeaderValue) -> Hardening {
        self.stamp = Some((name, value));
        self
    }
}
