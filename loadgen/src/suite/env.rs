//! The machine and software a run was made on (`env.json`), so every figure can be traced
//! to where it came from.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use authbench_report::model::Env;

/// Crates whose versions decide the numbers, as locked when loadgen was built.
const CRATES: [&str; 8] = [
    "jsonwebtoken",
    "aws-lc-rs",
    "redis",
    "axum",
    "hyper",
    "tokio",
    "hdrhistogram",
    "argon2",
];

/// The `Cargo.lock` loadgen was built with.
const CARGO_LOCK: &str = include_str!("../../../Cargo.lock");

/// Reads the environment. `repo` is where to ask git for the commit.
pub fn collect(command: Vec<String>, repo: &Path) -> Env {
    let mut crates = locked_versions(CARGO_LOCK);
    crates.insert("loadgen".into(), env!("CARGO_PKG_VERSION").into());
    Env {
        command,
        hostname: hostname(),
        kernel: first_line("uname", &["-sr"]).unwrap_or_default(),
        cpu_model: cpu_model().unwrap_or_default(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes: memory_bytes().unwrap_or(0),
        git_commit: git_commit(repo),
        rustc: first_line("rustc", &["--version"]),
        crates,
        redis: first_line("redis-server", &["--version"]),
        haproxy: first_line("haproxy", &["-v"]),
        nginx: first_line("nginx", &["-v"]),
    }
}

/// Versions of [`CRATES`] from a `Cargo.lock` text.
pub fn locked_versions(lock: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut name: Option<&str> = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"'));
        } else if let (Some(n), Some(v)) = (name, line.strip_prefix("version = ")) {
            if CRATES.contains(&n) {
                out.insert(n.to_owned(), v.trim_matches('"').to_owned());
            }
            name = None;
        }
    }
    out
}

/// The host name (kept short: no domain).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| first_line("hostname", &[]))
        .map(|h| h.trim().split('.').next().unwrap_or_default().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = info
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn git_commit(repo: &Path) -> Option<String> {
    let commit = first_line(
        "git",
        &["-C", &repo.display().to_string(), "rev-parse", "HEAD"],
    )?;
    let dirty = Command::new("git")
        .args([
            "-C",
            &repo.display().to_string(),
            "status",
            "--porcelain",
            "--untracked-files=no",
        ])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

/// The first non-empty line a command prints (stdout, else stderr: `nginx -v` writes there).
fn first_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    [output.stdout, output.stderr]
        .iter()
        .filter_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        })
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_locked_versions() {
        let lock = "[[package]]\nname = \"jsonwebtoken\"\nversion = \"10.1.0\"\n\n[[package]]\nname = \"other\"\nversion = \"1.0.0\"\n";
        let versions = locked_versions(lock);
        assert_eq!(
            versions.get("jsonwebtoken").map(String::as_str),
            Some("10.1.0")
        );
        assert!(!versions.contains_key("other"));
        assert!(locked_versions(CARGO_LOCK).contains_key("tokio"));
    }
}
