//! Keep-alive connections to one backend: idle HTTP/1 senders kept for reuse, and new
//! connections made on demand.
//!
//! A connection goes back to the pool only once its response body has been read to the end
//! (see [`super::body`]), so a sender taken from the pool is free for the next request.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::error::UpstreamError;

/// A request sender on one HTTP/1 connection to a backend.
pub type Sender = http1::SendRequest<Incoming>;

/// Idle connections kept per backend; beyond this, finished connections are closed.
const MAX_IDLE: usize = 1024;

/// Longest time a connection waits in the pool before it is dropped instead of reused.
/// Shorter than a replica's default `--keepalive-timeout` (75 s), so that the pool retires
/// an idle connection before the backend closes it: otherwise a request could be written
/// just as the backend closes the connection, and fail.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a TCP connect to a backend may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Idle keep-alive connections to one backend.
#[derive(Debug)]
pub struct Pool {
    addr: SocketAddr,
    idle: Mutex<VecDeque<(Sender, Instant)>>,
}

impl Pool {
    /// An empty pool for `addr`.
    pub fn new(addr: SocketAddr) -> Pool {
        Pool {
            addr,
            idle: Mutex::new(VecDeque::new()),
        }
    }

    /// An idle connection that is ready for a request, or a new one. `Ok((sender, true))`
    /// when the connection was reused.
    pub async fn checkout(&self) -> Result<(Sender, bool), UpstreamError> {
        while let Some(mut sender) = self.take_idle() {
            if sender.is_ready() || sender.ready().await.is_ok() {
                return Ok((sender, true));
            }
        }
        Ok((self.connect().await?, false))
    }

    /// Returns a connection whose last response is complete.
    pub fn put(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        if idle.len() < MAX_IDLE {
            idle.push_back((sender, Instant::now()));
        }
    }

    /// Drops every idle connection (the backend went down).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.lock();
        // Oldest at the front: whatever has waited past the idle timeout goes; the most
        // recently used connection (at the back) is reused.
        let now = Instant::now();
        while idle
            .front()
            .is_some_and(|(_, since)| now.saturating_duration_since(*since) >= IDLE_TIMEOUT)
        {
            idle.pop_front();
        }
        while let Some((sender, _)) = idle.pop_back() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Sender, Instant)>> {
        // A panic while holding this lock cannot leave the Vec inconsistent.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new connection: TCP connect (bounded), `TCP_NODELAY`, HTTP/1 handshake; the
    /// connection is driven by its own task until either side closes it.
    pub async fn connect(&self) -> Result<Sender, UpstreamError> {
        let addr = self.addr;
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                return Err(UpstreamError::Connect {
                    addr,
                    reason: err.to_string(),
                })
            }
            Err(_) => {
                return Err(UpstreamError::Connect {
                    addr,
                    reason: format!("timed out after {CONNECT_TIMEOUT:?}"),
                })
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| UpstreamError::Handshake { addr, source })?;
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(%addr, cause = %err, "backend connection ended");
            }
        });
        if sender.ready().await.is_err() {
            return Err(UpstreamError::Connect {
                addr,
                reason: "connection closed right after the handshake".into(),
            });
        }
        Ok(sender)
    }
}
