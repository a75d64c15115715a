//! HdrHistogram V2 interval logs (`hdrlog.rs`, as `loadgen merge` reads them): mutations of
//! real logs and arbitrary text give intervals or an error, never a panic; a log that reads
//! is written and read back with the same counts.

use std::path::Path;

use loadgen::hdrlog;
use proptest::prelude::*;

use super::mutate::mutated;
use super::support;

/// The logs of the reference run (small ones: the fuzzer mutates them).
fn logs() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/2026-12-04-vm-default/hdr");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hlog"))
        .collect();
    files.sort();
    let logs: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .filter(|b| b.len() < 4096)
        .take(4)
        .collect();
    assert!(!logs.is_empty(), "no small .hlog under {}", dir.display());
    logs
}

/// A log line with its base64 histogram cut or altered.
fn interval_edit(log: &[u8], line: usize, cut: usize, byte: u8) -> Vec<u8> {
    let text = String::from_utf8_lossy(log);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let data: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].starts_with('#') && !lines[i].starts_with('"'))
        .collect();
    if let Some(&i) = data.get(line % data.len().max(1)) {
        let l = &mut lines[i];
        let at = cut % l.len().max(1);
        let mut bytes = l.clone().into_bytes();
        if byte.is_ascii_graphic() {
            bytes[at] = byte;
        } else {
            bytes.truncate(at);
        }
        *l = String::from_utf8_lossy(&bytes).into_owned();
    }
    lines.join("\n").into_bytes()
}

#[test]
fn fuzz_hdrlog_read() {
    let n = all_logs().len();
    let input = prop_oneof![
        4 => (0..n).prop_flat_map(move |i| mutated(logs_at(i), 4)),
        4 => (0..n, any::<usize>(), any::<usize>(), any::<u8>())
            .prop_map(|(i, line, cut, byte)| interval_edit(&logs_at(i), line, cut, byte)),
        1 => "(#\\[[A-Za-z]+: [0-9.]{0,12}\\]\n|[0-9.]{0,8},[0-9.]{0,8},[0-9.]{0,8},[A-Za-z0-9+/=]{0,60}\n){0,4}"
            .prop_map(String::into_bytes),
    ];
    let name = Path::new("fuzz.hlog");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("again.hlog");
    support::run("hdrlog-read", 1.0, input, |bytes| {
        if let Ok(intervals) = hdrlog::parse(name, &bytes) {
            if intervals.len() == 1 {
                // One interval written back reads back with the same counts.
                let i = &intervals[0];
                let record = loadgen::record::Interval {
                    offset: std::time::Duration::ZERO,
                    length: i.length,
                    tag: i.tag.clone(),
                    encoded: loadgen::record::encode(&i.histogram),
                };
                if hdrlog::write(&out, std::time::UNIX_EPOCH, "fuzz", &[record]).is_ok() {
                    let back = hdrlog::read(&out).unwrap();
                    prop_assert_eq!(back.len(), 1);
                    prop_assert_eq!(back[0].histogram.len(), i.histogram.len());
                }
            }
        }
        Ok(())
    });
}

fn all_logs() -> &'static [Vec<u8>] {
    static LOGS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(logs)
}

fn logs_at(i: usize) -> Vec<u8> {
    all_logs()[i].clone()
}
