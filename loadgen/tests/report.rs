//! The suite's run document and its report: the example runs validate against the committed
//! JSON Schema, and `loadgen report RUN_DIR` re-renders summary.md and report.html, naming
//! the file and the versions when run.json is from another schema version.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use authbench_report::render::example::{example_run, example_run_without_redis};

const BIN: &str = env!("CARGO_BIN_EXE_loadgen");

fn validator() -> jsonschema::Validator {
    let text = include_str!("../../report/schema/suite-run.schema.json");
    let schema: serde_json::Value = serde_json::from_str(text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn violations(value: &serde_json::Value) -> Vec<String> {
    validator()
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn example_runs_validate_against_the_schema() {
    for run in [example_run(), example_run_without_redis()] {
        let value = serde_json::to_value(&run).unwrap();
        let errors = violations(&value);
        assert!(errors.is_empty(), "{}: {errors:#?}", run.label);
    }
}

#[test]
fn schema_rejects_what_the_model_cannot_hold() {
    let mut value = serde_json::to_value(example_run()).unwrap();
    value["cells"][0]["config"]["auth"] = "oauth".into();
    value["schema_version"] = 2.into();
    value["surprise"] = true.into();
    assert_eq!(violations(&value).len(), 3, "{:#?}", violations(&value));
}

#[test]
fn older_documents_without_session_security_still_load() {
    let mut value = serde_json::to_value(example_run()).unwrap();
    value.as_object_mut().unwrap().remove("session_security");
    assert!(violations(&value).is_empty());
    let run: authbench_report::model::SuiteRun = serde_json::from_value(value).unwrap();
    assert_eq!(run.session_security, None);
}

#[test]
fn report_command_renders_a_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let run = example_run_without_redis();
    loadgen::fsutil::write_atomically(&dir.path().join("run.json"), &run).unwrap();
    let out = Command::new(BIN)
        .arg("report")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let rendered = authbench_report::render::render(&run);
    assert_eq!(md, rendered.markdown);
    assert_eq!(html, rendered.html);
    assert!(md.contains("redis-server not found on PATH"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("summary.md") && stdout.contains("report.html"),
        "{stdout}"
    );
}

#[test]
fn report_command_names_the_file_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let mut value = serde_json::to_value(example_run()).unwrap();
    value["schema_version"] = 7.into();
    std::fs::write(dir.path().join("run.json"), value.to_string()).unwrap();
    let out = Command::new(BIN)
        .arg("report")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let path = dir.path().join("run.json");
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("schema_version 7") && err.contains("schema_version 1"),
        "{err}"
    );
    assert!(!dir.path().join("report.html").exists());

    let missing = dir.path().join("absent");
    let out = Command::new(BIN)
        .arg("report")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&missing.join("run.json").display().to_string()),
        "{err}"
    );
}

/// Renders the full example run through the binary. With `AUTHBENCH_EXAMPLE_REPORT_DIR` set,
/// the folder (run.json, summary.md, report.html) is left there, e.g. for
/// `scripts/check-report`.
#[test]
fn example_run_folder() {
    let keep = std::env::var_os("AUTHBENCH_EXAMPLE_REPORT_DIR").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let dir = keep.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    loadgen::fsutil::write_atomically(&dir.join("run.json"), &example_run()).unwrap();
    let out = Command::new(BIN).arg("report").arg(&dir).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.matches("<svg ").count() >= 8);
}
