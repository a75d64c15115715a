//! Errors of the balancer: bad flags, sockets that cannot be bound, backends that cannot be
//! reached.

use std::net::SocketAddr;

/// What can go wrong while configuring or running the balancer.
#[derive(Debug, thiserror::Error)]
pub enum BalanceError {
    /// A `--backend` value that is not `[NAME=]http://HOST:PORT`.
    #[error("--backend {value:?}: {reason}")]
    BadBackend {
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// No `--backend` at all, or two with the same name.
    #[error("--backend: {0}")]
    Backends(String),
    /// A duration flag that is zero or otherwise unusable.
    #[error("{flag} {value:?}: {reason}")]
    BadFlag {
        /// The flag, e.g. `--health-interval`.
        flag: &'static str,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A listening socket could not be bound.
    #[error("{flag} {addr}: cannot bind: {source}")]
    Bind {
        /// `--listen` or `--admin-listen`.
        flag: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Accepting or serving failed.
    #[error("balancer I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a request could not be handed to a backend (logged and counted, never sent to the
/// client verbatim).
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// TCP connect failed or timed out: nothing was sent, the request can be retried.
    #[error("connect to {addr} failed: {reason}")]
    Connect {
        /// The backend's address.
        addr: SocketAddr,
        /// The cause.
        reason: String,
    },
    /// The HTTP/1 handshake on a fresh connection failed.
    #[error("handshake with {addr} failed: {source}")]
    Handshake {
        /// The backend's address.
        addr: SocketAddr,
        /// The cause.
        source: hyper::Error,
    },
}
