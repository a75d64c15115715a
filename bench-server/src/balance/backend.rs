//! One backend: its address, health, requests in flight, counters and idle connections.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::error::BalanceError;
use super::hash::fnv1a;
use super::pool::Pool;

/// A `--backend` value: `[NAME=]http://HOST:PORT`. Without a name, the balancer names
/// backends `b0`, `b1`, … in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    /// Name used in the sticky cookie and in metric labels (`None`: assigned by position).
    pub name: Option<String>,
    /// Where the backend listens.
    pub addr: SocketAddr,
}

impl FromStr for BackendSpec {
    type Err = BalanceError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| BalanceError::BadBackend {
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, url) = match value.split_once('=') {
            Some((name, url)) => (Some(name), url),
            None => (None, value),
        };
        if let Some(name) = name {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(bad("the name must be letters, digits, '-' or '_'"));
            }
        }
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("expected http://HOST:PORT (https is not supported)"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('/') {
            return Err(bad("a backend URL cannot have a path"));
        }
        let addr = authority
            .to_socket_addrs()
            .map_err(|e| bad(&format!("cannot resolve {authority:?}: {e}")))?
            .next()
            .ok_or_else(|| bad("the host resolves to no address"))?;
        Ok(BackendSpec {
            name: name.map(str::to_owned),
            addr,
        })
    }
}

/// Counters of one backend, exported on the admin port.
#[derive(Debug, Default)]
pub struct BackendStats {
    /// Requests sent to this backend (retries included).
    pub requests: AtomicU64,
    /// TCP connects that failed.
    pub connect_errors: AtomicU64,
    /// Requests that failed after they were sent (the client got a 502).
    pub upstream_errors: AtomicU64,
    /// Requests retried on another backend after a failed connect to this one.
    pub retries: AtomicU64,
    /// Pinned clients (sticky cookie or session hash) moved away because this one was down.
    pub failovers: AtomicU64,
    /// Health-check transitions to down.
    pub went_down: AtomicU64,
}

/// A backend as the balancer sees it.
#[derive(Debug)]
pub struct Backend {
    name: String,
    name_hash: u64,
    addr: SocketAddr,
    up: AtomicBool,
    in_flight: Arc<AtomicUsize>,
    /// Its counters.
    pub stats: BackendStats,
    /// Idle keep-alive connections to it.
    pub pool: Pool,
}

impl Backend {
    /// A backend from its spec; healthy until a check says otherwise.
    pub fn new(spec: BackendSpec) -> Backend {
        let name = spec
            .name
            .unwrap_or_else(|| format!("b{}", spec.addr.port()));
        Backend {
            name_hash: fnv1a(name.as_bytes()),
            name,
            addr: spec.addr,
            up: AtomicBool::new(true),
            in_flight: Arc::new(AtomicUsize::new(0)),
            stats: BackendStats::default(),
            pool: Pool::new(spec.addr),
        }
    }

    /// Its name (cookie value, metric label).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn name_hash(&self) -> u64 {
        self.name_hash
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it takes requests.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Takes it out of (false) or puts it back into (true) rotation; returns the old state.
    pub fn set_up(&self, up: bool) -> bool {
        let was = self.up.swap(up, Ordering::Relaxed);
        if was && !up {
            self.stats.went_down.fetch_add(1, Ordering::Relaxed);
            self.pool.clear();
        }
        was
    }

    /// Requests in flight (sent, response body not yet finished).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn start_request(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(&self.in_flight))
    }
}

/// One request in flight on a backend; decrements the count when dropped.
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Backends with names filled in: position-named (`b0`, `b1`, …) where none was given.
pub fn build_backends(specs: Vec<BackendSpec>) -> Result<Vec<Backend>, BalanceError> {
    if specs.is_empty() {
        return Err(BalanceError::Backends(
            "at least one backend is needed".into(),
        ));
    }
    let backends: Vec<Backend> = specs
        .into_iter()
        .enumerate()
        .map(|(i, mut spec)| {
            spec.name.get_or_insert_with(|| format!("b{i}"));
            Backend::new(spec)
        })
        .collect();
    for (i, b) in backends.iter().enumerate() {
        if backends[..i].iter().any(|other| other.name == b.name) {
            return Err(BalanceError::Backends(format!(
                "two backends are named {:?}",
                b.name
            )));
        }
    }
    Ok(backends)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_named_and_unnamed_backends() {
        let spec: BackendSpec = "r0=http://127.0.0.1:8080".parse().unwrap();
        assert_eq!(spec.name.as_deref(), Some("r0"));
        assert_eq!(spec.addr, "127.0.0.1:8080".parse().unwrap());
        let spec: BackendSpec = "http://127.0.0.1:9/".parse().unwrap();
        assert_eq!(spec.name, None);
    }

    #[test]
    fn refuses_bad_backends_naming_the_value() {
        for bad in [
            "https://127.0.0.1:1",
            "127.0.0.1:1",
            "a b=http://127.0.0.1:1",
            "http://127.0.0.1:1/x",
        ] {
            let err = bad.parse::<BackendSpec>().unwrap_err().to_string();
            assert!(err.starts_with("--backend"), "{err}");
            assert!(err.contains(bad), "{err}");
        }
        let dup = vec![
            "x=http://127.0.0.1:1".parse().unwrap(),
            "x=http://127.0.0.1:2".parse().unwrap(),
        ];
        assert!(build_backends(dup)
            .unwrap_err()
            .to_string()
            .contains("\"x\""));
        assert!(build_backends(vec![]).is_err());
    }
}
