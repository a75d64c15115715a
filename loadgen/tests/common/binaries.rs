//! The binaries the process-level tests run.

use std::path::{Path, PathBuf};
use std::process::Command;

/// loadgen's own binary (cargo builds it for these tests).
pub const LOADGEN: &str = env!("CARGO_BIN_EXE_loadgen");

/// The bench-server binary next to loadgen's, brought up to date once per test binary
/// (cargo builds only the binaries of the package under test; a stale one would lack new
/// flags).
pub fn bench_server() -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let mut build = Command::new(env!("CARGO"));
        build.args([
            "build",
            "--quiet",
            "-p",
            "bench-server",
            "--bin",
            "bench-server",
        ]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build.status().unwrap();
        assert!(status.success(), "building bench-server failed");
    });
    Path::new(LOADGEN).with_file_name("bench-server")
}
