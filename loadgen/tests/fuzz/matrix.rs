//! The suite's matrix (`suite/matrix/`): arbitrary TOML and mutations of the built-in
//! matrices give a plan or an error, never a panic; the built-in ones still parse.

use loadgen::suite::matrix::{parse, DEFAULT_MATRIX, NETWORK_MATRIX, QUICK_MATRIX};
use proptest::prelude::*;

use super::mutate::mutated;
use super::support;

const BUILT_IN: [&str; 3] = [DEFAULT_MATRIX, QUICK_MATRIX, NETWORK_MATRIX];

/// Values a key could be given: the wrong type, out of range, at the edges of a number.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "1",
            "2",
            "-0.0",
            "0.001",
            "1e308",
            "1e300",
            "-1e300",
            "inf",
            "-inf",
            "nan",
            "18446744073709551615",
            "9223372036854775807",
            "4294967296",
            "65536",
            "1e-320",
            "86399.999",
            "true",
            "\"\"",
            "\"x\"",
            "[]",
            "[1, 2]",
            "[\"\"]",
            "{}",
            "\"session\"",
            "\"jwt\"",
            "\"none\"",
            "\"redis\"",
            "\"memory\"",
            "\"HS256\"",
            "\"builtin\"",
            "\"haproxy\"",
            "\"nginx\"",
            "\"gateway\"",
            "\"hash-session\"",
            "\"sticky-cookie\"",
            "\"denylist\"",
            "\"logout\"",
            "\"equal-rate\"",
            "[\"session\", \"jwt\"]",
            "1979-05-27T07:32:00Z",
        ])
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "\"[ -~]{0,10}\"",
    ]
}

/// A built-in matrix with one `key = value` line's value replaced, a line removed or
/// repeated, or an entry cut short.
fn line_mutation() -> impl Strategy<Value = String> {
    (
        prop::sample::select(BUILT_IN.to_vec()),
        prop::collection::vec((any::<prop::sample::Index>(), 0..4u8, value()), 1..4),
    )
        .prop_map(|(text, edits)| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            for (at, kind, value) in edits {
                if lines.is_empty() {
                    break;
                }
                let i = at.index(lines.len());
                match kind {
                    0 | 1 => {
                        if let Some((key, _)) = lines[i].split_once('=') {
                            lines[i] = format!("{key}= {value}");
                        }
                    }
                    2 => {
                        lines.remove(i);
                    }
                    _ => {
                        let line = lines[i].clone();
                        lines.insert(i, line);
                    }
                }
            }
            lines.join("\n")
        })
}

fn matrix_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => line_mutation(),
        2 => prop::sample::select(BUILT_IN.to_vec())
            .prop_flat_map(|t| mutated(t.as_bytes().to_vec(), 6))
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => any::<String>(),
        1 => "(\\[\\[?(cells|revocation|cost|defaults|faults)\\]\\]?\n|[a-z]{1,8} = [0-9.\"a-z-]{0,6}\n){0,8}",
    ]
}

#[test]
fn fuzz_matrix_toml() {
    for text in BUILT_IN {
        parse("built-in", text).unwrap();
    }
    support::run("matrix-toml", 1.0, matrix_text(), |text| {
        // An error or a plan; a plan that is only a panic away would fail here.
        if let Ok(plan) = parse("fuzz", &text) {
            prop_assert!(plan.cells.iter().all(|c| c.trials >= 1));
        }
        Ok(())
    });
}
