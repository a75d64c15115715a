//! Cost family: S1, J1, X1 — decided on the cost part's added CPU over the baseline and the
//! intervals of their differences ([`crate::report::cost`]), never on point estimates. The
//! equal-rate cells' CPU is shown as evidence only: at their rate it is mostly the kernel
//! waking an idle server.

use super::*;
use crate::report::cost::{compare as cmp_cost, AddedCost, Resolved};

/// S1: does keeping sessions add CPU per request? For each session store, how its added cost
/// over no auth resolved. Supported when every store adds measurable cost, refuted when none
/// does, depends on the store otherwise.
pub fn s1_rule(stores: &[(&str, Resolved)]) -> Option<Outcome> {
    let items: Vec<(String, bool)> = stores
        .iter()
        .map(|(n, r)| ((*n).to_owned(), *r == Resolved::More))
        .collect();
    Some(match split(&items)? {
        Split::All => Outcome::Supported,
        Split::None => Outcome::Refuted,
        Split::Some(more, not) => Outcome::Depends(format!(
            "on the store: {} add measurable CPU per request, {} add none measurable",
            list(&more),
            list(&not)
        )),
    })
}

pub(super) fn s1(run: &SuiteRun) -> (Outcome, String) {
    let sess = session_costs(run);
    if sess.is_empty() {
        return no_cost_part(run);
    }
    let mut ev = vec![format!(
        "added CPU per request over no auth, app + store ({})",
        how(run)
    )];
    let mut stores = Vec::new();
    for (name, c) in &sess {
        let r = c.over_baseline();
        ev.push(format!("{name} {}", added_with_verdict(c)));
        if r != Resolved::Less {
            stores.push((*name, r));
        }
    }
    if let Some((alg, j)) = cheapest_jwt(run) {
        let mut line = format!(
            "for comparison, stateless {alg} {}",
            f::interval_us(&j.total)
        );
        for (name, c) in sess
            .iter()
            .filter(|(_, c)| c.over_baseline() != Resolved::Less)
        {
            let (d, r) = cmp_cost(c, &j);
            let _ = write!(
                line,
                "; {name} − {alg}: {} ({})",
                f::interval_us(&d),
                resolved(r)
            );
        }
        ev.push(line);
    }
    if sess.len() < 2 {
        ev.push("Redis sessions not measured".to_owned());
    }
    let state: Vec<String> = run
        .state_cost
        .iter()
        .filter(|c| c.kind == "session")
        .map(|c| format!("{} per session in {}", f::bytes(c.bytes_per_entry), c.store))
        .collect();
    if !state.is_empty() {
        ev.push(format!(
            "state: {} (a stateless JWT: 0 B)",
            state.join(", ")
        ));
    }
    let outcome = s1_rule(&stores).unwrap_or_else(|| measurement_problem("every session store"));
    (outcome, ev.join("; "))
}

/// Where an algorithm's added cost stands against the session lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgPosition {
    /// Against the cheapest lookup measured.
    pub vs_cheapest: Resolved,
    /// Against the dearest lookup measured.
    pub vs_dearest: Resolved,
}

/// J1: each algorithm against the session lookups. Supported when no algorithm costs more
/// than the cheapest lookup; refuted when every one costs more than the dearest; depends on
/// the algorithm otherwise. `lookups` is how many lookups were measured (1 or 2).
pub fn j1_rule(algs: &[(&str, AlgPosition)], lookups: usize) -> Option<Outcome> {
    if algs.is_empty() || lookups == 0 {
        return None;
    }
    let names = |keep: &dyn Fn(&AlgPosition) -> bool| -> Vec<String> {
        algs.iter()
            .filter(|(_, p)| keep(p))
            .map(|(a, _)| (*a).to_owned())
            .collect()
    };
    let cheap = names(&|p| p.vs_cheapest != Resolved::More);
    let dear = names(&|p| p.vs_dearest == Resolved::More);
    if cheap.len() == algs.len() {
        return Some(Outcome::Supported);
    }
    if dear.len() == algs.len() {
        return Some(Outcome::Refuted);
    }
    let middle = names(&|p| p.vs_cheapest == Resolved::More && p.vs_dearest != Resolved::More);
    let (cheapest, dearest) = if lookups > 1 {
        ("an in-process lookup", "a Redis lookup")
    } else {
        ("the lookup", "the lookup")
    };
    let mut parts = Vec::new();
    if !cheap.is_empty() {
        parts.push(format!("{} cost no more than {cheapest}", list(&cheap)));
    }
    if !middle.is_empty() {
        parts.push(format!(
            "{} more than {cheapest}, no more than {dearest}",
            list(&middle)
        ));
    }
    if !dear.is_empty() {
        parts.push(format!("{} more than {dearest}", list(&dear)));
    }
    Some(Outcome::Depends(format!(
        "on the algorithm: {}",
        parts.join("; ")
    )))
}

pub(super) fn j1(run: &SuiteRun) -> (Outcome, String) {
    let algs = jwt_costs(run);
    let sess: Vec<(&str, AddedCost)> = session_costs(run)
        .into_iter()
        .filter(|(_, c)| c.over_baseline() != Resolved::Less)
        .collect();
    if algs.is_empty() || sess.is_empty() {
        return if run.cost.is_empty() {
            no_cost_part(run)
        } else {
            (
                not_measured(
                    run,
                    "JWT and session cost parts",
                    &["cost", "jwt", "session"],
                ),
                String::new(),
            )
        };
    }
    let by_cost = |a: &&(&str, AddedCost), b: &&(&str, AddedCost)| {
        a.1.total.estimate.total_cmp(&b.1.total.estimate)
    };
    let cheapest = sess.iter().min_by(by_cost).map(|s| &s.1);
    let dearest = sess.iter().max_by(by_cost).map(|s| &s.1);
    let (Some(cheapest), Some(dearest)) = (cheapest, dearest) else {
        return no_cost_part(run);
    };
    let positions: Vec<(&str, AlgPosition)> = algs
        .iter()
        .map(|(a, c)| {
            (
                a.as_str(),
                AlgPosition {
                    vs_cheapest: cmp_cost(c, cheapest).1,
                    vs_dearest: cmp_cost(c, dearest).1,
                },
            )
        })
        .collect();
    let outcome = j1_rule(&positions, sess.len()).unwrap_or(Outcome::Supported);
    let mut ev = vec![format!("added CPU per request over no auth ({})", how(run))];
    for (a, c) in &algs {
        let mut line = format!("{a} {}", f::interval_us(&c.total));
        if let Some(times) = times_of(c, cheapest) {
            let _ = write!(line, " ({times} an in-process lookup)");
        }
        let _ = write!(line, ", {}", cores(c));
        ev.push(line);
    }
    if let Some(rc) = cost_of(run, |c| {
        c.auth == Auth::Jwt
            && c.alg.as_deref() == Some("ES256")
            && c.crypto_backend.as_deref() == Some("rust-crypto")
            && c.extra_claim_bytes == 0
    }) {
        ev.push(format!(
            "ES256 with rust-crypto {}",
            f::interval_us(&rc.total)
        ));
    }
    for (n, s) in &sess {
        ev.push(format!("{n} {}", f::interval_us(&s.total)));
    }
    if sess.len() < 2 {
        ev.push(format!(
            "{} not measured",
            if sess.iter().any(|s| s.0 == "Redis sessions") {
                "in-process sessions"
            } else {
                "a Redis lookup"
            }
        ));
    }
    (outcome, ev.join("; "))
}

/// X1: a deny-listed JWT against a session lookup in the same store, per store: whether the
/// JWT resolved as cheaper. Supported when in no store it is; refuted when it is in every
/// store; depends on the store otherwise.
pub fn x1_rule(stores: &[(&str, Resolved)]) -> Option<Outcome> {
    let items: Vec<(String, bool)> = stores
        .iter()
        .map(|(store, r)| ((*store).to_owned(), *r == Resolved::Less))
        .collect();
    Some(match split(&items)? {
        Split::None => Outcome::Supported,
        Split::All => Outcome::Refuted,
        Split::Some(kept, lost) => Outcome::Depends(format!(
            "on the store: a deny-listed JWT stays cheaper than a session in {}, not in {}",
            list(&kept),
            list(&lost)
        )),
    })
}

pub(super) fn x1(run: &SuiteRun) -> (Outcome, String) {
    let mut stores = Vec::new();
    let mut ev = vec![format!("added CPU per request over no auth ({})", how(run))];
    for (name, store) in [("memory", Store::Memory), ("Redis", Store::Redis)] {
        let d = cost_of(run, pick::jwt_revoking("HS256", "denylist", store));
        let s = cost_of(run, pick::session(store));
        if let (Some(d), Some(s)) = (d, s) {
            let (diff, r) = cmp_cost(&d, &s);
            let mut line = format!(
                "{name}: JWT HS256 + deny-list {} vs session {}, difference {} ({})",
                f::interval_us(&d.total),
                f::interval_us(&s.total),
                f::interval_us(&diff),
                resolved(r)
            );
            if let (Some(dl), Some(sl)) = (
                eq_rate(run, pick::jwt_revoking("HS256", "denylist", store)),
                eq_rate(run, pick::session(store)),
            ) {
                let _ = write!(
                    line,
                    "; p50 at {}: {} vs {}",
                    dl.offered_rps.map_or("equal rate".to_owned(), f::rps),
                    f::lat(dl.p50_us),
                    f::lat(sl.p50_us)
                );
            }
            ev.push(line);
            stores.push((name, r));
        }
    }
    let Some(outcome) = x1_rule(&stores) else {
        return (
            if run.cost.is_empty() {
                no_cost_part(run).0
            } else {
                not_measured(
                    run,
                    "JWT deny-list cost parts",
                    &["denylist", "deny-list", "redis"],
                )
            },
            String::new(),
        );
    };
    if let Some(t) = cost_of(
        run,
        pick::jwt_revoking("HS256", "token-version", Store::Redis),
    ) {
        ev.push(format!(
            "token versions in Redis {}",
            f::interval_us(&t.total)
        ));
    }
    if let Some(j) = cost_of(run, pick::jwt("HS256")) {
        ev.push(format!("stateless HS256 {}", f::interval_us(&j.total)));
    }
    let denylist_state: Vec<String> = run
        .state_cost
        .iter()
        .filter(|c| c.kind == "denylist")
        .map(|c| {
            format!(
                "{} per revoked token in {}",
                f::bytes(c.bytes_per_entry),
                c.store
            )
        })
        .collect();
    if !denylist_state.is_empty() {
        ev.push(format!("state: {}", denylist_state.join(", ")));
    }
    (outcome, ev.join("; "))
}

/// How a difference resolved, in the report's words.
pub fn resolved(r: Resolved) -> &'static str {
    match r {
        Resolved::More => "more",
        Resolved::Less => "less",
        Resolved::Indistinguishable => "indistinguishable at this precision",
    }
}

/// `+19.8 µs [17.9, 25.5] (app +12.1 µs, store +7.7 µs; 0.20 cores per 10,000 req/s)`, or the
/// measurement problem when it came out below the baseline.
pub(super) fn added_with_verdict(c: &AddedCost) -> String {
    let mut out = f::interval_us(&c.total);
    match c.over_baseline() {
        Resolved::Indistinguishable => out.push_str(" (indistinguishable from no auth at this precision)"),
        Resolved::Less => out.push_str(
            " (⚠ measurement problem: resolved below the unauthenticated baseline, which no configuration can be; left out of the verdict)",
        ),
        Resolved::More => {
            let mut parts = vec![format!("app {}", f::us_signed(c.app.estimate))];
            if let Some(store) = &c.store {
                parts.push(format!("store {}", f::us_signed(store.estimate)));
            }
            let _ = write!(out, " ({}; {})", parts.join(", "), cores(c));
        }
    }
    out
}

/// `0.20 cores per 10,000 req/s` of added cost.
fn cores(c: &AddedCost) -> String {
    format!(
        "{:.2} cores per 10,000 req/s",
        c.total.estimate.max(0.0) * 10_000.0 / 1e6
    )
}

/// `25×` when both costs resolved above the baseline.
fn times_of(c: &AddedCost, reference: &AddedCost) -> Option<String> {
    (c.over_baseline() == Resolved::More && reference.over_baseline() == Resolved::More)
        .then(|| format!("{:.1}×", c.total.estimate / reference.total.estimate))
}

/// `median of 6 paired rounds, 95 % interval`.
fn how(run: &SuiteRun) -> String {
    let rounds = run.cost.iter().map(|p| p.rounds.len()).max().unwrap_or(0);
    format!("median of {rounds} paired rounds at saturation, 95 % interval")
}

fn measurement_problem(what: &str) -> Outcome {
    Outcome::NotMeasured(format!(
        "{what} came out below the unauthenticated baseline (a measurement problem, see the evidence); run the suite again on a quieter machine"
    ))
}

/// The verdict when a run has no cost part.
pub(super) fn no_cost_part(run: &SuiteRun) -> (Outcome, String) {
    let mut out = not_measured(run, "The cost part", &["cost"]);
    if let Outcome::NotMeasured(text) = &mut out {
        text.push_str(
            "; the equal-rate cells' CPU per request is not used: at their rate it is mostly the kernel waking an idle server",
        );
    }
    (out, String::new())
}
