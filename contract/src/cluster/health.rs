//! Health checks: one `GET /healthz` (also the built-in balancer's active check), and
//! waiting until a part answers it, bounded.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use super::error::ClusterError;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

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
