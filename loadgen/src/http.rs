//! The HTTP/1.1 client on the hot path: lean, because loadgen must cost less per request than
//! the server it measures.
//!
//! Each worker owns one keep-alive [`Connection`] and drives it in its own task: no pool, no
//! lock, no connection task. A request is written from bytes serialised ahead of time — the
//! request line and `Host` once per [`Target`], the credential once per login as a
//! [`HeaderLine`] — and the response is parsed with `httparse`, looking only at the headers
//! loadgen needs. The client returns what the recorder needs — status, serving replica, wire
//! sizes, the credential a login hands out and the reason a 401 gives — and classifies
//! failures.
//!
//! * [`request`] — targets, header lines and the serialised request;
//! * [`response`] — response heads and the reader that turns bytes into a response;
//! * [`body`] — body framing: `Content-Length`, chunked, until close;
//! * [`buffer`] — the per-connection read buffer;
//! * [`connection`] — the socket, its deadline, and one request–response exchange.

mod body;
mod buffer;
mod connection;
mod request;
mod response;

#[cfg(test)]
mod fuzz;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

pub use connection::Connection;
pub use request::{HeaderLine, Target};
use response::Expect;

/// Why a request produced no HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The TCP connection could not be made.
    Connect,
    /// No response within the timeout.
    Timeout,
    /// The connection broke or the response was not HTTP.
    Io,
}

/// Bytes that are not a valid HTTP/1.1 response (the reason is for debug logs); becomes
/// [`Failure::Io`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

/// What came back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `X-Replica`, if present.
    pub replica: Option<Arc<str>>,
    /// Bytes of the response on the wire: status line, headers, body (with its framing).
    pub bytes_in: u64,
    /// The `sid` cookie set by the response, if any (looked for on logins only).
    pub session_cookie: Option<String>,
    /// Another cookie the response set (`NAME=VALUE`), such as a balancer's sticky cookie.
    pub affinity_cookie: Option<String>,
    /// `X-Cold-Start-Us`: how long the request waited for a function instance to start.
    pub cold_start_us: Option<u64>,
    /// The body (kept only when asked for, and for 401s).
    pub body: Option<Bytes>,
}

/// A request to send.
#[derive(Debug)]
pub struct Outgoing<'a> {
    /// Method, path and host, serialised once (see [`HttpClient::target`]).
    pub target: &'a Target,
    /// One credential header, if any.
    pub credential: Option<&'a HeaderLine>,
    /// Another header line, if any (a `Cookie` carrying a balancer's affinity cookie).
    pub extra: Option<&'a HeaderLine>,
    /// JSON body, if any.
    pub json: Option<&'a [u8]>,
    /// Keep the response body and look for a session cookie (logins).
    pub keep_body: bool,
    /// When the request is sent (the instant its sample records): the timeout counts from
    /// here, so the client reads no clock of its own.
    pub sent: Instant,
}

/// How to reach one target; shared by every worker.
#[derive(Debug, Clone)]
pub struct HttpClient {
    authority: Arc<str>,
    timeout: Duration,
}

impl HttpClient {
    /// A client for `authority` (`host:port`) giving each request `timeout`, connecting
    /// included.
    pub fn new(authority: &str, timeout: Duration) -> anyhow::Result<Self> {
        Target::new("GET", "/", authority)?;
        Ok(HttpClient {
            authority: authority.into(),
            timeout,
        })
    }

    /// The serialised head of `method path` requests to this client's authority (built once
    /// per kind of request, reused for every one).
    pub fn target(&self, method: &str, path: &str) -> anyhow::Result<Target> {
        Target::new(method, path, &self.authority)
    }

    /// Sends one request on `conn`. Returns the reply and the request's size on the wire.
    pub async fn send(
        &self,
        conn: &mut Connection,
        out: Outgoing<'_>,
    ) -> (Result<Reply, Failure>, u64) {
        request::write_request(
            &mut conn.write,
            out.target,
            [out.credential, out.extra],
            out.json,
        );
        let bytes_out = conn.write.len() as u64;
        let expect = Expect {
            head_request: out.target.is_head(),
            keep_body: out.keep_body,
            session_cookie: out.keep_body,
        };
        let result = conn
            .exchange(&self.authority, out.sent + self.timeout, expect)
            .await
            .map(|r| Reply {
                status: r.status,
                replica: r.replica,
                bytes_in: r.wire_bytes,
                session_cookie: r.session_cookie,
                affinity_cookie: r.affinity_cookie,
                cold_start_us: r.cold_start_us,
                body: r.body,
            });
        (result, bytes_out)
    }
}
