//! The HTTP/1.1 client on the hot path.
//!
//! Each virtual user owns one keep-alive connection (hyper's low-level `http1` connection),
//! and drives it in its own task: no pool, no lock, no hand-off to a connection task per
//! request. It returns only what the recorder needs — status, serving replica, wire sizes,
//! the credential a login hands out and the reason a 401 gives — and classifies failures.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST, SET_COOKIE};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

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

/// What came back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `X-Replica`, if present.
    pub replica: Option<Arc<str>>,
    /// Bytes of the response: status line, headers, body.
    pub bytes_in: u64,
    /// The `sid` cookie set by the response, if any.
    pub session_cookie: Option<String>,
    /// The body (kept only when asked for).
    pub body: Option<Bytes>,
}

/// A request to send.
#[derive(Debug)]
pub struct Outgoing<'a> {
    /// Method.
    pub method: &'a Method,
    /// Absolute URI (built once per path, see [`HttpClient::uri`]).
    pub uri: &'a Uri,
    /// One credential header, if any.
    pub credential: Option<(&'a HeaderName, &'a HeaderValue)>,
    /// JSON body, if any.
    pub json: Option<Bytes>,
    /// Keep the response body (logins, error reasons).
    pub keep_body: bool,
}

/// How to reach one target; shared by every user.
#[derive(Debug, Clone)]
pub struct HttpClient {
    authority: Arc<str>,
    host: HeaderValue,
    timeout: Duration,
}

/// One worker's connection: opened on first use, reopened after a failure or a close.
#[derive(Default)]
pub struct Connection {
    live: Option<Live>,
    /// The last replica name seen, shared rather than allocated per response.
    replica: Option<Arc<str>>,
}

impl Connection {
    fn intern_replica(&mut self, name: &str) -> Arc<str> {
        match &self.replica {
            Some(known) if &**known == name => Arc::clone(known),
            _ => {
                let fresh: Arc<str> = Arc::from(name);
                self.replica = Some(Arc::clone(&fresh));
                fresh
            }
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("open", &self.live.is_some())
            .finish()
    }
}

type Driver = Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

struct Live {
    sender: http1::SendRequest<Full<Bytes>>,
    driver: Driver,
}

impl HttpClient {
    /// A client for `authority` (`host:port`).
    pub fn new(authority: &str, timeout: Duration) -> Result<Self, String> {
        let host =
            HeaderValue::from_str(authority).map_err(|_| format!("bad authority {authority}"))?;
        Ok(HttpClient {
            authority: authority.into(),
            host,
            timeout,
        })
    }

    /// The request target for `path` (origin form, parsed once and reused).
    pub fn uri(&self, path: &str) -> Result<Uri, String> {
        path.parse::<Uri>()
            .ok()
            .filter(|uri| uri.scheme().is_none() && uri.path().starts_with('/'))
            .ok_or_else(|| format!("bad path {path:?}"))
    }

    async fn open(&self) -> Result<Live, Failure> {
        let stream = tokio::time::timeout(self.timeout, TcpStream::connect(&*self.authority))
            .await
            .map_err(|_| Failure::Timeout)?
            .map_err(|_| Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, driver) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Failure::Connect)?;
        Ok(Live {
            sender,
            driver: Box::pin(driver),
        })
    }

    /// Sends one request on `conn`. Returns the reply and the request's size on the wire.
    pub async fn send(
        &self,
        conn: &mut Connection,
        out: Outgoing<'_>,
    ) -> (Result<Reply, Failure>, u64) {
        let path_len = out.uri.path_and_query().map_or(1, |p| p.as_str().len());
        let mut builder = Request::builder()
            .method(out.method.clone())
            .uri(out.uri.clone())
            .header(HOST, self.host.clone());
        // Request line + Host; hyper writes the same bytes.
        let mut bytes_out =
            (out.method.as_str().len() + 1 + path_len + 11 + 6 + self.host.len() + 2) as u64;
        if let Some((name, value)) = out.credential {
            builder = builder.header(name, value.clone());
            bytes_out += header_len(name.as_str(), value.len());
        }
        let body = match out.json {
            Some(json) => {
                builder = builder
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .header(CONTENT_LENGTH, json.len());
                bytes_out += header_len("content-type", 16)
                    + header_len("content-length", json.len().to_string().len())
                    + json.len() as u64;
                json
            }
            None => Bytes::new(),
        };
        bytes_out += 2;
        let Ok(request) = builder.body(Full::new(body)) else {
            return (Err(Failure::Io), bytes_out);
        };
        if conn.live.as_ref().is_none_or(|l| l.sender.is_closed()) {
            match self.open().await {
                Ok(live) => conn.live = Some(live),
                Err(failure) => {
                    conn.live = None;
                    return (Err(failure), bytes_out);
                }
            }
        }
        let Some(Live { sender, driver }) = conn.live.as_mut() else {
            return (Err(Failure::Io), bytes_out);
        };
        let exchange = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|_| Failure::Io)?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|_| Failure::Io)?.to_bytes();
            Ok::<_, Failure>((parts, body))
        };
        // Drive the connection in this task while the exchange runs.
        let driven = async {
            tokio::select! {
                biased;
                result = exchange => result,
                _ = driver.as_mut() => Err(Failure::Io),
            }
        };
        let (parts, body) = match tokio::time::timeout(self.timeout, driven).await {
            Ok(Ok(done)) => done,
            Ok(Err(failure)) => {
                conn.live = None;
                return (Err(failure), bytes_out);
            }
            Err(_) => {
                conn.live = None;
                return (Err(Failure::Timeout), bytes_out);
            }
        };
        let mut bytes_in =
            8 + 1 + 3 + 1 + parts.status.canonical_reason().map_or(0, str::len) as u64 + 2;
        for (name, value) in &parts.headers {
            bytes_in += header_len(name.as_str(), value.len());
        }
        bytes_in += 2 + body.len() as u64;
        let replica = parts
            .headers
            .get("x-replica")
            .and_then(|v| v.to_str().ok())
            .map(|name| conn.intern_replica(name));
        // Only logins hand out a session cookie; other responses are not searched.
        let session_cookie = if out.keep_body {
            parts
                .headers
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| v.strip_prefix("sid="))
                .map(|v| v.split(';').next().unwrap_or_default().to_owned())
                .filter(|v| !v.is_empty())
        } else {
            None
        };
        let status = parts.status.as_u16();
        let reply = Reply {
            status,
            replica,
            bytes_in,
            session_cookie,
            // 401 bodies carry the reason the recorder classifies by.
            body: (out.keep_body || status == 401).then_some(body),
        };
        (Ok(reply), bytes_out)
    }
}

/// `name: value\r\n`
fn header_len(name: &str, value_len: usize) -> u64 {
    (name.len() + 2 + value_len + 2) as u64
}
