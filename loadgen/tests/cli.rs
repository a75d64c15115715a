//! The command line: bad flags are named with their value; the binary writes a result file
//! that validates, and Ctrl-C still writes what was measured, marked partial.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use loadgen::cli::{Cli, Command as Sub};

const BIN: &str = env!("CARGO_BIN_EXE_loadgen");

fn plan_error(args: &[&str]) -> String {
    let mut argv = vec!["loadgen", "run"];
    argv.extend_from_slice(args);
    match <Cli as clap::Parser>::try_parse_from(argv) {
        Err(err) => err.to_string(),
        Ok(cli) => {
            let Sub::Run(run) = cli.command else {
                panic!("not a run command")
            };
            run.to_plan().unwrap_err().to_string()
        }
    }
}

#[test]
fn bad_flags_are_named() {
    let base = ["--target", "http://127.0.0.1:9", "--scheme", "jwt"];
    let with = |extra: &[&'static str]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        plan_error(&v)
    };
    let err = with(&["--rate", "-5"]);
    assert!(err.contains("--rate") && err.contains("-5"), "{err}");
    let err = with(&["--rate", "10", "--duration", "forever"]);
    assert!(
        err.contains("--duration") && err.contains("forever"),
        "{err}"
    );
    let err = with(&["--stages", "10s"]);
    assert!(err.contains("--stages") && err.contains("10s"), "{err}");
    let err = with(&["--rate", "10", "--mix", "GET nope"]);
    assert!(err.contains("--mix") && err.contains("nope"), "{err}");
    let err = with(&["--rate", "10", "--users", "0"]);
    assert!(err.contains("--users"), "{err}");
    let err = with(&["--rate", "10", "--duration", "2s", "--warmup", "5s"]);
    assert!(err.contains("--warmup"), "{err}");
    let err = with(&[]);
    assert!(
        err.contains("--rate") && err.contains("--concurrency"),
        "{err}"
    );
    let err = with(&["--rate", "10", "--concurrency", "3"]);
    assert!(
        err.contains("--rate") || err.contains("--concurrency"),
        "{err}"
    );
    let err = plan_error(&["--target", "localhost:80", "--scheme", "jwt", "--rate", "1"]);
    assert!(
        err.contains("--target") && err.contains("localhost:80"),
        "{err}"
    );
    let err = plan_error(&["--target", "http://x:1", "--scheme", "saml", "--rate", "1"]);
    assert!(err.contains("--scheme") && err.contains("saml"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_writes_a_result_and_ctrl_c_keeps_a_partial_one() {
    let server = common::Server::start().await;
    let dir = tempfile::tempdir().unwrap();

    let out = dir.path().join("full.json");
    let status = tokio::process::Command::new(BIN)
        .args([
            "run",
            "--target",
            &server.url,
            "--scheme",
            "session",
            "--rate",
            "50",
        ])
        .args(["--duration", "1s", "--users", "5", "--quiet", "--out"])
        .arg(&out)
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let full: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(full["schema_version"], 1);
    assert_eq!(full["partial"], false);
    assert_eq!(full["phases"]["request"]["count"], 50);
    assert_eq!(full["command"][1], "run");

    let out = dir.path().join("partial.json");
    let child = Command::new(BIN)
        .args([
            "run",
            "--target",
            &server.url,
            "--scheme",
            "jwt",
            "--rate",
            "50",
        ])
        // One thread: the current-thread runtime must stop on Ctrl-C too.
        .args([
            "--duration",
            "60s",
            "--users",
            "5",
            "--threads",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until it is sending, then interrupt it.
    let mut waited = 0;
    while server
        .state
        .metrics
        .requests_for(bench_server::metrics::Route::JwtMe, 200)
        < 10
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 500, "loadgen never started sending");
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let partial: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(partial["partial"], true);
    let count = partial["phases"]["request"]["count"].as_u64().unwrap();
    assert!((10..3000).contains(&count), "{count}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_logs_are_written_and_merged() {
    let server = common::Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    let mut total = 0;
    for (i, first_user) in ["0", "50"].iter().enumerate() {
        let log = dir.path().join(format!("run{i}.hlog"));
        let out = dir.path().join(format!("run{i}.json"));
        let status = tokio::process::Command::new(BIN)
            .args([
                "run",
                "--target",
                &server.url,
                "--scheme",
                "jwt",
                "--rate",
                "100",
            ])
            .args([
                "--duration",
                "2s",
                "--users",
                "5",
                "--first-user",
                first_user,
                "--quiet",
            ])
            .arg("--hdr-log")
            .arg(&log)
            .arg("--out")
            .arg(&out)
            .status()
            .await
            .unwrap();
        assert!(status.success());
        let result: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let count = result["phases"]["request"]["count"].as_u64().unwrap();
        let intervals = loadgen::hdrlog::read(&log).unwrap();
        let logged: u64 = intervals
            .iter()
            .filter(|i| i.tag == "request-corrected")
            .map(|i| i.histogram.len())
            .sum();
        assert_eq!(logged, count, "every measured request is in the log");
        assert!(std::fs::read_to_string(&log)
            .unwrap()
            .contains("Tag=request-uncorrected,"));
        total += count;
        logs.push(log);
    }
    let merged = dir.path().join("merged.hlog");
    let output = Command::new(BIN)
        .arg("merge")
        .arg("--out")
        .arg(&merged)
        .args(&logs)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("request-corrected: count {total} ")),
        "{stdout}"
    );
    let back: u64 = loadgen::hdrlog::read(&merged)
        .unwrap()
        .iter()
        .filter(|i| i.tag == "request-corrected")
        .map(|i| i.histogram.len())
        .sum();
    assert_eq!(back, total);

    let bad = dir.path().join("not-a-log.hlog");
    std::fs::write(&bad, "hello\nworld\n").unwrap();
    let output = Command::new(BIN)
        .arg("merge")
        .arg("--out")
        .arg(&merged)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not-a-log.hlog"));
    server.stop().await;
}

#[test]
fn unreachable_target_is_reported_as_connect_failures() {
    let output = Command::new(BIN)
        .args([
            "run",
            "--target",
            "http://127.0.0.1:1",
            "--scheme",
            "jwt",
            "--rate",
            "20",
        ])
        .args(["--duration", "500ms", "--users", "2", "--timeout", "1s"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("errors 10"), "{stdout}");
}

/// Runs `loadgen verdicts ARGS…`; its exit code and stderr.
fn verdicts(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let output = Command::new(BIN)
        .arg("verdicts")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn verdicts_exit_2_when_it_cannot_tell_and_1_when_too_few_agree() {
    use authbench_report::render::example::example_run;
    use std::ffi::OsStr;

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, run: &authbench_report::model::SuiteRun| {
        let path = dir.path().join(name);
        std::fs::create_dir(&path).unwrap();
        loadgen::fsutil::write_atomically(&path.join(authbench_report::render::RUN_FILE), run)
            .unwrap();
        path
    };
    let a = write("a", &example_run());
    let b = write("b", &example_run());
    // Without the cost part, claim S1 is "not measured": it agrees in 2 of 3 runs.
    let mut odd = example_run();
    odd.cost.clear();
    let odd = write("odd", &odd);
    let runs = [a.as_os_str(), odd.as_os_str(), b.as_os_str()];
    let with = |flags: &[&'static str]| {
        let mut args: Vec<&OsStr> = flags.iter().map(OsStr::new).collect();
        args.extend(runs);
        verdicts(&args)
    };

    let (code, stderr) = with(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = with(&["--min-agree", "2"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = with(&["--min-agree", "3"]);
    assert_eq!(code, Some(1), "too little agreement: {stderr}");
    assert!(stderr.contains("fewer than 3 of 3 runs"), "{stderr}");

    // A folder without run.json, and one that does not exist: errors, not disagreement.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("no-such-run");
    for bad in [&empty, &missing] {
        let (code, stderr) = verdicts(&[
            OsStr::new("--min-agree"),
            OsStr::new("1"),
            a.as_os_str(),
            bad.as_os_str(),
        ]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(&*bad.to_string_lossy()) && stderr.contains("run.json"),
            "{stderr}"
        );
    }
    let (code, stderr) = with(&["--min-agree", "4"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--min-agree 4"), "{stderr}");
    let (code, stderr) = with(&["--min-agree", "many"]);
    assert_eq!(code, Some(2), "{stderr}");
}

/// The error `loadgen report ARGS… RUN_DIR` gives for its flags, from clap or the target.
fn report_flag_error(args: &[&str]) -> String {
    let mut argv = vec!["loadgen", "report"];
    argv.extend_from_slice(args);
    argv.push("results/some-run");
    match <Cli as clap::Parser>::try_parse_from(argv) {
        Err(err) => err.to_string(),
        Ok(cli) => {
            let Sub::Report(report) = cli.command else {
                panic!("not a report command")
            };
            report.target().unwrap_err().to_string()
        }
    }
}

#[test]
fn report_project_flags_are_named() {
    for rps in ["0", "-5", "NaN", "lots"] {
        let err = report_flag_error(&["--project", rps]);
        assert!(err.contains("--project") && err.contains(rps), "{err}");
    }
    for headroom in ["0", "1.5", "-0.2"] {
        let err = report_flag_error(&["--project", "1000", "--headroom", headroom]);
        assert!(
            err.contains("--headroom") && err.contains(headroom),
            "{err}"
        );
    }
    let err = report_flag_error(&["--project", "1000", "--cores-per-replica", "0"]);
    assert!(err.contains("--cores-per-replica 0"), "{err}");
    // The sizing flags mean nothing without --project.
    let err = report_flag_error(&["--headroom", "0.5"]);
    assert!(err.contains("--project"), "{err}");
}

#[test]
fn report_project_prints_the_sizing_and_leaves_the_run_folder_alone() {
    let dir = tempfile::tempdir().unwrap();
    let run = authbench_report::render::example::example_run();
    loadgen::fsutil::write_atomically(&dir.path().join(authbench_report::render::RUN_FILE), &run)
        .unwrap();
    let output = Command::new(BIN)
        .args(["report", "--project", "250000"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.starts_with("# Scale on paper: 250,000 authenticated requests/s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("loadgen report --project 250000 --headroom 0.7"),
        "{stdout}"
    );
    assert!(
        !dir.path().join("summary.md").exists(),
        "nothing re-rendered"
    );

    let out = dir.path().join("scale.md");
    let output = Command::new(BIN)
        .args(["report", "--project", "1e6", "--out"])
        .arg(&out)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("1,000,000 authenticated"), "{text}");

    let output = Command::new(BIN)
        .args(["report", "--project", "0"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--project 0"), "{stderr}");
}
