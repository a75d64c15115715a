//! Response bodies as framed on the wire: a `Content-Length`, chunked transfer-coding
//! (extensions ignored, trailers skipped), or everything until the server closes.

use super::Malformed;

/// Most trailer fields accepted after the last chunk.
const MAX_TRAILERS: usize = 32;

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Exactly this many bytes (zero for responses that cannot have a body).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes.
    UntilClose,
}

/// Reads one body out of bytes as they arrive.
#[derive(Debug)]
pub(crate) enum BodyDecoder {
    /// Bytes still due.
    Length(u64),
    /// Where in the chunked framing the next byte is.
    Chunked(Chunk),
    /// Everything until the end of the stream.
    UntilClose,
}

/// A position in chunked framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Expecting a chunk-size line (`1a;ext=v\r\n`).
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF that ends a chunk's data.
    DataEnd,
    /// After the last chunk: trailer fields up to a blank line.
    Trailers,
}

/// What one call to [`BodyDecoder::decode`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Bytes taken from the front of the input.
    pub consumed: usize,
    /// The body is complete.
    pub done: bool,
}

impl BodyDecoder {
    /// A decoder for `framing`.
    pub fn new(framing: Framing) -> Self {
        match framing {
            Framing::Length(n) => BodyDecoder::Length(n),
            Framing::Chunked => BodyDecoder::Chunked(Chunk::Size),
            Framing::UntilClose => BodyDecoder::UntilClose,
        }
    }

    /// Takes what it can from the front of `input`, appending body bytes to `keep` when given.
    /// Takes nothing (and is not done) when `input` holds only part of a framing line: call
    /// again with more bytes appended.
    pub fn decode(
        &mut self,
        input: &[u8],
        mut keep: Option<&mut Vec<u8>>,
    ) -> Result<Decoded, Malformed> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match self {
                BodyDecoder::Length(left) => {
                    let take = take(left, rest, keep.as_deref_mut());
                    return Ok(Decoded {
                        consumed: at + take,
                        done: *left == 0,
                    });
                }
                BodyDecoder::UntilClose => {
                    if let Some(body) = keep.as_deref_mut() {
                        body.extend_from_slice(rest);
                    }
                    return Ok(Decoded {
                        consumed: input.len(),
                        done: false,
                    });
                }
                BodyDecoder::Chunked(Chunk::Size) => {
                    if !rest.first().is_some_and(u8::is_ascii_hexdigit) {
                        if rest.is_empty() {
                            return Ok(Decoded::partial(at));
                        }
                        return Err(Malformed("chunk size is not hexadecimal"));
                    }
                    match httparse::parse_chunk_size(rest) {
                        Ok(httparse::Status::Complete((line, size))) => {
                            at += line;
                            *self = BodyDecoder::Chunked(if size == 0 {
                                Chunk::Trailers
                            } else {
                                Chunk::Data(size)
                            });
                        }
                        Ok(httparse::Status::Partial) => return Ok(Decoded::partial(at)),
                        Err(_) => return Err(Malformed("bad chunk size line")),
                    }
                }
                BodyDecoder::Chunked(Chunk::Data(left)) => {
                    at += take(left, rest, keep.as_deref_mut());
                    if *left > 0 {
                        return Ok(Decoded::partial(at));
                    }
                    *self = BodyDecoder::Chunked(Chunk::DataEnd);
                }
                BodyDecoder::Chunked(Chunk::DataEnd) => match rest {
                    [b'\r', b'\n', ..] => {
                        at += 2;
                        *self = BodyDecoder::Chunked(Chunk::Size);
                    }
                    [] | [b'\r'] => return Ok(Decoded::partial(at)),
                    _ => return Err(Malformed("chunk data not followed by CRLF")),
                },
                BodyDecoder::Chunked(Chunk::Trailers) => {
                    let mut fields = [httparse::EMPTY_HEADER; MAX_TRAILERS];
                    return match httparse::parse_headers(rest, &mut fields) {
                        Ok(httparse::Status::Complete((len, _))) => {
                            *self = BodyDecoder::Length(0);
                            Ok(Decoded {
                                consumed: at + len,
                                done: true,
                            })
                        }
                        Ok(httparse::Status::Partial) => Ok(Decoded::partial(at)),
                        Err(_) => Err(Malformed("bad trailer section")),
                    };
                }
            }
        }
    }

    /// The stream ended: fine for a body read to the close, a truncation otherwise.
    pub fn end_of_stream(&self) -> Result<(), Malformed> {
        match self {
            BodyDecoder::UntilClose | BodyDecoder::Length(0) => Ok(()),
            _ => Err(Malformed("connection closed inside the body")),
        }
    }
}

impl Decoded {
    fn partial(consumed: usize) -> Self {
        Decoded {
            consumed,
            done: false,
        }
    }
}

/// Takes up to `*left` bytes of `input`, counting them off and keeping them when asked.
fn take(left: &mut u64, input: &[u8], keep: Option<&mut Vec<u8>>) -> usize {
    let n = usize::try_from(*left)
        .unwrap_or(usize::MAX)
        .min(input.len());
    if let Some(body) = keep {
        body.extend_from_slice(&input[..n]);
    }
    *left -= n as u64;
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` to a decoder the way a connection does — bytes appended to a buffer,
    /// consumed from its front — `step` bytes at a time.
    fn decode_in_steps(framing: Framing, wire: &[u8], step: usize) -> (Vec<u8>, usize, bool) {
        let mut decoder = BodyDecoder::new(framing);
        let (mut buffer, mut body, mut used) = (Vec::new(), Vec::new(), 0);
        for piece in wire.chunks(step) {
            buffer.extend_from_slice(piece);
            let d = decoder.decode(&buffer, Some(&mut body)).unwrap();
            buffer.drain(..d.consumed);
            used += d.consumed;
            if d.done {
                return (body, used, true);
            }
        }
        (body, used, false)
    }

    #[test]
    fn content_length_stops_at_its_length() {
        for step in [1, 3, 100] {
            let (body, used, done) = decode_in_steps(Framing::Length(5), b"hello, next", step);
            assert_eq!((body.as_slice(), used, done), (&b"hello"[..], 5, true));
        }
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let wire = b"4;name=value\r\nWiki\r\n5\r\npedia\r\nE ; x\r\n in\r\n\r\nchunks.\r\n\
                     0;last\r\nExpires: never\r\nX-Check: 1\r\n\r\nHTTP/1.1 200 OK";
        let framed = wire.len() - b"HTTP/1.1 200 OK".len();
        for step in [1, 2, 7, wire.len()] {
            let (body, used, done) = decode_in_steps(Framing::Chunked, wire, step);
            assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.", "step {step}");
            assert_eq!((used, done), (framed, true), "step {step}");
        }
    }

    #[test]
    fn chunked_without_trailers() {
        let (body, used, done) = decode_in_steps(Framing::Chunked, b"3\r\nabc\r\n0\r\n\r\n", 1);
        assert_eq!((body.as_slice(), used, done), (&b"abc"[..], 13, true));
    }

    #[test]
    fn bad_chunked_framing_is_an_error() {
        for wire in [
            &b"x\r\n"[..],
            b"\r\n",
            b";ext\r\n",
            b"3\r\nabcXY",
            b"3\rabc\r\n",
            b"0\r\nbad header\r\n\r\n",
            b"fffffffffffffffff\r\n",
        ] {
            let mut decoder = BodyDecoder::new(Framing::Chunked);
            let mut input = wire;
            let failed = loop {
                match decoder.decode(input, None) {
                    Err(_) => break true,
                    Ok(d) if d.consumed == 0 || d.done => break false,
                    Ok(d) => input = &input[d.consumed..],
                }
            };
            assert!(failed, "{:?}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn until_close_takes_everything_and_ends_cleanly() {
        let (body, used, done) = decode_in_steps(Framing::UntilClose, b"all of it", 4);
        assert_eq!((body.as_slice(), used, done), (&b"all of it"[..], 9, false));
        assert!(BodyDecoder::new(Framing::UntilClose)
            .end_of_stream()
            .is_ok());
        assert!(BodyDecoder::new(Framing::Length(3))
            .end_of_stream()
            .is_err());
        assert!(BodyDecoder::new(Framing::Chunked).end_of_stream().is_err());
    }
}
