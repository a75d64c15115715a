//! Fault family: A2 (A1 in the balancing family reads the kill-replica run too).

use super::*;

/// A2 (churn): refuted when JWTs lose credentials (401s above [`AUTH_FAILURE_MAX_SHARE`])
/// while replicas churn; supported when they do not and every session configuration
/// measured does; depends (on the session store) when some session configuration survives
/// churn too.
pub fn a2_rule(jwt_401_share: f64, sessions: &[(&str, f64)]) -> Outcome {
    if jwt_401_share > AUTH_FAILURE_MAX_SHARE {
        return Outcome::Refuted;
    }
    let survive: Vec<String> = sessions
        .iter()
        .filter(|s| s.1 <= AUTH_FAILURE_MAX_SHARE)
        .map(|s| s.0.to_owned())
        .collect();
    if survive.is_empty() {
        Outcome::Supported
    } else {
        Outcome::Depends(format!(
            "on the session store: JWTs survive churn, and so do {}",
            list(&survive)
        ))
    }
}

pub(super) fn a2(run: &SuiteRun) -> (Outcome, String) {
    let churn: Vec<&FaultRun> = run
        .faults
        .iter()
        .filter(|f| f.kind == FaultKind::Churn)
        .collect();
    let Some(jwt) = churn.iter().find(|f| f.config.auth == Auth::Jwt) else {
        return (
            not_measured(run, "Churn runs", &["churn", "fault"]),
            String::new(),
        );
    };
    let describe = |f: &FaultRun| {
        let relogins: u64 = f
            .trial
            .logins
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "first" | "renew" | "logout"))
            .map(|(_, v)| *v)
            .sum();
        format!(
            "{}: {} 401s, {} re-logins, {} errors",
            stats::scheme_name(&f.config),
            f::pct(f.trial.unauthorized_share()),
            f::int(relogins),
            f::int(f.trial.errors)
        )
    };
    let sessions: Vec<(String, f64)> = churn
        .iter()
        .filter(|f| f.config.auth == Auth::Session)
        .map(|f| {
            let name = match f.config.store {
                Store::Memory => "in-process sessions".to_owned(),
                Store::Redis => "Redis sessions".to_owned(),
            };
            (name, f.trial.unauthorized_share())
        })
        .collect();
    let pairs: Vec<(&str, f64)> = sessions.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let outcome = a2_rule(jwt.trial.unauthorized_share(), &pairs);
    let n = jwt.fault_at_seconds.len();
    let mut ev = format!(
        "{n} replica restarts in {}: ",
        f::seconds(jwt.trial.window_seconds)
    );
    ev.push_str(
        &churn
            .iter()
            .map(|f| describe(f))
            .collect::<Vec<_>>()
            .join("; "),
    );
    (outcome, ev)
}
