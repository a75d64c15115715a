//! `loadgen suite` end to end with real processes: a small matrix runs clusters of
//! bench-server replicas (and Redis when installed), writes a run folder whose counts agree
//! with the servers', and Ctrl-C leaves a partial but valid run behind.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use authbench_report::model::{Auth, FaultKind, Hop, Revocation, SuiteRun};

mod common;

use common::binaries::{bench_server, LOADGEN as BIN};

/// The suites of these tests run one at a time: each measures CPU per request, and two on
/// two cores at once would measure each other.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `AUTHBENCH_REQUIRE_REDIS` (see [`authbench_contract::require`]).
fn redis_required() -> bool {
    authbench_contract::require::required_by_env("AUTHBENCH_REQUIRE_REDIS")
}

fn have(program: &str) -> bool {
    loadgen::suite::context::which(program).is_some()
}

const TINY: &str = r#"
[defaults]
seconds = 0.6
warmup = 0.2
rate = 300
users = 20

[[cells]]
group = "equal-rate"
auth = ["none", "session", "jwt"]

[[cells]]
group = "equal-rate"
auth = "session"
store = "redis"

[[cells]]
group = "balancing"
auth = "session"
replicas = 2
balancer = "builtin"
policy = "sticky-cookie"

[state_cost]
sessions = 300
kinds = ["session-memory", "session-redis"]

[token_sizes]
algs = ["HS256"]
extra_claim_bytes = [1024]

[[revocation]]
auth = ["session", "jwt"]
replicas = 2
balancer = "builtin"
observe = 0.3

[[revocation]]
auth = "jwt"
revocation = "refresh"
replicas = 2
balancer = "builtin"
triggers = "force-logout"

[[faults]]
kind = "kill-replica"
auth = "jwt"
replicas = 2
balancer = "builtin"
rate = 200
seconds = 2

[[faults]]
kind = "stall-redis"
auth = "session"
store = "redis"
rate = 200
seconds = 5

[cost]
rounds = 2
seconds = 0.1
warmup = 0.05
concurrency = 4
"#;

/// Runs `loadgen suite --matrix MATRIX --label LABEL --out DIR/LABEL EXTRA…` against the
/// test's bench-server; returns the output.
fn suite(matrix: &Path, label: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("suite")
        .arg("--matrix")
        .arg(matrix)
        .args(["--label", label])
        .arg("--out")
        .arg(dir.join(label))
        .arg("--bench-server")
        .arg(bench_server())
        .args(extra)
        .env_remove("AUTHBENCH_REDIS_URL")
        .output()
        .unwrap()
}

fn read_run(dir: &Path) -> SuiteRun {
    let text = std::fs::read_to_string(dir.join("run.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn only_run_dir(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

#[test]
fn a_small_matrix_writes_a_complete_run_folder() {
    let _serial = one_at_a_time();
    if redis_required() {
        assert!(
            have("redis-server"),
            "AUTHBENCH_REQUIRE_REDIS requires redis-server but it is missing"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let matrix = tmp.path().join("tiny.toml");
    std::fs::write(&matrix, TINY).unwrap();
    let output = suite(&matrix, "tiny", tmp.path(), &[]);
    let out = tmp.path().join("tiny");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let dir = only_run_dir(&out);
    assert!(dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .ends_with("-tiny"));
    let run = read_run(&dir);
    assert!(!run.partial);
    assert!(dir.join("env.json").is_file());
    // The document validates against its committed schema, and the reports are written.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../report/schema/suite-run.schema.json")).unwrap();
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    for claim in ["S1", "S2", "S4", "J1", "J4", "X2"] {
        assert!(
            summary.contains(&format!("| {claim} ")),
            "{claim} missing from summary.md"
        );
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"));
    let security = run.session_security.as_ref().unwrap();
    assert_eq!(security.id_bits, 256);
    assert_eq!(security.ids_distinct, security.ids_sampled);
    assert!(security.cookie_attributes.iter().any(|a| a == "HttpOnly"));

    let redis = have("redis-server");
    let expected_cells = if redis { 5 } else { 4 };
    assert_eq!(run.cells.len(), expected_cells, "{stderr}");
    for cell in &run.cells {
        let trial = &cell.trials[0];
        assert!(trial.requests > 0, "{}", cell.id);
        // Every exchange loadgen sent was counted by a replica, and nothing else was.
        assert_eq!(trial.server_counted, Some(trial.exchanges), "{}", cell.id);
        let hdr = dir.join(trial.hdr_log.as_deref().unwrap());
        assert!(hdr.is_file(), "{}", hdr.display());
        assert!(trial.cpu.app_us_per_request > 0.0, "{}", cell.id);
    }
    let sticky = run.cells.iter().find(|c| c.group == "balancing").unwrap();
    assert_eq!(
        sticky.trials[0].status.get("401"),
        None,
        "sticky cookies keep each user on the replica that holds its session"
    );
    if redis {
        let cell = run
            .cells
            .iter()
            .find(|c| c.id == "equal-rate/session-redis/r1")
            .unwrap();
        assert!(cell.trials[0].cpu.store_seconds.is_some());
        assert!(cell.trials[0].store_ops_per_request.unwrap() >= 1.0);
        assert!(run.skipped.is_empty(), "{:?}", run.skipped);
    } else {
        assert!(run
            .skipped
            .iter()
            .any(|s| s.enable.contains("redis-server")));
    }

    // The cost part: every authenticated equal-rate configuration, paired rounds, each side
    // with requests served on its own route; pinned when there are two cores to split.
    let configs = if redis { 3 } else { 2 };
    assert_eq!(run.cost.len(), configs, "{:?}", run.cost);
    for part in &run.cost {
        assert_eq!(part.rounds.len(), 2);
        assert_eq!(part.worker_threads, 1);
        assert_eq!(part.server_core.is_some(), !part.client_cores.is_empty());
        for r in &part.rounds {
            for side in [&r.baseline, &r.case] {
                assert!(side.requests > 0 && side.errors == 0, "{side:?}");
                assert!(side.app_user_seconds + side.app_system_seconds > 0.0);
            }
        }
    }

    assert_eq!(run.state_cost.len(), if redis { 2 } else { 1 });
    assert!(run.state_cost.iter().all(|s| s.entries == 300));
    let session = run
        .token_sizes
        .iter()
        .find(|t| t.auth == Auth::Session)
        .unwrap();
    assert_eq!(session.credential_bytes, 43, "256-bit ID in base64url");
    let padded = run
        .token_sizes
        .iter()
        .find(|t| t.extra_claim_bytes == 1024)
        .unwrap();
    assert!(padded.credential_bytes > 1024 * 4 / 3);

    // Two revocation rows: a session is rejected everywhere at once; a JWT without a
    // revocation strategy is still accepted by every replica when the probing ends.
    let session = run
        .revocation
        .iter()
        .find(|r| r.auth == Auth::Session)
        .unwrap();
    assert!(session.window_ms.is_some(), "{session:?}");
    let jwt = run
        .revocation
        .iter()
        .find(|r| r.auth == Auth::Jwt && r.revocation == Some(Revocation::None))
        .unwrap();
    assert_eq!(
        (jwt.window_ms, jwt.accepted_before, jwt.rejected_after),
        (None, 2, 0)
    );
    // Refresh rotation: the access token works until it expires — 3 s after login, plus up
    // to a second as `exp` counts whole seconds — and the refresh token dies at the trigger.
    let refresh = run
        .revocation
        .iter()
        .find(|r| r.revocation == Some(Revocation::Refresh))
        .unwrap();
    let window = refresh.window_ms.expect("rejected once expired");
    assert!((2_000.0..5_000.0).contains(&window), "{refresh:?}");
    assert_eq!(refresh.credential_ttl_seconds, 3.0);
    let check = refresh.refresh.expect("a refresh check");
    assert!(check.accepted_before && !check.accepted_after, "{check:?}");

    let fault = &run.faults[0];
    assert_eq!(fault.kind, FaultKind::KillReplica);
    assert!(fault.trial.requests > 0);
    assert!(
        fault.trial.unauthorized.is_empty(),
        "a JWT is accepted by the surviving replica: {:?}",
        fault.trial.unauthorized
    );
    if redis {
        let stall = run
            .faults
            .iter()
            .find(|f| f.kind == FaultKind::StallRedis)
            .expect("a stall-redis run");
        let last = stall.trial.timeline.last().unwrap();
        eprintln!(
            "stall-redis: {} error seconds, recovery {:?} s, 503s {:?}, last second {last:?}",
            stall.error_seconds,
            stall.recovery_seconds,
            stall.trial.status.get("503")
        );
        assert!(stall.trial.errors > 0, "the stall shows: {stall:?}");
        assert!(
            last.requests > 0 && last.errors == 0 && stall.recovery_seconds.is_some(),
            "recovered by itself before the run ended: {:?}",
            stall.trial.timeline
        );
    } else {
        assert_eq!(run.faults.len(), 1);
    }
}

const NETWORK: &str = r#"
[defaults]
seconds = 0.4
warmup = 0.2
rate = 200
users = 10

[[cells]]
group = "equal-rate"
auth = ["none", "session"]
store = "redis"
network = "same-zone"

[[cells]]
group = "balancing"
auth = "jwt"
replicas = 2
balancer = "builtin"
network = "custom"

[networks.custom]
balancer = "300us"
"#;

/// A cell at `same-zone` runs through links: each hop's round trip is measured at start and
/// recorded, and what loadgen sent is still exactly what the replicas counted.
#[test]
fn a_same_zone_cell_records_the_round_trip_of_each_hop() {
    let _serial = one_at_a_time();
    let redis = have("redis-server");
    if redis_required() {
        assert!(
            redis,
            "AUTHBENCH_REQUIRE_REDIS requires redis-server but it is missing"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let matrix = tmp.path().join("network.toml");
    std::fs::write(&matrix, NETWORK).unwrap();
    let output = suite(&matrix, "net", tmp.path(), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let run = read_run(&only_run_dir(&tmp.path().join("net")));
    let hop = |cell: &authbench_report::model::Cell, hop: Hop| {
        cell.hops
            .iter()
            .find(|h| h.hop == hop)
            .unwrap_or_else(|| panic!("{}: no {hop} hop in {:?}", cell.id, cell.hops))
            .clone()
    };
    for cell in &run.cells {
        let trial = &cell.trials[0];
        assert!(trial.requests > 0 && trial.errors == 0, "{}", cell.id);
        assert_eq!(trial.server_counted, Some(trial.exchanges), "{}", cell.id);
    }
    // A link never releases a byte early: a round trip through a hop takes at least twice
    // its delay, and every request at least the delays it crosses. Only such lower bounds
    // are asserted; anything compared with another measurement would be timing luck.
    let healthz = run
        .cells
        .iter()
        .find(|c| c.id == "equal-rate/healthz/r1@same-zone")
        .unwrap();
    let client = hop(healthz, Hop::Client);
    assert_eq!(client.delay_us, 250);
    assert!(client.rtt_us >= 500.0, "{client:?}");
    assert!(healthz.trials[0].latency.uncorrected.min_us >= 500);
    if redis {
        let session = run
            .cells
            .iter()
            .find(|c| c.id == "equal-rate/session-redis/r1@same-zone")
            .unwrap();
        let store = hop(session, Hop::Store);
        assert_eq!((store.delay_us, store.to.as_str()), (250, "redis"));
        assert!(store.rtt_us >= 500.0, "{store:?}");
        // Every session request crosses the client hop and the store hop both ways.
        let fastest = session.trials[0].latency.uncorrected.min_us;
        assert!(fastest >= 1000, "{fastest} µs");
    }
    let balanced = run.cells.iter().find(|c| c.group == "balancing").unwrap();
    let backends: Vec<&str> = balanced
        .hops
        .iter()
        .filter(|h| h.hop == Hop::Balancer)
        .map(|h| h.to.as_str())
        .collect();
    assert_eq!(backends, ["r0", "r1"]);
    assert!(balanced.hops.iter().all(|h| h.hop == Hop::Balancer));
}

const DEPLOYMENTS: &str = r#"
[[deployments]]
deployment = "lb-servers"
auth = "session"
policy = "sticky-cookie"
users = 10
stages = "0.4s:100,0.8s:0,0.6s:300"

[[deployments]]
deployment = "gateway-functions"
auth = "jwt"
max_instances = 3
idle_timeout = 0.3
users = 10
stages = "0.4s:100,0.8s:0,0.6s:300"

[rotation]
rate = 100
seconds = 1.5
rotate_at = 0.5
"#;

#[test]
fn deployments_count_what_the_edge_and_the_pool_counted() {
    let _serial = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let matrix = tmp.path().join("deployments.toml");
    std::fs::write(&matrix, DEPLOYMENTS).unwrap();
    let output = suite(&matrix, "dep", tmp.path(), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let run = read_run(&only_run_dir(&tmp.path().join("dep")));
    let ids: Vec<&str> = run.deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "deployment/lb-servers/session-memory/r2-sticky-cookie",
            "deployment/gateway-functions/jwt-es256/f3c1",
        ]
    );
    let lb = &run.deployments[0];
    assert!(lb.trial.requests > 0);
    assert_eq!(lb.trial.server_counted, Some(lb.trial.exchanges));
    assert!(lb.cold_starts.is_none() && lb.functions.is_none() && lb.edge.is_none());

    let f = &run.deployments[1];
    let pool = f.functions.as_ref().expect("the pool's counters");
    let edge = f.edge.as_ref().expect("the gateway's counters");
    // The pool starts empty: the first exchange waited for an instance, and loadgen saw it.
    assert!(pool.cold_starts >= 1, "{pool:?}");
    let cold = f.cold_starts.as_ref().expect("the cold-start class");
    assert!(cold.count >= 1 && cold.startup.min_us >= 1_000, "{cold:?}");
    // Every exchange reached the pool, except those the edge answered itself.
    let at_edge: u64 = edge.rejections.values().sum();
    assert_eq!(
        pool.requests + at_edge,
        f.trial.exchanges,
        "{edge:?} {pool:?}"
    );
    // Tokens verified at the edge, never lost: 401s other than `missing` (a login the pool
    // throttled) would be a JWT that stopped working.
    let lost: u64 = f
        .trial
        .unauthorized
        .iter()
        .filter(|(reason, _)| reason.as_str() != "missing")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(lost, 0, "{:?}", f.trial.unauthorized);
    assert!(edge.verifications > 0);
    let summary =
        std::fs::read_to_string(only_run_dir(&tmp.path().join("dep")).join("summary.md")).unwrap();
    assert!(summary.contains("Deployments: load balancer + servers vs API gateway + functions"));
    // The rotation loses no request: old tokens verify with the kept key, and the gateway
    // fetched the key set once it met the new kid.
    let k = run.key_rotation.as_ref().expect("the rotation part");
    assert!(k.requests > 0 && k.errors == 0, "{k:?}");
    assert!(k.old_token_accepted_after, "{k:?}");
    let accepted = k.new_key_accepted_ms.expect("a new-key token accepted");
    assert!(
        accepted >= k.new_token_ms && k.new_token_ms >= k.reloaded_ms,
        "{k:?}"
    );
    assert!(k.unknown_key_fetches >= 1, "{k:?}");
}

#[test]
fn bad_suite_flags_are_named() {
    let run = |args: &[&str]| {
        let output = Command::new(BIN).arg("suite").args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let err = run(&["--matrix", "/nonexistent/m.toml"]);
    assert!(
        err.contains("--matrix") && err.contains("/nonexistent/m.toml"),
        "{err}"
    );
    let err = run(&["--trials", "0"]);
    assert!(err.contains("--trials 0"), "{err}");
    let err = run(&["--sessions", "2000000"]);
    assert!(err.contains("--sessions 2000000"), "{err}");
    let err = run(&["--bench-server", "/nonexistent/bench-server"]);
    assert!(
        err.contains("--bench-server /nonexistent/bench-server"),
        "{err}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[[cells]]\nalg = \"HS512\"\n").unwrap();
    let err = run(&["--matrix", bad.to_str().unwrap()]);
    assert!(err.contains("cells[0].alg = \"HS512\""), "{err}");
}

#[test]
fn ctrl_c_keeps_the_finished_parts_marked_partial() {
    let _serial = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let matrix = tmp.path().join("long.toml");
    std::fs::write(
        &matrix,
        "[defaults]\nseconds = 1\nwarmup = 0.1\nrate = 200\nusers = 10\n\
         [[cells]]\ngroup = \"equal-rate\"\nauth = \"none\"\n\
         [[cells]]\ngroup = \"equal-rate\"\nauth = \"jwt\"\nseconds = 60\n",
    )
    .unwrap();
    let out = tmp.path().join("results");
    let mut child = Command::new(BIN)
        .args(["suite", "--matrix", matrix.to_str().unwrap()])
        .arg("--out")
        .arg(&out)
        .arg("--bench-server")
        .arg(bench_server())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first cell's line instead of guessing how long start-up takes.
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let first = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("equal-rate/healthz"))
        .expect("the first cell finishes");
    assert!(first.contains("req/s"), "{first}");
    std::thread::sleep(Duration::from_millis(500));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "an interrupted suite does not report success"
    );
    let run = read_run(&only_run_dir(&out));
    assert!(run.partial, "{rest:?}");
    assert_eq!(run.cells[0].id, "equal-rate/healthz/r1");
    assert!(
        run.wall_seconds < 30.0,
        "stopped promptly: {}",
        run.wall_seconds
    );
}

/// The regression gate end to end: the same build run three times without and three times
/// with `--slowdown-us` (every replica burns that much CPU per credential check), compared as
/// two folders of runs. The gate must call the JWT configuration's added CPU regressed, by
/// about the injected amount, and exit 1. It is read from the cost part (paired rounds at
/// saturation): at the equal-rate cells' 200 req/s, idle wake-ups cost a few hundred µs per
/// request that move by over 100 µs between runs, so there even 400 µs is not always resolved
/// with three trials.
#[test]
fn the_gate_catches_an_injected_slowdown_of_about_its_size() {
    let _serial = one_at_a_time();
    const SLOWDOWN_US: f64 = 400.0;
    const RUNS: usize = 3;
    let tmp = tempfile::tempdir().unwrap();
    let matrix = tmp.path().join("gate.toml");
    std::fs::write(
        &matrix,
        "[defaults]\nseconds = 0.5\nwarmup = 0.2\nrate = 200\nusers = 10\ntrials = 1\n\
         [[cells]]\ngroup = \"equal-rate\"\nauth = [\"none\", \"jwt\"]\n\
         [cost]\nrounds = 5\nseconds = 0.1\nwarmup = 0.03\nconcurrency = 8\n",
    )
    .unwrap();
    let runs = |side: &str, slowdown: f64| {
        let out = tmp.path().join(side);
        for i in 0..RUNS {
            let output = Command::new(BIN)
                .arg("suite")
                .arg("--matrix")
                .arg(&matrix)
                .args(["--label", &format!("{side}{i}")])
                .arg("--out")
                .arg(&out)
                .arg("--bench-server")
                .arg(bench_server())
                .args(["--slowdown-us", &slowdown.to_string()])
                .env_remove("AUTHBENCH_REDIS_URL")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        out
    };
    let baseline = runs("base", 0.0);
    let candidate = runs("slow", SLOWDOWN_US);
    let json = tmp.path().join("compare.json");
    let output = Command::new(BIN)
        .arg("compare")
        .arg(&baseline)
        .arg(&candidate)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "a regression exits 1:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["baseline"]["runs"], RUNS, "{}", doc["baseline"]);
    let cost = doc["cost"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("cost/jwt"))
        })
        .expect("the JWT configuration's cost part")
        .clone();
    assert_eq!(cost["verdict"], "regressed", "{cost}");
    let added = cost["candidate"].as_f64().unwrap() - cost["baseline"].as_f64().unwrap();
    assert!(
        (0.6 * SLOWDOWN_US..1.6 * SLOWDOWN_US).contains(&added),
        "added CPU per request grew by {added:.0} µs for an injected {SLOWDOWN_US} µs: {cost}"
    );
    // That requests without a credential burn nothing is asserted on the replica's own
    // counters (bench-server/tests/inject_cpu.rs). It is not asserted here: the no-auth
    // cell's CPU per request at 200 req/s is mostly idle wake-ups and moved by 208 µs
    // between two sides of three runs in CI, with nothing injected on either.
}
