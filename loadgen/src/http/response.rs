//! Responses out of bytes as they arrive: the head parsed with `httparse`, looking only at the
//! headers loadgen needs, then the body by its framing. Pure (no I/O), so it is tested on byte
//! fixtures fed in any split.

use std::mem::MaybeUninit;
use std::sync::Arc;

use bytes::Bytes;

use super::body::{BodyDecoder, Framing};
use super::Malformed;

/// Most header fields accepted in a response head.
const MAX_HEADERS: usize = 64;

/// What the request asks of its response.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Expect {
    /// The request was `HEAD`: no body follows whatever the headers say.
    pub head_request: bool,
    /// Keep the body (a 401's or 503's is kept regardless, for its reason).
    pub keep_body: bool,
    /// Look for the `sid` cookie in `Set-Cookie`.
    pub session_cookie: bool,
}

/// One complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// HTTP status.
    pub status: u16,
    /// `X-Replica`, interned.
    pub replica: Option<Arc<str>>,
    /// The `sid` cookie, when asked for and set.
    pub session_cookie: Option<String>,
    /// The first other cookie set (`NAME=VALUE`): a balancer's affinity cookie.
    pub affinity_cookie: Option<String>,
    /// `X-Cold-Start-Us`: the request waited this long for a function instance to start.
    pub cold_start_us: Option<u64>,
    /// The body, when kept.
    pub body: Option<Bytes>,
    /// Bytes the response took on the wire: heads (interim ones too), body and its framing.
    pub wire_bytes: u64,
    /// The server will not take another request on this connection.
    pub close: bool,
}

/// The last `X-Replica` value seen on a connection, shared by the responses that repeat it
/// rather than allocated per response.
#[derive(Debug, Default)]
pub(crate) struct ReplicaNames {
    last: Option<Arc<str>>,
}

impl ReplicaNames {
    /// The shared name for `value`, or `None` if it is not UTF-8.
    fn intern(&mut self, value: &[u8]) -> Option<Arc<str>> {
        let name = std::str::from_utf8(value).ok()?;
        match &self.last {
            Some(known) if &**known == name => Some(Arc::clone(known)),
            _ => {
                let fresh: Arc<str> = Arc::from(name);
                self.last = Some(Arc::clone(&fresh));
                Some(fresh)
            }
        }
    }
}

/// What a final response head says, as far as loadgen cares.
#[derive(Debug)]
struct Head {
    status: u16,
    replica: Option<Arc<str>>,
    session_cookie: Option<String>,
    affinity_cookie: Option<String>,
    cold_start_us: Option<u64>,
    close: bool,
}

/// Where the reader is.
#[derive(Debug)]
enum State {
    Head,
    Body { head: Head, body: BodyDecoder },
    Done,
}

/// Reads one response out of a byte stream: call [`feed`](Self::feed) with what is buffered
/// until it returns the response, and [`end_of_stream`](Self::end_of_stream) if the stream
/// ends first.
#[derive(Debug)]
pub(crate) struct ResponseReader {
    expect: Expect,
    state: State,
    wire_bytes: u64,
    body: Option<Vec<u8>>,
}

impl ResponseReader {
    /// A reader for the response to a request that expects `expect`.
    pub fn new(expect: Expect) -> Self {
        ResponseReader {
            expect,
            state: State::Head,
            wire_bytes: 0,
            body: None,
        }
    }

    /// Takes what it can from the front of `input`. Returns how many bytes it took and, once
    /// they complete the response, the response; bytes after it are left untaken. When it
    /// takes nothing and returns nothing, it needs more bytes appended to `input`.
    pub fn feed(
        &mut self,
        input: &[u8],
        replicas: &mut ReplicaNames,
    ) -> Result<(usize, Option<Response>), Malformed> {
        let mut at = 0;
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Head => {
                    self.state = State::Head;
                    match self.parse_head(&input[at..], replicas)? {
                        None => return Ok((at, None)),
                        Some(len) => at += len,
                    }
                }
                State::Body { head, mut body } => {
                    let decoded = body.decode(&input[at..], self.body.as_mut())?;
                    at += decoded.consumed;
                    self.wire_bytes += decoded.consumed as u64;
                    if !decoded.done {
                        self.state = State::Body { head, body };
                        return Ok((at, None));
                    }
                    return Ok((at, Some(self.finish(head))));
                }
                State::Done => return Err(Malformed("response already complete")),
            }
        }
    }

    /// The stream ended: the response, if its body was delimited by the close.
    pub fn end_of_stream(&mut self) -> Result<Response, Malformed> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Body { head, body } => {
                body.end_of_stream()?;
                Ok(self.finish(head))
            }
            State::Head => Err(Malformed("connection closed before a complete head")),
            State::Done => Err(Malformed("response already complete")),
        }
    }

    fn finish(&mut self, head: Head) -> Response {
        Response {
            status: head.status,
            replica: head.replica,
            session_cookie: head.session_cookie,
            affinity_cookie: head.affinity_cookie,
            cold_start_us: head.cold_start_us,
            body: self.body.take().map(Bytes::from),
            wire_bytes: self.wire_bytes,
            close: head.close,
        }
    }

    /// Parses a head at the front of `input`: `None` until it is complete, then its length.
    /// An interim (1xx) head is skipped; a final one moves the reader to its body.
    fn parse_head(
        &mut self,
        input: &[u8],
        replicas: &mut ReplicaNames,
    ) -> Result<Option<usize>, Malformed> {
        let mut fields = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            input,
            &mut fields,
        ) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Malformed("not an HTTP/1.x response head")),
        };
        self.wire_bytes += len as u64;
        let status = response.code.unwrap_or(0);
        match status {
            101 => return Err(Malformed("unexpected protocol switch")),
            100..=199 => return Ok(Some(len)),
            _ => {}
        }
        let mut fields_seen = Fields::default();
        for field in response.headers.iter() {
            fields_seen.note(field, self.expect.session_cookie, replicas)?;
        }
        let http10 = response.version == Some(0);
        let framing = if self.expect.head_request || matches!(status, 204 | 304) {
            Framing::Length(0)
        } else if fields_seen.transfer_encoding {
            if fields_seen.chunked {
                Framing::Chunked
            } else {
                Framing::UntilClose
            }
        } else {
            match fields_seen.content_length {
                Some(n) => Framing::Length(n),
                None => Framing::UntilClose,
            }
        };
        let close = framing == Framing::UntilClose
            || fields_seen.close
            || (http10 && !fields_seen.keep_alive);
        if self.expect.keep_body || status == 401 || status == 503 {
            self.body = Some(Vec::new());
        }
        self.state = State::Body {
            head: Head {
                status,
                replica: fields_seen.replica,
                session_cookie: fields_seen.session_cookie,
                affinity_cookie: fields_seen.affinity_cookie,
                cold_start_us: fields_seen.cold_start_us,
                close,
            },
            body: BodyDecoder::new(framing),
        };
        Ok(Some(len))
    }
}

/// The header fields loadgen looks at; all others are skipped by name length and a
/// case-insensitive comparison.
#[derive(Debug, Default)]
struct Fields {
    content_length: Option<u64>,
    transfer_encoding: bool,
    /// The last transfer coding is `chunked`.
    chunked: bool,
    close: bool,
    keep_alive: bool,
    replica: Option<Arc<str>>,
    session_cookie: Option<String>,
    affinity_cookie: Option<String>,
    cold_start_us: Option<u64>,
}

impl Fields {
    fn note(
        &mut self,
        field: &httparse::Header<'_>,
        want_cookie: bool,
        replicas: &mut ReplicaNames,
    ) -> Result<(), Malformed> {
        let name = field.name.as_bytes();
        let value = field.value;
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted.as_bytes());
        match name.len() {
            14 if is("content-length") => {
                // A list of equal values ("5, 5") is tolerated; differing ones are not.
                for item in value.split(|&b| b == b',') {
                    let n = parse_length(item.trim_ascii())?;
                    if self.content_length.is_some_and(|seen| seen != n) {
                        return Err(Malformed("conflicting Content-Length"));
                    }
                    self.content_length = Some(n);
                }
            }
            17 if is("transfer-encoding") => {
                self.transfer_encoding = true;
                // Only the last coding decides the framing.
                if let Some(last) = value.rsplit(|&b| b == b',').next() {
                    self.chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
                }
            }
            10 if is("connection") => {
                for token in value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    self.close |= token.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            9 if is("x-replica") => self.replica = replicas.intern(value),
            // A value that is not a decimal count is ignored, not an error: it is advice
            // from the function pool, not framing.
            15 if is("x-cold-start-us") => {
                self.cold_start_us = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse().ok());
            }
            10 if is("set-cookie") => match session_cookie(value) {
                Some(sid) if want_cookie && self.session_cookie.is_none() => {
                    self.session_cookie = Some(sid);
                }
                Some(_) => {}
                None if value.starts_with(b"sid=") => {}
                None if self.affinity_cookie.is_none() => {
                    self.affinity_cookie = affinity_cookie(value);
                }
                None => {}
            },
            _ => {}
        }
        Ok(())
    }
}

/// A `Content-Length` value: decimal digits only.
fn parse_length(digits: &[u8]) -> Result<u64, Malformed> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Malformed("bad Content-Length"));
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(Malformed("Content-Length too large"))
    })
}

/// `NAME=VALUE` of a `Set-Cookie` that sets a non-empty cookie other than `sid` (a
/// balancer's affinity cookie such as HAProxy's `SERVERID`), which a client must send back.
fn affinity_cookie(value: &[u8]) -> Option<String> {
    let pair = value.split(|&b| b == b';').next()?.trim_ascii();
    let text = std::str::from_utf8(pair).ok()?;
    let (name, cookie) = text.split_once('=')?;
    let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    (visible(name) && visible(cookie) && name != "sid").then(|| text.to_owned())
}

/// The value of a `sid=…` cookie, if this `Set-Cookie` sets one (and it is not empty).
fn session_cookie(value: &[u8]) -> Option<String> {
    let rest = value.strip_prefix(b"sid=")?;
    let sid = rest.split(|&b| b == b';').next().unwrap_or_default();
    let sid = std::str::from_utf8(sid).ok()?;
    (!sid.is_empty()).then(|| sid.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: Expect = Expect {
        head_request: false,
        keep_body: true,
        session_cookie: true,
    };
    const PLAIN: Expect = Expect {
        head_request: false,
        keep_body: false,
        session_cookie: false,
    };

    /// Feeds `wire` the way a connection does — appended to a buffer `step` bytes at a time,
    /// taken from its front — and returns the response and the bytes left over.
    fn read(expect: Expect, wire: &[u8], step: usize) -> Result<(Response, Vec<u8>), Malformed> {
        let mut reader = ResponseReader::new(expect);
        let mut replicas = ReplicaNames::default();
        let (mut buffer, mut pos) = (Vec::new(), 0);
        while pos < wire.len() {
            let end = (pos + step.max(1)).min(wire.len());
            buffer.extend_from_slice(&wire[pos..end]);
            pos = end;
            let (used, done) = reader.feed(&buffer, &mut replicas)?;
            buffer.drain(..used);
            if let Some(response) = done {
                buffer.extend_from_slice(&wire[pos..]);
                return Ok((response, buffer));
            }
        }
        reader.end_of_stream().map(|r| (r, buffer))
    }

    const HEALTHZ: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
        x-replica: r0\r\ncontent-length: 15\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n\
        {\"status\":\"ok\"}";

    #[test]
    fn content_length_in_any_split() {
        for step in [1, 2, 5, 64, HEALTHZ.len()] {
            let (r, left) = read(PLAIN, HEALTHZ, step).unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(r.replica.as_deref(), Some("r0"));
            assert_eq!(r.wire_bytes, HEALTHZ.len() as u64);
            assert_eq!((r.body, r.close, left.len()), (None, false, 0));
        }
    }

    #[test]
    fn a_cold_start_header_is_read_and_a_bad_one_ignored() {
        let wire = b"HTTP/1.1 200 OK\r\nX-Cold-Start-Us: 41250\r\nContent-Length: 0\r\n\r\n";
        let (r, _) = read(PLAIN, wire, 7).unwrap();
        assert_eq!(r.cold_start_us, Some(41_250));
        let bad = b"HTTP/1.1 200 OK\r\nx-cold-start-us: soon\r\nContent-Length: 0\r\n\r\n";
        let (r, _) = read(PLAIN, bad, 64).unwrap();
        assert_eq!((r.status, r.cold_start_us), (200, None));
        let (r, _) = read(PLAIN, HEALTHZ, 64).unwrap();
        assert_eq!(r.cold_start_us, None);
    }

    #[test]
    fn chunked_with_extensions_and_trailers_one_byte_at_a_time() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n\
            5;a=b\r\n{\"ok\"\r\n2\r\n:1\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n";
        for step in [1, 3, wire.len()] {
            let (r, left) = read(LOGIN, wire, step).unwrap();
            assert_eq!(r.body.as_deref(), Some(&b"{\"ok\":1}"[..]));
            assert_eq!((r.wire_bytes, r.close), (wire.len() as u64, false));
            assert!(left.is_empty());
        }
    }

    #[test]
    fn a_pipelined_second_response_is_left_for_the_next_reader() {
        let mut wire = HEALTHZ.to_vec();
        wire.extend_from_slice(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 16\r\n\r\n{\"error\":\"nope\"}X",
        );
        let mut reader = ResponseReader::new(PLAIN);
        let mut replicas = ReplicaNames::default();
        let (used, first) = reader.feed(&wire, &mut replicas).unwrap();
        assert_eq!(used, HEALTHZ.len());
        assert_eq!(first.unwrap().status, 200);
        let mut next = ResponseReader::new(PLAIN);
        let (used2, second) = next.feed(&wire[used..], &mut replicas).unwrap();
        let second = second.unwrap();
        assert_eq!(second.status, 401);
        assert_eq!(
            second.body.as_deref(),
            Some(&b"{\"error\":\"nope\"}"[..]),
            "401 bodies are kept"
        );
        assert_eq!(&wire[used + used2..], b"X");
    }

    #[test]
    fn no_length_with_connection_close_reads_to_the_end() {
        let wire = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
        for step in [1, 4, wire.len()] {
            let (r, _) = read(LOGIN, wire, step).unwrap();
            assert_eq!(r.body.as_deref(), Some(&b"until the end"[..]));
            assert_eq!((r.wire_bytes, r.close), (wire.len() as u64, true));
        }
    }

    #[test]
    fn connection_close_with_a_length_is_reported() {
        let wire = b"HTTP/1.1 200 OK\r\nCONNECTION: Close\r\nContent-Length: 2\r\n\r\nok";
        let (r, _) = read(PLAIN, wire, 1).unwrap();
        assert!(r.close);
        let http10 = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
        assert!(read(PLAIN, http10, 7).unwrap().0.close);
        let kept = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok";
        assert!(!read(PLAIN, kept, 7).unwrap().0.close);
    }

    #[test]
    fn an_affinity_cookie_is_found_on_any_response() {
        let wire = b"HTTP/1.1 200 OK\r\nset-cookie: sid=abc; HttpOnly\r\n\
            Set-Cookie: SERVERID=r1; Path=/\r\ncontent-length: 0\r\n\r\n";
        let (r, _) = read(PLAIN, wire, 100).unwrap();
        assert_eq!(r.affinity_cookie.as_deref(), Some("SERVERID=r1"));
        assert_eq!(r.session_cookie, None);
        let cleared =
            b"HTTP/1.1 200 OK\r\nset-cookie: sid=; Max-Age=0\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(read(PLAIN, cleared, 100).unwrap().0.affinity_cookie, None);
    }

    #[test]
    fn the_session_cookie_is_found_on_logins_only() {
        let wire = b"HTTP/1.1 200 OK\r\nset-cookie: theme=dark\r\n\
            Set-Cookie: sid=abc123; HttpOnly; Path=/\r\nContent-Length: 2\r\n\r\n{}";
        let (r, _) = read(LOGIN, wire, 3).unwrap();
        assert_eq!(r.session_cookie.as_deref(), Some("abc123"));
        assert_eq!(r.body.as_deref(), Some(&b"{}"[..]));
        let (r, _) = read(PLAIN, wire, 3).unwrap();
        assert_eq!((r.session_cookie, r.body), (None, None));
        let empty = b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=; Max-Age=0\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(read(LOGIN, empty, 100).unwrap().0.session_cookie, None);
    }

    #[test]
    fn interim_responses_and_bodiless_statuses() {
        let wire =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n";
        let (r, _) = read(PLAIN, wire, 1).unwrap();
        assert_eq!((r.status, r.wire_bytes), (204, wire.len() as u64));
        let head = Expect {
            head_request: true,
            ..PLAIN
        };
        let (r, _) = read(head, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 1).unwrap();
        assert_eq!((r.status, r.close), (200, false));
    }

    #[test]
    fn replica_names_are_shared() {
        let mut replicas = ReplicaNames::default();
        let a = replicas.intern(b"r1").unwrap();
        let b = replicas.intern(b"r1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(replicas.intern(b"r2").as_deref(), Some("r2"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for wire in [
            &b"garbage\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/2 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nContent-Le",
            b"\x00\xff\x13\x10",
        ] {
            for step in [1, wire.len()] {
                assert!(
                    read(PLAIN, wire, step).is_err(),
                    "{:?} in steps of {step}",
                    String::from_utf8_lossy(wire)
                );
            }
        }
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        let wire = format!("HTTP/1.1 200 OK\r\n{many}Content-Length: 0\r\n\r\n");
        assert!(read(PLAIN, wire.as_bytes(), 100).is_err());
    }

    #[test]
    fn equal_content_length_lists_are_tolerated() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok";
        assert_eq!(
            read(LOGIN, wire, 1).unwrap().0.body.as_deref(),
            Some(&b"ok"[..])
        );
    }
}
