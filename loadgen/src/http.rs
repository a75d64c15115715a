//! The HTTP/1.1 client on the hot path: hyper with a keep-alive connection pool.
//!
//! It returns only what the recorder needs — status, serving replica, wire sizes, the
//! credential a login hands out and the reason a 401 gives — and classifies failures.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST, SET_COOKIE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

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

/// The pooled client for one target.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    authority: Arc<str>,
    host: HeaderValue,
    timeout: Duration,
}

impl HttpClient {
    /// A client for `authority` (`host:port`), pooling up to `max_idle` connections.
    pub fn new(authority: &str, max_idle: usize, timeout: Duration) -> Result<Self, String> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(max_idle)
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        let host =
            HeaderValue::from_str(authority).map_err(|_| format!("bad authority {authority}"))?;
        Ok(HttpClient {
            client,
            authority: authority.into(),
            host,
            timeout,
        })
    }

    /// The absolute URI of `path` on this target.
    pub fn uri(&self, path: &str) -> Result<Uri, String> {
        format!("http://{}{}", self.authority, path)
            .parse()
            .map_err(|e| format!("bad path {path:?}: {e}"))
    }

    /// Sends one request. Returns the reply and the request's size on the wire.
    pub async fn send(&self, out: Outgoing<'_>) -> (Result<Reply, Failure>, u64) {
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
        let request = match builder.body(Full::new(body)) {
            Ok(request) => request,
            Err(_) => return (Err(Failure::Io), bytes_out),
        };
        let exchange = async {
            let response = self.client.request(request).await.map_err(|err| {
                if err.is_connect() {
                    Failure::Connect
                } else {
                    Failure::Io
                }
            })?;
            let (parts, body) = response.into_parts();
            let mut bytes_in =
                8 + 1 + 3 + 1 + parts.status.canonical_reason().map_or(0, str::len) as u64 + 2;
            for (name, value) in &parts.headers {
                bytes_in += header_len(name.as_str(), value.len());
            }
            bytes_in += 2;
            let replica = parts
                .headers
                .get("x-replica")
                .and_then(|v| v.to_str().ok())
                .map(Arc::from);
            let session_cookie = parts
                .headers
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| v.strip_prefix("sid="))
                .map(|v| v.split(';').next().unwrap_or_default().to_owned())
                .filter(|v| !v.is_empty());
            let body = body.collect().await.map_err(|_| Failure::Io)?.to_bytes();
            bytes_in += body.len() as u64;
            let status = parts.status.as_u16();
            Ok(Reply {
                status,
                replica,
                bytes_in,
                session_cookie,
                // 401 bodies carry the reason the recorder classifies by.
                body: (out.keep_body || status == 401).then_some(body),
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => (result, bytes_out),
            Err(_) => (Err(Failure::Timeout), bytes_out),
        }
    }
}

/// `name: value\r\n`
fn header_len(name: &str, value_len: usize) -> u64 {
    (name.len() + 2 + value_len + 2) as u64
}
