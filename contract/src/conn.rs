//! Connection hardening flags shared by `serve`, `balance` and `functions`: how long a
//! client may take to send a request head, how long an idle keep-alive connection is kept,
//! how many connections are open at once, and the size limits checked before routing.

use clap::Args;

use crate::serve::DurationArg;

/// Default `--header-read-timeout`: from the first byte of a request head to its end.
pub const DEFAULT_HEADER_READ_TIMEOUT: &str = "10s";

/// Default `--keepalive-timeout`. Longer than every pool that keeps idle connections to a
/// replica (the built-in balancer's and the function pool's 60 s, nginx's and HAProxy's
/// 60 s in the cluster configurations), so that the pool, not the server, closes an idle
/// connection and a request never races with the server's close. 75 s is nginx's default.
pub const DEFAULT_KEEPALIVE_TIMEOUT: &str = "75s";

/// Default `--max-uri-bytes`.
pub const DEFAULT_MAX_URI_BYTES: usize = 8192;

/// Default `--max-header-bytes`.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 8192;

/// Default `--max-headers`.
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// Connection timeouts and limits.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Time a client has to send a whole request head, counted from its first byte; then
    /// the connection is closed.
    #[arg(long, env = "AUTHBENCH_HEADER_READ_TIMEOUT", default_value = DEFAULT_HEADER_READ_TIMEOUT)]
    pub header_read_timeout: DurationArg,
    /// Time an open connection may wait for its next request (or its first) before it is
    /// closed. Keep it longer than the idle time of any pool in front.
    #[arg(long, env = "AUTHBENCH_KEEPALIVE_TIMEOUT", default_value = DEFAULT_KEEPALIVE_TIMEOUT)]
    pub keepalive_timeout: DurationArg,
    /// Most connections open at once; beyond, a connection gets a 503
    /// `too_many_connections` and is closed. Default: from the file-descriptor limit
    /// (raised to the hard limit at start), less 128 spare, divided by the descriptors a
    /// connection costs (1 for a replica, 2 for a proxy).
    #[arg(long, env = "AUTHBENCH_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Longest request URI; longer gets 414 `uri_too_long` before routing.
    #[arg(long, env = "AUTHBENCH_MAX_URI_BYTES", default_value_t = DEFAULT_MAX_URI_BYTES)]
    pub max_uri_bytes: usize,
    /// Largest header value (all headers: 4×); larger gets 431 `headers_too_large` before
    /// routing.
    #[arg(long, env = "AUTHBENCH_MAX_HEADER_BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,
    /// Most header fields in a request; more gets 431 `headers_too_large` before routing.
    #[arg(long, env = "AUTHBENCH_MAX_HEADERS", default_value_t = DEFAULT_MAX_HEADERS)]
    pub max_headers: usize,
}
