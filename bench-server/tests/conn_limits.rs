//! Timeouts and limits of the hardened accept loop against hostile clients, on a real
//! replica (`serve`) and on the balancer in front of one (`balance`): slowloris, idle
//! keep-alive connections, the connection limit, request-line and header limits, malformed
//! bodies through the balancer, and running out of file descriptors.
//!
//! Only lower bounds and generous upper bounds on time are asserted; measured figures are
//! printed (`cargo test --test conn_limits -- --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::process::Process;
use common::raw::{self, closed, exchange, get, metric, metrics, read_answer, routed};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Which server a test talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Front {
    Replica,
    Balancer,
}

/// A front under test (and the replica behind it, for a balancer).
struct Setup {
    front: Front,
    server: Process,
    backend: Option<Process>,
}

impl Setup {
    fn start(front: Front, flags: &[&str]) -> Setup {
        match front {
            Front::Replica => Setup {
                front,
                server: Process::serve("r0", flags),
                backend: None,
            },
            Front::Balancer => {
                let backend = Process::serve("r0", &[]);
                Setup {
                    front,
                    server: Process::balance(&[&backend], flags),
                    backend: Some(backend),
                }
            }
        }
    }

    /// The replica that routes requests: the backend, or the replica itself.
    fn routing_replica(&self) -> SocketAddr {
        self.backend.as_ref().unwrap_or(&self.server).addr
    }

    /// The name of one of this front's connection series, with `label` (`reason="…"`).
    fn series(&self, name: &str, label: &str) -> String {
        match (self.front, label.is_empty()) {
            (Front::Replica, true) => format!("authbench_{name}{{replica=\"r0\"}}"),
            (Front::Replica, false) => format!("authbench_{name}{{replica=\"r0\",{label}}}"),
            (Front::Balancer, _) => format!("authbench_balancer_{name}{{{label}}}"),
        }
    }

    async fn counter(&self, name: &str, label: &str) -> u64 {
        metric(
            &metrics(self.server.metrics_addr()).await,
            &self.series(name, label),
        )
    }
}

const BOTH: [Front; 2] = [Front::Replica, Front::Balancer];

/// A request head sent one byte every 200 ms until the server closes the connection;
/// returns the time from the first byte to the close.
async fn slowloris(addr: SocketAddr) -> Duration {
    let head = format!(
        "GET /healthz HTTP/1.1\r\nhost: t\r\nx-slow: {}",
        "z".repeat(200)
    );
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let start = Instant::now();
    let trickle = async {
        for byte in head.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        std::future::pending::<()>().await;
    };
    let mut sink = [0u8; 256];
    tokio::select! {
        () = trickle => unreachable!(),
        _ = reader.read(&mut sink) => start.elapsed(),
        () = tokio::time::sleep(Duration::from_secs(30)) => panic!("slowloris connection never closed"),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_off_while_healthz_keeps_answering() {
    const CONNECTIONS: usize = 200;
    let timeout = Duration::from_secs(1);
    for front in BOTH {
        let setup = Setup::start(front, &["--header-read-timeout", "1s"]);
        let addr = setup.server.addr;
        let attackers: Vec<_> = (0..CONNECTIONS)
            .map(|_| tokio::spawn(slowloris(addr)))
            .collect();
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/healthz");
        let mut latencies = Vec::new();
        let watch_until = Instant::now() + timeout + Duration::from_secs(2);
        while Instant::now() < watch_until {
            let sent = Instant::now();
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{front:?}");
            latencies.push(sent.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut lifetimes = Vec::new();
        for attacker in attackers {
            lifetimes.push(attacker.await.unwrap());
        }
        lifetimes.sort();
        latencies.sort();
        let (first, last) = (lifetimes[0], lifetimes[CONNECTIONS - 1]);
        eprintln!(
            "{front:?}: {CONNECTIONS} slowloris connections closed {first:?} to {last:?} after their first byte \
             (--header-read-timeout {timeout:?}); /healthz meanwhile: {} answered, p50 {:?}, p99 {:?}, max {:?}",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies[latencies.len() - 1],
        );
        assert!(
            first >= timeout - Duration::from_millis(10),
            "{front:?}: {first:?}"
        );
        assert!(
            last <= timeout + Duration::from_secs(5),
            "{front:?}: {last:?}"
        );
        let closed = setup
            .counter("connections_closed_total", "reason=\"header_timeout\"")
            .await;
        assert!(closed >= CONNECTIONS as u64, "{front:?}: {closed}");
    }
}

#[tokio::test]
async fn idle_connections_last_the_keepalive_timeout_not_the_header_timeout() {
    let keepalive = Duration::from_secs(2);
    for front in BOTH {
        let setup = Setup::start(
            front,
            &["--keepalive-timeout", "2s", "--header-read-timeout", "1s"],
        );
        let addr = setup.server.addr;
        // A connection that served one request, then waits.
        let mut used = TcpStream::connect(addr).await.unwrap();
        used.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_answer(&mut used).await.unwrap().status, 200);
        let answered = Instant::now();
        // A connection that never sends a byte counts as idle too.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let opened = Instant::now();
        closed(&mut used)
            .await
            .expect("the used connection is closed");
        let used_for = answered.elapsed();
        closed(&mut silent)
            .await
            .expect("the silent connection is closed");
        let silent_for = opened.elapsed();
        eprintln!(
            "{front:?}: --keepalive-timeout {keepalive:?}: idle after a request closed after {used_for:?}, \
             never used closed after {silent_for:?}"
        );
        // Measured from when this client saw the answer (or connected): the server's idle
        // time starts a little earlier (when it finished the response, rounded down to the
        // millisecond), hence the 10 ms of slack on the lower bound.
        for lasted in [used_for, silent_for] {
            assert!(
                lasted >= keepalive - Duration::from_millis(10),
                "{front:?}: {lasted:?}"
            );
            assert!(
                lasted <= keepalive + Duration::from_secs(5),
                "{front:?}: {lasted:?}"
            );
        }
        let idle = setup
            .counter("connections_closed_total", "reason=\"keepalive_timeout\"")
            .await;
        assert!(idle >= 2, "{front:?}: {idle}");
    }
}

#[tokio::test]
async fn connections_beyond_the_limit_get_503_and_are_closed() {
    const LIMIT: usize = 50;
    for front in BOTH {
        let setup = Setup::start(front, &["--max-connections", "50"]);
        let addr = setup.server.addr;
        let mut open = Vec::new();
        for _ in 0..LIMIT {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
                .await
                .unwrap();
            assert_eq!(
                read_answer(&mut stream).await.unwrap().status,
                200,
                "{front:?}"
            );
            open.push(stream);
        }
        let mut extra = TcpStream::connect(addr).await.unwrap();
        extra
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        let refused = read_answer(&mut extra)
            .await
            .expect("a 503 before the close");
        assert_eq!(refused.status, 503, "{front:?}: {refused:?}");
        assert_eq!(refused.json()["error"], "too_many_connections", "{front:?}");
        assert!(refused.head.contains("connection: close"), "{front:?}");
        closed(&mut extra).await.expect("refused connection closed");

        open.truncate(LIMIT - 10);
        // The server notices the closes; then new connections are served again.
        let deadline = Instant::now() + raw::PATIENCE;
        let page = loop {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let request = b"GET /healthz HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n";
            stream.write_all(request).await.unwrap();
            let answer = read_answer(&mut stream).await.unwrap();
            if answer.status == 200 {
                break metrics(setup.server.metrics_addr()).await;
            }
            assert!(Instant::now() < deadline, "{front:?}: never served again");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let refused = metric(
            &page,
            &setup.series("connections_refused_total", "reason=\"limit\""),
        );
        let accepted = metric(&page, &setup.series("connections_accepted_total", ""));
        let gauge = metric(&page, &setup.series("connections_open", ""));
        eprintln!("{front:?}: accepted {accepted}, refused {refused}, open {gauge}");
        assert!(refused >= 1, "{front:?}");
        assert!(accepted >= (LIMIT + 2) as u64, "{front:?}");
        assert!(
            gauge >= (LIMIT - 10) as u64 && gauge <= LIMIT as u64,
            "{front:?}: {gauge}"
        );
        drop(open);
    }
}

#[tokio::test]
async fn head_limits_are_answered_before_routing_with_json_reasons() {
    let long_uri = format!("GET /{} HTTP/1.1\r\nhost: t\r\n\r\n", "u".repeat(9000));
    let huge_header = format!(
        "GET /jwt/me HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {}\r\n\r\n",
        "h".repeat(9000)
    );
    let many_headers = format!(
        "GET /jwt/me HTTP/1.1\r\nhost: t\r\n{}\r\n",
        (0..150)
            .map(|i| format!("x-h{i}: v\r\n"))
            .collect::<String>()
    );
    let long_method = format!(
        "{} /session/me HTTP/1.1\r\nhost: t\r\n\r\n",
        "M".repeat(70 * 1024)
    );
    let cases = [
        ("long URI", long_uri, 414, "uri_too_long", "uri_too_long"),
        (
            "huge header",
            huge_header,
            431,
            "headers_too_large",
            "headers_too_large",
        ),
        (
            "150 headers",
            many_headers,
            431,
            "headers_too_large",
            "too_many_headers",
        ),
        (
            "70 KB method",
            long_method,
            400,
            "bad_request_line",
            "bad_request_line",
        ),
    ];
    for front in BOTH {
        let setup = Setup::start(front, &[]);
        let before = routed(&metrics(setup.routing_replica()).await);
        for (case, request, status, code, reason) in &cases {
            let answer = exchange(setup.server.addr, request.as_bytes()).await;
            assert_eq!(answer.status, *status, "{front:?} {case}: {answer:?}");
            assert_eq!(answer.json()["error"], *code, "{front:?} {case}");
            assert!(answer.json()["message"].is_string(), "{front:?} {case}");
            let label = format!("reason=\"{reason}\"");
            let counted = setup.counter("requests_rejected_total", &label).await;
            assert!(counted >= 1, "{front:?} {case}");
        }
        let after = routed(&metrics(setup.routing_replica()).await);
        assert_eq!(after, before, "{front:?}: nothing reached the router");
        assert_eq!(get(setup.server.addr, "/healthz").await.status, 200);
    }
}

#[tokio::test]
async fn a_malformed_chunked_body_through_the_balancer_is_a_400() {
    let setup = Setup::start(Front::Balancer, &[]);
    let request = b"POST /session/login HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n\
        transfer-encoding: chunked\r\n\r\nzz\r\n{\"username\":\r\n0\r\n\r\n";
    let answer = exchange(setup.server.addr, request).await;
    eprintln!(
        "malformed chunked body through the balancer: {} {}",
        answer.status, answer.body
    );
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.json()["error"], "bad_request_body");
    let page = metrics(setup.server.metrics_addr()).await;
    assert_eq!(
        metric(&page, "authbench_balancer_bad_request_body_total"),
        1
    );
    assert_eq!(
        metric(
            &page,
            "authbench_balancer_upstream_errors_total{backend=\"b0\"}"
        ),
        0
    );
    assert_eq!(get(setup.server.addr, "/healthz").await.status, 200);
}

#[tokio::test]
async fn out_of_file_descriptors_the_server_keeps_serving() {
    use nix::sys::resource::{setrlimit, Resource};
    const NOFILE: u64 = 64;
    let server = Process::serve_with("r0", &["--max-connections", "10000"], |command| {
        use std::os::unix::process::CommandExt as _;
        #[allow(unsafe_code)]
        // SAFETY: runs in the forked child before exec; setrlimit(2) is async-signal-safe
        // and nothing is allocated.
        unsafe {
            command.pre_exec(|| {
                setrlimit(Resource::RLIMIT_NOFILE, NOFILE, NOFILE).map_err(std::io::Error::from)
            });
        }
    });
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_answer(&mut first).await.unwrap().status, 200);
    // More connections than the server has descriptors for: the rest wait in the backlog.
    let mut flood = Vec::new();
    for _ in 0..2 * NOFILE {
        flood.push(TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // An open connection is still served while accept fails.
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_answer(&mut first).await.unwrap().status, 200);
    first
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    let page = read_answer(&mut first).await.unwrap().body;
    let emfile = metric(
        &page,
        "authbench_accept_errors_total{replica=\"r0\",kind=\"emfile\"}",
    );
    let open = metric(&page, "authbench_connections_open{replica=\"r0\"}");
    eprintln!(
        "RLIMIT_NOFILE {NOFILE}: {open} connections open, {emfile} accepts failed with EMFILE"
    );
    assert!(emfile >= 1, "{page}");
    drop(flood);
    drop(first);
    // Once the flood is gone, a new client is served.
    let deadline = Instant::now() + raw::PATIENCE;
    loop {
        let answered =
            tokio::time::timeout(Duration::from_secs(2), get(server.addr, "/healthz")).await;
        if matches!(answered, Ok(ref answer) if answer.status == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not served after the flood: {answered:?}"
        );
    }
}
