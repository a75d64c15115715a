//! Property-based fuzz targets for loading `run.json` as `loadgen report` (`render::parse`)
//! and `loadgen compare` (`compare::input`) do: mutations of the reference run and of the
//! synthetic example run give a run or a clean error — the same from both readers — never a
//! panic, and a run that loads also renders. Every test is named `fuzz_*`; the budget is
//! [`support::cases`] (`AUTHBENCH_FUZZ_CASES`), and `scripts/fuzz` runs a long one.

#[allow(dead_code)] // the same helpers as the other crates' fuzz targets
use authbench_fuzz_support::{budget as support, mutate};

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::Value;

use crate::compare::input::parse_run;
use crate::model::SuiteRun;
use crate::render;

/// A run document and every node in it (JSON pointers), for structural mutations.
struct Base {
    text: String,
    value: Value,
    pointers: Vec<String>,
}

fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Longest array kept in a base document: every kind of node stays, per-second timelines and
/// long lists are cut, so that a case costs milliseconds rather than a parse of a megabyte.
const MAX_ITEMS: usize = 3;

fn shorten(value: &mut Value) {
    match value {
        Value::Object(map) => map.values_mut().for_each(shorten),
        Value::Array(items) => {
            items.truncate(MAX_ITEMS);
            items.iter_mut().for_each(shorten);
        }
        _ => {}
    }
}

/// The synthetic example run and the reference run kept under `results/`, shortened.
fn bases() -> &'static [Base] {
    static BASES: OnceLock<Vec<Base>> = OnceLock::new();
    BASES.get_or_init(|| {
        let reference =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/2026-12-04-vm-default/run.json");
        let reference = std::fs::read_to_string(&reference)
            .unwrap_or_else(|e| panic!("{}: {e}", reference.display()));
        let example = serde_json::to_string_pretty(&render::example::example_run()).unwrap();
        [example, reference]
            .into_iter()
            .map(|text| {
                let mut value: Value = serde_json::from_str(&text).unwrap();
                shorten(&mut value);
                let text = serde_json::to_string_pretty(&value).unwrap();
                let mut all = Vec::new();
                pointers(&value, String::new(), &mut all);
                Base {
                    text,
                    value,
                    pointers: all,
                }
            })
            .collect()
    })
}

/// A value to put somewhere it may not belong.
fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        prop::sample::select(vec![0.0, -1.0, 1e308, -1e308, 5e-324, 0.5, 100.0])
            .prop_map(|f| serde_json::json!(f)),
        "[ -~]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "session",
            "jwt",
            "none",
            "redis",
            "memory",
            "HS256",
            "EdDSA",
            "builtin",
            "haproxy",
            "round-robin",
            "equal-rate",
            "balancing",
            "scaling",
            "p99",
            "",
        ])
        .prop_map(Value::from),
        Just(Value::Array(Vec::new())),
        Just(Value::Object(serde_json::Map::new())),
    ]
}

/// One change to a node of the document.
#[derive(Debug, Clone)]
enum NodeEdit {
    Replace(prop::sample::Index, Value),
    Remove(prop::sample::Index),
    /// An array's items duplicated, or emptied.
    Resize(prop::sample::Index, bool),
}

fn node_edit() -> impl Strategy<Value = NodeEdit> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), json_value()).prop_map(|(i, v)| NodeEdit::Replace(i, v)),
        2 => any::<prop::sample::Index>().prop_map(NodeEdit::Remove),
        1 => (any::<prop::sample::Index>(), any::<bool>()).prop_map(|(i, b)| NodeEdit::Resize(i, b)),
    ]
}

fn apply(base: &Base, doc: &mut Value, edit: &NodeEdit) {
    let pick = |i: &prop::sample::Index| base.pointers[i.index(base.pointers.len())].as_str();
    match edit {
        NodeEdit::Replace(i, v) => {
            if let Some(node) = doc.pointer_mut(pick(i)) {
                *node = v.clone();
            }
        }
        NodeEdit::Remove(i) => {
            let pointer = pick(i);
            let Some((parent, last)) = pointer.rsplit_once('/') else {
                return;
            };
            let last = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&last);
                }
                Some(Value::Array(items)) => {
                    if let Ok(n) = last.parse::<usize>() {
                        if n < items.len() {
                            items.remove(n);
                        }
                    }
                }
                _ => {}
            }
        }
        NodeEdit::Resize(i, grow) => {
            if let Some(Value::Array(items)) = doc.pointer_mut(pick(i)) {
                if *grow {
                    let copy = items.clone();
                    items.extend(copy);
                } else {
                    items.clear();
                }
            }
        }
    }
}

/// A mutated run document: nodes replaced or removed (mostly on the small example run, whose
/// documents cost less to read), or its text edited byte by byte.
fn document() -> impl Strategy<Value = String> {
    let structural = (
        prop::sample::select(vec![0usize, 1]),
        prop::collection::vec(node_edit(), 1..4),
    )
        .prop_map(|(which, edits)| {
            let base = &bases()[which];
            let mut doc = base.value.clone();
            for e in &edits {
                apply(base, &mut doc, e);
            }
            serde_json::to_string(&doc).unwrap()
        });
    let textual = (
        prop::sample::select(vec![0usize, 1]),
        prop::collection::vec(mutate::edit(), 1..4),
    )
        .prop_map(|(which, edits)| {
            let mut bytes = bases()[which].text.clone().into_bytes();
            for e in &edits {
                mutate::apply(&mut bytes, e);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        });
    prop_oneof![3 => structural, 1 => textual]
}

#[test]
fn fuzz_run_json() {
    for base in bases() {
        let run = render::parse(Path::new("run.json"), &base.text).unwrap();
        assert_eq!(parse_run(&base.text).unwrap(), run);
    }
    support::run("run-json", 0.25, document(), |text| {
        let by_report = render::parse(Path::new("run.json"), &text);
        let by_compare = parse_run(&text);
        match (&by_report, &by_compare) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a, b);
                check_loaded(a)?;
            }
            (Err(_), Err(_)) => {}
            _ => prop_assert!(
                false,
                "report and compare disagree: {:?} / {:?}",
                by_report.as_ref().err().map(ToString::to_string),
                by_compare.as_ref().err()
            ),
        }
        Ok(())
    });
}

/// A run that loads round-trips through its JSON, renders and sizes (`loadgen report` renders
/// and sizes what it loads).
fn check_loaded(run: &SuiteRun) -> Result<(), TestCaseError> {
    let again = serde_json::to_string(run).unwrap();
    let back: SuiteRun = serde_json::from_str(&again).unwrap();
    prop_assert_eq!(&back, run);
    let rendered = render::render(run);
    prop_assert!(rendered.markdown.starts_with("# "));
    // `loadgen report --project` sizes what it loads, whatever is missing.
    let target = render::sizing::Target {
        rps: 1e6,
        headroom: render::sizing::DEFAULT_HEADROOM,
        cores_per_replica: None,
        sessions: render::sizing::DEFAULT_SESSIONS,
    };
    let scale = render::sizing::markdown_for(run, &target, "run", None);
    prop_assert!(scale.starts_with("# Scale on paper"));
    Ok(())
}
