//! Function replicas with real `bench-server serve` instances: cold starts then warm reuse,
//! throttling at the maximum, instance concurrency, idle stops, a killed instance replaced,
//! starts that fail or hang, and no instance left behind however the pool ends.
//!
//! Requests that must stay in flight are held deterministically instead of being made slow:
//! a `POST /jwt/login` whose body is sent only in part keeps its slot busy until the test
//! sends the rest (the instance is waiting for the body), so nothing depends on timing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_server::cluster::ChildLogs;
use bench_server::functions::{self, FunctionsConfig, FunctionsError};
use common::cluster::{assert_all_gone, pid_running, BINARY, QUICK_SERVE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A cheap route an instance serves (`/healthz` is answered by the pool itself).
const INSTANCE_ROUTE: &str = "/.well-known/jwks.json";

/// Bound of every wait on the pool (generous: it only matters when something is broken).
const PATIENCE: Duration = Duration::from_secs(20);

fn config(max_instances: usize, concurrency: usize) -> FunctionsConfig {
    FunctionsConfig {
        serve_args: QUICK_SERVE.iter().map(|s| (*s).to_owned()).collect(),
        max_instances,
        instance_concurrency: concurrency,
        instance_logs: ChildLogs::Discard,
        ..FunctionsConfig::new(BINARY)
    }
}

/// A pool run in this process by [`functions::run`] on 127.0.0.1:0.
struct TestPool {
    addr: SocketAddr,
    url: String,
    admin_url: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), FunctionsError>>>,
}

impl TestPool {
    async fn start(config: FunctionsConfig) -> TestPool {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let admin_url = format!("http://{}", admin.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(functions::run(listener, Some(admin), config, async move {
            let _ = stopped.await;
        }));
        TestPool {
            addr,
            url: format!("http://{addr}"),
            admin_url,
            client: common::client(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.admin_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The value of the metric line starting with `name` (labels included).
    async fn metric(&self, name: &str) -> f64 {
        metric(&self.metrics().await, name)
    }

    async fn instances(&self) -> Vec<Value> {
        let response = self
            .client
            .get(format!("{}/instances", self.admin_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let json: Value = response.json().await.unwrap();
        json["instances"].as_array().unwrap().clone()
    }

    /// Polls `/instances` until `check` holds (bounded by [`PATIENCE`]).
    async fn wait_instances(&self, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let instances = self.instances().await;
            if check(&instances) {
                return instances;
            }
            assert!(Instant::now() < deadline, "never {what}: {instances:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls `/metrics` until `name` reaches `value` (bounded by [`PATIENCE`]).
    async fn wait_metric(&self, name: &str, value: f64) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.metrics().await;
            if metric(&text, name) == value {
                return;
            }
            assert!(Instant::now() < deadline, "{name} never {value}:\n{text}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .parse()
        .unwrap()
}

fn pids(instances: &[Value]) -> Vec<u32> {
    instances
        .iter()
        .map(|i| u32::try_from(i["pid"].as_u64().unwrap()).unwrap())
        .collect()
}

fn busy_count(instances: &[Value]) -> usize {
    instances
        .iter()
        .map(|i| i["in_flight"].as_u64().unwrap() as usize)
        .sum()
}

fn replica(response: &reqwest::Response) -> String {
    response.headers()["x-replica"].to_str().unwrap().to_owned()
}

fn cold_start_us(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("x-cold-start-us")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

/// A `POST /jwt/login` with its body sent only in part: in flight until finished.
struct Held {
    stream: TcpStream,
    rest: &'static [u8],
}

const LOGIN: &[u8] = br#"{"username":"user1","password":"secret-1"}"#;

impl Held {
    async fn open(addr: SocketAddr) -> Held {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let (first, rest) = LOGIN.split_at(10);
        let head = format!(
            "POST /jwt/login HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            LOGIN.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(first).await.unwrap();
        Held { stream, rest }
    }

    /// Sends the rest of the body and reads the response.
    async fn finish(mut self) -> Raw {
        self.stream.write_all(self.rest).await.unwrap();
        self.response().await
    }

    /// Reads the response (sent without waiting for the rest of the body, e.g. a 502).
    async fn response(mut self) -> Raw {
        let mut bytes = Vec::new();
        tokio::time::timeout(PATIENCE, self.stream.read_to_end(&mut bytes))
            .await
            .expect("a response, not a hang")
            .unwrap();
        Raw::parse(&String::from_utf8_lossy(&bytes))
    }
}

/// A response read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn parse(text: &str) -> Raw {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Raw {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[tokio::test]
async fn first_request_is_a_cold_start_and_the_next_reuses_the_warm_instance() {
    let pool = TestPool::start(config(10, 1)).await;
    let first = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(first.status(), 200);
    assert_eq!(replica(&first), "f0");
    let cold = cold_start_us(&first).expect("X-Cold-Start-Us on the first response");
    // A process start and a connection take at least a millisecond.
    assert!(cold >= 1_000, "{cold} µs");

    let second = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(second.status(), 200);
    assert_eq!(replica(&second), "f0");
    assert_eq!(cold_start_us(&second), None);

    let text = pool.metrics().await;
    assert_eq!(metric(&text, "authbench_functions_cold_starts_total"), 1.0);
    assert_eq!(
        metric(&text, "authbench_functions_cold_start_microseconds_count"),
        1.0
    );
    assert_eq!(
        metric(&text, "authbench_functions_cold_start_microseconds_sum"),
        cold as f64
    );
    assert_eq!(metric(&text, "authbench_functions_requests_total"), 2.0);
    assert_eq!(
        metric(&text, "authbench_functions_instances{state=\"idle\"}"),
        1.0
    );
    assert!(metric(&text, "authbench_functions_instance_seconds_total") > 0.0);
    assert!(text.contains("authbench_functions_instance_cpu_seconds_total{mode=\"user\"}"));
    assert!(text.contains("authbench_process_cpu_seconds_total{component=\"functions\""));

    let instances = pool.instances().await;
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert_eq!(instances[0]["id"], "f0");
    assert_eq!(instances[0]["state"], "idle");
    assert_eq!(instances[0]["requests"], 2);
    assert_eq!(instances[0]["cold_start_us"], cold);
    assert!(instances[0]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    let health = pool
        .client
        .get(format!("{}/healthz", pool.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let pid = pids(&instances)[0];
    pool.stop().await;
    assert_all_gone(&[pid]);
}

#[tokio::test]
async fn beyond_max_instances_requests_are_throttled_with_429() {
    let pool = TestPool::start(config(2, 1)).await;
    let a = Held::open(pool.addr).await;
    pool.wait_instances("f0 busy", |i| busy_count(i) == 1 && i[0]["state"] == "busy")
        .await;
    let b = Held::open(pool.addr).await;
    pool.wait_instances("two busy", |i| {
        i.len() == 2 && i.iter().all(|x| x["state"] == "busy")
    })
    .await;

    let throttled = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(throttled.status(), 429);
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"], "throttled");
    assert!(body["message"].as_str().unwrap().contains("2"), "{body}");

    let (a, b) = (a.finish().await, b.finish().await);
    assert_eq!((a.status, b.status), (200, 200), "{a:?} {b:?}");
    let mut replicas = [a.header("x-replica"), b.header("x-replica")];
    replicas.sort();
    assert_eq!(replicas, [Some("f0"), Some("f1")]);
    assert!(a.header("x-cold-start-us").is_some() && b.header("x-cold-start-us").is_some());

    let text = pool.metrics().await;
    assert_eq!(metric(&text, "authbench_functions_throttled_total"), 1.0);
    assert_eq!(metric(&text, "authbench_functions_cold_starts_total"), 2.0);
    assert_eq!(metric(&text, "authbench_functions_requests_total"), 3.0);
    // Once the slots are free, requests are served warm again.
    let warm = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(warm.status(), 200);
    assert_eq!(cold_start_us(&warm), None);
    pool.stop().await;
}

#[tokio::test]
async fn instance_concurrency_two_puts_two_requests_on_one_instance() {
    let pool = TestPool::start(config(2, 2)).await;
    let a = Held::open(pool.addr).await;
    pool.wait_instances("f0 busy", |i| busy_count(i) == 1 && i[0]["state"] == "busy")
        .await;
    let b = Held::open(pool.addr).await;
    let instances = pool
        .wait_instances("two in flight", |i| busy_count(i) == 2)
        .await;
    assert_eq!(instances.len(), 1, "both on f0: {instances:?}");
    assert_eq!(instances[0]["in_flight"], 2);
    // f0 is full: a third request starts f1.
    let c = Held::open(pool.addr).await;
    pool.wait_instances("f1 busy", |i| busy_count(i) == 3).await;

    let (a, b, c) = (a.finish().await, b.finish().await, c.finish().await);
    assert_eq!((a.status, b.status, c.status), (200, 200, 200));
    assert_eq!(a.header("x-replica"), Some("f0"));
    assert_eq!(b.header("x-replica"), Some("f0"));
    assert_eq!(c.header("x-replica"), Some("f1"));
    assert!(a.header("x-cold-start-us").is_some());
    assert_eq!(b.header("x-cold-start-us"), None, "b was warm");
    assert!(c.header("x-cold-start-us").is_some());
    assert_eq!(
        pool.metric("authbench_functions_cold_starts_total").await,
        2.0
    );
    pool.stop().await;
}

#[tokio::test]
async fn idle_instances_are_stopped_and_the_next_request_starts_cold() {
    let pool = TestPool::start(FunctionsConfig {
        idle_timeout: Duration::from_millis(300),
        ..config(10, 1)
    })
    .await;
    let first = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(replica(&first), "f0");
    let pid = pids(&pool.instances().await)[0];
    let cpu = "authbench_functions_instance_cpu_seconds_total{mode=\"user\"}";
    let cpu_live = pool.metric(cpu).await;
    pool.wait_metric("authbench_functions_stopped_total{reason=\"idle\"}", 1.0)
        .await;
    assert_all_gone(&[pid]);
    assert!(pool.instances().await.is_empty());
    // A stopped instance's CPU stays in the total.
    assert!(pool.metric(cpu).await >= cpu_live);

    let next = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(next.status(), 200);
    assert_eq!(replica(&next), "f1", "ids are never reused");
    assert!(cold_start_us(&next).is_some());
    assert_eq!(
        pool.metric("authbench_functions_cold_starts_total").await,
        2.0
    );
    pool.stop().await;
}

#[tokio::test]
async fn a_killed_instance_fails_its_request_with_502_and_is_replaced() {
    let pool = TestPool::start(config(10, 1)).await;
    let held = Held::open(pool.addr).await;
    let instances = pool
        .wait_instances("f0 busy", |i| busy_count(i) == 1 && i[0]["state"] == "busy")
        .await;
    let pid = pids(&instances)[0];
    kill(Pid::from_raw(i32::try_from(pid).unwrap()), Signal::SIGKILL).unwrap();

    let failed = held.response().await;
    assert_eq!(failed.status, 502, "{failed:?}");
    let body: Value = serde_json::from_str(&failed.body).unwrap();
    assert_eq!(body["error"], "instance_failed");
    assert!(body["message"].as_str().unwrap().contains("f0"), "{body}");
    pool.wait_metric("authbench_functions_stopped_total{reason=\"died\"}", 1.0)
        .await;
    assert!(!pid_running(pid));

    let next = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(next.status(), 200);
    assert_eq!(replica(&next), "f1");
    assert!(cold_start_us(&next).is_some());
    assert_eq!(
        pool.metric("authbench_functions_upstream_errors_total")
            .await,
        1.0
    );
    pool.stop().await;
}

#[tokio::test]
async fn a_client_that_goes_away_frees_its_slot() {
    let pool = TestPool::start(config(1, 1)).await;
    let held = Held::open(pool.addr).await;
    pool.wait_instances("f0 busy", |i| busy_count(i) == 1 && i[0]["state"] == "busy")
        .await;
    drop(held);
    pool.wait_instances("f0 idle", |i| i.len() == 1 && i[0]["state"] == "idle")
        .await;
    let next = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(next.status(), 200);
    assert_eq!(replica(&next), "f0");
    assert_eq!(cold_start_us(&next), None);
    pool.stop().await;
}

#[tokio::test]
async fn a_program_that_exits_at_once_gives_503_and_is_counted() {
    let pool = TestPool::start(FunctionsConfig {
        program: "/bin/false".into(),
        ..config(10, 1)
    })
    .await;
    let response = pool.get(INSTANCE_ROUTE).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "cold_start_failed");
    assert!(body["message"].as_str().unwrap().contains("f0"), "{body}");
    pool.wait_metric(
        "authbench_functions_stopped_total{reason=\"start_failed\"}",
        1.0,
    )
    .await;
    assert_eq!(
        pool.metric("authbench_functions_cold_starts_total").await,
        0.0
    );
    pool.stop().await;
}

#[tokio::test]
async fn a_start_that_hangs_is_cut_off_by_the_cold_start_timeout() {
    // A "Redis" that accepts connections and never answers: the instance waits for it (its
    // own response timeout is 2 s), far longer than the 300 ms cold-start bound.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let redis_url = format!("redis://{}", silent.local_addr().unwrap());
    let mut config = FunctionsConfig {
        cold_start_timeout: Duration::from_millis(300),
        ..config(10, 1)
    };
    config.serve_args.extend([
        "--session-store".to_owned(),
        "redis".to_owned(),
        "--redis-url".to_owned(),
        redis_url,
    ]);
    let pool = TestPool::start(config).await;
    let started = Instant::now();
    let response = pool.get(INSTANCE_ROUTE).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "cold_start_timeout", "{body}");
    pool.wait_metric(
        "authbench_functions_stopped_total{reason=\"start_failed\"}",
        1.0,
    )
    .await;
    assert!(pool.instances().await.is_empty());
    pool.stop().await;
    drop(silent);
}

#[tokio::test]
async fn after_run_returns_no_instance_process_remains() {
    let pool = TestPool::start(config(10, 1)).await;
    let (a, b) = (Held::open(pool.addr).await, Held::open(pool.addr).await);
    let instances = pool
        .wait_instances("two busy", |i| {
            i.len() == 2 && i.iter().all(|x| x["state"] == "busy")
        })
        .await;
    let pids = pids(&instances);
    assert_eq!(
        (a.finish().await.status, b.finish().await.status),
        (200, 200)
    );
    assert!(pids.iter().all(|&p| pid_running(p)));
    pool.stop().await;
    assert_all_gone(&pids);
}

/// Starts `bench-server functions` and returns it with its two stdout addresses.
fn spawn_functions_binary() -> (std::process::Child, String, String) {
    let mut child = Command::new(BINARY)
        .args([
            "functions",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--",
        ])
        .args(QUICK_SERVE)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut read = |prefix: &str| {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line.trim()
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
            .to_owned()
    };
    let url = read("listening on ");
    let admin = read("admin on ");
    (child, url, admin)
}

#[tokio::test]
async fn sigkill_of_the_pool_process_takes_its_instances_down() {
    let (mut child, url, admin) = spawn_functions_binary();
    let client = common::client();
    for _ in 0..2 {
        let response = client
            .get(format!("{url}{INSTANCE_ROUTE}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let json: Value = client
        .get(format!("{admin}/instances"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pids = pids(json["instances"].as_array().unwrap());
    assert_eq!(pids.len(), 1);
    assert!(pid_running(pids[0]));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_all_gone(&pids);
}

#[test]
fn sigterm_stops_the_pool_and_its_instances() {
    let (mut child, url, admin) = spawn_functions_binary();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pids = runtime.block_on(async {
        let client = common::client();
        let response = client
            .get(format!("{url}{INSTANCE_ROUTE}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let json: Value = client
            .get(format!("{admin}/instances"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pids(json["instances"].as_array().unwrap())
    });
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_all_gone(&pids);
}

#[test]
fn bad_flags_are_named_with_their_value() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--max-instances", "0"],
            "--max-instances 0: must be at least 1",
        ),
        (&["--idle-timeout", "0s"], "--idle-timeout 0s:"),
        (&["--", "--listen", "127.0.0.1:1"], "-- --listen"),
        (&["--", "--users", "lots"], "-- SERVE_FLAGS --users lots:"),
    ];
    for (args, expected) in cases {
        let output = Command::new(BINARY)
            .args(["functions", "--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed an address");
    }
}
