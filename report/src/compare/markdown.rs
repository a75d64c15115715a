//! The comparison as Markdown, for `$GITHUB_STEP_SUMMARY` or a pull-request comment:
//! the verdict first, regressions and improvements next, every cell folded away below.

use std::fmt::Write as _;

use super::decide::Verdict;
use super::metric::Metric;
use super::observe::Basis;
use super::report::{CellReport, MetricReport, Report, SideInfo};

/// Renders `report`.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let c = report.counts;
    let title = match c.regressed {
        0 => "✅ Performance gate: no regression".to_owned(),
        1 => "❌ Performance gate: 1 regression".to_owned(),
        n => format!("❌ Performance gate: {n} regressions"),
    };
    let _ = writeln!(out, "## {title}\n");
    let _ = writeln!(
        out,
        "**{} regressed** · {} improved · {} unchanged · {} untested\n",
        c.regressed, c.improved, c.unchanged, c.untested
    );
    inputs(&mut out, report);
    let m = &report.method;
    let confidence = confidence_label(m.confidence);
    let _ = writeln!(
        out,
        "A metric regresses only when its whole {confidence} confidence interval lies beyond \
         its threshold (hierarchical bootstrap of the ratio of medians, {} resamples, seed {}). \
         Normalisation: {}.\n",
        m.resamples, m.seed, m.normalisation
    );

    let rows = |verdict: Verdict| -> Vec<(&CellReport, &MetricReport)> {
        report
            .cells
            .iter()
            .filter(|cell| cell.gated)
            .flat_map(|cell| cell.metrics.iter().map(move |m| (cell, m)))
            .filter(|(_, m)| m.verdict == verdict)
            .collect()
    };
    for (heading, verdict) in [
        ("Regressions", Verdict::Regressed),
        ("Improvements", Verdict::Improved),
    ] {
        let found = rows(verdict);
        if found.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {heading}\n");
        let _ = writeln!(
            out,
            "| cell | metric | baseline | candidate | change | {confidence} CI | threshold |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---|---:|");
        for (cell, metric) in found {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                cell.id,
                metric.metric.label(),
                value(metric.metric, metric.baseline),
                value(metric.metric, metric.candidate),
                change(metric.metric, metric.change),
                interval(metric),
                metric.metric.format_change(metric.threshold),
            );
        }
        out.push('\n');
    }

    let states: Vec<_> = report
        .state_cost
        .iter()
        .filter(|s| s.result.verdict == Verdict::Regressed)
        .collect();
    let costs: Vec<&str> = report
        .cost
        .iter()
        .filter(|c| c.result.verdict == Verdict::Regressed)
        .map(|c| c.description.as_str())
        .collect();
    if !costs.is_empty() {
        let _ = writeln!(out, "**Added CPU regressed:** {}\n", costs.join(", "));
    }
    if !states.is_empty() {
        let _ = writeln!(
            out,
            "**Server state regressed:** {}\n",
            states
                .iter()
                .map(|s| format!("{} in {}", s.kind, s.store))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    all_cells(&mut out, report, &confidence);
    state_cost(&mut out, report, &confidence);
    added_cpu(&mut out, report, &confidence);

    let mut notes = report.notes.clone();
    if !report.only_in_baseline.is_empty() {
        notes.push(format!(
            "Only in the baseline (not compared): {}.",
            ids(&report.only_in_baseline)
        ));
    }
    if !report.only_in_candidate.is_empty() {
        notes.push(format!(
            "Only in the candidate (not compared): {}.",
            ids(&report.only_in_candidate)
        ));
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "### Notes\n");
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "<sub>baseline / candidate: median of the raw trial values. change: candidate vs \
         baseline, of the values tested (normalised where stated; per-second values grouped by \
         trial where marked “per s”); error rate in percentage points. 🟢 improved needs the \
         interval beyond the mirrored threshold. How the gate decides: \
         docs/regression-gate.md.</sub>"
    );
    out
}

fn inputs(out: &mut String, report: &Report) {
    let _ = writeln!(out, "| | input | runs | commit | host |");
    let _ = writeln!(out, "|---|---|---:|---|---|");
    for (name, side) in [
        ("baseline", &report.baseline),
        ("candidate", &report.candidate),
    ] {
        let _ = writeln!(
            out,
            "| {name} | `{}` | {} | {} | {} |",
            side.path,
            side.runs,
            commits(side),
            side.hosts.join(", ")
        );
    }
    out.push('\n');
}

fn commits(side: &SideInfo) -> String {
    if side.commits.is_empty() {
        return "?".into();
    }
    side.commits
        .iter()
        .map(|c| format!("`{}`", short_commit(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn short_commit(commit: &str) -> String {
    let (hash, dirty) = match commit.strip_suffix("-dirty") {
        Some(hash) => (hash, "-dirty"),
        None => (commit, ""),
    };
    format!("{}{dirty}", &hash[..hash.len().min(10)])
}

fn all_cells(out: &mut String, report: &Report, confidence: &str) {
    if report.cells.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>All {} cells</summary>\n",
        report.cells.len()
    );
    let _ = writeln!(
        out,
        "| cell | metric | baseline | candidate | change | {confidence} CI | threshold | trials | verdict |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|---:|---:|---|");
    for cell in &report.cells {
        let mut name = format!("`{}`<br>{}", cell.id, cell.description);
        if report.method.normalised && !cell.normalised {
            name.push_str(" · raw");
        }
        if !cell.gated {
            name.push_str(" · not gated");
        }
        for (i, m) in cell.metrics.iter().enumerate() {
            let first = if i == 0 { name.as_str() } else { "" };
            let _ = writeln!(out, "| {first} | {} |", metric_cells(m));
        }
    }
    let _ = writeln!(out, "\n</details>\n");
}

fn state_cost(out: &mut String, report: &Report, confidence: &str) {
    let rows = report
        .state_cost
        .iter()
        .map(|s| (format!("{} in {}", s.kind, s.store), &s.result));
    per_run_table(out, "Server state per entry", "state", confidence, rows);
}

fn added_cpu(out: &mut String, report: &Report, confidence: &str) {
    let rows = report
        .cost
        .iter()
        .map(|c| (c.description.clone(), &c.result));
    let title = "CPU added over no auth (cost part)";
    per_run_table(out, title, "configuration", confidence, rows);
}

/// A section of one-metric rows compared run by run (nothing when there are no rows).
fn per_run_table<'a>(
    out: &mut String,
    title: &str,
    first: &str,
    confidence: &str,
    rows: impl Iterator<Item = (String, &'a MetricReport)>,
) {
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(
        out,
        "| {first} | metric | baseline | candidate | change | {confidence} CI | threshold | runs | verdict |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|---:|---:|---|");
    for (name, result) in rows {
        let _ = writeln!(out, "| {name} | {} |", metric_cells(result));
    }
    out.push('\n');
}

/// The cells of a row after the first: metric … verdict.
fn metric_cells(m: &MetricReport) -> String {
    let mut verdict = m.verdict.label().to_owned();
    if m.inconclusive {
        verdict.push_str(" ⚠");
    }
    if let Some(note) = &m.note {
        let _ = write!(verdict, " — {note}");
    }
    let per_second = if m.basis == Basis::Seconds {
        " per s"
    } else {
        ""
    };
    format!(
        "{} | {} | {} | {} | {} | {} | {} vs {}{per_second} | {verdict}",
        m.metric.label(),
        value(m.metric, m.baseline),
        value(m.metric, m.candidate),
        change(m.metric, m.change),
        interval(m),
        m.metric.format_change(m.threshold),
        m.n_baseline,
        m.n_candidate,
    )
}

fn value(metric: Metric, v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| metric.format_value(v))
}

fn change(metric: Metric, v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| metric.format_change(v))
}

fn interval(m: &MetricReport) -> String {
    match (m.ci_low, m.ci_high) {
        (Some(low), Some(high)) => format!(
            "{} … {}",
            m.metric.format_change(low),
            m.metric.format_change(high)
        ),
        _ => "—".into(),
    }
}

fn confidence_label(confidence: f64) -> String {
    let percent = confidence * 100.0;
    if (percent - percent.round()).abs() < 1e-9 {
        format!("{percent:.0} %")
    } else {
        format!("{percent} %")
    }
}

fn ids(list: &[String]) -> String {
    list.iter()
        .map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
