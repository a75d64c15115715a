//! Revocation and security family: S4, S5, J4, J5.

use super::*;

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
