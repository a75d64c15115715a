//! A real 3-node Redis Cluster for tests: three `redis-server --cluster-enabled yes` children
//! on free ports (bus ports chosen free too), 5461/5461/5462 slots assigned with
//! `CLUSTER ADDSLOTSRANGE`, joined with `CLUSTER MEET`, and polled (bounded) until every node
//! reports `cluster_state:ok`. The children are killed by PID when the fixture drops, also
//! when a test fails.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{redis_available, required_by_env};

/// A 3-primary Redis Cluster on loopback, stopped when dropped.
pub struct RedisCluster {
    pub ports: Vec<u16>,
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn conn(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    client
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap()
}

impl RedisCluster {
    /// Starts one, or `None` (skip) without `redis-server` unless `AUTHBENCH_REQUIRE_REDIS`
    /// requires it.
    pub fn start_or_skip(test: &str) -> Option<RedisCluster> {
        if !redis_available() {
            assert!(
                !required_by_env("AUTHBENCH_REQUIRE_REDIS"),
                "{test}: redis-server is not installed and AUTHBENCH_REQUIRE_REDIS requires it"
            );
            eprintln!("{test}: SKIPPED, redis-server is not installed (scripts/test installs it)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        // Built before the first child, so that a failure below still stops every child.
        let mut cluster = RedisCluster {
            ports: Vec::new(),
            children: Vec::new(),
            _dir: dir,
        };
        let mut buses = Vec::new();
        for _ in 0..3 {
            let (port, bus) = (free_port(), free_port());
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--cluster-port",
                    &bus.to_string(),
                ])
                .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"])
                .arg("--cluster-config-file")
                .arg(path.join(format!("nodes-{port}.conf")))
                .arg("--dir")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            cluster.children.push(child);
            cluster.ports.push(port);
            buses.push(bus);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for &port in &cluster.ports {
            wait_until(deadline, "redis-server answering PING", || {
                redis::Client::open(format!("redis://127.0.0.1:{port}"))
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                    .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                    .is_ok()
            });
        }
        let ranges = [(0, 5460), (5461, 10921), (10922, 16383)];
        for (&port, (from, to)) in cluster.ports.iter().zip(ranges) {
            let () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(from)
                .arg(to)
                .query(&mut conn(port))
                .unwrap();
        }
        let mut first = conn(cluster.ports[0]);
        for (&port, &bus) in cluster.ports.iter().zip(&buses).skip(1) {
            let () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(port)
                .arg(bus)
                .query(&mut first)
                .unwrap();
        }
        for &port in &cluster.ports {
            wait_until(deadline, "cluster_state:ok on every node", || {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut conn(port))
                    .unwrap_or_default();
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            });
        }
        Some(cluster)
    }

    /// Two of the three nodes as seeds: the client finds the third itself.
    pub fn url(&self) -> String {
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}",
            self.ports[0], self.ports[1]
        )
    }

    /// Keys matching `pattern` on each node.
    pub fn keys_per_node(&self, pattern: &str) -> Vec<usize> {
        self.ports
            .iter()
            .map(|&port| {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(pattern)
                    .query(&mut conn(port))
                    .unwrap();
                keys.len()
            })
            .collect()
    }

    pub fn keyslot(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut conn(self.ports[0]))
            .unwrap()
    }
}

/// Every node stopped (SIGSTOP: connections open, nothing answers) until dropped (SIGCONT),
/// also when the test fails halfway.
pub struct Stalled<'a>(&'a RedisCluster);

impl RedisCluster {
    pub fn stall(&self) -> Stalled<'_> {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
        Stalled(self)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        for child in &self.children {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
            let _ = nix::sys::signal::kill(pid, signal);
        }
    }
}

impl Drop for Stalled<'_> {
    fn drop(&mut self) {
        self.0.signal(nix::sys::signal::Signal::SIGCONT);
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn wait_until(deadline: Instant, what: &str, mut ok: impl FnMut() -> bool) {
    while !ok() {
        assert!(Instant::now() < deadline, "no {what} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}
