//! Unit tests of the verdict rules and of whole-run verdicts, by claim family.

use super::*;
use crate::render::cost::Resolved::{Indistinguishable as Same, Less, More};
use crate::render::example::{example_run, example_run_without_redis};
use crate::render::interval::Interval;

fn depends(o: &Option<Outcome>) -> &str {
    match o {
        Some(Outcome::Depends(s)) => s,
        other => panic!("expected depends, got {other:?}"),
    }
}

fn items(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(n, b)| ((*n).to_owned(), *b)).collect()
}

#[test]
fn comparisons_have_a_ten_percent_dead_band() {
    assert_eq!(compare(110.0, 100.0), Cmp::Same);
    assert_eq!(compare(110.1, 100.0), Cmp::More);
    assert_eq!(compare(89.0, 100.0), Cmp::Less);
    assert_eq!(
        compare(0.5, 0.0),
        Cmp::More,
        "absolute against a zero reference"
    );
}

mod balancing;
mod cost;
mod distance;
mod latency;
mod revocation;
mod runs;
mod size_faults;
mod wording;
