//! Hostile clients against real processes: a replica on its own and the built-in balancer in
//! front of one. Pipelined requests are answered in order; every request-smuggling shape is
//! answered once, with nothing reaching the backend as a second request (asserted on the
//! backend's own request counter); 10,000 idle connections are held without slowing other
//! clients.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::process::{metric_sum, Process};
use common::raw;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long to wait for more bytes once a response is complete (a second response to a
/// smuggled request would come within it; the backend's counter is the real check).
const QUIET: Duration = Duration::from_millis(500);

/// One HTTP response read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    body: String,
}

/// Writes `bytes` on a fresh connection, then reads responses until the server closes or
/// stays quiet for [`QUIET`] after a complete response.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<Raw> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let complete = parse_all(&buf).1;
        let wait = if complete {
            QUIET
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(wait, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            // A reset after the answer (the server closed with unread input) ends the exchange.
            Ok(Err(_)) => break,
        }
    }
    let (responses, complete) = parse_all(&buf);
    assert!(
        complete,
        "incomplete response: {:?}",
        String::from_utf8_lossy(&buf)
    );
    responses
}

/// Every complete response in `buf` (`Content-Length` or chunked bodies), and whether the
/// buffer ends on a response boundary with at least one response.
fn parse_all(mut buf: &[u8]) -> (Vec<Raw>, bool) {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            return (out, false);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        let rest = &buf[end + 4..];
        let (body, used) = if let Some(len) = header("content-length:") {
            let len: usize = len.parse().unwrap();
            if rest.len() < len {
                return (out, false);
            }
            (rest[..len].to_vec(), len)
        } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
            match dechunk(rest) {
                Some(done) => done,
                None => return (out, false),
            }
        } else {
            (Vec::new(), 0)
        };
        out.push(Raw {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        buf = &rest[used..];
    }
    let complete = !out.is_empty();
    (out, complete)
}

/// A chunked body and the bytes it used, or `None` if it is not complete yet.
fn dechunk(mut rest: &[u8]) -> Option<(Vec<u8>, usize)> {
    let start = rest.len();
    let mut body = Vec::new();
    loop {
        let line = rest.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..line]).ok()?.trim(), 16).ok()?;
        rest = &rest[line + 2..];
        if size == 0 {
            rest = rest.strip_prefix(b"\r\n")?;
            return Some((body, start - rest.len()));
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Requests the replica has routed (its own counter, the `/metrics` scrapes and the
/// balancer's `/healthz` checks left out), in total and for routes it does not know (where a
/// smuggled `GET /smuggled` lands).
async fn served(replica: &Process) -> (f64, f64) {
    let page = raw::metrics(replica.metrics_addr()).await;
    let unknown = metric_sum(&page, "authbench_http_requests_total", &["route=\"other\""]);
    (raw::routed(&page) as f64, unknown)
}

/// Ten requests in one write, alternating a known and an unknown route, the last asking to
/// close: ten answers, in the order asked.
async fn assert_pipelined_in_order(addr: SocketAddr) {
    let mut bytes = Vec::new();
    for i in 0..10 {
        let path = if i % 2 == 0 {
            "/healthz".to_owned()
        } else {
            format!("/missing-{i}")
        };
        let close = if i == 9 { "Connection: close\r\n" } else { "" };
        bytes
            .extend_from_slice(format!("GET {path} HTTP/1.1\r\nHost: t\r\n{close}\r\n").as_bytes());
    }
    let responses = exchange(addr, &bytes).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 404, 200, 404, 200, 404, 200, 404, 200, 404],
        "{responses:?}"
    );
    assert!(responses[0].body.contains("\"ok\""), "{responses:?}");
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let replica = Process::serve("r0", &[]);
    let balancer = Process::balance(&[&replica], &[]);
    let before = served(&replica).await;
    assert_pipelined_in_order(replica.addr).await;
    assert_pipelined_in_order(balancer.addr).await;
    // The balancer forwarded each of its five unknown routes as one request.
    let after = served(&replica).await;
    assert_eq!(after.1 - before.1, 10.0);
}

/// A request that hides `GET /smuggled` after its body, framed one way or another.
fn smuggling_shapes() -> Vec<(&'static str, String)> {
    let inner = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    let chunked_then_inner = format!("0\r\n\r\n{inner}");
    let len = chunked_then_inner.len();
    let post = "POST /session/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n";
    vec![
        (
            "Content-Length then Transfer-Encoding",
            format!(
                "{post}Content-Length: {len}\r\nTransfer-Encoding: chunked\r\n\r\n{chunked_then_inner}"
            ),
        ),
        (
            "Transfer-Encoding then Content-Length",
            format!(
                "{post}Transfer-Encoding: chunked\r\nContent-Length: {len}\r\n\r\n{chunked_then_inner}"
            ),
        ),
        (
            "two different Content-Lengths",
            format!("{post}Content-Length: 5\r\nContent-Length: {len}\r\n\r\n{chunked_then_inner}"),
        ),
        (
            "Transfer-Encoding xchunked",
            format!("{post}Transfer-Encoding: xchunked\r\n\r\n{chunked_then_inner}"),
        ),
        (
            "chunked followed by identity",
            format!(
                "{post}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n{chunked_then_inner}"
            ),
        ),
        (
            "space before the colon",
            format!("{post}Transfer-Encoding : chunked\r\nContent-Length: {len}\r\n\r\n{chunked_then_inner}"),
        ),
        (
            "Transfer-Encoding on HTTP/1.0",
            format!(
                "POST /session/login HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{chunked_then_inner}"
            ),
        ),
        (
            "signed Content-Length",
            format!("{post}Content-Length: +{len}\r\n\r\n{chunked_then_inner}"),
        ),
    ]
}

#[tokio::test]
async fn every_smuggling_shape_is_answered_once_and_reaches_the_backend_at_most_once() {
    let replica = Process::serve("r0", &[]);
    let balancer = Process::balance(&[&replica], &[]);
    for (shape, bytes) in smuggling_shapes() {
        for (via, addr) in [("replica", replica.addr), ("balancer", balancer.addr)] {
            let (before, unknown_before) = served(&replica).await;
            let responses = exchange(addr, bytes.as_bytes()).await;
            let (after, unknown_after) = served(&replica).await;
            eprintln!(
                "{shape} via {via}: {:?}, backend +{}",
                responses.iter().map(|r| r.status).collect::<Vec<_>>(),
                after - before
            );
            assert_eq!(responses.len(), 1, "{shape} via {via}: {responses:?}");
            assert!(
                responses[0].status >= 400,
                "{shape} via {via}: {responses:?}"
            );
            assert!(
                after - before <= 1.0,
                "{shape} via {via}: {before} → {after}"
            );
            assert_eq!(
                unknown_after, unknown_before,
                "{shape} via {via}: the smuggled request reached the backend"
            );
        }
    }
}

/// Latencies of `n` sequential `GET /healthz` on `client`, sorted.
async fn healthz_latencies(client: &reqwest::Client, url: &str, n: usize) -> Vec<Duration> {
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        took.push(start.elapsed());
    }
    took.sort();
    took
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99).div_ceil(100) - 1]
}

/// Raises this process's open-file soft limit to its hard limit; the number of idle
/// connections the test can open (two descriptors each when the server is local).
fn idle_connections_possible() -> usize {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    usize::try_from(soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(512)
}

/// Opens `n` idle connections to `target`, a batch at a time, each batch accepted by the
/// server (its socket count caught up) before the next: an overflowing accept queue
/// drops the handshake's last ACK, and the client would count a connection the server has
/// not accepted yet.
async fn hold_idle_connections(target: &Process, n: usize) -> Vec<TcpStream> {
    let base = target.open_sockets();
    let mut held = Vec::with_capacity(n);
    while held.len() < n {
        let batch = (n - held.len()).min(200);
        let mut connects = tokio::task::JoinSet::new();
        for _ in 0..batch {
            connects.spawn(TcpStream::connect(target.addr));
        }
        while let Some(stream) = connects.join_next().await {
            held.push(stream.unwrap().expect("idle connection opens"));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while target.open_sockets() < base + held.len() {
            assert!(
                Instant::now() < deadline,
                "the server accepted {} of {} connections",
                target.open_sockets().saturating_sub(base),
                held.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    held
}

#[tokio::test]
async fn ten_thousand_idle_connections_do_not_slow_other_clients() {
    let n = 10_000.min(idle_connections_possible());
    assert!(n >= 1_000, "open-file limit too low for this test: {n}");
    let replica = Process::serve("r0", &[]);
    // The balancer's default limit is half the descriptor limit (two per proxied
    // connection); idle connections open none to the backend, so room for all of them.
    let limit = (n + 100).to_string();
    let balancer = Process::balance(&[&replica], &["--max-connections", &limit]);
    for (name, target) in [("replica", &replica), ("balancer", &balancer)] {
        let url = target.url("/healthz");
        // One keep-alive client throughout, so the server's socket count moves only with
        // the idle connections.
        let client = reqwest::Client::new();
        let quiet = healthz_latencies(&client, &url, 300).await;
        let held = hold_idle_connections(target, n).await;
        let crowded = healthz_latencies(&client, &url, 300).await;
        eprintln!(
            "{name}: /healthz p50 {:?} p99 {:?} alone; p50 {:?} p99 {:?} beside {n} idle connections",
            quiet[quiet.len() / 2],
            p99(&quiet),
            crowded[crowded.len() / 2],
            p99(&crowded),
        );
        // Not a speed target (this machine is noisy): a server that scanned its idle
        // connections per request would be hundreds of times slower, not a few.
        assert!(
            p99(&crowded) < Duration::from_millis(250),
            "{name}: p99 {:?} beside {n} idle connections",
            p99(&crowded)
        );
        drop(held);
    }
}
