//! Unit tests of the verdict rules and of whole-run verdicts.

use super::*;
use crate::report::example::{example_run, example_run_without_redis};
use crate::report::interval::Interval;

fn depends(o: &Option<Outcome>) -> &str {
    match o {
        Some(Outcome::Depends(s)) => s,
        other => panic!("expected depends, got {other:?}"),
    }
}

fn items(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(n, b)| ((*n).to_owned(), *b)).collect()
}

#[test]
fn comparisons_have_a_ten_percent_dead_band() {
    assert_eq!(compare(110.0, 100.0), Cmp::Same);
    assert_eq!(compare(110.1, 100.0), Cmp::More);
    assert_eq!(compare(89.0, 100.0), Cmp::Less);
    assert_eq!(
        compare(0.5, 0.0),
        Cmp::More,
        "absolute against a zero reference"
    );
}

// Cost family: S1, J1, X1.

use crate::report::cost::Resolved::{Indistinguishable as Same, Less, More};

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

fn pos(
    vs_in_process: Option<crate::report::cost::Resolved>,
    vs_redis: Option<crate::report::cost::Resolved>,
) -> AlgPosition {
    AlgPosition {
        vs_in_process,
        vs_redis,
    }
}

/// Both lookups measured.
fn both(
    vs_in_process: crate::report::cost::Resolved,
    vs_redis: crate::report::cost::Resolved,
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
    use crate::suite::model::{CostRound, CostSample};
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
        assert_eq!(crate::report::cost::compare(&r, &m).1, Same);
        assert_eq!(crate::report::cost::compare(&h, &m).1, More);
        assert_eq!(crate::report::cost::compare(&h, &r).1, Same);
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

// Latency family: S3, X2.

#[test]
fn s3_cost_and_saturation() {
    assert_eq!(s3_rule(More, Saturation::Within(3)), Outcome::Supported);
    assert_eq!(s3_rule(More, Saturation::Unknown), Outcome::Supported);
    assert_eq!(s3_rule(Same, Saturation::Beyond), Outcome::Refuted);
    assert!(
        matches!(s3_rule(More, Saturation::Beyond), Outcome::Depends(s) if s.contains("more than 64"))
    );
    assert!(
        matches!(s3_rule(Same, Saturation::Within(5)), Outcome::Depends(s) if s.contains("saturate at 5"))
    );
}

#[test]
fn x2_tens_of_milliseconds() {
    let i = |estimate: f64, half: f64| Interval {
        estimate,
        low: estimate - half,
        high: estimate + half,
    };
    let one = |p50: Interval, p99: Interval| x2_rule(&[(p50, p99)]);
    assert_eq!(
        one(i(12_000.0, 500.0), i(30_000.0, 900.0)),
        Outcome::Supported
    );
    // A session slower or a JWT slower: the sign does not matter.
    assert_eq!(
        one(i(-12_000.0, 500.0), i(-30_000.0, 900.0)),
        Outcome::Supported
    );
    assert_eq!(one(i(105.0, 20.0), i(251.0, 80.0)), Outcome::Refuted);
    assert!(
        matches!(one(i(400.0, 50.0), i(15_000.0, 2_000.0)), Outcome::Depends(s) if s.contains("only at p99"))
    );
    assert!(
        matches!(one(i(3_000.0, 400.0), i(8_000.0, 900.0)), Outcome::Depends(s) if s.contains("over a millisecond"))
    );
    // A p50 interval across a threshold: neither refuted nor supported, whatever the estimate.
    for (p50, p99) in [
        (i(900.0, 300.0), i(2_000.0, 100.0)),
        (i(11_000.0, 2_000.0), i(11_000.0, 2_000.0)),
    ] {
        assert!(
            matches!(one(p50, p99), Outcome::Depends(s) if s.contains("on precision")),
            "{p50:?}"
        );
    }
    // A p99 interval that only reaches tens of ms (one stalled trial) does not block refuting.
    assert_eq!(
        one(
            i(-121.0, 30.0),
            Interval {
                estimate: -1_110.0,
                low: -29_000.0,
                high: 20.0
            }
        ),
        Outcome::Refuted
    );
    // The largest pair decides.
    assert_eq!(
        x2_rule(&[
            (i(105.0, 20.0), i(251.0, 80.0)),
            (i(12_000.0, 500.0), i(30_000.0, 900.0))
        ]),
        Outcome::Supported
    );
}

// Balancing family: S2, J2, A1.

#[test]
fn s2_stickiness_per_store() {
    assert_eq!(s2_rule(&[("in-process", 0.66)]), Some(Outcome::Supported));
    assert_eq!(
        s2_rule(&[("in-process", 0.0), ("Redis", 0.0005)]),
        Some(Outcome::Refuted)
    );
    let d = s2_rule(&[("in-process", 0.66), ("Redis", 0.0)]);
    assert!(
        depends(&d).contains("in-process need sticky sessions, Redis do not"),
        "{d:?}"
    );
    assert_eq!(s2_rule(&[]), None);
}

#[test]
fn j2_round_robin_kill_and_efficiency() {
    let harmless = FaultEffect {
        unauthorized: 0,
        unauthorized_share: 0.0,
        errors: 4,
        recovery_seconds: Some(1.0),
    };
    assert_eq!(
        j2_rule(Some(0.0), Some(harmless), Some((0.41, 0.43))),
        Some(Outcome::Supported)
    );
    assert_eq!(
        j2_rule(Some(0.2), Some(harmless), None),
        Some(Outcome::Refuted)
    );
    let lasting = FaultEffect {
        recovery_seconds: None,
        ..harmless
    };
    assert!(depends(&j2_rule(Some(0.0), Some(lasting), None)).contains("failover"));
    let lost = FaultEffect {
        unauthorized: 30,
        ..harmless
    };
    assert_eq!(
        depends(&j2_rule(None, Some(lost), None)),
        "on the balancer's failover: killing a replica caused auth failures"
    );
    let slow = FaultEffect {
        recovery_seconds: Some(RECOVERY_MAX_SECONDS + 1.0),
        ..lost
    };
    assert_eq!(
        depends(&j2_rule(None, Some(slow), None)),
        "on the balancer's failover: killing a replica caused auth failures and left errors that outlasted the recovery limit"
    );
    assert!(depends(&j2_rule(Some(0.0), None, Some((0.3, 0.43)))).contains("scaled worse"));
    assert_eq!(j2_rule(None, None, None), None);
}

/// Asserts a verdict's detail text carries no figures: no ASCII digit once the names that
/// contain digits (algorithms, claim ids) are taken out.
#[track_caller]
fn assert_no_figures(o: &Outcome) {
    let mut text = o.detail().unwrap_or_default().to_owned();
    for name in ["HS256", "RS256", "ES256", "S3"] {
        text = text.replace(name, "");
    }
    assert!(
        !text.bytes().any(|b| b.is_ascii_digit()),
        "figures in {:?}",
        o.summary()
    );
}

/// Asserts that outcomes decided on different figures read the same, without figures.
#[track_caller]
fn assert_same_words(outcomes: &[Option<Outcome>]) {
    let first = outcomes[0].as_ref().unwrap();
    assert!(first.detail().is_some(), "{first:?}");
    for o in outcomes {
        let o = o.as_ref().unwrap();
        assert_no_figures(o);
        assert_eq!(o.summary(), first.summary());
    }
}

#[test]
fn balancing_texts_carry_no_figures() {
    let kill = |unauthorized: u64, errors: u64, recovery_seconds: Option<f64>| FaultEffect {
        unauthorized,
        unauthorized_share: unauthorized as f64 / 10_000.0,
        errors,
        recovery_seconds,
    };
    assert_same_words(&[
        j2_rule(Some(0.0), Some(kill(30, 40, Some(1.0))), None),
        j2_rule(None, Some(kill(7, 912, Some(2.5))), Some((0.4, 0.4))),
    ]);
    assert_same_words(&[
        j2_rule(Some(0.0), Some(kill(0, 4, None)), None),
        j2_rule(Some(0.0005), Some(kill(0, 1_234, None)), None),
    ]);
    assert_same_words(&[
        j2_rule(None, Some(kill(0, 4, Some(6.0))), None),
        j2_rule(None, Some(kill(0, 50, Some(42.0))), None),
    ]);
    assert_same_words(&[
        j2_rule(Some(0.0), None, Some((0.3, 0.43))),
        j2_rule(Some(0.0), None, Some((0.51, 0.92))),
    ]);
    assert_same_words(&[Some(a1_rule(0.0, 0.4)), Some(a1_rule(0.0009, 0.93))]);
    assert_same_words(&[
        s2_rule(&[("in-process sessions", 0.66), ("Redis sessions", 0.0)]),
        s2_rule(&[("in-process sessions", 0.31), ("Redis sessions", 0.0004)]),
    ]);
}

#[test]
fn size_and_fault_texts_carry_no_figures() {
    assert_same_words(&[
        j6_rule(&[("HS256", 1.5), ("RS256", 4.0)], Some(0.04)),
        j6_rule(&[("HS256", 0.9), ("RS256", 2.2)], Some(-0.03)),
        j6_rule(&[("HS256", 2.5), ("RS256", 7.0)], Some(SAME_WITHIN)),
    ]);
    assert_same_words(&[
        j6_rule(&[("HS256", 0.05), ("RS256", 4.0)], Some(0.25)),
        j6_rule(&[("HS256", 0.08), ("RS256", 1.2)], None),
    ]);
    assert_same_words(&[
        Some(a2_rule(
            0.0,
            &[("in-process sessions", 0.006), ("Redis sessions", 0.0)],
        )),
        Some(a2_rule(
            0.0009,
            &[("in-process sessions", 0.3), ("Redis sessions", 0.0008)],
        )),
    ]);
}

#[test]
fn cost_and_revocation_texts_carry_no_figures() {
    assert_same_words(&[
        j1_rule(&[("HS256", both(More, Same)), ("ES256", both(More, More))]),
        j1_rule(&[("HS256", both(More, Less)), ("ES256", both(More, More))]),
    ]);
    assert_same_words(&[j1_rule(&[
        ("HS256", pos(None, Some(Same))),
        ("EdDSA", pos(None, Some(More))),
    ])]);
    assert_same_words(&[s1_rule(&[
        ("in-process sessions", Same),
        ("Redis sessions", More),
    ])]);
    assert_same_words(&[x1_rule(&[("memory", More), ("Redis", Less)])]);
    assert_same_words(&[s4_rule(&items(&[
        ("in-process sessions", true),
        ("Redis sessions (immediate on logout only)", false),
    ]))]);
    assert_same_words(&[j4_rule(&items(&[
        ("no revocation", false),
        ("deny-list in Redis", true),
    ]))]);
    assert_same_words(&[j5_rule(&items(&[
        ("no revocation", true),
        ("token versions in Redis", false),
    ]))]);
    let good = |id_bits| SessionChecks {
        id_bits: Some(id_bits),
        http_only: Some(true),
        same_site: Some(true),
        stolen_rejected_after_logout: Some(true),
    };
    assert_same_words(&[s5_rule(good(256)), s5_rule(good(128))]);
}

#[test]
fn a1_sticky_cookies() {
    assert_eq!(a1_rule(0.0, 0.16), Outcome::Supported);
    assert_eq!(a1_rule(0.05, 0.1), Outcome::Refuted);
    assert_eq!(
        a1_rule(0.0, 0.4).summary(),
        "depends — on the spread: sticky cookies kept every session but spread load unevenly"
    );
}

// Revocation and security family: S4, S5, J4, J5.

#[test]
fn s4_and_j4_revocation_windows() {
    assert_eq!(
        s4_rule(&items(&[("in-process", true), ("Redis", true)])),
        Some(Outcome::Supported)
    );
    assert_eq!(s4_rule(&items(&[("Redis", false)])), Some(Outcome::Refuted));
    assert!(
        depends(&s4_rule(&items(&[("in-process", true), ("Redis", false)])))
            .contains("not with Redis")
    );
    assert_eq!(s4_rule(&[]), None);
    assert_eq!(
        j4_rule(&items(&[("no revocation", false)])),
        Some(Outcome::Supported)
    );
    assert_eq!(
        j4_rule(&items(&[("deny-list in Redis", true)])),
        Some(Outcome::Refuted)
    );
    let d = j4_rule(&items(&[
        ("no revocation", false),
        ("deny-list in Redis", true),
    ]));
    assert!(
        depends(&d).contains("immediate with deny-list in Redis; not with no revocation"),
        "{d:?}"
    );
    assert!(immediate(Some(100.0)) && !immediate(Some(100.1)) && !immediate(None));
}

#[test]
fn j5_stolen_token_after_logout() {
    assert_eq!(
        j5_rule(&items(&[("no revocation", true)])),
        Some(Outcome::Supported)
    );
    assert_eq!(
        j5_rule(&items(&[("token versions in Redis", false)])),
        Some(Outcome::Refuted)
    );
    assert!(depends(&j5_rule(&items(&[
        ("no revocation", true),
        ("deny-list in Redis", false)
    ])))
    .contains("stops with deny-list in Redis"));
    assert_eq!(j5_rule(&[]), None);
}

#[test]
fn s5_security_checks() {
    let good = SessionChecks {
        id_bits: Some(256),
        http_only: Some(true),
        same_site: Some(true),
        stolen_rejected_after_logout: Some(true),
    };
    assert!(depends(&s5_rule(good)).contains("cookie being stolen"));
    assert_eq!(
        s5_rule(SessionChecks {
            id_bits: Some(64),
            ..good
        }),
        Some(Outcome::Supported)
    );
    assert_eq!(
        s5_rule(SessionChecks {
            http_only: Some(false),
            ..good
        }),
        Some(Outcome::Supported)
    );
    assert_eq!(
        s5_rule(SessionChecks {
            stolen_rejected_after_logout: Some(false),
            ..good
        }),
        Some(Outcome::Supported)
    );
    assert_eq!(s5_rule(SessionChecks::default()), None);
}

// Size family: J6.

#[test]
fn j6_bytes_and_throughput() {
    assert_eq!(
        j6_rule(&[("HS256", 1.5), ("RS256", 4.0)], Some(0.25)),
        Some(Outcome::Supported)
    );
    assert_eq!(j6_rule(&[("HS256", 1.5)], None), Some(Outcome::Supported));
    assert_eq!(
        j6_rule(&[("HS256", 0.05)], Some(0.25)),
        Some(Outcome::Refuted)
    );
    assert_eq!(
        depends(&j6_rule(&[("HS256", 1.5)], Some(0.04))),
        "on the payload: every request is bigger, yet throughput held up at the largest claims measured"
    );
    assert!(depends(&j6_rule(&[("HS256", 0.05), ("RS256", 4.0)], None))
        .contains("RS256 requests are bigger"));
    assert_eq!(j6_rule(&[], None), None);
}

// Fault family: A2.

#[test]
fn a2_churn() {
    assert_eq!(
        a2_rule(0.0, &[("in-process sessions", 0.006)]),
        Outcome::Supported
    );
    assert_eq!(a2_rule(0.0, &[]), Outcome::Supported);
    assert_eq!(a2_rule(0.01, &[("Redis sessions", 0.0)]), Outcome::Refuted);
    assert!(
        matches!(a2_rule(0.0, &[("in-process sessions", 0.006), ("Redis sessions", 0.0)]), Outcome::Depends(s) if s.contains("so do Redis sessions"))
    );
}

// Whole runs.

fn outcomes(run: &SuiteRun) -> Vec<(&'static str, &'static str)> {
    verdicts(run)
        .iter()
        .map(|v| (v.claim, v.outcome.label()))
        .collect()
}

#[test]
fn example_run_verdicts() {
    let v = outcomes(&example_run());
    assert_eq!(
        v,
        [
            ("S1", "depends"),
            ("S2", "depends"),
            ("S3", "supported"),
            ("S4", "supported"),
            ("S5", "depends"),
            ("J1", "depends"),
            ("J2", "supported"),
            ("J3", "not measured"),
            ("J4", "depends"),
            ("J5", "depends"),
            ("J6", "supported"),
            ("A1", "supported"),
            ("A2", "depends"),
            ("X1", "supported"),
            ("X2", "refuted"),
        ]
    );
    for v in verdicts(&example_run()) {
        if v.claim != "J3" {
            assert!(!v.evidence.is_empty(), "{} has evidence", v.claim);
        }
    }
}

#[test]
fn missing_redis_degrades_to_not_measured_with_how_to_enable() {
    let run = example_run_without_redis();
    let all = verdicts(&run);
    let s3 = all.iter().find(|v| v.claim == "S3").unwrap();
    let text = s3.outcome.detail().unwrap();
    assert!(matches!(s3.outcome, Outcome::NotMeasured(_)));
    assert!(
        text.contains("not measured in this run") && text.contains("apt-get install redis-server"),
        "{text}"
    );
    // Rules with in-process data still decide, and say what is missing.
    let s1 = all.iter().find(|v| v.claim == "S1").unwrap();
    assert_eq!(s1.outcome, Outcome::Refuted);
    assert!(
        s1.evidence.contains("Redis sessions not measured"),
        "{}",
        s1.evidence
    );
    let s2 = all.iter().find(|v| v.claim == "S2").unwrap();
    assert_eq!(s2.outcome, Outcome::Supported);
}

#[test]
fn an_empty_run_is_not_measured_everywhere() {
    let mut run = example_run();
    run.cells.iter_mut().for_each(|c| c.trials.clear());
    run.state_cost.clear();
    run.token_sizes.clear();
    run.revocation.clear();
    run.faults.clear();
    run.store_capacity = None;
    run.session_security = None;
    run.cost.clear();
    run.options.matrix = "quick".to_owned();
    for v in verdicts(&run) {
        let text = v.outcome.detail().unwrap_or_default();
        assert!(
            matches!(v.outcome, Outcome::NotMeasured(_)),
            "{}: {:?}",
            v.claim,
            v.outcome
        );
        if v.claim != "J3" {
            assert!(
                text.contains("this run used `quick`"),
                "{}: {text}",
                v.claim
            );
        }
    }
}

#[test]
fn refuted_at_run_level_when_jwts_fail_round_robin() {
    let mut run = example_run();
    let cell = run
        .cells
        .iter_mut()
        .find(|c| c.group == BALANCING && c.config.auth == Auth::Jwt)
        .unwrap();
    for t in &mut cell.trials {
        t.status.insert("401".to_owned(), t.requests / 10);
    }
    let j2 = verdicts(&run)
        .into_iter()
        .find(|v| v.claim == "J2")
        .unwrap();
    assert_eq!(j2.outcome, Outcome::Refuted);
    assert!(j2.evidence.contains("10.00 % 401s"), "{}", j2.evidence);
}

/// The claims whose rules live in balancing.rs, cost.rs, faults.rs, revocation.rs, size.rs.
const FIGURE_FREE: [&str; 12] = [
    "S1", "S2", "S4", "S5", "J1", "J2", "J4", "J5", "J6", "A1", "A2", "X1",
];

#[test]
fn whole_run_texts_carry_no_figures() {
    let mut empty = example_run();
    empty.cells.iter_mut().for_each(|c| c.trials.clear());
    empty.faults.clear();
    empty.revocation.clear();
    empty.token_sizes.clear();
    empty.session_security = None;
    empty.cost.clear();
    // A kill-replica run that lost credentials and never recovered, twice, with other figures.
    let lossy = |errors: u64, unauthorized: u64| {
        let mut run = example_run();
        let kill = run
            .faults
            .iter_mut()
            .find(|f| f.kind == FaultKind::KillReplica && f.config.auth == Auth::Jwt)
            .unwrap();
        kill.trial.errors = errors;
        kill.trial.status.insert("401".to_owned(), unauthorized);
        kill.recovery_seconds = None;
        run
    };
    let (a, b) = (lossy(40, 30), lossy(2_345, 1_234));
    for run in [&example_run(), &example_run_without_redis(), &empty, &a] {
        for v in verdicts(run) {
            if FIGURE_FREE.contains(&v.claim) {
                assert_no_figures(&v.outcome);
            }
        }
    }
    let summaries = |run: &SuiteRun| -> Vec<String> {
        verdicts(run)
            .iter()
            .filter(|v| FIGURE_FREE.contains(&v.claim))
            .map(|v| v.outcome.summary())
            .collect()
    };
    assert_eq!(summaries(&a), summaries(&b));
    let j2 = verdicts(&a).into_iter().find(|v| v.claim == "J2").unwrap();
    assert_eq!(
        j2.outcome.summary(),
        "depends — on the balancer's failover: killing a replica caused auth failures and left errors that lasted to the end of the run"
    );
    // The figures are in the evidence instead.
    assert!(j2.evidence.contains("30 401s"), "{}", j2.evidence);
    let j2 = verdicts(&b).into_iter().find(|v| v.claim == "J2").unwrap();
    assert!(j2.evidence.contains("1,234 401s"), "{}", j2.evidence);
}

/// docs/claims.md's table "Claims and deciding metrics" lists exactly the claims of
/// [`CLAIMS_LIST`], in its order, with the same ids and texts: the report quotes the code's
/// texts and refers readers to the doc, so the two must not drift apart.
#[test]
fn claims_match_docs_claims_md() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/claims.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = doc
        .find("## Claims and deciding metrics")
        .expect("docs/claims.md has the section \"Claims and deciding metrics\"");
    let section = &doc[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let rows: Vec<(&str, &str)> = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split(" | ")
                .map(str::trim)
                .collect();
            match cells.as_slice() {
                [id, text, _metric] if id.len() == 2 && *id != "id" => Some((*id, *text)),
                _ => None,
            }
        })
        .collect();
    let expected: Vec<(&str, &str)> = CLAIMS_LIST.iter().map(|c| (c.id, c.text)).collect();
    assert_eq!(
        rows, expected,
        "docs/claims.md's claims table and CLAIMS_LIST differ"
    );
    for c in &CLAIMS_LIST {
        assert!(
            doc.contains(&format!("| {} | {} |", c.id, c.text)),
            "claim {} is not written identically in {path}",
            c.id
        );
    }
}
