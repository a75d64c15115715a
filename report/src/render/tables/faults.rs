//! The fault runs' table, and — when a run has both — Redis restarted (connections reset,
//! keys lost) against Redis stalled (no answers for as long, keys kept).

use super::{relogins, Align::Left, Align::Right, Section, Table};
use crate::model::{FaultKind, FaultRun, SuiteRun};
use crate::render::format as f;

/// Fault runs.
pub fn faults(run: &SuiteRun) -> Section {
    let stalled = run.faults.iter().any(|f| f.kind == FaultKind::StallRedis);
    let mut s = Section::new(
        "faults",
        if stalled {
            "Faults: a replica killed, Redis restarted or stalled, replicas churned"
        } else {
            "Faults: a replica killed, Redis restarted, replicas churned"
        },
    );
    if run.faults.is_empty() {
        return s.missing(run, "Fault runs were", &["fault", "churn", "kill"]);
    }
    s.intro.push(
        "Open loop through the balancer while a fault is injected. 401s are lost credentials \
         (the user must log in again); other errors are requests without a response or a 5xx. \
         Recovery: from the first fault until the first error-free second after the last error."
            .to_owned(),
    );
    if stalled {
        s.intro.extend(restart_vs_stall(run));
    }
    let mut t = Table::new(&[
        ("fault", Left),
        ("configuration", Left),
        ("rate", Right),
        ("faults at", Left),
        ("errors", Right),
        ("401s", Right),
        ("re-logins", Right),
        ("error seconds", Right),
        ("recovery", Right),
    ]);
    for fr in &run.faults {
        let tr = &fr.trial;
        t.row(vec![
            fr.kind.to_string(),
            fr.config.describe(),
            f::rps(fr.rate),
            fr.fault_at_seconds
                .iter()
                .map(|x| format!("{x:.0} s"))
                .collect::<Vec<_>>()
                .join(", "),
            f::int(tr.errors),
            f::int(tr.status.get("401").copied().unwrap_or(0)),
            f::int(relogins(&tr.logins)),
            fr.error_seconds.to_string(),
            fr.recovery_seconds
                .map_or("not within the run".to_owned(), f::seconds),
        ]);
    }
    s.table(t)
}

/// One sentence per configuration with both a `restart-redis` and a `stall-redis` run.
fn restart_vs_stall(run: &SuiteRun) -> Vec<String> {
    let mut out = vec![
        "Redis stalled (`stall-redis`, SIGSTOP for as long as `restart-redis` keeps it down): \
         connections stay open and nothing is answered, so replicas answer 503 \
         `store_unavailable` after their `--store-timeout` and then at once while their store \
         circuit is open; after SIGCONT the keys are still there and no one logs in again."
            .to_owned(),
    ];
    for stall in run
        .faults
        .iter()
        .filter(|f| f.kind == FaultKind::StallRedis)
    {
        let Some(restart) = run
            .faults
            .iter()
            .find(|f| f.kind == FaultKind::RestartRedis && f.config == stall.config)
        else {
            continue;
        };
        let side = |fr: &FaultRun| {
            format!(
                "{} errors in {} s, of which 503 `store_unavailable` {}, re-logins {}, recovery {}",
                f::int(fr.trial.errors),
                fr.error_seconds,
                f::int(
                    fr.trial
                        .unavailable
                        .get("store_unavailable")
                        .copied()
                        .unwrap_or(0)
                ),
                f::int(relogins(&fr.trial.logins)),
                fr.recovery_seconds
                    .map_or("not within the run".to_owned(), f::seconds)
            )
        };
        out.push(format!(
            "{}: restarted, {}; stalled, {}.",
            stall.config.describe(),
            side(restart),
            side(stall)
        ));
    }
    out
}
