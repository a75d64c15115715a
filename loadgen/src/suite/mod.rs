//! `loadgen suite`: the comparison suite — a matrix of clusters driven by the engine, plus
//! state-cost, revocation-window and fault experiments — written as one run folder.
//!
//! * [`model`] — the run document (`run.json`) every later step reads.

pub mod model;
