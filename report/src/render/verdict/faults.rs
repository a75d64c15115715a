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
            "on the session store: JWTs lose no credential as instances come and go, and \
             neither do {}",
            list(&survive)
        ))
    }
}

/// A2 from the deployment part: the same rule on the gateway + functions runs, where
/// instances come and go by themselves (cold starts, idle stops) instead of being killed.
/// `None` when the part did not run a JWT deployment behind the gateway.
fn a2_deployments(run: &SuiteRun) -> Option<(Outcome, String)> {
    use crate::render::tables::{describe_deployment, lost_credentials};
    use crate::vocabulary::Deployment;
    let functions: Vec<&crate::deployment::DeploymentRun> = run
        .deployments
        .iter()
        .filter(|d| d.deployment == Deployment::GatewayFunctions)
        .collect();
    // The plain authorizer (no decision cache) decides; cached rows are evidence.
    let jwt = functions
        .iter()
        .filter(|d| d.config.auth == Auth::Jwt)
        .min_by_key(|d| d.gateway_settings.map_or(0, |g| g.authorizer_cache_ttl_ms))?;
    let share = |d: &crate::deployment::DeploymentRun| {
        if d.trial.requests == 0 {
            0.0
        } else {
            lost_credentials(d) as f64 / d.trial.requests as f64
        }
    };
    let sessions: Vec<(String, f64)> = functions
        .iter()
        .filter(|d| d.config.auth == Auth::Session)
        .map(|d| {
            let name = match d.config.store {
                Store::Memory => "in-process sessions".to_owned(),
                Store::Redis => "Redis sessions".to_owned(),
            };
            (name, share(d))
        })
        .collect();
    let pairs: Vec<(&str, f64)> = sessions.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let outcome = a2_rule(share(jwt), &pairs);
    let rows = functions
        .iter()
        .map(|d| {
            let cold = d.cold_starts.as_ref().map_or(String::new(), |c| {
                format!(
                    ", {} waited for a cold start (p50 {})",
                    f::int(c.count),
                    f::lat(c.latency.p50_us as f64)
                )
            });
            format!(
                "{}: {} 401s lost, p99 {}{cold}",
                describe_deployment(d),
                f::pct(share(d)),
                f::lat(d.trial.latency.corrected.p99_us as f64)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some((
        outcome,
        format!("gateway + functions under a bursty load (one run each): {rows}"),
    ))
}

pub(super) fn a2(run: &SuiteRun) -> (Outcome, String) {
    let from_deployments = a2_deployments(run);
    let (outcome, churn_evidence) = a2_churn(run);
    match from_deployments {
        Some((outcome, mut ev)) => {
            if !churn_evidence.is_empty() {
                let _ = write!(ev, ". Churn (replicas restarted): {churn_evidence}");
            }
            (outcome, ev)
        }
        None => (outcome, churn_evidence),
    }
}

fn a2_churn(run: &SuiteRun) -> (Outcome, String) {
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
