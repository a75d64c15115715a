//! Cost family: S1, J1, X1 — decided on the cost part's added CPU over the baseline and the
//! intervals of their differences ([`crate::render::cost`]), never on point estimates. The
//! equal-rate cells' CPU is shown as evidence only: at their rate it is mostly the kernel
//! waking an idle server.

use super::*;
use crate::render::cost::{compare as cmp_cost, AddedCost, Resolved};

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
        .filter(|c| c.kind == StateKind::Session)
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

/// Where an algorithm's added cost stands against each session lookup, named by its fixed
/// role (never by which came out cheaper in a run: two lookups indistinguishable from each
/// other would swap places with the noise). `None`: that lookup was not measured, or its
/// cost came out below the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgPosition {
    /// Against the in-process session lookup.
    pub vs_in_process: Option<Resolved>,
    /// Against the Redis session lookup.
    pub vs_redis: Option<Resolved>,
}

impl AlgPosition {
    /// The lookup "cheap" is judged against: in-process, else Redis.
    fn vs_cheap_reference(&self) -> Option<Resolved> {
        self.vs_in_process.or(self.vs_redis)
    }

    /// The lookup "dear" is judged against: Redis, else in-process.
    fn vs_dear_reference(&self) -> Option<Resolved> {
        self.vs_redis.or(self.vs_in_process)
    }
}

/// J1: each algorithm against the session lookups. Supported when no algorithm resolved as
/// more than the in-process lookup; refuted when every one resolved as more than the Redis
/// lookup; depends on the algorithm otherwise, listing which algorithms cost no more than an
/// in-process lookup, which more than it but no more than a Redis lookup, and which more than
/// a Redis lookup. With one lookup measured, it is the reference for both. `None` without
/// algorithms or without a lookup.
pub fn j1_rule(algs: &[(&str, AlgPosition)]) -> Option<Outcome> {
    if algs.is_empty() || algs.iter().any(|(_, p)| p.vs_cheap_reference().is_none()) {
        return None;
    }
    if algs
        .iter()
        .all(|(_, p)| p.vs_cheap_reference() != Some(Resolved::More))
    {
        return Some(Outcome::Supported);
    }
    if algs
        .iter()
        .all(|(_, p)| p.vs_dear_reference() == Some(Resolved::More))
    {
        return Some(Outcome::Refuted);
    }
    let in_process = algs.iter().any(|(_, p)| p.vs_in_process.is_some());
    let redis = algs.iter().any(|(_, p)| p.vs_redis.is_some());
    let above = |p: &AlgPosition| {
        (
            p.vs_in_process == Some(Resolved::More),
            p.vs_redis == Some(Resolved::More),
        )
    };
    // Fixed roles and a fixed order, so the same positions always read the same.
    let groups = [
        (
            (false, false),
            if in_process {
                "cost no more than an in-process lookup"
            } else {
                "cost no more than a Redis lookup"
            },
        ),
        (
            (true, false),
            if redis {
                "more than an in-process lookup, no more than a Redis lookup"
            } else {
                "more than an in-process lookup"
            },
        ),
        (
            (false, true),
            if in_process {
                "more than a Redis lookup, no more than an in-process lookup"
            } else {
                "more than a Redis lookup"
            },
        ),
        ((true, true), "more than a Redis lookup"),
    ];
    let parts: Vec<String> = groups
        .iter()
        .filter_map(|(key, words)| {
            let names: Vec<String> = algs
                .iter()
                .filter(|(_, p)| above(p) == *key)
                .map(|(a, _)| (*a).to_owned())
                .collect();
            (!names.is_empty()).then(|| format!("{} {words}", list(&names)))
        })
        .collect();
    Some(Outcome::Depends(format!(
        "on the algorithm: {}",
        parts.join("; ")
    )))
}

pub(super) fn j1(run: &SuiteRun) -> (Outcome, String) {
    let algs = jwt_costs(run);
    let all_sess = session_costs(run);
    let lookup = |name: &str| {
        all_sess
            .iter()
            .find(|(n, c)| *n == name && c.over_baseline() != Resolved::Less)
            .map(|(_, c)| c)
    };
    let (in_process, redis) = (lookup("in-process sessions"), lookup("Redis sessions"));
    if algs.is_empty() || (in_process.is_none() && redis.is_none()) {
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
    let positions: Vec<(&str, AlgPosition)> = algs
        .iter()
        .map(|(a, c)| {
            (
                a.as_str(),
                AlgPosition {
                    vs_in_process: in_process.map(|m| cmp_cost(c, m).1),
                    vs_redis: redis.map(|r| cmp_cost(c, r).1),
                },
            )
        })
        .collect();
    let outcome = j1_rule(&positions).unwrap_or(Outcome::Supported);
    let mut ev = vec![format!("added CPU per request over no auth ({})", how(run))];
    for (a, c) in &algs {
        let mut line = format!("{a} {}", f::interval_us(&c.total));
        if let Some(times) = in_process.and_then(|m| times_of(c, m)) {
            let _ = write!(line, " ({times} an in-process lookup)");
        }
        let _ = write!(line, ", {}", cores(c));
        ev.push(line);
    }
    if let Some(rc) = cost_of(run, |c| {
        c.auth == Auth::Jwt
            && c.alg == Some(Alg::Es256)
            && c.crypto_backend == Some(CryptoBackend::RustCrypto)
            && c.extra_claim_bytes == 0
    }) {
        ev.push(format!(
            "ES256 with rust-crypto {}",
            f::interval_us(&rc.total)
        ));
    }
    for (n, s) in [
        ("in-process sessions", in_process),
        ("Redis sessions", redis),
    ] {
        match s {
            Some(s) => ev.push(format!("{n} {}", f::interval_us(&s.total))),
            None if all_sess.iter().any(|(m, _)| *m == n) => {
                ev.push(format!("{n} left out (below the baseline)"))
            }
            None => ev.push(format!("{n} not measured")),
        }
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
        let d = cost_of(
            run,
            pick::jwt_revoking(Alg::Hs256, Revocation::Denylist, store),
        );
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
                eq_rate(
                    run,
                    pick::jwt_revoking(Alg::Hs256, Revocation::Denylist, store),
                ),
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
                    &[
                        Revocation::Denylist.as_str(),
                        Revocation::Denylist.label(),
                        "redis",
                    ],
                )
            },
            String::new(),
        );
    };
    if let Some(t) = cost_of(
        run,
        pick::jwt_revoking(Alg::Hs256, Revocation::TokenVersion, Store::Redis),
    ) {
        ev.push(format!(
            "token versions in Redis {}",
            f::interval_us(&t.total)
        ));
    }
    if let Some(j) = cost_of(run, pick::jwt(Alg::Hs256)) {
        ev.push(format!("stateless HS256 {}", f::interval_us(&j.total)));
    }
    let denylist_state: Vec<String> = run
        .state_cost
        .iter()
        .filter(|c| c.kind == StateKind::Denylist)
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
