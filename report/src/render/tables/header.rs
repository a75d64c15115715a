//! The report's header: its title, warnings about the run, and the run's facts (date,
//! machine, commit, command, wall time, tool) — built once here, rendered by both
//! `summary.md` and `report.html`.

use crate::model::SuiteRun;
use crate::render::format as f;

/// A warning shown under the title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// A bold lead-in (`Partial run`), if any.
    pub lead: Option<&'static str>,
    /// The warning.
    pub text: String,
}

/// How a fact's value is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactStyle {
    /// Plain text.
    Text,
    /// An identifier (a commit): monospace in HTML, plain text in Markdown.
    Id,
    /// A command line: code in both formats.
    Command,
}

/// One run fact: `machine`, `commit`, ….
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// Its name.
    pub key: &'static str,
    /// Its value, as text (renderers escape it).
    pub value: String,
    /// How it is set.
    pub style: FactStyle,
}

/// The header of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `authbench suite: <label>`.
    pub title: String,
    /// When the run started (UTC).
    pub date: String,
    /// One line under the title (HTML): what the report is, the date and the CPU.
    pub subtitle: String,
    /// Warnings about the run (interrupted, slowed down).
    pub warnings: Vec<Warning>,
    /// The run's facts after the date, in order.
    pub facts: Vec<Fact>,
}

/// The header of `run`'s report.
pub fn header(run: &SuiteRun) -> Header {
    let e = &run.env;
    let date = f::utc(run.started_at_unix);
    let mut warnings = Vec::new();
    if run.partial {
        warnings.push(Warning {
            lead: Some("Partial run"),
            text: "the suite was interrupted; only the parts that finished are here.".to_owned(),
        });
    }
    if run.options.slowdown_us > 0 {
        warnings.push(Warning {
            lead: None,
            text: format!(
                "The replicas were slowed down by {} µs per verification or lookup (a test \
                 knob): these numbers are not real costs.",
                run.options.slowdown_us
            ),
        });
    }
    let fact = |key, value, style| Fact { key, value, style };
    Header {
        title: format!("authbench suite: {}", run.label),
        subtitle: format!(
            "Session IDs vs JWTs, measured. {date} · {} · {} cores",
            e.cpu_model, e.cores
        ),
        date,
        warnings,
        facts: vec![
            fact(
                "machine",
                format!(
                    "{} · {} · {} cores · {} · {}",
                    e.hostname,
                    e.cpu_model,
                    e.cores,
                    f::bytes(e.memory_bytes as f64),
                    e.kernel
                ),
                FactStyle::Text,
            ),
            fact(
                "commit",
                e.git_commit.clone().unwrap_or_else(|| "unknown".to_owned()),
                FactStyle::Id,
            ),
            fact("command", f::command_line(&run.command), FactStyle::Command),
            fact("wall time", f::seconds(run.wall_seconds), FactStyle::Text),
            fact(
                "tool",
                format!(
                    "{} {} · run.json schema {}",
                    run.tool.name, run.tool.version, run.schema_version
                ),
                FactStyle::Text,
            ),
        ],
    }
}
