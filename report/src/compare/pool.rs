//! Pooling one side's runs: the trials of each cell (by `id`) across every run, and each
//! run's in-run baseline cell (no authentication, group `equal-rate`, on loopback).

use std::collections::BTreeMap;

use crate::model::{Auth, Cell, StateCost, Trial};

use super::error::CompareError;
use super::input::Side;

/// The group of the in-run baseline cell.
pub const BASELINE_GROUP: &str = "equal-rate";

/// One trial of a cell, with where it came from.
#[derive(Debug, Clone, Copy)]
pub struct TrialRef<'a> {
    /// Index of the run in its side.
    pub run: usize,
    /// Index of the trial in its cell.
    pub index: usize,
    /// The trial.
    pub trial: &'a Trial,
}

/// A cell with its trials from every run of a side.
#[derive(Debug, Clone)]
pub struct PooledCell<'a> {
    /// The cell's definition (the same in every run).
    pub cell: &'a Cell,
    /// Its trials, run by run.
    pub trials: Vec<TrialRef<'a>>,
    /// Runs it appears in.
    pub runs: usize,
}

/// One side, pooled.
#[derive(Debug, Clone)]
pub struct Pooled<'a> {
    /// Cells by id.
    pub cells: BTreeMap<&'a str, PooledCell<'a>>,
    /// Per run, its in-run baseline cell, if it has one.
    pub references: Vec<Option<&'a Cell>>,
    /// State cost entries by (kind, store name), from every run.
    pub state_cost: BTreeMap<(String, String), Vec<&'a StateCost>>,
}

impl<'a> Pooled<'a> {
    /// Pools `side`'s runs; `name` (`BASELINE` / `CANDIDATE`) names it in errors. A cell id
    /// whose configuration or load differs between the side's runs cannot be pooled.
    pub fn new(name: &'static str, side: &'a Side) -> Result<Pooled<'a>, CompareError> {
        let mut cells: BTreeMap<&'a str, PooledCell<'a>> = BTreeMap::new();
        let mut first_file: BTreeMap<&'a str, usize> = BTreeMap::new();
        let mut state_cost: BTreeMap<(String, String), Vec<&'a StateCost>> = BTreeMap::new();
        for (run, (file, doc)) in side.runs.iter().enumerate() {
            for cell in &doc.cells {
                let trials = cell
                    .trials
                    .iter()
                    .enumerate()
                    .map(|(index, trial)| TrialRef { run, index, trial });
                match cells.get_mut(cell.id.as_str()) {
                    None => {
                        first_file.insert(&cell.id, run);
                        cells.insert(
                            &cell.id,
                            PooledCell {
                                cell,
                                trials: trials.collect(),
                                runs: 1,
                            },
                        );
                    }
                    Some(pooled) => {
                        if !same_measurement(pooled.cell, cell) {
                            let other = first_file.get(cell.id.as_str()).copied().unwrap_or(0);
                            return Err(CompareError::Input {
                                side: name,
                                path: side.path.clone(),
                                message: format!(
                                    "cell '{}' is configured differently in {} and {}; pool \
                                     only runs of the same matrix",
                                    cell.id,
                                    side.runs[other].0.display(),
                                    file.display()
                                ),
                            });
                        }
                        pooled.trials.extend(trials);
                        pooled.runs += 1;
                    }
                }
            }
            for entry in &doc.state_cost {
                state_cost
                    .entry((entry.kind.to_string(), entry.store.to_string()))
                    .or_default()
                    .push(entry);
            }
        }
        let references = side
            .runs
            .iter()
            .map(|(_, doc)| doc.cells.iter().find(|c| is_reference(c)))
            .collect();
        Ok(Pooled {
            cells,
            references,
            state_cost,
        })
    }

    /// Whether every run has an in-run baseline cell.
    pub fn has_references(&self) -> bool {
        !self.references.is_empty() && self.references.iter().all(Option::is_some)
    }

    /// The in-run baseline cell's trial run alongside `trial` (same run, same index).
    pub fn reference_trial(&self, trial: &TrialRef<'a>) -> Option<&'a Trial> {
        self.references
            .get(trial.run)
            .copied()
            .flatten()
            .and_then(|cell| cell.trials.get(trial.index))
    }
}

/// Whether `cell` is an in-run baseline: no authentication, in the equal-rate group, on
/// loopback (a baseline behind network links is a cell like any other).
pub fn is_reference(cell: &Cell) -> bool {
    cell.config.auth == Auth::None
        && cell.group == BASELINE_GROUP
        && cell.config.network.is_loopback()
}

/// Whether two cells measure the same thing (configuration, load, users).
pub fn same_measurement(a: &Cell, b: &Cell) -> bool {
    a.config == b.config && a.load == b.load && a.users == b.users && a.group == b.group
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::example::example_run;

    /// A baseline at another network, even listed first, is not the run's reference.
    #[test]
    fn the_reference_is_the_loopback_baseline() {
        let mut run = example_run();
        let far = run
            .cells
            .iter()
            .position(|c| c.config.auth == Auth::None && !c.config.network.is_loopback())
            .expect("the example has a baseline at same-zone");
        let cell = run.cells.remove(far);
        run.cells.insert(0, cell);
        let side = Side::from_runs("base", vec![run]);
        let pooled = Pooled::new("BASELINE", &side).unwrap();
        assert_eq!(pooled.references[0].unwrap().id, "rate/none");
        assert!(!is_reference(pooled.cells["rate/none@same-zone"].cell));
    }
}
