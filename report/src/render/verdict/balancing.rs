//! Balancing family: S2, J2, A1.

use super::*;

/// S2: whether each measured session store needs sticky sessions (401 share under
/// round-robin above [`AUTH_FAILURE_MAX_SHARE`]). Supported when every store needs them,
/// refuted when none does, depends on the store otherwise.
pub fn s2_rule(stores: &[(&str, f64)]) -> Option<Outcome> {
    let items: Vec<(String, bool)> = stores
        .iter()
        .map(|(n, share)| ((*n).to_owned(), *share > AUTH_FAILURE_MAX_SHARE))
        .collect();
    Some(match split(&items)? {
        Split::All => Outcome::Supported,
        Split::None => Outcome::Refuted,
        Split::Some(need, not) => Outcome::Depends(format!(
            "on the store: {} need sticky sessions, {} do not (at a cost, see S3)",
            list(&need),
            list(&not)
        )),
    })
}

pub(super) fn balanced(run: &SuiteRun, pred: impl Fn(&CellConfig) -> bool) -> Option<CellStats> {
    stats::stats(run, BALANCING, pred)
}

pub(super) fn s2(run: &SuiteRun) -> (Outcome, String) {
    let mut stores = Vec::new();
    let mut ev = Vec::new();
    for (name, store) in [
        ("in-process sessions", Store::Memory),
        ("Redis sessions", Store::Redis),
    ] {
        if let Some(s) = balanced(run, pick::session_policy(store, Policy::RoundRobin)) {
            ev.push(format!(
                "{name} under round-robin: {} 401s",
                f::pct(s.unauthorized_share)
            ));
            stores.push((name, s.unauthorized_share));
        }
    }
    let Some(outcome) = s2_rule(&stores) else {
        return (
            not_measured(run, "Balancing cells", &["balancing", "balancer"]),
            String::new(),
        );
    };
    if stores.len() < 2 {
        ev.push("Redis sessions under round-robin not measured".to_owned());
    }
    if let Some(s) = balanced(
        run,
        pick::session_policy(Store::Memory, Policy::StickyCookie),
    ) {
        ev.push(format!(
            "sticky cookies: {} 401s, spread CV {}{}",
            f::pct(s.unauthorized_share),
            f::ratio(s.imbalance_cv),
            if s.imbalance_cv > IMBALANCE_CV_MAX {
                " (uneven)"
            } else {
                ""
            }
        ));
    }
    (outcome, ev.join("; "))
}

/// What a fault did to one configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultEffect {
    /// Requests rejected with 401 (lost credentials).
    pub unauthorized: u64,
    /// Share of requests rejected with 401.
    pub unauthorized_share: f64,
    /// All errors.
    pub errors: u64,
    /// Seconds until errors stopped; `None` when they lasted to the end.
    pub recovery_seconds: Option<f64>,
}

impl FaultEffect {
    /// The effect recorded in `run`.
    pub fn of(run: &FaultRun) -> FaultEffect {
        FaultEffect {
            unauthorized: run.trial.status.get("401").copied().unwrap_or(0),
            unauthorized_share: run.trial.unauthorized_share(),
            errors: run.trial.errors,
            recovery_seconds: run.recovery_seconds,
        }
    }

    /// No credentials lost and errors over within [`RECOVERY_MAX_SECONDS`].
    pub fn harmless(&self) -> bool {
        self.unauthorized == 0
            && self
                .recovery_seconds
                .is_some_and(|s| s <= RECOVERY_MAX_SECONDS)
    }

    /// What made it harmful, in words without figures (the figures are in [`Self::describe`]):
    /// `caused auth failures and left errors that lasted to the end of the run`.
    fn harm(&self) -> String {
        let mut parts = Vec::new();
        if self.unauthorized > 0 {
            parts.push("caused auth failures");
        }
        match self.recovery_seconds {
            None => parts.push("left errors that lasted to the end of the run"),
            Some(s) if s > RECOVERY_MAX_SECONDS => {
                parts.push("left errors that outlasted the recovery limit")
            }
            Some(_) => {}
        }
        parts.join(" and ")
    }

    fn describe(&self) -> String {
        format!(
            "{} errors of which {} 401s, {}",
            f::int(self.errors),
            f::int(self.unauthorized),
            match self.recovery_seconds {
                Some(s) => format!("recovered in {}", f::seconds(s)),
                None => "errors lasted to the end".to_owned(),
            }
        )
    }
}

/// J2: refuted when JWTs fail auth under round-robin; depends when killing a replica has a
/// lasting effect (401s, or errors beyond [`RECOVERY_MAX_SECONDS`]) or JWTs scaled more than
/// 10 % ([`SAME_WITHIN`]) worse than Redis sessions on the same machine; supported
/// otherwise. The texts name what it depends on; the figures go in the evidence.
pub fn j2_rule(
    round_robin_401_share: Option<f64>,
    kill: Option<FaultEffect>,
    efficiency: Option<(f64, f64)>,
) -> Option<Outcome> {
    if round_robin_401_share.is_none() && kill.is_none() && efficiency.is_none() {
        return None;
    }
    if round_robin_401_share.is_some_and(|s| s > AUTH_FAILURE_MAX_SHARE) {
        return Some(Outcome::Refuted);
    }
    if let Some(k) = kill.filter(|k| !k.harmless()) {
        return Some(Outcome::Depends(format!(
            "on the balancer's failover: killing a replica {}",
            k.harm()
        )));
    }
    if let Some((jwt, session)) = efficiency {
        if compare(jwt, session) == Cmp::Less {
            return Some(Outcome::Depends(
                "on the deployment: JWTs scaled worse than Redis sessions at the same replica count"
                    .to_owned(),
            ));
        }
    }
    Some(Outcome::Supported)
}

pub(super) fn kill_effect(
    run: &SuiteRun,
    kind: FaultKind,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<FaultEffect> {
    run.faults
        .iter()
        .find(|f| f.kind == kind && pred(&f.config))
        .map(FaultEffect::of)
}

pub(super) fn efficiency_at_largest(
    run: &SuiteRun,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<(usize, f64)> {
    let series = stats::scaling_series(run, pred);
    let last = series.last()?;
    Some((last.replicas, last.efficiency?))
}

pub(super) fn j2(run: &SuiteRun) -> (Outcome, String) {
    let rr = balanced(run, |c| {
        pick::jwt(Alg::Hs256)(c) && c.policy == Policy::RoundRobin
    });
    let kill = kill_effect(run, FaultKind::KillReplica, |c| c.auth == Auth::Jwt);
    let jwt_eff = efficiency_at_largest(run, pick::jwt(Alg::Hs256));
    let ses_eff = efficiency_at_largest(run, pick::session(Store::Redis));
    let eff = match (jwt_eff, ses_eff) {
        (Some((n, j)), Some((m, s))) if n == m => Some((n, j, s)),
        _ => None,
    };
    // Measured efficiency only decides when every replica (and the balancer) had a core of
    // its own; on fewer cores it measures contention, and the projection speaks instead.
    let decisive = eff
        .filter(|(n, _, _)| run.env.cores > *n)
        .map(|(_, j, s)| (j, s));
    let Some(outcome) = j2_rule(rr.as_ref().map(|s| s.unauthorized_share), kill, decisive) else {
        return (
            not_measured(
                run,
                "JWT balancing, scaling and kill-replica runs",
                &["balanc", "scaling", "fault"],
            ),
            String::new(),
        );
    };
    let mut ev = Vec::new();
    if let Some(s) = &rr {
        ev.push(format!(
            "round-robin over {} replicas: {} 401s",
            s.replicas,
            f::pct(s.unauthorized_share)
        ));
    }
    if let Some(k) = &kill {
        ev.push(format!("replica killed: {}", k.describe()));
    }
    if let Some((n, j)) = jwt_eff {
        let mut s = format!(
            "scaling efficiency at {n} replicas on {} shared cores: {}",
            run.env.cores,
            f::ratio(j)
        );
        if let Some((_, r)) = ses_eff {
            let _ = write!(s, " (Redis sessions {})", f::ratio(r));
        }
        ev.push(s);
    }
    if let Some(p) = projection::projections(run)
        .into_iter()
        .find(|p| p.name == "jwt HS256")
    {
        if let Some(&(n, rps, _)) = p.points.last() {
            ev.push(format!(
                "projection: linear, {} at {n} replicas",
                f::rps(rps)
            ));
        }
    }
    (outcome, ev.join("; "))
}

/// A1: refuted when sticky cookies still produce 401s; depends when they spread load
/// unevenly (CV above [`IMBALANCE_CV_MAX`]; the CV itself is in the evidence); supported
/// otherwise.
pub fn a1_rule(sticky_401_share: f64, sticky_cv: f64) -> Outcome {
    if sticky_401_share > AUTH_FAILURE_MAX_SHARE {
        Outcome::Refuted
    } else if sticky_cv > IMBALANCE_CV_MAX {
        Outcome::Depends(
            "on the spread: sticky cookies kept every session but spread load unevenly".to_owned(),
        )
    } else {
        Outcome::Supported
    }
}

pub(super) fn a1(run: &SuiteRun) -> (Outcome, String) {
    use crate::render::tables::{describe_deployment, lost_credentials};
    // The deployment part decides when it ran long-lived servers with sticky in-process
    // sessions; the balancing cells decide otherwise (and are evidence either way).
    let deployed = run.deployments.iter().find(|d| {
        d.deployment == crate::vocabulary::Deployment::LbServers
            && d.config.auth == Auth::Session
            && d.config.store == Store::Memory
            && d.config.policy == Policy::StickyCookie
    });
    let sticky = balanced(
        run,
        pick::session_policy(Store::Memory, Policy::StickyCookie),
    );
    let (outcome, mut ev) = match (deployed, &sticky) {
        (Some(d), _) => {
            let share = if d.trial.requests == 0 {
                0.0
            } else {
                lost_credentials(d) as f64 / d.trial.requests as f64
            };
            let cv = d.trial.imbalance_cv(d.config.replicas);
            (
                a1_rule(share, cv),
                format!(
                    "{} under the bursty load: {} 401s lost, spread CV {}, p99 {}",
                    describe_deployment(d),
                    f::pct(share),
                    f::ratio(cv),
                    f::lat(d.trial.latency.corrected.p99_us as f64)
                ),
            )
        }
        (None, Some(sticky)) => (
            a1_rule(sticky.unauthorized_share, sticky.imbalance_cv),
            String::new(),
        ),
        (None, None) => {
            return (
                not_measured(run, "Sticky-cookie balancing", &["balanc", "sticky"]),
                String::new(),
            )
        }
    };
    if let Some(sticky) = sticky {
        if !ev.is_empty() {
            ev.push_str("; ");
        }
        let _ = write!(
            ev,
            "sticky cookies over {} replicas: {} 401s, spread CV {}",
            sticky.replicas,
            f::pct(sticky.unauthorized_share),
            f::ratio(sticky.imbalance_cv)
        );
    }
    if let Some(k) = kill_effect(run, FaultKind::KillReplica, |c| {
        c.auth == Auth::Session && c.store == Store::Memory
    }) {
        let _ = write!(
            ev,
            "; a replica killed: {} sessions lost (401, then re-login), {}",
            f::int(k.unauthorized),
            match k.recovery_seconds {
                Some(s) => format!("recovered in {}", f::seconds(s)),
                None => "errors lasted to the end".to_owned(),
            }
        );
    }
    (outcome, ev)
}
