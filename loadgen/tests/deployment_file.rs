//! `loadgen suite --deployment FILE` (bring your own cluster) end to end: the test starts a
//! cluster itself, describes it in a deployment file, and checks that the suite measured it
//! through the given entry, skipped what does not fit with reasons, ran the kill hook, and never
//! wrote the admin token anywhere.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use authbench_contract::cluster::{BalancerKind, ChildLogs, Cluster, ClusterSpec, RedisMode};
use authbench_contract::keys::{create_key_dir, JwtAlg, ADMIN_TOKEN_FILE};
use authbench_contract::policy::Policy;
use authbench_report::model::{Auth, FaultKind, SuiteRun, Trigger};

mod common;

use common::binaries::{bench_server, LOADGEN as BIN};

const MATRIX: &str = r#"
[defaults]
seconds = 0.6
warmup = 0.2
rate = 300
users = 20

# Fits the deployment: both schemes (and the baseline) on its two replicas.
[[cells]]
group = "equal-rate"
auth = ["none", "session", "jwt"]
store = "STORE"
replicas = 2
balancer = "builtin"
policy = "sticky-cookie"

# Another algorithm, another replica count, another policy: skipped with reasons.
[[cells]]
group = "equal-rate"
auth = "jwt"
alg = "RS256"
replicas = 2
balancer = "builtin"

[[cells]]
group = "scaling"
auth = "jwt"
replicas = 1

[[cells]]
group = "equal-rate"
auth = "session"
store = "STORE"
replicas = 2
balancer = "builtin"
policy = "round-robin"

[state_cost]
sessions = 300
kinds = ["session-STORE", "denylist-STORE"]

[token_sizes]
algs = ["HS256", "ES256"]
extra_claim_bytes = [0, 1024]

[[revocation]]
auth = "session"
store = "STORE"
replicas = 2
balancer = "builtin"
triggers = ["logout", "force-logout"]
observe = 1

[[faults]]
kind = "kill-replica"
auth = "jwt"
replicas = 2
balancer = "builtin"
policy = "sticky-cookie"
rate = 200
seconds = 3

[[faults]]
kind = "restart-redis"
auth = "session"
store = "STORE"
replicas = 2
balancer = "builtin"
policy = "sticky-cookie"
rate = 200
seconds = 3
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_measures_a_deployment_it_did_not_start() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    create_key_dir(&keys, &[JwtAlg::Hs256], false).unwrap();
    let token = std::fs::read_to_string(keys.join(ADMIN_TOKEN_FILE))
        .unwrap()
        .trim()
        .to_owned();
    let redis = loadgen::suite::context::which("redis-server").is_some();
    let store = if redis { "redis" } else { "memory" };

    let mut spec = ClusterSpec::new(bench_server());
    spec.replicas = 2;
    spec.balancer = BalancerKind::Builtin;
    spec.policy = Policy::StickyCookie;
    spec.redis = if redis {
        RedisMode::Spawn
    } else {
        RedisMode::None
    };
    spec.health_interval = Duration::from_millis(100);
    spec.child_logs = ChildLogs::Errors;
    spec.serve_args = [
        "--users",
        "100",
        "--password-hash-cost",
        "m=256,t=1,p=1",
        "--key-dir",
    ]
    .map(String::from)
    .to_vec();
    spec.serve_args.push(keys.display().to_string());
    spec.serve_args
        .extend(["--session-store".into(), store.into()]);
    spec.serve_args.extend(["--jwt-alg".into(), "HS256".into()]);
    let cluster = Cluster::start(spec).await.unwrap();
    let info = cluster.info();
    let victim = info.replicas[1].pid.unwrap();
    let replica_urls: Vec<String> = cluster.replica_urls();

    let redis_line = cluster
        .redis_url()
        .map(|u| format!("redis_url = {u:?}\n"))
        .unwrap_or_default();
    let file = dir.path().join("local.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"test cluster\"\nentry_url = {:?}\nreplica_urls = {:?}\n{redis_line}\
             admin_token_env = \"AUTHBENCH_TEST_ADMIN_TOKEN\"\n\n[server]\nstore = {store:?}\n\
             jwt_alg = \"HS256\"\nrevocation = \"none\"\nusers = 100\n\n[hooks]\n\
             kill_replica = \"kill -KILL {victim}\"\ntimeout_seconds = 10\n",
            cluster.entry_url(),
            replica_urls,
        ),
    )
    .unwrap();
    // A file that says ES256 while the replicas sign with HS256 is refused before any load.
    let wrong = dir.path().join("wrong.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &wrong,
        text.replace("jwt_alg = \"HS256\"", "jwt_alg = \"ES256\""),
    )
    .unwrap();
    let refused = tokio::process::Command::new(BIN)
        .args(["suite", "--quick", "--deployment"])
        .arg(&wrong)
        .arg("--out")
        .arg(dir.path().join("refused"))
        .env("AUTHBENCH_TEST_ADMIN_TOKEN", &token)
        .output()
        .await
        .unwrap();
    let refusal = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        refusal.contains("server.jwt_alg = \"ES256\"") && refusal.contains("HS256"),
        "{refusal}"
    );

    let matrix = dir.path().join("matrix.toml");
    std::fs::write(&matrix, MATRIX.replace("STORE", store)).unwrap();
    let out = dir.path().join("results");

    let output = tokio::process::Command::new(BIN)
        .args(["suite", "--label", "byo", "--matrix"])
        .arg(&matrix)
        .arg("--deployment")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .env("AUTHBENCH_TEST_ADMIN_TOKEN", &token)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    cluster.shutdown().await;
    assert!(output.status.success(), "{stderr}");

    let run_dir = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let json = std::fs::read_to_string(run_dir.join("run.json")).unwrap();
    let run: SuiteRun = serde_json::from_str(&json).unwrap();
    // The document, `target` included, validates against the committed schema.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../report/schema/suite-run.schema.json")).unwrap();
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(!run.partial);
    let target = run.target.as_ref().unwrap();
    assert_eq!(target.name, "test cluster");
    assert_eq!(target.entry_url, info.entry);
    assert_eq!((target.replicas, target.admin_token), (2, true));

    // The three cells that fit ran through the entry, counted by both sides.
    let ran: Vec<&str> = run.cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ran.len(), 3, "{ran:?}\n{stderr}");
    for cell in &run.cells {
        let trial = &cell.trials[0];
        assert!(trial.requests > 0 && trial.errors == 0, "{}", cell.id);
        if cell.config.auth == Auth::None {
            // The balancer's health checks hit /healthz too: no cross-check.
            assert_eq!(trial.server_counted, None);
        } else {
            assert_eq!(trial.server_counted, Some(trial.exchanges), "{}", cell.id);
        }
    }
    // The rest were skipped, each with a reason.
    let skipped = |needle: &str| run.skipped.iter().any(|s| s.reason.contains(needle));
    assert!(run
        .skipped
        .iter()
        .all(|s| !s.reason.is_empty() && !s.enable.is_empty()));
    assert!(skipped("needs JWT algorithm RS256"), "{:#?}", run.skipped);
    assert!(skipped("needs 1 replica(s); the deployment file lists 2"));
    assert!(skipped("balancer and replica count are fixed"));
    if redis {
        // (Without Redis the matrix has no restart-redis run at all.)
        assert!(skipped("no hooks.restart_redis"));
    }
    // Sessions seeded through the entry, measured in the store; no deny-list on this server.
    assert_eq!(run.state_cost.len(), 1, "{stderr}");
    assert_eq!(run.state_cost[0].entries, 300);
    assert!(skipped(
        "needs revocation denylist; the deployment runs none"
    ));

    assert_eq!(run.token_sizes.len(), 2);
    assert!(run.session_security.is_some());
    let triggers: Vec<Trigger> = run.revocation.iter().map(|r| r.trigger).collect();
    assert_eq!(triggers, [Trigger::Logout, Trigger::ForceLogout]);
    assert_eq!(run.faults.len(), 1);
    assert_eq!(run.faults[0].kind, FaultKind::KillReplica);
    assert!(!stderr.contains("FAILED"), "{stderr}");

    // The report renders and names the deployment; the token is nowhere in the run folder.
    let summary = std::fs::read_to_string(run_dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("deployment file \"test cluster\""),
        "{summary}"
    );
    assert!(summary.contains("which lacks this part or configuration; see Skipped parts"));
    assert!(run_dir.join("report.html").is_file());
    for entry in std::fs::read_dir(&run_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            assert!(
                !text.contains(&token),
                "{} holds the admin token",
                path.display()
            );
        }
    }
    assert!(!stderr.contains(&token));
    eprintln!("deployment-file suite test: {:?}", started.elapsed());
}

#[test]
fn bad_deployment_files_and_flags_are_refused_by_name() {
    // Nothing listens: the error names the key and the URL, and no run folder is left.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.toml");
    std::fs::write(
        &file,
        "entry_url = \"http://127.0.0.1:9\"\n[server]\nstore = \"memory\"\njwt_alg = \"HS256\"\nusers = 10\n",
    )
    .unwrap();
    let out = dir.path().join("results");
    let output = Command::new(BIN)
        .args(["suite", "--quick", "--deployment"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("entry_url") && stderr.contains("127.0.0.1:9"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);

    std::fs::write(&file, "entry_url = \"http://x\"\nbogus = 1\n").unwrap();
    let output = Command::new(BIN)
        .args(["suite", "--quick", "--deployment"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("bogus"),
        "{stderr}"
    );

    let output = Command::new(BIN)
        .args(["suite", "--deployment", "/nonexistent/d.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("--deployment /nonexistent/d.toml"),
        "{stderr}"
    );
    let output = Command::new(BIN)
        .args(["suite", "--deployment", "d.toml", "--slowdown-us", "5"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("--slowdown-us"),
        "{stderr}"
    );
}
