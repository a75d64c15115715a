//! Reading BASELINE and CANDIDATE: a `run.json`, a run folder holding one, or a folder of run
//! folders (searched a few levels deep), whose runs are pooled.

use std::path::{Path, PathBuf};

use crate::model::{SuiteRun, SUITE_SCHEMA_VERSION};

use super::error::CompareError;

/// The file name of a run document inside a run folder.
pub const RUN_FILE: &str = "run.json";

/// How deep below a given folder `run.json` files are looked for (a folder of run folders
/// written by `--out DIR`, whose runs may sit in `DIR/<date>-<host>-<label>/`).
const SEARCH_DEPTH: usize = 3;

/// One side of the comparison: every run found under one path.
#[derive(Debug, Clone)]
pub struct Side {
    /// The path as given.
    pub path: String,
    /// The runs, in path order, each with the file it came from.
    pub runs: Vec<(PathBuf, SuiteRun)>,
}

impl Side {
    /// A side from runs already in memory (tests, and callers that built them).
    pub fn from_runs(path: impl Into<String>, runs: Vec<SuiteRun>) -> Side {
        let path = path.into();
        Side {
            runs: runs
                .into_iter()
                .enumerate()
                .map(|(i, run)| (PathBuf::from(format!("{path}#{i}")), run))
                .collect(),
            path,
        }
    }

    /// Loads the runs under `path`; `side` (`BASELINE` / `CANDIDATE`) names it in errors.
    pub fn load(side: &'static str, path: &Path) -> Result<Side, CompareError> {
        let shown = path.display().to_string();
        let bad = |path: &Path, message: String| CompareError::Input {
            side,
            path: path.display().to_string(),
            message,
        };
        let files = if path.is_file() {
            vec![path.to_path_buf()]
        } else if path.is_dir() {
            let mut files = Vec::new();
            find_runs(path, SEARCH_DEPTH, &mut files)
                .map_err(|e| bad(path, format!("cannot list: {e}")))?;
            if files.is_empty() {
                return Err(bad(
                    path,
                    format!(
                        "no {RUN_FILE} in it or in its subfolders (up to {SEARCH_DEPTH} levels)"
                    ),
                ));
            }
            files.sort();
            files
        } else {
            return Err(bad(path, "does not exist".into()));
        };
        let mut runs = Vec::with_capacity(files.len());
        for file in files {
            let run = read_run(&file).map_err(|message| bad(&file, message))?;
            runs.push((file, run));
        }
        Ok(Side { path: shown, runs })
    }
}

/// Collects `run.json` files under `dir`: a folder that holds one is a run folder and is not
/// searched further.
fn find_runs(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let candidate = dir.join(RUN_FILE);
    if candidate.is_file() {
        out.push(candidate);
        return Ok(());
    }
    if depth == 0 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            find_runs(&entry.path(), depth - 1, out)?;
        }
    }
    Ok(())
}

/// Reads one run document, checking its schema version before its shape, so a newer or
/// older document is reported as such rather than as a parse error.
fn read_run(file: &Path) -> Result<SuiteRun, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    parse_run(&text)
}

/// [`read_run`] on a document already read.
pub(crate) fn parse_run(text: &str) -> Result<SuiteRun, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(SUITE_SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "schema_version {v}, but this loadgen reads run documents of schema_version \
                 {SUITE_SCHEMA_VERSION}; compare runs made by the same schema version"
            ))
        }
        None => return Err("no schema_version: not a loadgen suite run.json".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("not a suite run document: {e}"))
}
