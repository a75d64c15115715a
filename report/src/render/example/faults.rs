//! The example's fault runs: a killed replica, a restarted and a stalled Redis, and session
//! churn.

use crate::model::{Alg, CellConfig, FaultKind, FaultRun, Policy, Store, Trial};

use super::cells::COOKIE_LINE;
use super::trial::{clustered, jwt, session, trial, Spec};

/// A fault run's per-second timeline: `rate` requests/s, errors at the given seconds.
fn fault_trial(rate: f64, errors_at: &[(u64, u64, u64)], seconds: u64) -> Trial {
    let spec = Spec::new(rate, 240.0, 610.0, 1_300.0, 12.0, COOKIE_LINE);
    let mut t = trial(&spec, 0, seconds as f64);
    let mut unauthorized = 0;
    let mut failed = 0;
    let hit: Vec<u64> = errors_at.iter().map(|e| e.0).collect();
    for s in &mut t.timeline {
        // A fault stalls some requests for a moment; the open loop catches up the next second.
        s.requests = if hit.contains(&s.t) {
            (rate * 0.91) as u64
        } else if s.t > 0 && hit.contains(&(s.t - 1)) {
            (rate * 1.08) as u64
        } else {
            (rate * (1.0 + ((s.t * 7) % 5) as f64 * 0.004)) as u64
        };
        s.errors = 0;
        for &(at, n401, nfail) in errors_at {
            if s.t == at {
                s.errors += n401 + nfail;
                s.p99_us = 48_000 + 9_000 * nfail.min(10);
                unauthorized += n401;
                failed += nfail;
            }
        }
    }
    t.requests = t.timeline.iter().map(|s| s.requests).sum();
    t.errors = unauthorized + failed;
    t.throughput_rps = t.requests as f64 / seconds as f64;
    t.status.clear();
    t.status.insert("200".to_owned(), t.requests - t.errors);
    t.unauthorized.clear();
    if unauthorized > 0 {
        t.status.insert("401".to_owned(), unauthorized);
        t.unauthorized
            .insert("unknown-session".to_owned(), unauthorized);
        t.logins.insert("unknown-session".to_owned(), unauthorized);
    }
    if failed > 0 {
        t.failures.insert("io".to_owned(), failed);
    }
    t
}

/// A stalled store: `n` requests of second `t` answered 503 `store_unavailable` (for each
/// `(t, n)`), no connection lost, no credential lost.
fn store_unavailable(mut fr: FaultRun, at: &[(u64, u64)]) -> FaultRun {
    let t = &mut fr.trial;
    for s in &mut t.timeline {
        if let Some(&(_, n)) = at.iter().find(|(at, _)| *at == s.t) {
            s.errors = n;
            s.p99_us = 251_000;
        }
    }
    let n: u64 = at.iter().map(|(_, n)| n).sum();
    t.errors = n;
    t.status.insert("200".to_owned(), t.requests - n);
    t.status.insert("503".to_owned(), n);
    t.unavailable.insert("store_unavailable".to_owned(), n);
    fr.error_seconds = at.len() as u64;
    fr
}

pub(super) fn faults() -> Vec<FaultRun> {
    let rate = 1_000.0;
    let sticky = clustered(session(Store::Memory), 3, Policy::StickyCookie);
    let redis = clustered(session(Store::Redis), 3, Policy::RoundRobin);
    let hs = clustered(jwt(Alg::Hs256), 3, Policy::RoundRobin);
    let run = |id: &str,
               kind: FaultKind,
               config: &CellConfig,
               at: &[f64],
               errors: &[(u64, u64, u64)],
               recovery: Option<f64>| {
        let trial = fault_trial(rate, errors, 30);
        FaultRun {
            id: id.to_owned(),
            kind,
            config: config.clone(),
            rate,
            fault_at_seconds: at.to_vec(),
            error_seconds: trial.timeline.iter().filter(|s| s.errors > 0).count() as u64,
            trial,
            recovery_seconds: recovery,
        }
    };
    let churn_at = [5.0, 10.0, 15.0, 20.0, 25.0];
    vec![
        run(
            "kill-replica/session-memory-sticky",
            FaultKind::KillReplica,
            &sticky,
            &[10.0],
            &[(10, 33, 5)],
            Some(1.0),
        ),
        run(
            "kill-replica/jwt-hs256",
            FaultKind::KillReplica,
            &hs,
            &[10.0],
            &[(10, 0, 4)],
            Some(1.0),
        ),
        run(
            "restart-redis/session-redis",
            FaultKind::RestartRedis,
            &redis,
            &[10.0],
            &[(10, 0, 610), (11, 100, 240)],
            Some(2.0),
        ),
        store_unavailable(
            run(
                "stall-redis/session-redis",
                FaultKind::StallRedis,
                &redis,
                &[10.0],
                &[],
                Some(2.0),
            ),
            &[(10, 905), (11, 470)],
        ),
        run(
            "churn/session-memory-sticky",
            FaultKind::Churn,
            &sticky,
            &churn_at,
            &[
                (5, 34, 3),
                (10, 33, 4),
                (15, 33, 2),
                (20, 34, 3),
                (25, 33, 3),
            ],
            Some(21.0),
        ),
        run(
            "churn/session-redis",
            FaultKind::Churn,
            &redis,
            &churn_at,
            &[(5, 0, 3), (10, 0, 2), (15, 0, 4), (20, 0, 3), (25, 0, 2)],
            Some(21.0),
        ),
        run(
            "churn/jwt-hs256",
            FaultKind::Churn,
            &hs,
            &churn_at,
            &[(5, 0, 3), (10, 0, 3), (15, 0, 2), (20, 0, 3), (25, 0, 3)],
            Some(21.0),
        ),
    ]
}
