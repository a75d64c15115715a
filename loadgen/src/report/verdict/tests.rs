//! Unit tests of the verdict rules and of whole-run verdicts.

use super::*;
use crate::report::example::{example_run, example_run_without_redis};

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
    vs_cheapest: crate::report::cost::Resolved,
    vs_dearest: crate::report::cost::Resolved,
) -> AlgPosition {
    AlgPosition {
        vs_cheapest,
        vs_dearest,
    }
}

#[test]
fn j1_algorithms_vs_lookups() {
    assert_eq!(
        j1_rule(&[("HS256", pos(Same, Less)), ("EdDSA", pos(Less, Less))], 2),
        Some(Outcome::Supported)
    );
    assert_eq!(
        j1_rule(&[("RS256", pos(More, More)), ("ES256", pos(More, More))], 2),
        Some(Outcome::Refuted)
    );
    // HS256 indistinguishable from a Redis lookup or resolved cheaper: the same words.
    for vs_redis in [Less, Same] {
        let d = j1_rule(
            &[("HS256", pos(More, vs_redis)), ("ES256", pos(More, More))],
            2,
        );
        assert_eq!(
            depends(&d),
            "on the algorithm: HS256 more than an in-process lookup, no more than a Redis lookup; ES256 more than a Redis lookup"
        );
    }
    let one = j1_rule(&[("HS256", pos(Same, Same)), ("ES256", pos(More, More))], 1);
    assert!(
        depends(&one).contains("HS256 cost no more than the lookup"),
        "{one:?}"
    );
    assert_eq!(j1_rule(&[], 2), None);
    assert_eq!(j1_rule(&[("HS256", pos(More, More))], 0), None);
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
    assert_eq!(x2_rule(12_000.0, 30_000.0), Outcome::Supported);
    assert_eq!(x2_rule(105.0, 251.0), Outcome::Refuted);
    assert!(matches!(x2_rule(400.0, 15_000.0), Outcome::Depends(s) if s.contains("only at p99")));
    assert!(matches!(x2_rule(3_000.0, 8_000.0), Outcome::Depends(s) if s.contains("3.00 ms")));
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
    assert!(depends(&j2_rule(None, Some(lost), None)).contains("30 401s"));
    assert!(depends(&j2_rule(Some(0.0), None, Some((0.3, 0.43)))).contains("scaled worse"));
    assert_eq!(j2_rule(None, None, None), None);
}

#[test]
fn a1_sticky_cookies() {
    assert_eq!(a1_rule(0.0, 0.16), Outcome::Supported);
    assert_eq!(a1_rule(0.05, 0.1), Outcome::Refuted);
    assert!(matches!(a1_rule(0.0, 0.4), Outcome::Depends(s) if s.contains("unevenly")));
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
    assert!(depends(&j6_rule(&[("HS256", 1.5)], Some(0.04))).contains("payload"));
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
