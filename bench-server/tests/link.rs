//! `bench-server link` on real TCP: bytes arrive intact and in order, each direction is
//! delayed on its own, the toxics work, a dead upstream closes the client, and bad flags
//! name themselves. Timing assertions are lower bounds only (a link never releases a byte
//! early), so a slow machine cannot fail them.

#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bench_server::link::{self, Link, LinkConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running link in this process, stopped when dropped.
struct Running {
    addr: SocketAddr,
    admin: String,
    link: Arc<Link>,
    _stop: oneshot::Sender<()>,
}

async fn start(upstream: SocketAddr, delay: Duration) -> Running {
    let config = LinkConfig {
        upstream,
        delay,
        jitter: Duration::ZERO,
        bandwidth: None,
        max_connections: 64,
        connect_timeout: Duration::from_secs(2),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let admin_url = format!("http://{}", admin.local_addr().unwrap());
    let link = Link::new(config);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(link::run(
        listener,
        Some(admin),
        Arc::clone(&link),
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        addr,
        admin: admin_url,
        link,
        _stop: stop,
    }
}

/// An echo server on its own thread: every connection gets its bytes back.
fn echo_server() -> SocketAddr {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let mut reader = stream.try_clone().unwrap();
                let _ = std::io::copy(&mut reader, &mut stream);
                let _ = stream.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Runs blocking client code off the runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_payload_arrives_intact_and_in_order_both_ways() {
    let link = start(echo_server(), Duration::from_micros(300)).await;
    let addr = link.addr;
    blocking(move || {
        let payload: Vec<u8> = (0..8 * 1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut stream = connect(addr);
        let mut writer = stream.try_clone().unwrap();
        let sent = payload.clone();
        // Written while the echo comes back, so both directions carry data at once.
        let sender = thread::spawn(move || {
            for part in sent.chunks(100_000) {
                writer.write_all(part).unwrap();
            }
            writer.shutdown(std::net::Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        stream.read_to_end(&mut back).unwrap();
        sender.join().unwrap();
        assert_eq!(back.len(), payload.len());
        assert!(back == payload, "the echo differs from what was sent");
    })
    .await;
    let metrics = reqwest::get(format!("{}/metrics", link.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("authbench_link_bytes_total{direction=\"up\"} 8388608"),
        "{metrics}"
    );
    assert!(metrics.contains("authbench_link_bytes_total{direction=\"down\"} 8388608"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_direction_is_delayed_on_its_own() {
    // The upstream speaks first, then answers one message: a push down and a round trip.
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let upstream = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        let greeted = Instant::now();
        stream.write_all(b"hello").unwrap();
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).unwrap();
        stream.write_all(b"pong").unwrap();
        greeted
    });
    let delay = Duration::from_millis(20);
    let link = start(upstream, delay).await;
    let addr = link.addr;
    let (greeting_seen, rtt) = blocking(move || {
        let mut stream = connect(addr);
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).unwrap();
        let greeting_seen = Instant::now();
        assert_eq!(&buf, b"hello");
        let t0 = Instant::now();
        stream.write_all(b"ping").unwrap();
        let mut pong = [0u8; 4];
        stream.read_exact(&mut pong).unwrap();
        assert_eq!(&pong, b"pong");
        (greeting_seen, t0.elapsed())
    })
    .await;
    let greeted = server.join().unwrap();
    assert!(
        greeting_seen - greeted >= delay,
        "down alone: {:?}",
        greeting_seen - greeted
    );
    assert!(rtt >= 2 * delay, "a round trip crosses both: {rtt:?}");
}

async fn post(url: String) -> reqwest::Response {
    reqwest::Client::new().post(url).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_holds_bytes_and_releases_them_in_order() {
    let link = start(echo_server(), Duration::ZERO).await;
    let addr = link.addr;
    let mut stream = blocking(move || {
        let mut s = connect(addr);
        s.write_all(b"before").unwrap();
        let mut buf = [0u8; 6];
        s.read_exact(&mut buf).unwrap();
        s
    })
    .await;
    let stall = Duration::from_millis(300);
    // Before the request: the stall ends at least 300 ms after this.
    let t0 = Instant::now();
    let response = post(format!("{}/toxics/stall?for=300ms", link.admin)).await;
    assert_eq!(response.status(), 200);
    let got = blocking(move || {
        stream.write_all(b"during").unwrap();
        let mut buf = [0u8; 6];
        stream.read_exact(&mut buf).unwrap();
        buf
    })
    .await;
    assert_eq!(&got, b"during");
    assert!(
        t0.elapsed() >= stall - Duration::from_millis(5),
        "{:?}",
        t0.elapsed()
    );
    let bad = post(format!("{}/toxics/stall?for=-1s", link.admin)).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("for: '-1s' is negative"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_refuse_close_connections_at_once() {
    let link = start(echo_server(), Duration::ZERO).await;
    let addr = link.addr;
    let mut open = blocking(move || {
        let mut s = connect(addr);
        s.write_all(b"x").unwrap();
        let mut buf = [0u8; 1];
        s.read_exact(&mut buf).unwrap();
        s
    })
    .await;
    let body: serde_json::Value = post(format!("{}/toxics/reset", link.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["connections"], 1);
    let read = blocking(move || {
        let mut buf = [0u8; 1];
        open.read(&mut buf)
    })
    .await;
    match read {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => assert_eq!(n, 0, "a reset connection gives no data"),
    }

    post(format!("{}/toxics/refuse?for=10s", link.admin)).await;
    let refused = blocking(move || {
        let mut s = connect(addr);
        let _ = s.write_all(b"x");
        let mut buf = [0u8; 1];
        s.read(&mut buf)
    })
    .await;
    assert!(matches!(refused, Ok(0) | Err(_)), "{refused:?}");
    let response = reqwest::Client::new()
        .delete(format!("{}/toxics", link.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = blocking(move || {
        let mut s = connect(addr);
        s.write_all(b"y").unwrap();
        let mut buf = [0u8; 1];
        s.read_exact(&mut buf).unwrap();
        buf
    })
    .await;
    assert_eq!(&echoed, b"y");
    let stats = &link.link.stats;
    assert_eq!(stats.refused.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(stats.resets.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_dies_closes_the_client() {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let upstream = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        thread::sleep(Duration::from_millis(50));
        drop(stream);
        drop(listener);
    });
    let link = start(upstream, Duration::from_micros(500)).await;
    let addr = link.addr;
    let read = blocking(move || {
        let mut s = connect(addr);
        let mut buf = [0u8; 16];
        s.read(&mut buf)
    })
    .await;
    server.join().unwrap();
    assert!(
        matches!(read, Ok(0)) || matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "the client is closed, not left hanging: {read:?}"
    );
}

fn link_cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bench-server"))
        .arg("link")
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_flags_name_themselves() {
    let refusing = StdListener::bind("127.0.0.1:0").unwrap();
    let closed = refusing.local_addr().unwrap().to_string();
    drop(refusing);
    let base = ["--listen", "127.0.0.1:0", "--upstream"];
    let err = link_cli(&[&base[..], &[closed.as_str()]].concat());
    assert!(
        err.contains(&format!("--upstream {closed}: cannot connect")),
        "{err}"
    );
    let echo = echo_server().to_string();
    let with = |extra: &[&str]| link_cli(&[&base[..], &[echo.as_str()], extra].concat());
    let err = with(&["--delay=-1ms"]);
    assert!(err.contains("--delay") && err.contains("negative"), "{err}");
    let err = with(&["--delay", "11s"]);
    assert!(
        err.contains("--delay") && err.contains("above the 10 s"),
        "{err}"
    );
    let err = with(&["--bandwidth", "fast"]);
    assert!(
        err.contains("--bandwidth") && err.contains("not a bandwidth"),
        "{err}"
    );
    let err = with(&["--delay", "1ms", "--jitter", "2ms"]);
    assert!(
        err.contains("--jitter 2000us: larger than --delay 1000us"),
        "{err}"
    );
}
