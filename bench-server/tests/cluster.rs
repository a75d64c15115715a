//! Clusters of real `bench-server serve` processes: process hygiene (every child dies with
//! the cluster, however it ends), failover when a replica is SIGKILLed mid-traffic, and
//! in-process vs Redis sessions behind round robin.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_server::cluster::{Cluster, ClusterError, ClusterSpec, RedisMode};
use common::balancer::count_replicas;
use common::cluster::{
    assert_all_gone, pid_running, redis_available_or_skip, spec, BINARY, QUICK_SERVE,
};
use common::sid_from;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Starts `bench-server cluster --json …` and returns it with its parsed JSON line.
fn spawn_cluster_binary(extra: &[&str]) -> (std::process::Child, serde_json::Value) {
    let mut child = Command::new(BINARY)
        .args([
            "cluster",
            "--json",
            "--replicas",
            "2",
            "--health-interval",
            "100ms",
        ])
        .args(extra)
        .arg("--")
        .args(QUICK_SERVE)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, info)
}

fn pids_of(info: &serde_json::Value) -> Vec<u32> {
    info["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u32::try_from(p.as_u64().unwrap()).unwrap())
        .collect()
}

#[test]
fn sigkill_of_the_cluster_process_takes_every_child_down() {
    let with_redis = redis_available_or_skip("sigkill_of_the_cluster_process (redis part)");
    let extra: &[&str] = if with_redis { &["--redis-server"] } else { &[] };
    let (mut child, info) = spawn_cluster_binary(extra);
    let pids = pids_of(&info);
    assert_eq!(pids.len(), if with_redis { 4 } else { 3 }, "{info}");
    assert!(info["entry"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert_eq!(info["replicas"][1]["id"], "r1");
    assert_eq!(info["balancer"]["kind"], "builtin");
    assert!(pids.iter().all(|&p| pid_running(p)));

    child.kill().unwrap();
    child.wait().unwrap();
    assert_all_gone(&pids);
}

#[test]
fn sigterm_stops_the_cluster_and_every_child() {
    let (mut child, info) = spawn_cluster_binary(&["--balancer", "none"]);
    assert_eq!(info["balancer"], serde_json::Value::Null);
    assert_eq!(info["entry"], info["replicas"][0]["url"]);
    let pids = pids_of(&info);
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
fn children_die_when_the_cluster_panics_or_is_dropped() {
    let (pids_tx, pids_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let cluster = Cluster::start(ClusterSpec {
                replicas: 2,
                ..spec()
            })
            .await
            .unwrap();
            pids_tx.send(cluster.info().pids).unwrap();
            panic!("deliberate panic with a running cluster");
        });
    });
    assert!(thread.join().is_err());
    let pids = pids_rx.recv().unwrap();
    assert_eq!(pids.len(), 3);
    assert_all_gone(&pids);
}

#[tokio::test]
async fn bad_serve_flags_and_missing_parts_are_named() {
    let bad = ClusterSpec {
        serve_args: vec!["--listen".into(), "127.0.0.1:1".into()],
        ..spec()
    };
    let err = Cluster::start(bad).await.unwrap_err().to_string();
    assert!(err.starts_with("-- --listen"), "{err}");
    let missing = ClusterSpec {
        binary: "/nonexistent/bench-server".into(),
        ..spec()
    };
    let err = Cluster::start(missing).await.unwrap_err();
    assert!(matches!(err, ClusterError::Spawn { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_replica_mid_traffic_fails_over_and_restart_brings_it_back() {
    let mut cluster = Cluster::start(spec()).await.unwrap();
    let url = format!("{}/healthz", cluster.entry_url());
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    const CLIENTS: usize = 4;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (url, stop, ok, failed) = (
            url.clone(),
            Arc::clone(&stop),
            Arc::clone(&ok),
            Arc::clone(&failed),
        );
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let wait_ok = |target: usize| {
        let ok = Arc::clone(&ok);
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            while ok.load(Ordering::Relaxed) < target {
                assert!(
                    Instant::now() < deadline,
                    "traffic stalled below {target} successes"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    wait_ok(300).await;
    cluster.kill_replica(1).await.unwrap();
    let after_kill = ok.load(Ordering::Relaxed);
    wait_ok(after_kill + 600).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let lost = failed.load(Ordering::Relaxed);
    assert!(
        lost <= CLIENTS,
        "{lost} requests failed; at most the {CLIENTS} in flight may"
    );

    // After the kill, only r0 and r2 answer; the restarted r1 is put back by health checks.
    let client = reqwest::Client::new();
    let counts = count_replicas(&client, &url, 30).await;
    assert!(!counts.contains_key("r1"), "{counts:?}");
    let admin = cluster.balancer_admin_url().unwrap().to_owned();
    let metrics = client
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("authbench_balancer_backend_up{backend=\"r1\"} 0"),
        "{metrics}"
    );
    cluster.restart_replica(1).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts = count_replicas(&client, &url, 6).await;
        if counts.get("r1") == Some(&2) {
            break;
        }
        assert!(Instant::now() < deadline, "r1 never came back: {counts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pids = cluster.info().pids;
    cluster.shutdown().await;
    assert_all_gone(&pids);
}

/// Logs in through the entry, then calls `/session/me` 6 times; returns the statuses.
async fn session_statuses(cluster: &Cluster) -> Vec<u16> {
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/session/login", cluster.entry_url()))
        .json(&serde_json::json!({"username": "user1", "password": "secret-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let sid = sid_from(login.headers()).unwrap();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let me = client
            .get(format!("{}/session/me", cluster.entry_url()))
            .header("cookie", format!("sid={sid}"))
            .send()
            .await
            .unwrap();
        statuses.push(me.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn memory_sessions_fail_on_other_replicas_while_redis_sessions_do_not() {
    let memory = Cluster::start(spec()).await.unwrap();
    let statuses = session_statuses(&memory).await;
    // Round robin over 3: two of six calls reach the replica holding the session.
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        4,
        "{statuses:?}"
    );
    memory.shutdown().await;

    if !redis_available_or_skip("memory_sessions_..._redis_sessions_do_not (redis part)") {
        return;
    }
    let mut shared = Cluster::start(ClusterSpec {
        redis: RedisMode::Spawn,
        ..spec()
    })
    .await
    .unwrap();
    assert!(shared
        .redis_url()
        .unwrap()
        .starts_with("redis://127.0.0.1:"));
    assert_eq!(session_statuses(&shared).await, [200; 6]);

    // Fault: Redis restarts empty. Each replica reconnects on its own (poll, bounded); the
    // old session is gone on every replica, and new logins work again.
    let client = reqwest::Client::new();
    let sid = {
        let login = client
            .post(format!("{}/session/login", shared.entry_url()))
            .json(&serde_json::json!({"username": "user2", "password": "secret-2"}))
            .send()
            .await
            .unwrap();
        sid_from(login.headers()).unwrap()
    };
    shared.stop_redis().await.unwrap();
    shared.start_redis().await.unwrap();
    for replica in shared.replica_urls() {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let status = client
                .get(format!("{replica}/session/me"))
                .header("cookie", format!("sid={sid}"))
                .send()
                .await
                .unwrap()
                .status();
            if status != 503 {
                assert_eq!(status, 401, "{replica}: the session died with Redis");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{replica} never reconnected to Redis"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(session_statuses(&shared).await, [200; 6]);
    let pids = shared.info().pids;
    shared.shutdown().await;
    assert_all_gone(&pids);
}
