//! The bytes read from a connection and not yet taken by a response reader: one buffer per
//! connection, reused for every response, grown only for unusually large heads.

use super::Malformed;

/// Room allocated on first read; a typical response fits many times over.
const INITIAL: usize = 4 * 1024;
/// Most bytes held unread at once. Bodies are taken as they arrive, so only a head, a chunk
/// size line or a trailer section ever needs to fit.
const MAX: usize = 64 * 1024;

/// A reusable read buffer: `data[start..end]` is read but not yet taken.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuffer {
    /// Bytes read and not yet taken.
    pub fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Marks the first `n` pending bytes as taken.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.clear();
        }
    }

    /// Forgets every pending byte (the connection they came from is gone).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Room to read into, after the pending bytes: moves them to the front or grows the
    /// buffer when needed. An error when the pending bytes alone fill the largest buffer.
    pub fn spare(&mut self) -> Result<&mut [u8], Malformed> {
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.data.len() >= MAX {
                return Err(Malformed("response head or framing line too large"));
            } else {
                let size = (self.data.len() * 2).clamp(INITIAL, MAX);
                self.data.resize(size, 0);
            }
        }
        Ok(&mut self.data[self.end..])
    }

    /// Records that `n` bytes were read into the room [`spare`](Self::spare) gave.
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(buffer: &mut ReadBuffer, bytes: &[u8]) {
        let room = buffer.spare().unwrap();
        room[..bytes.len()].copy_from_slice(bytes);
        buffer.filled(bytes.len());
    }

    #[test]
    fn pending_bytes_survive_compaction_and_growth() {
        let mut buffer = ReadBuffer::default();
        push(&mut buffer, b"abcdef");
        buffer.consume(2);
        assert_eq!(buffer.pending(), b"cdef");
        let fill = vec![b'x'; buffer.spare().unwrap().len()];
        push(&mut buffer, &fill);
        // Full with a taken prefix: compacts.
        assert_eq!(buffer.spare().unwrap().len(), 2);
        assert_eq!(&buffer.pending()[..4], b"cdef");
        push(&mut buffer, b"yz");
        // Full from the front: grows.
        assert!(buffer.spare().unwrap().len() >= INITIAL);
        assert_eq!(&buffer.pending()[..4], b"cdef");
        assert!(buffer.pending().ends_with(b"xyz"));
        buffer.consume(buffer.pending().len());
        assert!(buffer.pending().is_empty());
    }

    #[test]
    fn growth_stops_at_the_limit() {
        let mut buffer = ReadBuffer::default();
        while let Ok(room) = buffer.spare() {
            let n = room.len();
            buffer.filled(n);
        }
        assert_eq!(buffer.pending().len(), MAX);
    }
}
