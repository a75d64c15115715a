//! Balancing family: S2, J2, A1.

use super::*;

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
#[test]
fn a1_sticky_cookies() {
    assert_eq!(a1_rule(0.0, 0.16), Outcome::Supported);
    assert_eq!(a1_rule(0.05, 0.1), Outcome::Refuted);
    assert_eq!(
        a1_rule(0.0, 0.4).summary(),
        "depends — on the spread: sticky cookies kept every session but spread load unevenly"
    );
}
