//! `loadgen merge` of whole run results written by `loadgen run --shard I/N --out`.
//!
//! Exact where the data allows it: latency histograms (carried in each phase's `histograms`)
//! are added, and the merged percentiles are read from the sum; counts and every by-key map
//! (`status`, `failures`, `unauthorized`, `unavailable`, `logins`, `replicas`) are summed;
//! byte means are weighted by counts; the timeline is aligned by wall-clock second
//! (`started_at_unix + t`, exact when the shards shared `--start-at`) and its per-second
//! p50/p99 are read from the summed per-second histograms (`shard.seconds`; a shard without
//! them makes the merge fall back to the largest shard's value, an upper bound, and says so
//! in `merged.timeline_percentiles`); throughput is recomputed over the merged window.
//! `cold_starts` is left out (it carries no histograms). Refused: shards of other plans, other schema
//! versions, duplicate or missing indices, results without shard or histograms.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

use crate::record::{new_histogram, Percentiles};
use crate::result::{histogram_text, SCHEMA_VERSION};

/// Whether `path` holds a JSON document (a run result) rather than an interval log.
pub fn is_result(path: &Path) -> anyhow::Result<bool> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

/// One shard's result.
struct Input {
    path: PathBuf,
    doc: Value,
    index: u64,
    start: f64,
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn int(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn load(path: &Path) -> anyhow::Result<Input> {
    let name = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{name}: not a JSON run result"))?;
    let version = doc.get("schema_version").and_then(Value::as_u64);
    if version != Some(u64::from(SCHEMA_VERSION)) {
        bail!(
            "{name}: schema_version {}, this loadgen merges {SCHEMA_VERSION}",
            version.map_or("missing".into(), |v| v.to_string())
        );
    }
    let shard = doc
        .get("shard")
        .ok_or_else(|| anyhow!("{name}: not a sharded result (run with --shard I/N)"))?;
    let index = int(shard, "index");
    for (phase, result) in doc
        .get("phases")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if result.get("histograms").is_none() {
            bail!("{name}: phase {phase} has no histograms (written by an older loadgen?)");
        }
    }
    Ok(Input {
        path: path.to_owned(),
        start: num(&doc, "started_at_unix"),
        doc,
        index,
    })
}

fn decode(path: &Path, text: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .with_context(|| format!("{}: a histogram is not base64", path.display()))?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(|e| anyhow!("{}: a histogram does not decode: {e:?}", path.display()))
}

fn add_maps(into: &mut Map<String, Value>, from: Option<&Value>) {
    for (k, v) in from.and_then(Value::as_object).into_iter().flatten() {
        let sum = into.get(k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap_or(0);
        into.insert(k.clone(), json!(sum));
    }
}

/// Merges the results in `paths` (one per shard) into one result document.
pub fn merge_files(paths: &[PathBuf], allow_partial: bool) -> anyhow::Result<Value> {
    let inputs = paths
        .iter()
        .map(|p| load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let first = &inputs[0];
    let count = int(&first.doc["shard"], "count");
    let whole = &first.doc["shard"]["whole_plan"];
    let mut seen = BTreeMap::new();
    for input in &inputs {
        let name = input.path.display();
        if input.doc["shard"]["whole_plan"] != *whole || int(&input.doc["shard"], "count") != count
        {
            bail!(
                "{name}: a shard of another plan than {} (shards must run the same flags)",
                first.path.display()
            );
        }
        if let Some(other) = seen.insert(input.index, &input.path) {
            bail!(
                "{name}: shard {}/{count} already given by {}",
                input.index,
                other.display()
            );
        }
    }
    let missing: Vec<u64> = (0..count).filter(|i| !seen.contains_key(i)).collect();
    if !missing.is_empty() && !allow_partial {
        bail!(
            "shards {missing:?} of {count} are missing (merge them all, or pass --allow-partial)"
        );
    }
    let start = inputs.iter().map(|i| i.start).fold(f64::INFINITY, f64::min);
    let mut merged = first.doc.clone();
    merged["plan"] = whole.clone();
    merged["partial"] = json!(
        !missing.is_empty()
            || inputs
                .iter()
                .any(|i| i.doc["partial"].as_bool().unwrap_or(false))
    );
    merged["started_at_unix"] = json!(start);
    // The caller puts the merge's own command line here; the shards' are in their files.
    merged["command"] = json!([]);
    let obj = merged
        .as_object_mut()
        .ok_or_else(|| anyhow!("not an object"))?;
    obj.remove("shard");
    obj.remove("cold_starts");
    let (timeline, exact) = merge_timeline(&inputs, start)?;
    obj.insert(
        "merged".into(),
        json!({
            "count": count,
            "shards": seen.keys().collect::<Vec<_>>(),
            "missing": missing,
            "files": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "timeline_percentiles": if exact { "exact" } else { "upper_bound" },
        }),
    );
    merged["phases"] = merge_phases(&inputs)?;
    for key in ["logins", "replicas"] {
        let mut sum = Map::new();
        inputs
            .iter()
            .for_each(|i| add_maps(&mut sum, i.doc.get(key)));
        merged[key] = Value::Object(sum);
    }
    merged["timeline"] = timeline;
    merged["summary"] = merge_summary(&inputs, &merged["phases"], start);
    Ok(merged)
}

fn merge_phases(inputs: &[Input]) -> anyhow::Result<Value> {
    let mut phases: BTreeMap<String, Vec<(&Input, &Value)>> = BTreeMap::new();
    for input in inputs {
        for (phase, r) in input.doc["phases"].as_object().into_iter().flatten() {
            phases.entry(phase.clone()).or_default().push((input, r));
        }
    }
    let mut out = Map::new();
    for (phase, results) in phases {
        let (mut corrected, mut uncorrected) = (new_histogram(3), new_histogram(3));
        let mut maps: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
        let (mut count, mut errors, mut late) = (0u64, 0u64, 0u64);
        let mut bytes = [0.0f64; 3];
        let byte_keys = [
            "bytes_sent_mean",
            "bytes_received_mean",
            "credential_header_bytes_mean",
        ];
        for (input, r) in &results {
            let h = &r["histograms"];
            for (into, key) in [
                (&mut corrected, "corrected"),
                (&mut uncorrected, "uncorrected"),
            ] {
                let text = h[key].as_str().unwrap_or_default();
                into.add(decode(&input.path, text)?)
                    .map_err(|e| anyhow!("{}: {key} histogram: {e:?}", input.path.display()))?;
            }
            let n = int(r, "count");
            count += n;
            errors += int(r, "errors");
            late += int(r, "late_starts");
            for (total, key) in bytes.iter_mut().zip(byte_keys) {
                *total += num(r, key) * n as f64;
            }
            for key in ["status", "failures", "unauthorized", "unavailable"] {
                add_maps(maps.entry(key).or_default(), r.get(key));
            }
        }
        let mut result = json!({
            "count": count,
            "errors": errors,
            "corrected": Percentiles::of(&corrected),
            "uncorrected": Percentiles::of(&uncorrected),
            "late_starts": late,
            "histograms": {
                "corrected": histogram_text(&corrected),
                "uncorrected": histogram_text(&uncorrected),
            },
        });
        for (total, key) in bytes.iter().zip(byte_keys) {
            let mean = if count == 0 {
                0.0
            } else {
                total / count as f64
            };
            result[key] = json!((mean * 10.0).round() / 10.0);
        }
        for (key, map) in maps {
            if key != "unavailable" || !map.is_empty() {
                result[key] = Value::Object(map);
            }
        }
        out.insert(phase, result);
    }
    Ok(Value::Object(out))
}

/// One merged second: counts, and the summed histogram (or the largest shard percentiles).
struct MergedSecond {
    requests: u64,
    errors: u64,
    latency: Option<Histogram<u64>>,
    p50_us: u64,
    p99_us: u64,
}

/// The merged second `t`, created empty on first use.
fn second_at(seconds: &mut BTreeMap<u64, MergedSecond>, t: u64, exact: bool) -> &mut MergedSecond {
    seconds.entry(t).or_insert_with(|| MergedSecond {
        requests: 0,
        errors: 0,
        latency: exact.then(|| new_histogram(3)),
        p50_us: 0,
        p99_us: 0,
    })
}

/// The timeline aligned by wall-clock second; `true` when its percentiles are exact (every
/// shard carried its per-second histograms).
fn merge_timeline(inputs: &[Input], start: f64) -> anyhow::Result<(Value, bool)> {
    let exact = inputs
        .iter()
        .all(|i| i.doc["shard"].get("seconds").is_some_and(Value::is_array));
    let mut seconds: BTreeMap<u64, MergedSecond> = BTreeMap::new();
    for input in inputs {
        // Shards that shared --start-at have a shift of exactly 0.
        let shift = (input.start - start).max(0.0).round() as u64;
        for s in input.doc["timeline"].as_array().into_iter().flatten() {
            let e = second_at(&mut seconds, shift + int(s, "t"), exact);
            e.requests += int(s, "requests");
            e.errors += int(s, "errors");
            e.p50_us = e.p50_us.max(int(s, "p50_us"));
            e.p99_us = e.p99_us.max(int(s, "p99_us"));
        }
        if !exact {
            continue;
        }
        for s in input.doc["shard"]["seconds"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let h = decode(&input.path, s["corrected"].as_str().unwrap_or_default())?;
            if let Some(sum) = &mut second_at(&mut seconds, shift + int(s, "t"), exact).latency {
                sum.add(h).map_err(|e| {
                    anyhow!("{}: a per-second histogram: {e:?}", input.path.display())
                })?;
            }
        }
    }
    let timeline = seconds
        .into_iter()
        .map(|(t, s)| {
            let (p50_us, p99_us) = match &s.latency {
                Some(h) if !h.is_empty() => (h.value_at_quantile(0.5), h.value_at_quantile(0.99)),
                _ => (s.p50_us, s.p99_us),
            };
            json!({"t": t, "requests": s.requests, "errors": s.errors, "p50_us": p50_us, "p99_us": p99_us})
        })
        .collect();
    Ok((timeline, exact))
}

fn merge_summary(inputs: &[Input], phases: &Value, start: f64) -> Value {
    let sum = |key: &str| -> u64 { inputs.iter().map(|i| int(&i.doc["summary"], key)).sum() };
    // Each shard's window runs from about its warm-up end for `window_seconds`.
    let warmup = num(&inputs[0].doc["plan"], "warmup");
    let window_start = start + warmup;
    let window_end = inputs
        .iter()
        .map(|i| i.start + warmup + num(&i.doc["summary"], "window_seconds"))
        .fold(window_start, f64::max);
    let window = window_end - window_start;
    let elapsed = inputs
        .iter()
        .map(|i| i.start - start + num(&i.doc["summary"], "elapsed_seconds"))
        .fold(0.0, f64::max);
    let requests = int(&phases["request"], "count");
    json!({
        "requests": requests,
        "errors": int(&phases["request"], "errors"),
        "window_seconds": (window * 1000.0).round() / 1000.0,
        "throughput_rps": if window > 0.0 { (requests as f64 / window * 10.0).round() / 10.0 } else { 0.0 },
        "dispatched": sum("dispatched"),
        "warmup_samples": sum("warmup_samples"),
        "max_backlog": sum("max_backlog"),
        "elapsed_seconds": (elapsed * 1000.0).round() / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::histogram_text;

    fn shard(start: f64, latencies_us: &[u64], with_seconds: bool) -> Input {
        let mut h = new_histogram(3);
        latencies_us.iter().for_each(|v| h.record(*v).unwrap());
        let mut doc = json!({
            "timeline": [{
                "t": 0, "requests": latencies_us.len(), "errors": 0,
                "p50_us": h.value_at_quantile(0.5), "p99_us": h.value_at_quantile(0.99),
            }],
            "shard": {},
        });
        if with_seconds {
            doc["shard"]["seconds"] = json!([{"t": 0, "corrected": histogram_text(&h)}]);
        }
        Input {
            path: PathBuf::from("shard.json"),
            doc,
            index: 0,
            start,
        }
    }

    #[test]
    fn per_second_percentiles_come_from_the_summed_histograms() {
        // 99 fast requests on one shard, one slow on the other: the merged p50 is fast, not
        // the slow shard's.
        let fast = shard(100.0, &[100; 99], true);
        let slow = shard(100.0, &[50_000], true);
        let (timeline, exact) = merge_timeline(&[fast, slow], 100.0).unwrap();
        assert!(exact);
        assert_eq!(timeline[0]["requests"], 100);
        assert_eq!(timeline[0]["p50_us"], 100);
        assert_eq!(timeline[0]["p99_us"], 100);
    }

    #[test]
    fn without_per_second_histograms_the_timeline_is_an_upper_bound() {
        let fast = shard(100.0, &[100; 99], true);
        let slow = shard(100.0, &[50_000], false);
        let (timeline, exact) = merge_timeline(&[fast, slow], 100.0).unwrap();
        assert!(!exact);
        assert_eq!(timeline[0]["p50_us"], 50_015);
    }

    #[test]
    fn seconds_are_aligned_by_wall_clock() {
        let early = shard(100.0, &[100], true);
        let late = shard(102.0, &[100], true);
        let (timeline, _) = merge_timeline(&[early, late], 100.0).unwrap();
        let ts: Vec<u64> = timeline
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["t"].as_u64().unwrap())
            .collect();
        assert_eq!(ts, [0, 2]);
    }
}
