//! X2 and S3 across network profiles.

use super::*;
use crate::model::{Network, NetworkProfile};
use crate::render::distance::tests::{at_network, loopback_example, with_same_zone};
use X2Finding::{OverMs, SubMs, TensOfMs, TensOfMsAtP99, Unresolved};

fn profiles(findings: &[(&str, X2Finding)]) -> Vec<(String, X2Finding)> {
    findings
        .iter()
        .map(|(n, f)| ((*n).to_owned(), *f))
        .collect()
}

/// No measured figure in a verdict's text: no digit once the percentile names are out.
#[track_caller]
fn assert_no_figures(o: &Outcome) {
    let text = o
        .detail()
        .unwrap_or_default()
        .replace("p50", "")
        .replace("p99", "");
    assert!(
        !text.bytes().any(|b| b.is_ascii_digit()),
        "figures in {o:?}"
    );
}

fn verdict(run: &SuiteRun, claim: &str) -> Verdict {
    verdicts(run)
        .into_iter()
        .find(|v| v.claim == claim)
        .unwrap()
}

#[test]
fn x2_combines_profiles_by_store_distance() {
    let combine = |f: &[(&str, X2Finding)]| x2_combine(&profiles(f));
    assert!(matches!(combine(&[]).0, Outcome::NotMeasured(_)));
    // One profile: its own verdict, word for word.
    assert_eq!(combine(&[("loopback", SubMs)]), (Outcome::Refuted, 0));
    // Supported far from the store while refuted at loopback: supported, decided far away.
    assert_eq!(
        combine(&[
            ("loopback", SubMs),
            ("same-zone", SubMs),
            ("cross-region-store", TensOfMs)
        ]),
        (Outcome::Supported, 2)
    );
    // Every profile within a millisecond: refuted.
    assert_eq!(
        combine(&[("loopback", SubMs), ("same-zone", SubMs)]),
        (Outcome::Refuted, 1)
    );
    // Within a millisecond near the store, more farther away: depends on the distance.
    let (o, i) = combine(&[
        ("loopback", SubMs),
        ("cross-zone", OverMs),
        ("cross-region-store", TensOfMsAtP99),
    ]);
    assert_eq!(i, 2);
    assert_eq!(
        o,
        Outcome::Depends(
            "on the distance to the store: within a millisecond at loopback, over a millisecond \
             at p50 but short of tens of ms at cross-zone, tens of ms only at p99 at \
             cross-region-store"
                .into()
        )
    );
    // No profile within a millisecond: the farthest resolved one decides, and says where.
    let (o, i) = combine(&[("loopback", OverMs), ("same-zone", Unresolved)]);
    assert_eq!(i, 0);
    assert!(
        matches!(&o, Outcome::Depends(s) if s.starts_with("on the configuration") && s.contains(", at loopback; a p50 interval spans a threshold at same-zone")),
        "{o:?}"
    );
    // Refuted near the store, unresolved farther away: not refuted, more trials would decide.
    let (o, i) = combine(&[("loopback", SubMs), ("same-zone", Unresolved)]);
    assert_eq!(i, 1);
    assert!(
        matches!(&o, Outcome::Depends(s) if s.starts_with("on precision") && s.contains("at same-zone")),
        "{o:?}"
    );
    for findings in [
        &[("loopback", SubMs), ("same-zone", OverMs)][..],
        &[("loopback", SubMs), ("same-zone", Unresolved)],
        &[("loopback", OverMs), ("cross-region-store", TensOfMsAtP99)],
        &[("loopback", Unresolved), ("same-zone", Unresolved)],
    ] {
        assert_no_figures(&combine(findings).0);
    }
}

#[test]
fn x2_on_a_run_cites_the_profile_that_decided_it() {
    // A cross-region store: a Redis session adds 30 ms where JWTs add what they add at home.
    let far = Network::preset(NetworkProfile::CrossRegionStore);
    let run = at_network(with_same_zone(500, 550), far, 500, 30_000);
    let x2 = verdict(&run, "X2");
    assert_eq!(x2.outcome, Outcome::Supported);
    assert!(
        x2.evidence
            .starts_with("decided at cross-region-store (store RTT 30 ms): largest session–JWT difference over 3 paired trials: p50 +30."),
        "{}",
        x2.evidence
    );
    assert!(
        x2.evidence
            .contains("; at same-zone (store RTT 0.5 ms): largest")
            && x2.evidence.contains("; at loopback: largest"),
        "{}",
        x2.evidence
    );
    // Half a millisecond to the store: refuted everywhere, and every profile is shown.
    let near = with_same_zone(500, 550);
    let x2 = verdict(&near, "X2");
    assert_eq!(x2.outcome, Outcome::Refuted);
    assert!(
        x2.evidence
            .starts_with("decided at same-zone (store RTT 0.5 ms): ")
            && x2.evidence.contains("(Redis sessions − JWT HS256)")
            && x2.evidence.contains("; at loopback: "),
        "{}",
        x2.evidence
    );
    // A few milliseconds away: depends on the distance, without figures in the wording.
    let mid = at_network(
        loopback_example(),
        Network::preset(NetworkProfile::CrossZone),
        500,
        3_000,
    );
    let x2 = verdict(&mid, "X2");
    assert!(
        matches!(&x2.outcome, Outcome::Depends(s) if s.starts_with("on the distance to the store")),
        "{:?}",
        x2.outcome
    );
    assert_no_figures(&x2.outcome);
    assert!(
        x2.evidence
            .starts_with("decided at cross-zone (store RTT 2.0 ms): "),
        "{}",
        x2.evidence
    );
    // Loopback alone reads as before: no profile named.
    assert!(!verdict(&loopback_example(), "X2")
        .evidence
        .contains("loopback"));
}

#[test]
fn s3_shows_what_the_store_adds_at_each_profile() {
    let run = with_same_zone(500, 550);
    let s3 = verdict(&run, "S3");
    assert_eq!(s3.outcome, verdict(&loopback_example(), "S3").outcome);
    assert!(
        s3.evidence
            .contains("; at same-zone (store RTT 0.5 ms): Redis sessions add p50 +677 µs"),
        "{}",
        s3.evidence
    );
    assert!(!verdict(&loopback_example(), "S3")
        .evidence
        .contains("same-zone"));
}
