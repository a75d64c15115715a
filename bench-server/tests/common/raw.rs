//! HTTP/1.1 spoken by hand over TCP, to send what a well-behaved client would not.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Bound of every wait on a server (generous: only reached when something is broken).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A response read off the wire.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The head, lower-cased.
    pub head: String,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Reads one response (with a `Content-Length` body) from `stream`.
pub async fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let read = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                if buf.len() >= end + 4 + length {
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into();
                    let status = head.split(' ').nth(1)?.parse().ok()?;
                    return Some(Answer { status, head, body });
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    read.ok().flatten()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends `request` on a new connection and reads the answer.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_answer(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no answer from {addr}"))
}

/// `GET path` on a new connection that closes after it.
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    let request = format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
    exchange(addr, request.as_bytes()).await
}

/// Waits until the server closes `stream` (EOF or reset); `None` past [`PATIENCE`].
pub async fn closed(stream: &mut TcpStream) -> Option<()> {
    let mut sink = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

/// The `/metrics` page at `addr`.
pub async fn metrics(addr: SocketAddr) -> String {
    let answer = get(addr, "/metrics").await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body
}

/// The value of the series whose line starts with `series` (name and labels).
pub fn metric(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{page}"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

/// Requests a replica has routed, over all routes but `/metrics` and `/healthz`.
pub fn routed(page: &str) -> u64 {
    page.lines()
        .filter(|line| line.starts_with("authbench_http_requests_total{"))
        .filter(|line| !line.contains("route=\"/metrics\"") && !line.contains("route=\"/healthz\""))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}
