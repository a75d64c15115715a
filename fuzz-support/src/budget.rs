//! The fuzz budget every target shares, and the line each one prints.
//!
//! Cases of a target: `AUTHBENCH_FUZZ_CASES_<TARGET>` (the target's name in upper case, e.g.
//! `AUTHBENCH_FUZZ_CASES_JWT_MUTATION=5000`) when set; otherwise `AUTHBENCH_FUZZ_CASES` (a
//! base, default [`DEFAULT_BASE`]) times the target's weight, which reflects its speed (cheap
//! parsers weigh more than signature checks). `AUTHBENCH_FUZZ_PLAN=1` makes every target print
//! `fuzz-plan <target> <weight>` and run nothing (`scripts/fuzz --total` splits a total by it).
//! A failing case is shrunk and written to `<crate>/proptest-regressions/<target>.txt` (the
//! crate whose test found it), which later runs replay first.

use std::time::Instant;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

/// Cases per unit of weight when `AUTHBENCH_FUZZ_CASES` is not set: the short budget that
/// `cargo test` runs.
pub const DEFAULT_BASE: u64 = 256;

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={text:?} is not a number of cases"),
    }
}

/// The cases `name` runs at `weight`.
pub fn cases(name: &str, weight: f64) -> u32 {
    let own = format!(
        "AUTHBENCH_FUZZ_CASES_{}",
        name.to_ascii_uppercase().replace('-', "_")
    );
    let n = env_u64(&own).unwrap_or_else(|| {
        let base = env_u64("AUTHBENCH_FUZZ_CASES").unwrap_or(DEFAULT_BASE);
        (base as f64 * weight).round() as u64
    });
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// Runs target `name`: `test` on the budget's number of values drawn from `strategy`; prints
/// `fuzz <name>: <N> cases in <T> s (<R> cases/s)`; panics with the shrunk input on a failure.
pub fn run<S: Strategy>(
    name: &'static str,
    weight: f64,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    if std::env::var_os("AUTHBENCH_FUZZ_PLAN").is_some_and(|v| v == "1") {
        eprintln!("fuzz-plan {name} {weight}");
        return;
    }
    let cases = cases(name, weight);
    // `cargo test` runs each test binary with its package's directory as the working
    // directory and CARGO_MANIFEST_DIR set: the seeds go beside that package's Cargo.toml.
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let file = format!("{dir}/proptest-regressions/{name}.txt");
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(Box::leak(
            file.into_boxed_str(),
        )))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let started = Instant::now();
    let result = runner.run(&strategy, test);
    let secs = started.elapsed().as_secs_f64();
    let rate = f64::from(cases) / secs.max(1e-9);
    eprintln!("fuzz {name}: {cases} cases in {secs:.2} s ({rate:.0} cases/s)");
    if let Err(err) = result {
        panic!("fuzz {name}: {err}");
    }
}
