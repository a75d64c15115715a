//! `loadgen run --shard I/N` and `loadgen merge` of the results: two shards run concurrently
//! against one in-process bench-server send exactly what the server counted, the merge
//! validates against the schema, and mismatched shards are refused with the file named.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use bench_server::metrics::Route;
use loadgen::cli::{Cli, Command, RunArgs};
use loadgen::plan::Plan;
use loadgen::result::RunResult;
use serde_json::Value;

fn run_args(args: &[&str]) -> RunArgs {
    let mut argv = vec!["loadgen", "run"];
    argv.extend_from_slice(args);
    let cli = <Cli as clap::Parser>::try_parse_from(argv).unwrap();
    let Command::Run(run) = cli.command else {
        panic!("not a run command")
    };
    *run
}

fn flags(url: &str, shard: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--target",
        url,
        "--scheme",
        "jwt",
        "--rate",
        "200",
        "--duration",
        "2s",
        "--users",
        "20",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(shard) = shard {
        args.extend(["--shard".to_owned(), shard.to_owned()]);
    }
    args
}

fn plans(args: &[String]) -> (Plan, Plan) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_args(&refs).to_plans().unwrap()
}

fn write(
    dir: &Path,
    name: &str,
    whole: &Plan,
    slice: &Plan,
    outcome: &loadgen::result::RunOutcome,
) -> PathBuf {
    let path = dir.join(name);
    let result = RunResult::new(slice, outcome, vec![]).with_shard(whole, outcome);
    loadgen::fsutil::write_atomically(&path, &result).unwrap();
    path
}

fn assert_valid(value: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("../schema/run-result.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_shards_merge_to_the_servers_counts() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start().await;
    let (whole, a) = plans(&flags(&server.url, Some("0/2")));
    let (_, b) = plans(&flags(&server.url, Some("1/2")));
    assert_eq!(
        (a.users, a.first_user, b.users, b.first_user),
        (10, 0, 10, 10)
    );
    let (out_a, out_b) = tokio::join!(common::run(a.clone()), common::run(b.clone()));
    let files = [
        write(dir.path(), "shard0.json", &whole, &a, &out_a),
        write(dir.path(), "shard1.json", &whole, &b, &out_b),
    ];
    assert_valid(&serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap());
    let merged = loadgen::merge::merge_files(&files, false).unwrap();
    assert_valid(&merged);
    let m = &server.state.metrics;
    let request = &merged["phases"]["request"];
    // The two shards together send the whole schedule: 200 rps for 2 s.
    assert_eq!(out_a.dispatched + out_b.dispatched, 400);
    assert_eq!(request["count"], 400);
    assert_eq!(request["status"]["200"], m.requests_for(Route::JwtMe, 200));
    assert_eq!(request["corrected"]["count"], 400);
    assert_eq!(
        merged["phases"]["login"]["count"],
        m.requests_for(Route::JwtLogin, 200)
    );
    assert_eq!(merged["logins"]["first"], 20);
    assert_eq!(merged["merged"]["shards"], serde_json::json!([0, 1]));
    assert_eq!(merged["merged"]["timeline_percentiles"], "exact");
    assert_eq!(merged["plan"]["users"], 20);
    let timeline: u64 = merged["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(timeline, 400);
    server.stop().await;

    // One unsharded run of the same plan, against a fresh server: the merged percentiles
    // agree within noise (loosely: this machine is shared).
    let server = common::Server::start().await;
    let (plan, _) = plans(&flags(&server.url, None));
    let outcome = common::run(plan.clone()).await;
    let single = serde_json::to_value(RunResult::new(&plan, &outcome, vec![])).unwrap();
    let p50 = |v: &Value| {
        v["phases"]["request"]["corrected"]["p50_us"]
            .as_u64()
            .unwrap()
    };
    let (merged_p50, single_p50) = (p50(&merged), p50(&single));
    eprintln!("corrected p50: merged shards {merged_p50} µs, one run {single_p50} µs");
    assert!(
        merged_p50 <= single_p50 * 20 + 20_000 && single_p50 <= merged_p50 * 20 + 20_000,
        "merged p50 {merged_p50} µs vs single {single_p50} µs"
    );
    server.stop().await;
}

fn edit(path: &Path, to: &Path, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    change(&mut doc);
    std::fs::write(to, serde_json::to_string(&doc).unwrap()).unwrap();
    to.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatched_shards_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start().await;
    let mut args = flags(&server.url, Some("0/2"));
    args[7] = "300ms".into();
    let (whole, a) = plans(&args);
    let outcome = common::run(a.clone()).await;
    server.stop().await;
    let zero = write(dir.path(), "shard0.json", &whole, &a, &outcome);
    let one = edit(&zero, &dir.path().join("shard1.json"), |d| {
        d["shard"]["index"] = 1.into()
    });
    let merge = |files: &[PathBuf]| {
        format!(
            "{:#}",
            loadgen::merge::merge_files(files, false).unwrap_err()
        )
    };

    assert!(loadgen::merge::merge_files(&[zero.clone(), one.clone()], false).is_ok());
    let err = merge(&[zero.clone(), zero.clone()]);
    assert!(
        err.contains("already given") && err.contains("shard0.json"),
        "{err}"
    );
    let err = merge(std::slice::from_ref(&zero));
    assert!(
        err.contains("missing") && err.contains("--allow-partial"),
        "{err}"
    );
    let partial = loadgen::merge::merge_files(std::slice::from_ref(&zero), true).unwrap();
    assert_eq!(partial["partial"], true);

    let other = edit(&one, &dir.path().join("other.json"), |d| {
        d["shard"]["whole_plan"]["users"] = 40.into()
    });
    let err = merge(&[zero.clone(), other]);
    assert!(
        err.contains("other.json") && err.contains("another plan"),
        "{err}"
    );
    let old = edit(&one, &dir.path().join("old.json"), |d| {
        d["schema_version"] = 0.into()
    });
    let err = merge(&[zero.clone(), old]);
    assert!(
        err.contains("old.json") && err.contains("schema_version 0"),
        "{err}"
    );
    let bare = edit(&one, &dir.path().join("bare.json"), |d| {
        d["phases"]["request"]
            .as_object_mut()
            .unwrap()
            .remove("histograms");
    });
    let err = merge(&[zero, bare]);
    assert!(
        err.contains("bare.json") && err.contains("no histograms"),
        "{err}"
    );
}

#[test]
fn bad_shard_values_name_the_flag() {
    let url = "http://127.0.0.1:1";
    for (shard, expect) in [
        ("3/2", "below the count"),
        ("0/0", "at least 1"),
        ("0/21", "more shards than users"),
        ("x", "INDEX/COUNT"),
    ] {
        let args = flags(url, Some(shard));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = run_args(&refs).to_plans().unwrap_err();
        assert_eq!(err.flag, "--shard");
        assert!(err.to_string().contains(expect), "{shard}: {err}");
    }
    // Connections and closed-loop users are split, at least one each.
    let args = [
        "--target",
        url,
        "--scheme",
        "jwt",
        "--concurrency",
        "5",
        "--users",
        "9",
        "--shard",
        "2/3",
    ];
    let (whole, slice) = run_args(&args).to_plans().unwrap();
    assert_eq!(
        (
            whole.connections,
            slice.connections,
            slice.users,
            slice.first_user
        ),
        (5, 2, 3, 6)
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_loadgen");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_shards_at_one_instant_and_merges_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // Far enough ahead that both processes are up; the schedule starts there exactly.
    let start_at = format!("{:.3}", now + 1.5);
    let children: Vec<_> = (0..2)
        .map(|i| {
            let mut args = flags(&server.url, Some(&format!("{i}/2")));
            args[7] = "1s".into();
            std::process::Command::new(BIN)
                .arg("run")
                .args(&args)
                .args([
                    "--start-at",
                    &start_at,
                    "--quiet",
                    "--threads",
                    "1",
                    "--out",
                ])
                .arg(dir.path().join(format!("shard{i}.json")))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .map(|child| tokio::task::spawn_blocking(move || child.wait_with_output()))
        .collect();
    for child in children {
        let output = child.await.unwrap().unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    let out = dir.path().join("all.json");
    let output = std::process::Command::new(BIN)
        .args(["merge", "--out"])
        .arg(&out)
        .arg(dir.path().join("shard0.json"))
        .arg(dir.path().join("shard1.json"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let merged: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_valid(&merged);
    assert_eq!(merged["phases"]["request"]["count"], 200);
    assert_eq!(
        merged["phases"]["request"]["status"]["200"],
        server.state.metrics.requests_for(Route::JwtMe, 200)
    );
    let expected: f64 = start_at.parse().unwrap();
    let started = merged["started_at_unix"].as_f64().unwrap();
    assert!((started - expected).abs() < 0.01, "{started} vs {expected}");
    server.stop().await;

    let stale = std::process::Command::new(BIN)
        .arg("run")
        .args(flags("http://127.0.0.1:1", Some("0/2")))
        .args(["--start-at", "1000"])
        .output()
        .unwrap();
    assert!(!stale.status.success());
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(
        stderr.contains("--start-at") && stderr.contains("in the past"),
        "{stderr}"
    );
}
