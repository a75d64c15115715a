//! The comparison itself, as a document: every cell and metric with its change, interval and
//! verdict — what `--json` writes and the Markdown renders.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::{Cell, StateCost};

use super::decide::{decide, Verdict};
use super::error::CompareError;
use super::input::Side;
use super::metric::{Better, Metric};
use super::observe::{min_trial_requests, observe, seconds_usable, Basis, Observations};
use super::pool::{is_reference, same_measurement, Pooled};
use super::stats::{self, derive_seed, mann_whitney, BootstrapSettings};
use super::threshold::Thresholds;

/// Version of the `--json` document; bumped on any incompatible change.
pub const COMPARE_SCHEMA_VERSION: u32 = 1;

/// Fewest trials (or runs, for state cost) per side for a metric to be tested at all: a
/// bootstrap over two values per side is no interval at all (measured: with two rounds per
/// side, same-build comparisons of the quick suite raised false alarms).
pub const MIN_GROUPS: usize = 3;

/// A cell whose baseline error rate is at least this measures errors by design (in-process
/// sessions behind round-robin, say): its error rate is reported, not gated.
pub const ERRORS_BY_DESIGN: f64 = 0.10;

/// Whether to divide by the in-run baseline cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalise {
    /// When every run of both sides has a matching baseline cell.
    Auto,
    /// Always (an error when a run lacks the baseline cell).
    On,
    /// Never.
    Off,
}

/// How to compare.
#[derive(Debug, Clone)]
pub struct Settings {
    pub normalise: Normalise,
    /// Bootstrap resamples, confidence and base seed.
    pub bootstrap: BootstrapSettings,
    pub thresholds: Thresholds,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// [`COMPARE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// loadgen's version.
    pub tool_version: String,
    /// The baseline side.
    pub baseline: SideInfo,
    /// The candidate side.
    pub candidate: SideInfo,
    /// How the decision was made.
    pub method: Method,
    /// The thresholds in force.
    pub thresholds: Thresholds,
    /// Gated regressions, improvements, unchanged and untested metrics.
    pub counts: Counts,
    /// Load cells present on both sides and measured alike.
    pub cells: Vec<CellReport>,
    /// Server-side state per entry, matched by kind and store.
    pub state_cost: Vec<StateReport>,
    /// CPU added over `/healthz` per configuration of the cost part, matched by slug.
    pub cost: Vec<super::cost::CostReport>,
    /// Cell ids only the baseline has.
    pub only_in_baseline: Vec<String>,
    /// Cell ids only the candidate has.
    pub only_in_candidate: Vec<String>,
    /// Things to know when reading the numbers.
    pub notes: Vec<String>,
}

impl Report {
    /// Whether a gated metric regressed (exit status 1).
    pub fn regressed(&self) -> bool {
        self.counts.regressed > 0
    }
}

/// One side's inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideInfo {
    /// The path given.
    pub path: String,
    /// Run documents pooled.
    pub runs: usize,
    /// Their labels.
    pub labels: Vec<String>,
    /// Their git commits (distinct, in order).
    pub commits: Vec<String>,
    /// Their hosts (distinct).
    pub hosts: Vec<String>,
}

/// How the decision was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Method {
    /// Whether time-based metrics were divided by the in-run baseline cell.
    pub normalised: bool,
    /// Why (not).
    pub normalisation: String,
    /// Two-sided confidence level of the intervals.
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Base seed.
    pub seed: u64,
    /// Whether every run of both sides came from one machine (same host and CPU).
    pub same_machine: bool,
}

/// Tallies over gated metrics (untested ones, and ungated cells, are not counted as
/// regressions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Regressed.
    pub regressed: usize,
    /// Improved.
    pub improved: usize,
    /// Unchanged.
    pub unchanged: usize,
    /// Not tested.
    pub untested: usize,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellReport {
    /// Its id.
    pub id: String,
    /// Its group.
    pub group: String,
    /// Its configuration, in words.
    pub description: String,
    /// Whether its regressions fail the gate.
    pub gated: bool,
    /// Whether its time-based metrics were normalised.
    pub normalised: bool,
    /// Trials pooled on the baseline side.
    pub baseline_trials: usize,
    /// Trials pooled on the candidate side.
    pub candidate_trials: usize,
    /// Per metric.
    pub metrics: Vec<MetricReport>,
}

/// One metric of one cell (or one state cost entry).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricReport {
    pub metric: Metric,
    /// Baseline: median of the raw trial values, in the metric's unit.
    pub baseline: Option<f64>,
    /// Candidate: likewise.
    pub candidate: Option<f64>,
    /// The tested change: ratio − 1 (e.g. 0.12 = +12 %), or the difference for the error
    /// rate (0.005 = +0.5 percentage points); of normalised values when normalised.
    pub change: Option<f64>,
    /// Lower end of its confidence interval, same units.
    pub ci_low: Option<f64>,
    /// Upper end.
    pub ci_high: Option<f64>,
    /// The regression threshold, signed the bad way (−0.10 for throughput, +0.25 for p99).
    pub threshold: f64,
    pub verdict: Verdict,
    /// Unchanged, but the estimate is beyond the threshold: too noisy to tell.
    pub inconclusive: bool,
    /// What was resampled.
    pub basis: Basis,
    /// Trials (groups of observations) on the baseline side.
    pub n_baseline: usize,
    /// On the candidate side.
    pub n_candidate: usize,
    /// Two-sided Mann-Whitney p of the trial values (normalised when normalised).
    pub mann_whitney_p: Option<f64>,
    /// Why it is untested, or anything else to know.
    pub note: Option<String>,
}

/// Bytes per entry of one kind of server-side state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateReport {
    /// `session`, `denylist` or `token-version`.
    pub kind: String,
    /// `memory` or `redis`.
    pub store: String,
    /// The comparison (one observation per run).
    #[serde(flatten)]
    pub result: MetricReport,
}

/// Compares `baseline` with `candidate`.
pub fn compare(
    baseline: &Side,
    candidate: &Side,
    settings: &Settings,
) -> Result<Report, CompareError> {
    let base = Pooled::new("BASELINE", baseline)?;
    let cand = Pooled::new("CANDIDATE", candidate)?;
    let mut notes = Vec::new();

    let base_ids: BTreeSet<&str> = base.cells.keys().copied().collect();
    let cand_ids: BTreeSet<&str> = cand.cells.keys().copied().collect();
    if base_ids.is_disjoint(&cand_ids) {
        return Err(CompareError::Incomparable(format!(
            "no cell id in common — BASELINE {} has {}; CANDIDATE {} has {}. The runs used \
             different matrices.",
            baseline.path,
            list(&base_ids),
            candidate.path,
            list(&cand_ids)
        )));
    }
    let mut comparable = Vec::new();
    for id in cell_order(baseline) {
        let (Some(b), Some(c)) = (base.cells.get(id), cand.cells.get(id)) else {
            continue;
        };
        if same_measurement(b.cell, c.cell) {
            comparable.push(id);
        } else {
            notes.push(format!(
                "Cell `{id}` is configured differently on the two sides ({} vs {}); not compared.",
                describe(b.cell),
                describe(c.cell)
            ));
        }
    }
    if comparable.is_empty() {
        return Err(CompareError::Incomparable(
            "every common cell id is configured differently on the two sides (mismatched \
             matrix); nothing measures the same thing"
                .into(),
        ));
    }

    let same_machine = same_machine(baseline, candidate);
    let (normalised, normalisation) = normalisation(settings.normalise, &base, &cand)?;
    if !same_machine {
        notes.push(
            "The runs come from more than one machine: raw numbers differ for that reason \
             alone."
                .into(),
        );
    }
    notes.extend(option_notes(baseline, candidate));

    let mut counts = Counts::default();
    let mut cells = Vec::new();
    for id in comparable {
        let (Some(b), Some(c)) = (base.cells.get(id), cand.cells.get(id)) else {
            continue;
        };
        let reference = is_reference(b.cell);
        let cell_normalised = normalised && !reference;
        // Normalising hides a slowdown every route shares (the framework, the middleware);
        // the baseline cell, compared raw, is what catches it — unless the machines differ.
        let gated = !(reference && normalised && !same_machine);
        let group = b.cell.group.as_str();
        let metrics: Vec<MetricReport> = Metric::CELL
            .iter()
            .map(|&metric| {
                let threshold = settings.thresholds.get(metric, Some(id), Some(group));
                let seed = derive_seed(settings.bootstrap.seed, &[id, metric.name()]);
                let basis = if seconds_usable(metric, b) && seconds_usable(metric, c) {
                    Basis::Seconds
                } else {
                    Basis::Trials
                };
                let normalise = cell_normalised && metric.normalisable();
                let ob = observe(metric, b, basis, normalise.then_some(&base));
                let oc = observe(metric, c, basis, normalise.then_some(&cand));
                let bootstrap = BootstrapSettings {
                    seed,
                    ..settings.bootstrap
                };
                let mut tested =
                    test_metric(metric, &ob, &oc, basis, threshold, bootstrap, "trials");
                let min = min_trial_requests(metric);
                let thin = b
                    .trials
                    .iter()
                    .chain(&c.trials)
                    .any(|t| t.trial.requests < min);
                if metric == Metric::ErrorRate
                    && tested.verdict != Verdict::Untested
                    && tested.baseline.is_some_and(|rate| rate >= ERRORS_BY_DESIGN)
                {
                    tested.verdict = Verdict::Untested;
                    tested.inconclusive = false;
                    tested.note = Some(format!(
                        "errors are what this cell measures (baseline {:.0} %): reported, not gated",
                        tested.baseline.unwrap_or(0.0) * 100.0
                    ));
                }
                if thin && tested.verdict != Verdict::Untested {
                    tested.verdict = Verdict::Untested;
                    tested.inconclusive = false;
                    (tested.ci_low, tested.ci_high) = (None, None);
                    tested.note = Some(format!(
                        "a trial has fewer than {min} requests: under 50 samples beyond the \
                         percentile"
                    ));
                }
                tested
            })
            .collect();
        for m in &metrics {
            count(&mut counts, m.verdict, gated);
        }
        cells.push(CellReport {
            id: id.to_owned(),
            group: group.to_owned(),
            description: b.cell.config.describe(),
            gated,
            normalised: cell_normalised,
            baseline_trials: b.trials.len(),
            candidate_trials: c.trials.len(),
            metrics,
        });
    }
    let few = cells
        .iter()
        .filter(|c| c.baseline_trials.min(c.candidate_trials) < MIN_GROUPS)
        .count();
    if few > 0 {
        notes.push(format!(
            "{few} cell(s) have fewer than {MIN_GROUPS} trials on a side: nothing is tested \
             there. Pool more runs (e.g. ROUNDS=5)."
        ));
    }

    let state_cost = compare_state(&base, &cand, settings, &mut counts);
    let cost = super::cost::compare_cost(baseline, candidate, settings, &mut counts);
    let only = |a: &BTreeSet<&str>, b: &BTreeSet<&str>| -> Vec<String> {
        a.difference(b).map(|s| (*s).to_owned()).collect()
    };
    Ok(Report {
        schema_version: COMPARE_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        baseline: side_info(baseline),
        candidate: side_info(candidate),
        method: Method {
            normalised,
            normalisation,
            confidence: settings.bootstrap.confidence,
            resamples: settings.bootstrap.resamples,
            seed: settings.bootstrap.seed,
            same_machine,
        },
        thresholds: settings.thresholds.clone(),
        counts,
        cells,
        state_cost,
        cost,
        only_in_baseline: only(&base_ids, &cand_ids),
        only_in_candidate: only(&cand_ids, &base_ids),
        notes,
    })
}

pub(super) fn count(counts: &mut Counts, verdict: Verdict, gated: bool) {
    match verdict {
        Verdict::Regressed if gated => counts.regressed += 1,
        Verdict::Improved if gated => counts.improved += 1,
        Verdict::Untested => counts.untested += 1,
        _ => counts.unchanged += 1,
    }
}

/// Tests one metric from both sides' observations; `unit` names what a group is (`trials`,
/// `runs`).
pub(super) fn test_metric(
    metric: Metric,
    baseline: &Observations,
    candidate: &Observations,
    basis: Basis,
    threshold: f64,
    bootstrap: BootstrapSettings,
    unit: &str,
) -> MetricReport {
    let signed_threshold = match metric.better() {
        Better::Higher => -threshold,
        Better::Lower => threshold,
    };
    let contrast = metric.contrast();
    let to_change = |value: f64| match contrast {
        stats::Contrast::Ratio => value - 1.0,
        stats::Contrast::Difference => value,
    };
    let mut report = MetricReport {
        metric,
        baseline: stats::median(&baseline.raw),
        candidate: stats::median(&candidate.raw),
        change: None,
        ci_low: None,
        ci_high: None,
        threshold: signed_threshold,
        verdict: Verdict::Untested,
        inconclusive: false,
        basis,
        n_baseline: baseline.groups.len(),
        n_candidate: candidate.groups.len(),
        mann_whitney_p: mann_whitney(&baseline.trial_values, &candidate.trial_values)
            .map(|t| t.p_two_sided),
        note: None,
    };
    let (nb, nc) = (report.n_baseline, report.n_candidate);
    if nb == 0 || nc == 0 {
        report.note = Some(if baseline.dropped + candidate.dropped > 0 {
            "not measured (no requests, CPU not recorded, or no baseline-cell partner)".into()
        } else {
            "no trials".into()
        });
        return report;
    }
    let (Some(b), Some(c)) = (
        stats::pooled_median(&baseline.groups),
        stats::pooled_median(&candidate.groups),
    ) else {
        return report;
    };
    let estimate = contrast.of(b, c);
    if !estimate.is_finite() {
        report.note = Some("the baseline is 0: no ratio".into());
        return report;
    }
    report.change = Some(to_change(estimate));
    if nb < MIN_GROUPS || nc < MIN_GROUPS {
        report.note = Some(format!(
            "needs at least {MIN_GROUPS} {unit} per side ({nb} vs {nc})"
        ));
        return report;
    }
    let Some(interval) = stats::bootstrap(&baseline.groups, &candidate.groups, contrast, bootstrap)
    else {
        return report;
    };
    report.ci_low = Some(to_change(interval.low));
    report.ci_high = Some(to_change(interval.high));
    let (verdict, inconclusive) = decide(metric, &interval, threshold);
    report.verdict = verdict;
    report.inconclusive = inconclusive;
    if inconclusive {
        report.note = Some("estimate beyond the threshold, interval not: pool more runs".into());
    }
    let dropped = baseline.dropped + candidate.dropped;
    if dropped > 0 && report.note.is_none() {
        report.note = Some(format!("{dropped} trial(s) without a value left out"));
    }
    report
}

fn compare_state(
    base: &Pooled<'_>,
    cand: &Pooled<'_>,
    settings: &Settings,
    counts: &mut Counts,
) -> Vec<StateReport> {
    let metric = Metric::StateBytes;
    let threshold = settings.thresholds.get(metric, None, None);
    let values = |entries: &[&StateCost]| -> Observations {
        let raw: Vec<f64> = entries
            .iter()
            .map(|e| e.bytes_per_entry)
            .filter(|v| v.is_finite())
            .collect();
        Observations {
            groups: raw.iter().map(|&v| vec![v]).collect(),
            trial_values: raw.clone(),
            raw,
            dropped: 0,
        }
    };
    let mut out = Vec::new();
    for ((kind, store), b) in &base.state_cost {
        let Some(c) = cand.state_cost.get(&(kind.clone(), store.clone())) else {
            continue;
        };
        let bootstrap = BootstrapSettings {
            seed: derive_seed(settings.bootstrap.seed, &["state", kind, store]),
            ..settings.bootstrap
        };
        let (baseline, candidate) = (values(b), values(c));
        let mut result = test_metric(
            metric,
            &baseline,
            &candidate,
            Basis::Trials,
            threshold,
            bootstrap,
            "runs",
        );
        // Memory grows in steps (allocator arenas, table doubling): when either side's own
        // runs differ by more than the threshold, a verdict at that threshold would be the
        // steps, not the change.
        let sides = [("baseline", &baseline), ("candidate", &candidate)];
        let lumpy = sides
            .iter()
            .filter_map(|(side, o)| spread(&o.raw).map(|s| (*side, s)))
            .filter(|(_, s)| *s > threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((side, spread)) = lumpy {
            result.verdict = Verdict::Untested;
            result.inconclusive = false;
            result.note = Some(format!(
                "the {side}'s own runs differ by {:.0} %, more than the threshold: at {} \
                 entries memory grows in steps too coarse to gate (seed more entries)",
                spread * 100.0,
                b.first().map_or(0, |e| e.entries)
            ));
        }
        count(counts, result.verdict, true);
        out.push(StateReport {
            kind: kind.clone(),
            store: store.clone(),
            result,
        });
    }
    out
}

/// How far apart a side's values are: `max / min - 1` (`None` with fewer than two, or a
/// minimum that is not positive).
fn spread(values: &[f64]) -> Option<f64> {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (values.len() >= 2 && min > 0.0).then(|| max / min - 1.0)
}

/// Whether to normalise, and why.
fn normalisation(
    asked: Normalise,
    base: &Pooled<'_>,
    cand: &Pooled<'_>,
) -> Result<(bool, String), CompareError> {
    let problem = if !base.has_references() {
        Some("a BASELINE run has no in-run baseline cell (auth none, group equal-rate)")
    } else if !cand.has_references() {
        Some("a CANDIDATE run has no in-run baseline cell (auth none, group equal-rate)")
    } else {
        let all: Vec<&Cell> = base
            .references
            .iter()
            .chain(&cand.references)
            .flatten()
            .copied()
            .collect();
        if all.windows(2).all(|w| same_measurement(w[0], w[1])) {
            None
        } else {
            Some("the in-run baseline cells are configured differently across runs")
        }
    };
    match (asked, problem) {
        (Normalise::Off, _) => Ok((false, "off (--no-normalize)".into())),
        (Normalise::On, Some(problem)) => Err(CompareError::flag(
            "--normalize",
            "",
            format!("cannot normalise: {problem}"),
        )),
        (Normalise::Auto, Some(problem)) => Ok((false, format!("off: {problem}"))),
        (_, None) => Ok((
            true,
            "by the in-run no-auth cell of the same run and trial".into(),
        )),
    }
}

fn same_machine(a: &Side, b: &Side) -> bool {
    let machines: BTreeSet<(&str, &str)> = a
        .runs
        .iter()
        .chain(&b.runs)
        .map(|(_, r)| (r.env.hostname.as_str(), r.env.cpu_model.as_str()))
        .collect();
    machines.len() <= 1
}

fn option_notes(baseline: &Side, candidate: &Side) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, side) in [("BASELINE", baseline), ("CANDIDATE", candidate)] {
        let partial = side.runs.iter().filter(|(_, r)| r.partial).count();
        if partial > 0 {
            notes.push(format!(
                "{partial} {name} run(s) were interrupted (partial): only what finished is here."
            ));
        }
    }
    let distinct = |f: &dyn Fn(&crate::model::SuiteRun) -> String| -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for (_, run) in baseline.runs.iter().chain(&candidate.runs) {
            let v = f(run);
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen
    };
    let slowdowns = distinct(&|r| r.options.slowdown_us.to_string());
    if slowdowns.len() > 1 {
        notes.push(format!(
            "Runs used different --slowdown-us ({} µs): a deliberate slowdown was injected.",
            slowdowns.join(", ")
        ));
    }
    let shapes = distinct(&|r| {
        format!(
            "{} matrix, {} s cells, {} s warm-up",
            r.options.matrix, r.options.cell_seconds, r.options.warmup_seconds
        )
    });
    if shapes.len() > 1 {
        notes.push(format!(
            "Runs differ in shape ({}): compare like with like.",
            shapes.join("; ")
        ));
    }
    notes
}

fn side_info(side: &Side) -> SideInfo {
    let mut info = SideInfo {
        path: side.path.clone(),
        runs: side.runs.len(),
        labels: Vec::new(),
        commits: Vec::new(),
        hosts: Vec::new(),
    };
    for (_, run) in &side.runs {
        info.labels.push(run.label.clone());
        if let Some(commit) = &run.env.git_commit {
            if !info.commits.contains(commit) {
                info.commits.push(commit.clone());
            }
        }
        if !info.hosts.contains(&run.env.hostname) {
            info.hosts.push(run.env.hostname.clone());
        }
    }
    info
}

/// Cell ids in the order the baseline's runs list them.
fn cell_order(side: &Side) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    side.runs
        .iter()
        .flat_map(|(_, run)| run.cells.iter())
        .map(|cell| cell.id.as_str())
        .filter(|id| seen.insert(*id))
        .collect()
}

fn describe(cell: &Cell) -> String {
    format!(
        "{}, {:?}, {} users",
        cell.config.describe(),
        cell.load,
        cell.users
    )
}

fn list(ids: &BTreeSet<&str>) -> String {
    const SHOWN: usize = 5;
    let mut out: Vec<String> = ids.iter().take(SHOWN).map(|s| format!("`{s}`")).collect();
    if ids.len() > SHOWN {
        out.push(format!("… ({} in all)", ids.len()));
    }
    if out.is_empty() {
        "no cells".into()
    } else {
        out.join(", ")
    }
}
