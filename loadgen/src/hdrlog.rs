//! HdrHistogram interval logs (the standard V2 log format, deflate-compressed histograms),
//! so runs from several loadgen machines can be merged, and HdrHistogram's own tools
//! (HistogramLogAnalyzer, `hdr-plot`) can read them.
//!
//! A run keeps one compressed histogram per second and tag (`request-corrected`,
//! `request-uncorrected`) — about a kilobyte each — and writes the log at the end.
//! [`merge`] adds logs interval by interval, aligned on absolute time.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::record::{encode, new_histogram, Interval};

/// Errors reading, writing or merging logs.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// File system.
    #[error("{path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Not a V2 interval log, or a histogram that does not decode.
    #[error("{path}: {message}")]
    Format {
        path: String,
        /// What is wrong.
        message: String,
        /// The decoder's or writer's error, when it has one.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl LogError {
    fn format(
        path: &Path,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        LogError::Format {
            path: path.display().to_string(),
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

fn decode(path: &Path, bytes: &[u8]) -> Result<Histogram<u64>, LogError> {
    Deserializer::new()
        .deserialize(&mut Cursor::new(bytes))
        .map_err(|e| LogError::format(path, "histogram does not decode", e))
}

/// Writes `intervals` of a run that started at `start` as a V2 interval log, atomically.
pub fn write(
    path: &Path,
    start: SystemTime,
    comment: &str,
    intervals: &[Interval],
) -> Result<(), LogError> {
    let io = |source| LogError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut text = Vec::new();
    {
        let mut serializer = V2DeflateSerializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment(comment)
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0);
        let mut writer = builder
            .begin_log_with(&mut text, &mut serializer)
            .map_err(io)?;
        for interval in intervals {
            let histogram = decode(path, &interval.encoded)?;
            writer
                .write_histogram(
                    &histogram,
                    interval.offset,
                    interval.length,
                    Tag::new(&interval.tag),
                )
                .map_err(|e| LogError::format(path, "cannot write interval", e))?;
        }
    }
    crate::fsutil::write_bytes_atomically(path, &text).map_err(io)
}

/// One interval read from a log, with its absolute start.
#[derive(Debug)]
pub struct ReadInterval {
    /// Start, since the Unix epoch.
    pub start: Duration,
    pub length: Duration,
    /// Tag (empty when untagged).
    pub tag: String,
    pub histogram: Histogram<u64>,
}

/// Reads every interval of a V2 log.
pub fn read(path: &Path) -> Result<Vec<ReadInterval>, LogError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LogError::Io {
        path: name.clone(),
        source,
    })?;
    parse(path, &bytes)
}

/// Reads every interval of a V2 log held in memory; `path` only names it in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<ReadInterval>, LogError> {
    let name = path.display().to_string();
    let mut base = Duration::ZERO;
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(bytes) {
        // The iterator's error is not a `std::error::Error`: its debug form is the message.
        let entry = entry.map_err(|e| LogError::Format {
            path: name.clone(),
            message: format!("not an HdrHistogram V2 interval log: {e:?}"),
            source: None,
        })?;
        match entry {
            LogEntry::StartTime(t) | LogEntry::BaseTime(t) => base = t,
            LogEntry::Interval(interval) => {
                let compressed = base64::engine::general_purpose::STANDARD
                    .decode(interval.encoded_histogram())
                    .map_err(|e| LogError::format(path, "bad base64", e))?;
                out.push(ReadInterval {
                    start: base + interval.start_timestamp(),
                    length: interval.duration(),
                    tag: interval
                        .tag()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    histogram: decode(path, &compressed)?,
                });
            }
        }
    }
    Ok(out)
}

/// Merges logs: intervals of the same tag that start in the same absolute second are added.
/// Writes the merged log to `out` and returns the total histogram of each tag.
pub fn merge(inputs: &[&Path], out: &Path) -> Result<BTreeMap<String, Histogram<u64>>, LogError> {
    let mut buckets: BTreeMap<(u64, String), (Duration, Histogram<u64>)> = BTreeMap::new();
    let mut totals: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for input in inputs {
        for interval in read(input)? {
            let key = (interval.start.as_secs(), interval.tag.clone());
            let (length, merged) = buckets
                .entry(key)
                .or_insert_with(|| (interval.length, new_histogram(3)));
            *length = (*length).max(interval.length);
            let _ = merged.add(&interval.histogram);
            let _ = totals
                .entry(interval.tag)
                .or_insert_with(|| new_histogram(3))
                .add(&interval.histogram);
        }
    }
    let first = buckets.keys().next().map_or(0, |(secs, _)| *secs);
    let start = UNIX_EPOCH + Duration::from_secs(first);
    let intervals: Vec<Interval> = buckets
        .into_iter()
        .map(|((secs, tag), (length, histogram))| Interval {
            offset: Duration::from_secs(secs - first),
            length,
            tag,
            encoded: encode(&histogram),
        })
        .collect();
    let comment = format!("merged by loadgen from {} logs", inputs.len());
    write(out, start, &comment, &intervals)?;
    Ok(totals)
}
