//! `summary.md`: the run's header, the claims table with verdicts, then every measurement
//! table — GitHub-flavoured Markdown, suitable for `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write as _;

use crate::model::SuiteRun;
use crate::render::markup::{self, Markup};
use crate::render::tables::{Align, FactStyle, Header, Table};
use crate::render::verdict::{self, Outcome, Verdict};

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

fn verdict_cell(o: &Outcome) -> String {
    match o {
        Outcome::Supported => "✅ **supported**".to_owned(),
        Outcome::Refuted => "❌ **refuted**".to_owned(),
        Outcome::Depends(why) => format!("⚖️ **depends** {}", cell(why)),
        Outcome::NotMeasured(why) => format!("➖ not measured: {}", cell(why)),
    }
}

/// The Markdown [`Markup`]: writes `summary.md`.
#[derive(Debug, Default)]
pub struct Markdown {
    out: String,
}

impl Markup for Markdown {
    /// The header: title, warnings, then the run's facts as a two-column table.
    fn header(&mut self, h: &Header) {
        let out = &mut self.out;
        let _ = writeln!(out, "# {}\n", h.title);
        for w in &h.warnings {
            match w.lead {
                Some(lead) => {
                    let _ = writeln!(out, "> ⚠ **{lead}**: {}\n", w.text);
                }
                None => {
                    let _ = writeln!(out, "> ⚠ {}\n", w.text);
                }
            }
        }
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| date | {} |", h.date);
        for fact in &h.facts {
            let value = match fact.style {
                FactStyle::Text | FactStyle::Id => cell(&fact.value),
                FactStyle::Command => {
                    format!("`{}`", fact.value.replace('|', "\\|").replace('`', "'"))
                }
            };
            let _ = writeln!(out, "| {} | {value} |", fact.key);
        }
    }

    fn claims(&mut self, verdicts: &[Verdict]) {
        let out = &mut self.out;
        let [supported, refuted, depends, not_measured] = verdict::tally(verdicts);
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
        for v in verdicts {
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
    }

    fn heading(&mut self, _id: &str, title: &str) {
        if !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
        let _ = writeln!(self.out, "## {title}\n");
    }

    fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}\n");
    }

    fn table(&mut self, t: &Table) {
        let out = &mut self.out;
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

    fn missing(&mut self, text: &str) {
        let _ = writeln!(self.out, "_{}_", text.replace('_', "\\_"));
    }

    fn footer(&mut self, _tool: &str, _version: &str) {
        let _ = writeln!(
            self.out,
            "\n---\nRe-render with `loadgen report <run folder>`; the charts are in `report.html`."
        );
    }

    fn finish(self) -> String {
        self.out
    }
}

/// Renders `summary.md`.
pub fn render(run: &SuiteRun) -> String {
    markup::render(Markdown::default(), &markup::document(run))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::example::{example_run, example_run_without_redis};

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
        let mut run = crate::render::example::example_run_without_parts();
        run.cells.clear();
        run.partial = true;
        let md = render(&run);
        assert!(md.contains("Partial run"));
        assert!(md.contains("not measured in this run"));
        assert_eq!(md.matches("➖ not measured").count(), 15, "{md}");
    }
}
