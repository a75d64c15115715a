//! Live progress on the terminal: elapsed time, target and achieved rate, corrected p50/p99
//! of the last complete second, errors. Off when stderr is not a terminal (CI, pipes) or with
//! `--quiet`, so logs never fill with control characters.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plan::{LoadModel, Plan};
use crate::record::{Phase, Recorder};

/// The progress line, if shown.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    target: String,
}

impl Progress {
    /// A progress line for `plan`, shown only when `enabled` and stderr is a terminal.
    pub fn new(plan: &Plan, enabled: bool) -> Progress {
        let target = match &plan.model {
            // A shard sends 1/N of the arrivals.
            LoadModel::Open { stages } if stages.len() == 1 => format!(
                "{:.0}/s",
                stages[0].rate / plan.shard.map_or(1, |s| s.count) as f64
            ),
            LoadModel::Open { .. } => "staged".to_owned(),
            LoadModel::Closed { concurrency } => format!("closed ×{concurrency}"),
        };
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = match plan.schedule_length() {
                Some(length) => ProgressBar::new(length.as_secs().max(1)),
                None => ProgressBar::new_spinner(),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress { bar, target }
    }

    /// Redraws from the recorder's state, `elapsed` into the run.
    pub fn update(&self, recorder: &Recorder, elapsed: Duration) {
        let Some(bar) = &self.bar else { return };
        let request = recorder.phase(Phase::Request);
        let last = recorder.timeline.last();
        bar.set_position(elapsed.as_secs());
        bar.set_message(format!(
            "target {} achieved {}/s  p50 {:.2} ms  p99 {:.2} ms  requests {}  errors {}",
            self.target,
            last.map_or(0, |s| s.requests),
            last.map_or(0, |s| s.p50_us) as f64 / 1e3,
            last.map_or(0, |s| s.p99_us) as f64 / 1e3,
            request.count(),
            request.errors(),
        ));
    }

    /// Removes the line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
