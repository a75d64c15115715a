//! Size (J6) and fault (A2) families.

use super::*;

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
        matches!(a2_rule(0.0, &[("in-process sessions", 0.006), ("Redis sessions", 0.0)]), Outcome::Depends(s) if s.contains("neither do Redis sessions"))
    );
}
