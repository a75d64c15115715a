//! A worker's buffer of samples (shared by the users it serves), handed to the recorder in
//! batches so the send loop pays for a channel operation (and a recorder wake-up) once per
//! batch rather than once per request.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::record::Sample;

/// Most samples held before a flush.
const BATCH: usize = 64;
/// Oldest a held sample may get before a flush, so the per-second timeline stays current.
const MAX_AGE: Duration = Duration::from_millis(200);

/// Buffers one worker's samples.
#[derive(Debug)]
pub struct SampleSink {
    tx: UnboundedSender<Vec<Sample>>,
    buffer: Vec<Sample>,
    oldest: Option<Instant>,
}

impl SampleSink {
    /// A sink feeding `tx`.
    pub fn new(tx: UnboundedSender<Vec<Sample>>) -> Self {
        SampleSink {
            tx,
            buffer: Vec::with_capacity(BATCH),
            oldest: None,
        }
    }

    /// Adds a sample; flushes when the batch is full or old.
    pub fn push(&mut self, sample: Sample) {
        let done = sample.done;
        let oldest = *self.oldest.get_or_insert(done);
        self.buffer.push(sample);
        if self.buffer.len() >= BATCH || done.saturating_duration_since(oldest) >= MAX_AGE {
            self.flush();
        }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.buffer, Vec::with_capacity(BATCH));
        self.oldest = None;
        // The recorder outlives every worker; a closed channel means the run is being torn down.
        let _ = self.tx.send(batch);
    }
}

impl Drop for SampleSink {
    fn drop(&mut self) {
        self.flush();
    }
}
