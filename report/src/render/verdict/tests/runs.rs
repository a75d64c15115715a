//! Whole runs, and the claims table against docs/claims.md.

use super::wording::assert_no_figures;
use super::*;

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
    let mut run = crate::render::example::example_run_without_parts();
    run.cells.iter_mut().for_each(|c| c.trials.clear());
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

#[test]
fn against_a_deployment_file_not_measured_points_to_the_skipped_list() {
    let mut run = example_run_without_redis();
    run.target = Some(crate::model::TargetInfo {
        name: "staging".into(),
        entry_url: "http://lb:8080".into(),
        replicas: 2,
        redis: false,
        admin_token: false,
        hooks: Vec::new(),
    });
    let all = verdicts(&run);
    let s3 = all.iter().find(|v| v.claim == "S3").unwrap();
    let text = s3.outcome.detail().unwrap();
    assert!(
        text.contains("deployment file \"staging\"") && text.contains("see Skipped parts"),
        "{text}"
    );
    assert!(!text.contains("apt-get"), "{text}");
}
