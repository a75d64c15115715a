//! Property-based fuzz targets for the response reader and the body decoder (private to this
//! module, hence here rather than under `tests/`): a response read whole equals the same
//! bytes read in random splits through the connection's [`ReadBuffer`]; chunked encoding
//! round-trips; arbitrary and mutated bytes are an error or a response, never a panic.

use proptest::prelude::*;

use super::body::{BodyDecoder, Framing};
use super::buffer::ReadBuffer;
use super::response::{Expect, ReplicaNames, Response, ResponseReader};
use super::Malformed;
use authbench_fuzz_support::budget as support;
use authbench_fuzz_support::mutate::{mutated, syntax_bytes};

type Read = Result<(Response, Vec<u8>), Malformed>;

/// Reads one response from `wire` as if it all arrived at once; returns it and what is left.
fn read_whole(expect: Expect, wire: &[u8]) -> Read {
    let mut reader = ResponseReader::new(expect);
    let mut replicas = ReplicaNames::default();
    let (used, done) = reader.feed(wire, &mut replicas)?;
    match done {
        Some(response) => Ok((response, wire[used..].to_vec())),
        None => {
            let response = reader.end_of_stream()?;
            Ok((response, wire[used..].to_vec()))
        }
    }
}

/// Reads one response the way `connection::read_response` does: reads of the given sizes
/// into the connection's buffer, the reader fed what is pending.
fn read_split(expect: Expect, wire: &[u8], reads: &[usize]) -> Read {
    let mut reader = ResponseReader::new(expect);
    let mut replicas = ReplicaNames::default();
    let mut buffer = ReadBuffer::default();
    let (mut at, mut sizes) = (0, reads.iter().cycle());
    loop {
        if !buffer.pending().is_empty() {
            let (used, done) = reader.feed(buffer.pending(), &mut replicas)?;
            buffer.consume(used);
            if let Some(response) = done {
                let mut left = buffer.pending().to_vec();
                left.extend_from_slice(&wire[at..]);
                return Ok((response, left));
            }
        }
        let room = buffer.spare()?;
        let n = sizes.next().copied().unwrap_or(1).clamp(1, room.len());
        let n = n.min(wire.len() - at);
        if n == 0 {
            return reader.end_of_stream().map(|r| (r, Vec::new()));
        }
        room[..n].copy_from_slice(&wire[at..at + n]);
        buffer.filled(n);
        at += n;
    }
}

/// Whole and split reads agree: the same response and leftovers, or both an error.
fn agree(expect: Expect, wire: &[u8], reads: &[usize]) -> Result<Read, TestCaseError> {
    let whole = read_whole(expect, wire);
    let split = read_split(expect, wire, reads);
    match (&whole, &split) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "whole {whole:?} but split {split:?}"),
    }
    if let Ok((response, left)) = &whole {
        prop_assert_eq!(response.wire_bytes as usize + left.len(), wire.len());
    }
    Ok(whole)
}

/// A chunked encoding of `body` cut at `cuts`, with chunk extensions and trailers.
fn chunked(body: &[u8], cuts: &[usize], ext: bool, upper: bool, trailers: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut sizes = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let size = if upper {
            format!("{n:X}")
        } else {
            format!("{n:x}")
        };
        out.extend_from_slice(size.as_bytes());
        if ext {
            out.extend_from_slice(b";name=\"v\"");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    out.extend_from_slice(if ext { b"0;last\r\n" } else { b"0\r\n" });
    for t in trailers {
        out.extend_from_slice(format!("x-{t}: {t}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn reads() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1..64usize, 1..8)
}

#[test]
fn fuzz_chunked_round_trip() {
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..600),
        prop::collection::vec(1..300usize, 1..6),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec("[a-z]{1,6}", 0..3),
        reads(),
        prop::collection::vec(any::<u8>(), 0..20),
    );
    support::run(
        "chunked-round-trip",
        4.0,
        strategy,
        |(body, cuts, ext, upper, trailers, reads, after)| {
            let framed = chunked(&body, &cuts, ext, upper, &trailers);
            let mut wire = framed.clone();
            wire.extend_from_slice(&after);
            let mut decoder = BodyDecoder::new(Framing::Chunked);
            let (mut buffer, mut kept, mut used, mut at) = (Vec::new(), Vec::new(), 0, 0);
            let mut sizes = reads.iter().cycle();
            loop {
                let n = (*sizes.next().unwrap()).min(wire.len() - at);
                prop_assert!(n > 0, "ran out of bytes after {used} of {}", framed.len());
                buffer.extend_from_slice(&wire[at..at + n]);
                at += n;
                let d = decoder.decode(&buffer, Some(&mut kept)).unwrap();
                buffer.drain(..d.consumed);
                used += d.consumed;
                if d.done {
                    break;
                }
            }
            prop_assert_eq!(kept, body);
            prop_assert_eq!(used, framed.len());
            Ok(())
        },
    );
}

#[test]
fn fuzz_body_decoder_arbitrary() {
    let framing = prop_oneof![
        any::<u64>().prop_map(Framing::Length),
        Just(Framing::Chunked),
        Just(Framing::UntilClose),
    ];
    support::run(
        "body-decoder-arbitrary",
        4.0,
        (framing, syntax_bytes(200), reads()),
        |(framing, wire, reads)| {
            let mut decoder = BodyDecoder::new(framing);
            let (mut buffer, mut at) = (Vec::new(), 0);
            let mut sizes = reads.iter().cycle();
            while at < wire.len() {
                let n = (*sizes.next().unwrap()).min(wire.len() - at);
                buffer.extend_from_slice(&wire[at..at + n]);
                at += n;
                match decoder.decode(&buffer, None) {
                    Err(_) => return Ok(()),
                    Ok(d) => {
                        prop_assert!(d.consumed <= buffer.len());
                        buffer.drain(..d.consumed);
                        if d.done {
                            return Ok(());
                        }
                    }
                }
            }
            let _ = decoder.end_of_stream();
            Ok(())
        },
    );
}

/// A response as a server might send it, and what reading it must give.
#[derive(Debug, Clone)]
struct Wire {
    bytes: Vec<u8>,
    expect: Expect,
    status: u16,
    body: Vec<u8>,
    /// Bytes of the response itself (the rest is the next response's).
    framed: usize,
}

fn wire() -> impl Strategy<Value = Wire> {
    let filler = ("[a-z][a-z-]{0,10}", "[ -~]{0,20}").prop_map(|(n, v)| (format!("x-{n}"), v));
    (
        prop::sample::select(vec![200u16, 201, 204, 304, 401, 404, 500]),
        0..3u8,
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(1..100usize, 1..4),
        prop::collection::vec(filler, 0..5),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        prop::option::of("[a-z0-9]{1,8}"),
        prop::collection::vec(any::<u8>(), 0..30),
    )
        .prop_map(
            |(status, framing, body, cuts, filler, flags, replica, after)| {
                let (interim, head_request, keep_body, sid) = flags;
                let mut head = String::new();
                if interim {
                    head.push_str("HTTP/1.1 100 Continue\r\n\r\n");
                }
                head.push_str(&format!("HTTP/1.1 {status} Whatever\r\n"));
                for (n, v) in &filler {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                if let Some(r) = &replica {
                    head.push_str(&format!("X-Replica: {r}\r\n"));
                }
                if sid {
                    head.push_str("Set-Cookie: sid=abc; HttpOnly\r\nset-cookie: SERVERID=r1\r\n");
                }
                let no_body = head_request || matches!(status, 204 | 304);
                let until_close = framing == 2 && !no_body;
                let mut body = if no_body { Vec::new() } else { body };
                let encoded = match framing {
                    0 => {
                        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
                        body.clone()
                    }
                    1 if !no_body => {
                        head.push_str("Transfer-Encoding: chunked\r\n");
                        chunked(&body, &cuts, false, false, &[])
                    }
                    _ if no_body => {
                        body.clear();
                        Vec::new()
                    }
                    _ => {
                        head.push_str("Connection: close\r\n");
                        body.clone()
                    }
                };
                head.push_str("\r\n");
                let mut bytes = head.into_bytes();
                bytes.extend_from_slice(&encoded);
                let framed = bytes.len();
                if !until_close {
                    bytes.extend_from_slice(&after);
                }
                let expect = Expect {
                    head_request,
                    keep_body,
                    session_cookie: keep_body,
                };
                Wire {
                    bytes,
                    expect,
                    status,
                    body,
                    framed,
                }
            },
        )
}

#[test]
fn fuzz_response_splits() {
    support::run("response-splits", 2.0, (wire(), reads()), |(w, reads)| {
        let (response, left) = agree(w.expect, &w.bytes, &reads)?.unwrap();
        prop_assert_eq!(response.status, w.status);
        prop_assert_eq!(response.wire_bytes as usize, w.framed);
        prop_assert_eq!(left.as_slice(), &w.bytes[w.framed..]);
        if w.expect.keep_body || w.status == 401 {
            prop_assert_eq!(response.body.as_deref(), Some(w.body.as_slice()));
        } else {
            prop_assert_eq!(response.body, None);
        }
        Ok(())
    });
}

#[test]
fn fuzz_response_mutated() {
    let input = prop_oneof![
        3 => (wire(), prop::collection::vec(authbench_fuzz_support::mutate::edit(), 1..4)).prop_map(
            |(w, edits)| {
                let mut bytes = w.bytes;
                for e in &edits {
                    authbench_fuzz_support::mutate::apply(&mut bytes, e);
                }
                (w.expect, bytes)
            }
        ),
        1 => (any::<bool>(), syntax_bytes(300)).prop_map(|(keep, mut bytes)| {
            let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
            wire.append(&mut bytes);
            let expect = Expect { head_request: false, keep_body: keep, session_cookie: keep };
            (expect, wire)
        }),
        1 => mutated(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec(), 6)
            .prop_map(|bytes| (Expect::default(), bytes)),
    ];
    support::run(
        "response-mutated",
        2.0,
        (input, reads()),
        |((expect, bytes), reads)| {
            let _ = agree(expect, &bytes, &reads)?;
            Ok(())
        },
    );
}
