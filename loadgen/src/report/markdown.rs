//! `summary.md`: the run's header, the claims table with verdicts, then every measurement
//! table — GitHub-flavoured Markdown, suitable for `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write as _;

use crate::report::format as f;
use crate::report::tables::{self, Align, Section, Table};
use crate::report::verdict::{self, Outcome};
use crate::suite::model::SuiteRun;

/// Escapes text for a Markdown table cell: pipes, line breaks and HTML-significant characters.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(
        out,
        "| {} |",
        t.headers
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}|",
        t.align
            .iter()
            .map(|a| match a {
                Align::Left => "---",
                Align::Right => "--:",
            })
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in &t.rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
}

fn section(out: &mut String, s: &Section) {
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let _ = writeln!(out, "## {}\n", s.title);
    for p in &s.intro {
        let _ = writeln!(out, "{p}\n");
    }
    match (&s.table, &s.missing) {
        (Some(t), _) => table(out, t),
        (None, Some(m)) => {
            let _ = writeln!(out, "_{}_", m.replace('_', "\\_"));
        }
        (None, None) => {}
    }
}

fn verdict_cell(o: &Outcome) -> String {
    match o {
        Outcome::Supported => "✅ **supported**".to_owned(),
        Outcome::Refuted => "❌ **refuted**".to_owned(),
        Outcome::Depends(why) => format!("⚖️ **depends** {}", cell(why)),
        Outcome::NotMeasured(why) => format!("➖ not measured: {}", cell(why)),
    }
}

/// The header lines: label, date, machine, commit, command, wall time.
fn header(out: &mut String, run: &SuiteRun) {
    let e = &run.env;
    let _ = writeln!(out, "# authbench suite: {}\n", run.label);
    if run.partial {
        let _ = writeln!(
            out,
            "> ⚠ **Partial run**: the suite was interrupted; only the parts that finished are here.\n"
        );
    }
    if run.options.slowdown_us > 0 {
        let _ = writeln!(
            out,
            "> ⚠ The replicas were slowed down by {} µs per verification or lookup (a test knob): \
             these numbers are not real costs.\n",
            run.options.slowdown_us
        );
    }
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| date | {} |", f::utc(run.started_at_unix));
    let _ = writeln!(
        out,
        "| machine | {} |",
        cell(&format!(
            "{} · {} · {} cores · {} · {}",
            e.hostname,
            e.cpu_model,
            e.cores,
            f::bytes(e.memory_bytes as f64),
            e.kernel
        ))
    );
    let _ = writeln!(
        out,
        "| commit | {} |",
        cell(e.git_commit.as_deref().unwrap_or("unknown"))
    );
    let _ = writeln!(
        out,
        "| command | `{}` |",
        f::command_line(&run.command)
            .replace('|', "\\|")
            .replace('`', "'")
    );
    let _ = writeln!(out, "| wall time | {} |", f::seconds(run.wall_seconds));
    let _ = writeln!(
        out,
        "| tool | {} {} · run.json schema {} |",
        cell(&run.tool.name),
        cell(&run.tool.version),
        run.schema_version
    );
}

/// Renders `summary.md`.
pub fn render(run: &SuiteRun) -> String {
    let mut out = String::new();
    header(&mut out, run);
    let verdicts = verdict::verdicts(run);
    let [supported, refuted, depends, not_measured] = verdict::tally(&verdicts);
    let _ = writeln!(
        out,
        "\n## Claims\n\n{} supported, {} refuted, {} depend, {} not measured. Rules and \
         thresholds: docs/claims.md, \"How the report decides\".\n",
        supported, refuted, depends, not_measured
    );
    let _ = writeln!(
        out,
        "| id | claim | verdict | evidence |\n|---|---|---|---|"
    );
    for v in &verdicts {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            v.claim,
            cell(v.claim_text),
            verdict_cell(&v.outcome),
            if v.evidence.is_empty() {
                "–".to_owned()
            } else {
                cell(&v.evidence)
            }
        );
    }
    for s in tables::sections(run) {
        section(&mut out, &s);
    }
    let _ = writeln!(
        out,
        "\n---\nRe-render with `loadgen report <run folder>`; the charts are in `report.html`."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::example::{example_run, example_run_without_redis};

    #[test]
    fn snapshot_example() {
        insta::assert_snapshot!("summary_example", render(&example_run()));
    }

    #[test]
    fn snapshot_without_redis() {
        insta::assert_snapshot!(
            "summary_without_redis",
            render(&example_run_without_redis())
        );
    }

    #[test]
    fn cells_are_escaped() {
        assert_eq!(cell("a|b\n<c>&"), "a\\|b &lt;c&gt;&amp;");
    }

    #[test]
    fn every_table_row_has_every_column() {
        let md = render(&example_run());
        let mut columns = None;
        for line in md.lines() {
            if line.starts_with('|') {
                let n = line.replace("\\|", "").matches('|').count();
                match columns {
                    None => columns = Some(n),
                    Some(c) => assert_eq!(c, n, "{line}"),
                }
            } else {
                columns = None;
            }
        }
    }

    #[test]
    fn an_empty_run_renders() {
        let mut run = example_run();
        run.cells.clear();
        run.state_cost.clear();
        run.token_sizes.clear();
        run.revocation.clear();
        run.faults.clear();
        run.store_capacity = None;
        run.session_security = None;
        run.cost.clear();
        run.partial = true;
        let md = render(&run);
        assert!(md.contains("Partial run"));
        assert!(md.contains("not measured in this run"));
        assert_eq!(md.matches("➖ not measured").count(), 15, "{md}");
    }
}
