//! The latency verdicts across network profiles: X2 decided over every profile measured, and
//! S3's latency evidence per profile.

use super::latency::X2Finding;
use super::*;
use crate::render::distance;

/// `names` as a list: `a`, `a and b`, `a, b and c`.
fn names(of: &[&str]) -> String {
    list(&of.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
}

/// X2 over several network profiles: `profiles` are `(profile name, finding there)`, nearest
/// store first. Returns the verdict and the index of the profile that decided it.
///
/// * some profile finds tens of ms at p50 → supported, decided by the farthest such one;
/// * every profile stays within a millisecond → refuted, decided by the farthest;
/// * some stay within a millisecond and others show more (over a millisecond at p50, or
///   tens of ms at p99) → depends *on the distance to the store*, decided by the farthest
///   that shows more;
/// * otherwise the farthest profile with a resolved finding decides, and its wording says
///   where (a profile whose interval spans a threshold decides only when none is resolved).
///
/// The texts name profiles and fixed thresholds only, never a measured figure.
pub fn x2_combine(profiles: &[(String, X2Finding)]) -> (Outcome, usize) {
    match profiles {
        [] => {
            return (
                Outcome::NotMeasured("no network profile had session and JWT cells".into()),
                0,
            )
        }
        [(_, only)] => return (only.outcome(), 0),
        _ => {}
    }
    let last = |f: &dyn Fn(X2Finding) -> bool| profiles.iter().rposition(|(_, x)| f(*x));
    let at = |f: &dyn Fn(X2Finding) -> bool| -> Vec<&str> {
        profiles
            .iter()
            .filter(|(_, x)| f(*x))
            .map(|(n, _)| n.as_str())
            .collect()
    };
    if let Some(i) = last(&|x| x == X2Finding::TensOfMs) {
        return (Outcome::Supported, i);
    }
    let farthest = profiles.len().saturating_sub(1);
    if profiles.iter().all(|(_, x)| *x == X2Finding::SubMs) {
        return (Outcome::Refuted, farthest);
    }
    let more = |x: X2Finding| matches!(x, X2Finding::OverMs | X2Finding::TensOfMsAtP99);
    let within = at(&|x| x == X2Finding::SubMs);
    let unresolved = at(&|x| x == X2Finding::Unresolved);
    let pending = if unresolved.is_empty() {
        String::new()
    } else {
        format!(
            "; a p50 interval spans a threshold at {} (more trials would decide)",
            names(&unresolved)
        )
    };
    if let (false, Some(i)) = (within.is_empty(), last(&more)) {
        let mut parts = vec![format!("within a millisecond at {}", names(&within))];
        let over = at(&|x| x == X2Finding::OverMs);
        if !over.is_empty() {
            parts.push(format!(
                "over a millisecond at p50 but short of tens of ms at {}",
                names(&over)
            ));
        }
        let p99 = at(&|x| x == X2Finding::TensOfMsAtP99);
        if !p99.is_empty() {
            parts.push(format!("tens of ms only at p99 at {}", names(&p99)));
        }
        return (
            Outcome::Depends(format!(
                "on the distance to the store: {}{pending}",
                parts.join(", ")
            )),
            i,
        );
    }
    let (i, finding) = match last(&|x| x != X2Finding::Unresolved) {
        // Resolved somewhere: the farthest resolved profile decides.
        Some(i) if profiles[i].1 != X2Finding::SubMs => (i, profiles[i].1),
        // Within a millisecond where resolved, a threshold spanned elsewhere.
        _ => (
            last(&|x| x == X2Finding::Unresolved).unwrap_or(farthest),
            X2Finding::Unresolved,
        ),
    };
    let outcome = match (finding, finding.outcome()) {
        (X2Finding::Unresolved, _) => Outcome::Depends(format!(
            "on precision: a p50 difference's interval spans a threshold of the rule at {} (more trials would decide)",
            names(&unresolved)
        )),
        (_, Outcome::Depends(why)) => {
            Outcome::Depends(format!("{why}, at {}{pending}", profiles[i].0))
        }
        (_, other) => other,
    };
    (outcome, i)
}

/// S3's latency side at every network but loopback: Redis − in-process sessions where both
/// were measured there, else what Redis sessions add over that network's own baseline.
/// Empty when the run measured loopback only.
pub(super) fn s3_distance(run: &SuiteRun) -> String {
    let mut out = String::new();
    for n in distance::networks(run).iter().filter(|n| !n.is_loopback()) {
        let sessions = distance::sessions_at(run, n);
        let get = |name: &str| sessions.iter().find(|(s, _)| s == name).map(|(_, a)| a);
        let text = match (get("Redis sessions"), get("in-process sessions")) {
            (Some(r), Some(m)) => match r.minus(m) {
                Some(d) => format!(
                    "latency Redis − in-process over {} paired trials: p50 {} ({}), p99 {}",
                    d.trials,
                    f::interval_lat(&d.p50),
                    super::cost::resolved(d.p50_resolved(r, m)),
                    f::interval_lat(&d.p99)
                ),
                None => continue,
            },
            (Some(r), None) => format!(
                "Redis sessions add p50 {}, p99 {} over no auth ({} paired trials; no in-process sessions there)",
                f::interval_lat(&r.p50),
                f::interval_lat(&r.p99),
                r.trials
            ),
            _ => continue,
        };
        let _ = write!(out, "; at {}: {text}", distance::label(n));
    }
    out
}
