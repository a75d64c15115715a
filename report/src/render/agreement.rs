//! How well the verdicts of several runs of one build agree: per claim, the verdict most runs
//! gave and how many gave it (`loadgen verdicts`, `scripts/verdict-stability`).
//!
//! A verdict is its outcome and its wording (`depends — on the store: …`), not its evidence:
//! the numbers differ from run to run, the verdict must not.
//!
//! `loadgen verdicts` exits 0 when every claim agreed in at least `--min-agree` runs,
//! [`EXIT_TOO_FEW_AGREE`] when some claim agreed in fewer, and [`EXIT_UNUSABLE`] when it
//! cannot tell (a run folder it cannot read, a bad flag), as `loadgen compare` tells a
//! regression from inputs it cannot compare.

use std::fmt::Write as _;

use crate::model::SuiteRun;
use crate::render::verdict::{verdicts, CLAIMS_LIST};

/// Exit status of `loadgen verdicts` when a claim agreed in fewer than `--min-agree` runs.
pub const EXIT_TOO_FEW_AGREE: u8 = 1;
/// Exit status of `loadgen verdicts` when it cannot judge agreement: a run folder without a
/// readable run.json, or a bad flag.
pub const EXIT_UNUSABLE: u8 = 2;

/// One claim across runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimAgreement {
    /// Claim id.
    pub claim: &'static str,
    /// The verdict most runs gave (the first seen among equally common ones).
    pub majority: String,
    /// Runs that gave it.
    pub agree: usize,
    /// Runs in all.
    pub runs: usize,
    /// The other verdicts, with how many runs gave each, most common first.
    pub others: Vec<(String, usize)>,
}

impl ClaimAgreement {
    /// Every run gave the same verdict.
    pub fn unanimous(&self) -> bool {
        self.agree == self.runs
    }
}

/// Per claim, in the order of docs/claims.md.
pub fn agreement(runs: &[SuiteRun]) -> Vec<ClaimAgreement> {
    let all: Vec<Vec<String>> = runs
        .iter()
        .map(|r| verdicts(r).iter().map(|v| v.outcome.summary()).collect())
        .collect();
    CLAIMS_LIST
        .iter()
        .enumerate()
        .map(|(i, claim)| {
            let mut counts: Vec<(String, usize)> = Vec::new();
            for run in &all {
                let v = &run[i];
                match counts.iter_mut().find(|(text, _)| text == v) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((v.clone(), 1)),
                }
            }
            // Stable: ties keep the order first seen.
            counts.sort_by_key(|c| std::cmp::Reverse(c.1));
            let mut counts = counts.into_iter();
            let (majority, agree) = counts.next().unwrap_or_default();
            ClaimAgreement {
                claim: claim.id,
                majority,
                agree,
                runs: runs.len(),
                others: counts.collect(),
            }
        })
        .collect()
}

/// A Markdown table of `agreement`, with a line on how many claims were unanimous.
pub fn markdown(rows: &[ClaimAgreement]) -> String {
    let runs = rows.first().map_or(0, |r| r.runs);
    let unanimous = rows.iter().filter(|r| r.unanimous()).count();
    let mut out = format!(
        "{unanimous} of {} claims gave the same verdict in all {runs} runs.\n\n\
         | claim | agree | verdict of the majority | other verdicts |\n|---|--:|---|---|\n",
        rows.len()
    );
    for r in rows {
        let others = if r.others.is_empty() {
            "–".to_owned()
        } else {
            r.others
                .iter()
                .map(|(v, n)| format!("{n}× {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(
            out,
            "| {} | {}/{} | {} | {} |",
            r.claim,
            r.agree,
            r.runs,
            r.majority.replace('|', "\\|"),
            others.replace('|', "\\|")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::example::example_run;

    #[test]
    fn identical_runs_agree_on_everything() {
        let runs = vec![example_run(), example_run(), example_run()];
        let rows = agreement(&runs);
        assert_eq!(rows.len(), CLAIMS_LIST.len());
        assert!(rows.iter().all(|r| r.unanimous() && r.agree == 3));
        assert!(markdown(&rows).starts_with("15 of 15 claims gave the same verdict in all 3 runs."));
    }

    #[test]
    fn a_dissenting_run_is_counted_and_named() {
        let mut odd = example_run();
        odd.cost.clear();
        let rows = agreement(&[example_run(), odd, example_run()]);
        let s1 = rows.iter().find(|r| r.claim == "S1").unwrap();
        assert_eq!((s1.agree, s1.runs), (2, 3));
        assert!(s1.majority.starts_with("depends"), "{}", s1.majority);
        assert_eq!(s1.others.len(), 1);
        assert!(s1.others[0].0.starts_with("not measured"));
        let j4 = rows.iter().find(|r| r.claim == "J4").unwrap();
        assert!(j4.unanimous());
        assert!(markdown(&rows).contains("| S1 | 2/3 |"));
    }
}
