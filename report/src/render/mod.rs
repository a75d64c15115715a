//! The report of a suite run: verdicts on the claims, tables and charts, rendered from
//! `run.json` alone as `summary.md` (GitHub-flavoured Markdown, fit for
//! `$GITHUB_STEP_SUMMARY`) and `report.html` (self-contained: inline CSS and SVG, no
//! scripts, nothing fetched).
//!
//! Everything here is a pure function of a [`SuiteRun`]; only [`write()`] and [`load`] touch
//! the file system.
//!
//! * [`agreement`] — how the verdicts of several runs agree;
//! * [`cost`] — added CPU over the baseline, with bootstrap intervals;
//! * [`stats`] — medians over trials, cell lookups, added latency, scaling efficiency;
//! * [`distance`] — the equal-rate cells per network profile, each over its own baseline;
//! * [`verdict`] — one verdict per claim of docs/claims.md, by documented rules;
//! * [`projection`] — the scale-out projection from per-request costs;
//! * [`sizing`] — a deployment sized for a target rate from those costs (`--project`);
//! * [`tables`] — the report's tables, shared by both renderers;
//! * [`markup`] — the report as one document, rendered through a [`markup::Markup`] per
//!   format: [`markdown`] — `summary.md`; [`html`] — `report.html`, with [`charts`] drawn by
//!   [`svg`];
//! * [`format`](mod@format) — units and numbers; `example` — synthetic runs for tests (with the
//!   `fixtures` feature, for other crates' tests too).

pub mod agreement;
pub mod charts;
pub mod cost;
pub mod distance;
#[cfg(any(test, feature = "fixtures"))]
pub mod example;
pub mod format;
pub mod html;
pub mod interval;
pub mod latency;
pub mod markdown;
pub mod markup;
pub mod projection;
pub mod sizing;
pub mod stats;
pub mod svg;
pub mod tables;
pub mod verdict;

use std::path::{Path, PathBuf};

use crate::fsutil::write_bytes_atomically;
use crate::model::{SuiteRun, SUITE_SCHEMA_VERSION};

/// File name of the Markdown summary in a run folder.
pub const SUMMARY_FILE: &str = "summary.md";
/// File name of the HTML report in a run folder.
pub const REPORT_FILE: &str = "report.html";
/// File name of the run document in a run folder.
pub const RUN_FILE: &str = "run.json";

/// Both renderings of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `summary.md`.
    pub markdown: String,
    /// `report.html`.
    pub html: String,
}

/// Renders `run` as Markdown and HTML.
pub fn render(run: &SuiteRun) -> Rendered {
    let doc = markup::document(run);
    Rendered {
        markdown: markup::render(markdown::Markdown::default(), &doc),
        html: markup::render(html::Html::new(run), &doc),
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The run document could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not JSON, or not a run document.
    #[error("{path} is not a suite run document: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// It was written by an incompatible version.
    #[error(
        "{path} has schema_version {found}, this loadgen reads schema_version {expected}; \
         re-render it with the loadgen version that wrote it"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file (`missing` when absent).
        found: String,
        /// [`SUITE_SCHEMA_VERSION`].
        expected: u32,
    },
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Parses a run document, checking its `schema_version` first so an incompatible file gets
/// a clear error rather than a missing-field one. `path` only names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<SuiteRun, ReportError> {
    let parse_err = |source| ReportError::Parse {
        path: path.to_owned(),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(parse_err)?;
    let version = value.get("schema_version");
    if version.and_then(serde_json::Value::as_u64) != Some(u64::from(SUITE_SCHEMA_VERSION)) {
        return Err(ReportError::Version {
            path: path.to_owned(),
            found: version.map_or_else(|| "missing".to_owned(), ToString::to_string),
            expected: SUITE_SCHEMA_VERSION,
        });
    }
    serde_json::from_value(value).map_err(parse_err)
}

/// Reads `dir/run.json`.
pub fn load(dir: &Path) -> Result<SuiteRun, ReportError> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ReportError::Read {
        path: path.clone(),
        source,
    })?;
    parse(&path, &text)
}

/// Writes `dir/summary.md` and `dir/report.html` atomically; returns their paths.
pub fn write(dir: &Path, run: &SuiteRun) -> Result<[PathBuf; 2], ReportError> {
    let rendered = render(run);
    let md = dir.join(SUMMARY_FILE);
    let html = dir.join(REPORT_FILE);
    for (path, text) in [(&md, &rendered.markdown), (&html, &rendered.html)] {
        write_bytes_atomically(path, text.as_bytes()).map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok([md, html])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_the_version_first() {
        let p = Path::new("/runs/x/run.json");
        let err = parse(p, r#"{"schema_version": 99, "cells": 3}"#).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/runs/x/run.json") && text.contains("99") && text.contains('1'),
            "{text}"
        );
        let err = parse(p, r#"{"cells": 3}"#).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        let err = parse(p, "not json").unwrap_err().to_string();
        assert!(err.starts_with("/runs/x/run.json is not"), "{err}");
        let err = parse(p, r#"{"schema_version": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field"), "{err}");
    }

    #[test]
    fn write_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let run = example::example_run();
        crate::fsutil::write_atomically(&dir.path().join(RUN_FILE), &run).unwrap();
        let back = load(dir.path()).unwrap();
        assert_eq!(back, run);
        let [md, html] = write(dir.path(), &back).unwrap();
        assert!(std::fs::read_to_string(md).unwrap().starts_with("# "));
        assert!(std::fs::read_to_string(html)
            .unwrap()
            .starts_with("<!DOCTYPE html>"));
        let missing = load(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(missing.contains("nope/run.json"), "{missing}");
    }
}
