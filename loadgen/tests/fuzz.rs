//! Property-based fuzz targets for loadgen's file parsers (proptest, stable Rust): the suite
//! matrix (TOML) and HdrHistogram interval logs. The HTTP response reader's targets are in
//! `src/http/fuzz.rs` (its types are private). Every test is named `fuzz_*`; the budget is
//! `support::cases` (`AUTHBENCH_FUZZ_CASES`), and `scripts/fuzz` runs a long one.

#![allow(clippy::unwrap_used)]

#[path = "fuzz/hdrlog.rs"]
mod hdrlog;
#[path = "fuzz/matrix.rs"]
mod matrix;
#[allow(dead_code)] // shared with src/http/fuzz.rs, which uses the rest
use authbench_fuzz_support::{budget as support, mutate};
