//! What the property-based fuzz targets of bench-server, loadgen and report share (a
//! dev-dependency only): [`budget`] — how many cases a target runs and the line it prints —
//! and [`mutate`] — arbitrary bytes and edits of a valid input.

pub mod budget;
pub mod mutate;

pub use budget::run;
