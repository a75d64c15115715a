//! Forwarding one request: choose a backend by policy, take a pooled connection (or connect),
//! send the request with its body streamed, stream the response back.
//!
//! Failure rules:
//! * a failed TCP connect takes the backend out of rotation (health checks put it back) and
//!   the request is retried once on another backend — nothing was sent, so this is safe;
//! * a pooled connection that turned out closed before the request was written is replaced
//!   by a new one to the same backend;
//! * a failure after the request was sent is a 502: that request was in flight — unless
//!   it was the client's body that failed (malformed chunked framing, cut short): that is
//!   a 400 `bad_request_body`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri, Version};

use super::backend::Backend;
use super::body::ProxyBody;
use super::cookie::{self, SESSION_COOKIE, STICKY_COOKIE};
use super::policy::{Picker, Policy};
use crate::conn::{ConnLimits, Hardening};
use crate::gateway::Gateway;

/// Headers that describe one hop, never forwarded.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

/// The balancer's routing state, shared by every connection.
#[derive(Debug)]
pub struct Balancer {
    backends: Vec<Arc<Backend>>,
    policy: Policy,
    picker: Picker,
    /// Requests answered 503 because no backend was up.
    pub no_backend: AtomicU64,
    /// The gateway mode, when on: requests are admitted by it before a backend is chosen.
    gateway: Option<Arc<Gateway>>,
    /// Client connection timeouts and limits, and their counters.
    conn: Hardening,
    /// Requests answered 400 because the client's body was malformed.
    pub bad_request_body: AtomicU64,
}

/// Where one request goes, and whether the response pins the client there.
#[derive(Debug, Clone, Copy)]
struct Route {
    index: usize,
    set_cookie: bool,
}

impl Balancer {
    /// A balancer over `backends` with `policy`.
    pub fn new(backends: Vec<Backend>, policy: Policy) -> Balancer {
        Balancer {
            backends: backends.into_iter().map(Arc::new).collect(),
            policy,
            picker: Picker::default(),
            no_backend: AtomicU64::new(0),
            gateway: None,
            conn: Hardening::new(ConnLimits::default(), 2),
            bad_request_body: AtomicU64::new(0),
        }
    }

    /// The same balancer with client connection limits `limits`.
    pub fn with_conn(mut self, limits: ConnLimits) -> Balancer {
        // A proxied connection costs two descriptors: the client's and the backend's.
        self.conn = Hardening::new(limits, 2);
        self
    }

    /// Client connection limits and counters.
    pub fn conn(&self) -> &Hardening {
        &self.conn
    }

    /// The same balancer in gateway mode.
    pub fn with_gateway(mut self, gateway: Option<Arc<Gateway>>) -> Balancer {
        self.gateway = gateway;
        self
    }

    /// The gateway, when on.
    pub fn gateway(&self) -> Option<&Arc<Gateway>> {
        self.gateway.as_ref()
    }

    /// The backends, in `--backend` order.
    pub fn backends(&self) -> &[Arc<Backend>] {
        &self.backends
    }

    /// The policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.backends.iter().position(|b| b.name() == name)
    }

    /// The backend for a request, or `None` when every backend is down.
    fn choose(&self, headers: &HeaderMap) -> Option<Route> {
        let plain = |index| Route {
            index,
            set_cookie: false,
        };
        match self.policy {
            Policy::RoundRobin => self.picker.round_robin(&self.backends, None).map(plain),
            Policy::LeastConn => self.picker.least_conn(&self.backends, None).map(plain),
            Policy::StickyCookie => {
                let pinned = cookie::find(headers, STICKY_COOKIE).and_then(|n| self.index_of(n));
                match pinned {
                    Some(i) if self.backends[i].is_up() => Some(plain(i)),
                    other => {
                        if let Some(i) = other {
                            self.backends[i]
                                .stats
                                .failovers
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        self.picker
                            .round_robin(&self.backends, None)
                            .map(|index| Route {
                                index,
                                set_cookie: true,
                            })
                    }
                }
            }
            Policy::HashSession => match cookie::find(headers, SESSION_COOKIE) {
                Some(sid) => {
                    let home = self.picker.hash_home(&self.backends, sid);
                    if !self.backends[home].is_up() {
                        self.backends[home]
                            .stats
                            .failovers
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    self.picker.hash(&self.backends, sid, None).map(plain)
                }
                None => self.picker.round_robin(&self.backends, None).map(plain),
            },
        }
    }

    /// Another backend than `failed`, for the one retry after a failed connect.
    fn choose_retry(&self, failed: usize, headers: &HeaderMap) -> Option<Route> {
        let backends = &self.backends;
        let index = match self.policy {
            Policy::LeastConn => self.picker.least_conn(backends, Some(failed)),
            Policy::HashSession => match cookie::find(headers, SESSION_COOKIE) {
                Some(sid) => self.picker.hash(backends, sid, Some(failed)),
                None => self.picker.round_robin(backends, Some(failed)),
            },
            Policy::RoundRobin | Policy::StickyCookie => {
                self.picker.round_robin(backends, Some(failed))
            }
        }?;
        Some(Route {
            index,
            set_cookie: self.policy == Policy::StickyCookie,
        })
    }

    /// Forwards one request and returns the response to send to the client.
    pub async fn handle(self: Arc<Self>, mut req: Request<Incoming>) -> Response<ProxyBody> {
        if let Some(gateway) = &self.gateway {
            // Hop-by-hop headers first: a client's `Connection: x-authbench-identity` must not
            // make the forwarding step drop the identity the gateway adds.
            strip_hop_by_hop(req.headers_mut());
            let protected = gateway.is_protected(req.uri().path());
            if let Err(rejection) = gateway.admit(protected, req.headers_mut()).await {
                return rejection.response();
            }
        }
        let Some(mut route) = self.choose(req.headers()) else {
            self.no_backend.fetch_add(1, Ordering::Relaxed);
            return local_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_backend",
                "no backend is up",
            );
        };
        prepare_request(&mut req, self.policy == Policy::StickyCookie);
        let mut retried = false;
        let mut replaced = 0;
        loop {
            let backend = Arc::clone(&self.backends[route.index]);
            let mut sender = match backend.pool.checkout().await {
                Ok((sender, _reused)) => sender,
                Err(err) => {
                    backend.stats.connect_errors.fetch_add(1, Ordering::Relaxed);
                    if backend.set_up(false) {
                        tracing::warn!(backend = backend.name(), cause = %err, "backend down: connect failed");
                    }
                    if !retried {
                        if let Some(next) = self.choose_retry(route.index, req.headers()) {
                            backend.stats.retries.fetch_add(1, Ordering::Relaxed);
                            retried = true;
                            route = next;
                            continue;
                        }
                    }
                    return local_error(
                        StatusCode::BAD_GATEWAY,
                        "bad_gateway",
                        "no backend accepted the connection",
                    );
                }
            };
            let in_flight = backend.start_request();
            match sender.try_send_request(req).await {
                Ok(response) => {
                    backend.stats.requests.fetch_add(1, Ordering::Relaxed);
                    let (mut parts, body) = response.into_parts();
                    strip_hop_by_hop(&mut parts.headers);
                    if route.set_cookie {
                        if let Some(value) = cookie::sticky_set_cookie(backend.name()) {
                            parts.headers.append(header::SET_COOKIE, value);
                            parts
                                .headers
                                .insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
                        }
                    }
                    let body = ProxyBody::upstream(body, Arc::clone(&backend), sender, in_flight);
                    return Response::from_parts(parts, body);
                }
                Err(mut err) => match err.take_message() {
                    // Not written: the pooled connection was already closed. Use another.
                    Some(unsent) if replaced < 2 => {
                        replaced += 1;
                        req = unsent;
                    }
                    _ if client_body_failed(err.error()) => {
                        // The client's body broke (bad chunked framing, a connection cut
                        // short): the client's fault, not the backend's.
                        backend.stats.requests.fetch_add(1, Ordering::Relaxed);
                        self.bad_request_body.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(backend = backend.name(), cause = %err.error(), "client body failed");
                        return local_error(
                            StatusCode::BAD_REQUEST,
                            "bad_request_body",
                            "the request body is malformed or was cut short",
                        );
                    }
                    _ => {
                        backend.stats.requests.fetch_add(1, Ordering::Relaxed);
                        backend
                            .stats
                            .upstream_errors
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(backend = backend.name(), cause = %err.error(), "request to backend failed");
                        return local_error(
                            StatusCode::BAD_GATEWAY,
                            "bad_gateway",
                            "the backend failed to answer",
                        );
                    }
                },
            }
        }
    }
}

/// Whether a request failed because reading the client's body failed. The only request
/// body ever sent upstream is the client's own [`Incoming`], so a body error of the
/// client connection (hyper's "user body" error) caused by a hyper error is exactly that.
pub(crate) fn client_body_failed(err: &hyper::Error) -> bool {
    use std::error::Error as _;
    err.is_user()
        && err
            .source()
            .is_some_and(|cause| cause.downcast_ref::<hyper::Error>().is_some())
}

/// Makes a client request fit to send on a backend connection: origin-form URI, HTTP/1.1, a
/// `Host`, no hop-by-hop headers, no sticky cookie.
fn prepare_request(req: &mut Request<Incoming>, strip_sticky: bool) {
    if req.uri().scheme().is_some() {
        let origin = req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .parse::<Uri>()
            .unwrap_or_else(|_| Uri::from_static("/"));
        *req.uri_mut() = origin;
    }
    *req.version_mut() = Version::HTTP_11;
    let headers = req.headers_mut();
    strip_hop_by_hop(headers);
    if !headers.contains_key(header::HOST) {
        headers.insert(header::HOST, HeaderValue::from_static("backend"));
    }
    if strip_sticky {
        cookie::strip(headers, STICKY_COOKIE);
    }
}

/// Removes the headers that describe one hop (and those `Connection` lists).
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if let Some(listed) = headers
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
    {
        let listed: Vec<HeaderName> = listed
            .split(',')
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in listed {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP {
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
}

/// A JSON error of the balancer's own, shaped like bench-server's.
pub fn local_error(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    let mut response = Response::new(ProxyBody::local(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
