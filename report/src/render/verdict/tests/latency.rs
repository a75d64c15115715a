//! Latency family: S3, X2.

use super::*;

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
