//! Cluster fixtures: a quiet, quick-to-start spec, and checks that processes are gone.

use std::time::{Duration, Instant};

use bench_server::cluster::{ChildLogs, ClusterSpec};

/// The bench-server binary built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_bench-server");

/// Replica flags that start fast and hash passwords cheaply.
pub const QUICK_SERVE: [&str; 4] = ["--users", "20", "--password-hash-cost", "m=64,t=1,p=1"];

/// 3 replicas, built-in round robin, health checks every 100 ms, children's logs discarded.
pub fn spec() -> ClusterSpec {
    ClusterSpec {
        serve_args: QUICK_SERVE.iter().map(|s| (*s).to_owned()).collect(),
        health_interval: Duration::from_millis(100),
        child_logs: ChildLogs::Discard,
        ..ClusterSpec::new(BINARY)
    }
}

/// True while `pid` runs (a zombie counts as gone: it runs nothing and holds no port).
pub fn pid_running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
    state != Some(Some('Z'))
}

/// Polls until every PID is gone (bounded: 10 s).
pub fn assert_all_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: Vec<u32> = pids.iter().copied().filter(|&p| pid_running(p)).collect();
        if alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "children still running after 10 s: {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `program` is installed; panics when it is not and `AUTHBENCH_REQUIRE_BALANCERS`
/// requires it (see [`super::required_by_env`]).
pub fn balancer_available_or_skip(test: &str, program: &str) -> bool {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|dir| dir.join(program).is_file());
    if !found {
        if super::required_by_env("AUTHBENCH_REQUIRE_BALANCERS") {
            panic!(
                "{test}: {program} is not installed and AUTHBENCH_REQUIRE_BALANCERS requires it"
            );
        }
        eprintln!("{test}: SKIPPED, {program} is not installed (scripts/test installs it)");
    }
    found
}

/// Whether redis-server is installed; panics when it is not and `AUTHBENCH_REQUIRE_REDIS`
/// requires it (see [`super::required_by_env`]).
pub fn redis_available_or_skip(test: &str) -> bool {
    if super::redis_available() {
        return true;
    }
    if super::required_by_env("AUTHBENCH_REQUIRE_REDIS") {
        panic!("{test}: redis-server is not installed and AUTHBENCH_REQUIRE_REDIS requires it");
    }
    eprintln!("{test}: SKIPPED, redis-server is not installed (scripts/test installs it)");
    false
}
