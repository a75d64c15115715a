//! One worker's keep-alive connection: a `TcpStream` (TCP_NODELAY) opened on first use and
//! reopened after a failure, a server's `Connection: close`, or anything unexpected on the
//! wire; a reusable write buffer and read buffer; and one deadline timer reset per request.

use std::net::SocketAddr;
use std::pin::Pin;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::buffer::ReadBuffer;
use super::response::{Expect, ReplicaNames, Response, ResponseReader};
use super::{Failure, Malformed};

/// One worker's connection: opened on first use, reopened after a failure or a close.
#[derive(Debug, Default)]
pub struct Connection {
    stream: Option<TcpStream>,
    /// The address the last connection went to, so reconnecting resolves nothing.
    peer: Option<SocketAddr>,
    /// The request being sent, serialised.
    pub(super) write: Vec<u8>,
    read: ReadBuffer,
    replicas: ReplicaNames,
    /// The per-request deadline; one timer, moved later for each request.
    deadline: Option<Pin<Box<Sleep>>>,
    /// An exchange began and never finished (its future was dropped), so the stream may hold
    /// part of a response.
    interrupted: bool,
}

impl Connection {
    /// Sends the request in the write buffer and reads its response, all by `when`.
    pub(super) async fn exchange(
        &mut self,
        authority: &str,
        when: Instant,
        expect: Expect,
    ) -> Result<Response, Failure> {
        let Connection {
            stream,
            peer,
            write,
            read,
            replicas,
            deadline,
            interrupted,
        } = self;
        let deadline = match deadline {
            Some(sleep) => {
                sleep.as_mut().reset(when);
                sleep
            }
            None => deadline.insert(Box::pin(tokio::time::sleep_until(when))),
        };
        if std::mem::replace(interrupted, true) {
            *stream = None;
        }
        if stream.is_none() {
            read.clear();
        }
        let work = async {
            if stream.is_none() {
                *stream = Some(connect(authority, peer).await?);
            }
            let Some(open) = stream.as_mut() else {
                return Err(Failure::Io);
            };
            open.write_all(write).await.map_err(|_| Failure::Io)?;
            read_response(open, read, replicas, expect).await
        };
        let result = tokio::select! {
            biased;
            result = work => result,
            () = deadline.as_mut() => Err(Failure::Timeout),
        };
        *interrupted = false;
        // Keep the connection only after a clean, complete, keep-alive exchange.
        let reusable = matches!(&result, Ok(r) if !r.close) && read.pending().is_empty();
        if !reusable {
            *stream = None;
            read.clear();
        }
        result
    }
}

/// Opens a connection to `peer` if known, else to `authority`, remembering where it went.
async fn connect(authority: &str, peer: &mut Option<SocketAddr>) -> Result<TcpStream, Failure> {
    let opened = match *peer {
        Some(addr) => TcpStream::connect(addr).await,
        None => TcpStream::connect(authority).await,
    };
    let Ok(stream) = opened else {
        // Resolve afresh next time.
        *peer = None;
        return Err(Failure::Connect);
    };
    let _ = stream.set_nodelay(true);
    *peer = stream.peer_addr().ok();
    Ok(stream)
}

/// Reads one response from `stream`, starting with what `buffer` already holds; bytes after
/// it stay in `buffer`.
async fn read_response(
    stream: &mut TcpStream,
    buffer: &mut ReadBuffer,
    replicas: &mut ReplicaNames,
    expect: Expect,
) -> Result<Response, Failure> {
    let mut reader = ResponseReader::new(expect);
    loop {
        if !buffer.pending().is_empty() {
            let (used, done) = reader.feed(buffer.pending(), replicas).map_err(malformed)?;
            buffer.consume(used);
            if let Some(response) = done {
                return Ok(response);
            }
        }
        let room = buffer.spare().map_err(malformed)?;
        let n = stream.read(room).await.map_err(|_| Failure::Io)?;
        if n == 0 {
            return reader.end_of_stream().map_err(malformed);
        }
        buffer.filled(n);
    }
}

fn malformed(m: Malformed) -> Failure {
    tracing::debug!(reason = m.0, "malformed response");
    Failure::Io
}
