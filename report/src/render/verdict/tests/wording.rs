//! Verdict texts carry no measured figures, so repeated runs compare equal.

use super::cost::{both, pos};
use super::*;

pub(super) fn assert_no_figures(o: &Outcome) {
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
