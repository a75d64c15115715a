//! Active health checks: `GET /healthz` on a new connection to every backend, every
//! interval. A backend is taken out after [`FALL`] failed checks in a row (or at once when a
//! request's connect fails, see [`super::proxy`]) and put back after one good check.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::backend::Backend;

/// Failed checks in a row that take a backend out.
pub const FALL: u32 = 2;

/// Starts one checking task per backend; abort the handles to stop them.
pub fn spawn_checks(backends: &[Arc<Backend>], interval: Duration) -> Vec<JoinHandle<()>> {
    backends
        .iter()
        .map(|backend| tokio::spawn(check_loop(Arc::clone(backend), interval)))
        .collect()
}

async fn check_loop(backend: Arc<Backend>, interval: Duration) {
    let timeout = interval.clamp(Duration::from_millis(500), Duration::from_secs(2));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0u32;
    loop {
        ticker.tick().await;
        match check_once(backend.addr(), timeout).await {
            Ok(()) => {
                failures = 0;
                if !backend.set_up(true) {
                    tracing::info!(backend = backend.name(), "backend up: health check passed");
                }
            }
            Err(reason) => {
                failures += 1;
                if failures >= FALL && backend.set_up(false) {
                    tracing::warn!(backend = backend.name(), %reason, "backend down: health check failed");
                }
            }
        }
    }
}

/// One check: `GET /healthz` must answer 200 within `timeout`.
pub async fn check_once(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, get_healthz(addr)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

async fn get_healthz(addr: SocketAddr) -> Result<(), String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let conn = tokio::spawn(conn);
    let request = Request::get("/healthz")
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("request: {e}"))?;
    let result = match sender.send_request(request).await {
        Ok(response) if response.status() == StatusCode::OK => Ok(()),
        Ok(response) => Err(format!("status {}", response.status())),
        Err(e) => Err(format!("request: {e}")),
    };
    conn.abort();
    result
}
