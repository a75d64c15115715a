//! Waiting until a part answers `GET /healthz`, bounded.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use super::error::ClusterError;
use crate::balance::health::check_once;

/// The socket address of an `http://HOST:PORT` URL.
pub fn addr_of(url: &str) -> Option<SocketAddr> {
    let authority = url.strip_prefix("http://")?.trim_end_matches('/');
    authority.to_socket_addrs().ok()?.next()
}

/// Polls `url`/healthz until it answers 200, for at most `timeout`.
pub async fn wait_healthy(name: &str, url: &str, timeout: Duration) -> Result<(), ClusterError> {
    let unhealthy = |last_error: String| ClusterError::Unhealthy {
        name: name.to_owned(),
        url: url.to_owned(),
        timeout,
        last_error,
    };
    let addr = addr_of(url).ok_or_else(|| unhealthy("not an http://HOST:PORT URL".into()))?;
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check_once(addr, Duration::from_millis(500)).await {
            Ok(()) => return Ok(()),
            Err(reason) => reason,
        };
        if Instant::now() >= deadline {
            return Err(unhealthy(last));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
