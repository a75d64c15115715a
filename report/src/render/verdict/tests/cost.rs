//! Cost family: S1, J1, X1.

use super::*;

#[test]
fn s1_what_a_session_store_adds_over_no_auth() {
    assert_eq!(
        s1_rule(&[("in-process sessions", More), ("Redis sessions", More)]),
        Some(Outcome::Supported)
    );
    assert_eq!(
        s1_rule(&[("in-process sessions", Same), ("Redis sessions", Same)]),
        Some(Outcome::Refuted)
    );
    let d = s1_rule(&[("in-process sessions", Same), ("Redis sessions", More)]);
    assert!(
        depends(&d).contains("Redis sessions add measurable")
            && depends(&d).contains("in-process sessions add none measurable"),
        "{d:?}"
    );
    assert_eq!(s1_rule(&[]), None);
}

pub(super) fn pos(
    vs_in_process: Option<crate::render::cost::Resolved>,
    vs_redis: Option<crate::render::cost::Resolved>,
) -> AlgPosition {
    AlgPosition {
        vs_in_process,
        vs_redis,
    }
}

/// Both lookups measured.
pub(super) fn both(
    vs_in_process: crate::render::cost::Resolved,
    vs_redis: crate::render::cost::Resolved,
) -> AlgPosition {
    pos(Some(vs_in_process), Some(vs_redis))
}

#[test]
fn j1_algorithms_vs_lookups() {
    assert_eq!(
        j1_rule(&[("HS256", both(Same, Less)), ("EdDSA", both(Less, Less))]),
        Some(Outcome::Supported)
    );
    assert_eq!(
        j1_rule(&[("RS256", both(More, More)), ("ES256", both(More, More))]),
        Some(Outcome::Refuted)
    );
    // HS256 indistinguishable from a Redis lookup or resolved cheaper: the same words.
    for vs_redis in [Less, Same] {
        let d = j1_rule(&[("HS256", both(More, vs_redis)), ("ES256", both(More, More))]);
        assert_eq!(
            depends(&d),
            "on the algorithm: HS256 more than an in-process lookup, no more than a Redis lookup; ES256 more than a Redis lookup"
        );
    }
    let d = j1_rule(&[
        ("HS256", both(Same, Less)),
        ("RS256", both(More, Same)),
        ("ES256", both(More, More)),
        ("EdDSA", both(More, More)),
    ]);
    assert_eq!(
        depends(&d),
        "on the algorithm: HS256 cost no more than an in-process lookup; RS256 more than an in-process lookup, no more than a Redis lookup; ES256 and EdDSA more than a Redis lookup"
    );
    // One lookup measured: named by its role, the reference for both ends.
    let redis_only = j1_rule(&[
        ("HS256", pos(None, Some(Same))),
        ("ES256", pos(None, Some(More))),
    ]);
    assert_eq!(
        depends(&redis_only),
        "on the algorithm: HS256 cost no more than a Redis lookup; ES256 more than a Redis lookup"
    );
    let in_process_only = j1_rule(&[
        ("HS256", pos(Some(Less), None)),
        ("ES256", pos(Some(More), None)),
    ]);
    assert_eq!(
        depends(&in_process_only),
        "on the algorithm: HS256 cost no more than an in-process lookup; ES256 more than an in-process lookup"
    );
    assert_eq!(
        j1_rule(&[("HS256", pos(None, Some(Less)))]),
        Some(Outcome::Supported)
    );
    assert_eq!(
        j1_rule(&[("HS256", pos(Some(More), None))]),
        Some(Outcome::Refuted)
    );
    // A Redis lookup resolved below an in-process one (noise, or a measurement problem): the
    // words still say which lookup is which.
    let d = j1_rule(&[("HS256", both(Same, More)), ("ES256", both(More, Same))]);
    assert_eq!(
        depends(&d),
        "on the algorithm: ES256 more than an in-process lookup, no more than a Redis lookup; HS256 more than a Redis lookup, no more than an in-process lookup"
    );
    assert_eq!(j1_rule(&[]), None);
    assert_eq!(j1_rule(&[("HS256", pos(None, None))]), None);
}

/// Sets a cost part's rounds so that the case adds `added[i]` CPU-µs per request over a
/// 20 µs baseline in round `i`.
fn set_added(run: &mut SuiteRun, pred: impl Fn(&CellConfig) -> bool, added: &[f64]) {
    use crate::model::{CostRound, CostSample};
    let side = |us: f64| CostSample {
        requests: 10_000,
        logins: 0,
        errors: 0,
        seconds: 0.3,
        app_user_seconds: us * 10_000.0 / 1e6,
        app_system_seconds: 0.0,
        store_seconds: None,
    };
    let part = run.cost.iter_mut().find(|p| pred(&p.config)).unwrap();
    part.rounds = added
        .iter()
        .map(|a| CostRound {
            baseline: side(20.0),
            case: side(20.0 + a),
        })
        .collect();
}

#[test]
fn j1_names_lookups_by_role_when_they_are_indistinguishable() {
    // In-process and Redis lookups indistinguishable from each other; their point estimates
    // swap between the two runs (10.0 vs 11.0, then 10.0 vs 9.0). HS256 is resolved as more
    // than the in-process lookup but not as more than the (noisy) Redis one in both. Naming
    // the lookups "cheapest"/"dearest" by estimate called HS256 cheap in the second run.
    let variant = |redis: &[f64]| {
        let mut run = example_run();
        run.cost
            .retain(|p| p.config.auth != Auth::Jwt || pick::jwt(Alg::Hs256)(&p.config));
        set_added(
            &mut run,
            pick::session(Store::Memory),
            &[10.0, 10.1, 9.9, 10.0, 10.1, 9.9],
        );
        set_added(&mut run, pick::session(Store::Redis), redis);
        set_added(
            &mut run,
            pick::jwt(Alg::Hs256),
            &[13.0, 13.1, 12.9, 13.0, 13.1, 12.9],
        );
        run
    };
    let a = variant(&[6.0, 16.0, 8.0, 14.0, 11.0, 11.0]);
    let b = variant(&[4.0, 14.0, 6.0, 12.0, 9.0, 9.0]);
    for run in [&a, &b] {
        let m = cost_of(run, pick::session(Store::Memory)).unwrap();
        let r = cost_of(run, pick::session(Store::Redis)).unwrap();
        let h = cost_of(run, pick::jwt(Alg::Hs256)).unwrap();
        assert_eq!(crate::render::cost::compare(&r, &m).1, Same);
        assert_eq!(crate::render::cost::compare(&h, &m).1, More);
        assert_eq!(crate::render::cost::compare(&h, &r).1, Same);
    }
    let (ma, ra) = (
        cost_of(&a, pick::session(Store::Memory)).unwrap(),
        cost_of(&a, pick::session(Store::Redis)).unwrap(),
    );
    let rb = cost_of(&b, pick::session(Store::Redis)).unwrap();
    assert!(ra.total.estimate > ma.total.estimate && rb.total.estimate < ma.total.estimate);
    let j1 = |run: &SuiteRun| verdicts(run).into_iter().find(|v| v.claim == "J1").unwrap();
    let (ja, jb) = (j1(&a), j1(&b));
    assert_eq!(ja.outcome.summary(), jb.outcome.summary());
    assert_eq!(
        ja.outcome.detail(),
        Some("on the algorithm: HS256 more than an in-process lookup, no more than a Redis lookup")
    );
    assert_ne!(ja.evidence, jb.evidence, "the figures differ");
}

#[test]
fn x1_denylist_vs_session_in_the_same_store() {
    assert_eq!(
        x1_rule(&[("memory", More), ("Redis", Same)]),
        Some(Outcome::Supported)
    );
    assert_eq!(
        x1_rule(&[("memory", Less), ("Redis", Less)]),
        Some(Outcome::Refuted)
    );
    let d = x1_rule(&[("memory", More), ("Redis", Less)]);
    assert!(
        depends(&d).contains("cheaper than a session in Redis, not in memory"),
        "{d:?}"
    );
    assert_eq!(x1_rule(&[]), None);
}

#[test]
fn cost_verdicts_read_the_cost_part_not_the_equal_rate_cells() {
    let mut run = example_run();
    let before: Vec<String> = verdicts(&run).iter().map(|v| v.outcome.summary()).collect();
    // Equal-rate CPU that says the opposite changes nothing.
    for cell in &mut run.cells {
        for t in &mut cell.trials {
            t.cpu.total_us_per_request = 1.0;
            t.cpu.app_us_per_request = 1.0;
        }
    }
    let after: Vec<String> = verdicts(&run).iter().map(|v| v.outcome.summary()).collect();
    assert_eq!(before, after);
    run.cost.clear();
    for v in verdicts(&run) {
        if ["S1", "J1", "X1", "S3"].contains(&v.claim) {
            assert!(
                matches!(&v.outcome, Outcome::NotMeasured(t) if t.contains("cost part")),
                "{}: {:?}",
                v.claim,
                v.outcome
            );
        }
    }
}

#[test]
fn a_cost_below_the_baseline_is_a_measurement_problem() {
    let mut run = example_run();
    for part in &mut run.cost {
        if part.config.auth == Auth::Session && part.config.store == Store::Memory {
            for r in &mut part.rounds {
                // The case served a third more requests with the same CPU: −25 % per request.
                r.case.requests = r.baseline.requests * 4 / 3;
                r.case.app_user_seconds = r.baseline.app_user_seconds;
                r.case.app_system_seconds = r.baseline.app_system_seconds;
            }
        }
    }
    let s1 = verdicts(&run)
        .into_iter()
        .find(|v| v.claim == "S1")
        .unwrap();
    assert!(
        s1.evidence.contains("measurement problem"),
        "{}",
        s1.evidence
    );
    assert!(
        !s1.evidence.contains("in-process sessions − HS256"),
        "{}",
        s1.evidence
    );
    assert_eq!(s1.outcome, Outcome::Supported, "decided on Redis alone");
}
