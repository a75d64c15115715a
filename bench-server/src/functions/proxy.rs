//! Forwarding one request: a slot from the pool (warm, or a cold start waited for, or a
//! 429), the request sent on one of the instance's keep-alive connections with its body
//! streamed, the response streamed back holding the slot until it ends.
//!
//! Failure rules:
//! * a warm instance that refuses the connection is removed (it died) and the request,
//!   which was not sent, is scheduled once more;
//! * a pooled connection that turned out closed before the request was written is replaced
//!   by a new one to the same instance;
//! * a failure after the request was sent is a 502 `instance_failed` (and the instance is
//!   removed if its process is gone);
//! * a cold start that fails or times out is a 503 naming the reason; throttling is a 429.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri, Version};

use super::body::FunctionBody;
use super::error::StartError;
use super::instance::{Instance, StopReason};
use super::pool::{Acquired, FunctionPool, Slot, Started};
use super::stats::{micros, Stats};
use crate::balance::pool::Sender;
use crate::balance::proxy::strip_hop_by_hop;

/// The response header carrying the cold start (µs) the request waited for; absent on
/// warm requests.
pub const COLD_START_HEADER: &str = "x-cold-start-us";

/// What sending to one instance came to.
enum Sent {
    /// A response for the client (the instance's, or a 502).
    Response(Response<FunctionBody>),
    /// The instance refused the connection; the request was not sent.
    Unsent(Request<Incoming>),
}

/// Answers one request on the functions port. `GET /healthz` is the pool's own answer (the
/// platform's front door is up), never forwarded: a balancer's health checks would otherwise
/// start instances and keep them warm forever.
pub async fn handle(pool: Arc<FunctionPool>, mut req: Request<Incoming>) -> Response<FunctionBody> {
    if req.method() == hyper::Method::GET && req.uri().path() == "/healthz" {
        return json(
            StatusCode::OK,
            r#"{"status":"ok","served_by":"pool"}"#.to_owned(),
        );
    }
    Stats::count(&pool.stats().requests);
    prepare_request(&mut req);
    let mut rescheduled = false;
    loop {
        let (slot, instance, sender, cold_start) = match pool.acquire() {
            Acquired::Warm(slot, instance) => (slot, instance, None, None),
            Acquired::Cold(id) => match pool.cold_start(id).await {
                Ok(Started {
                    slot,
                    instance,
                    sender,
                    cold_start,
                }) => (slot, instance, Some(sender), Some(cold_start)),
                Err(err) => return start_failed(&err),
            },
            Acquired::Throttled => {
                Stats::count(&pool.stats().throttled);
                let (max, _) = pool.limits();
                return local_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "throttled",
                    &format!("every instance is busy and --max-instances {max} are running"),
                );
            }
            Acquired::Closing => return start_failed(&StartError::ShuttingDown),
        };
        match send(&pool, slot, instance, sender, req, cold_start).await {
            Sent::Response(response) => return response,
            Sent::Unsent(unsent) if !rescheduled => {
                rescheduled = true;
                req = unsent;
            }
            Sent::Unsent(_) => {
                Stats::count(&pool.stats().upstream_errors);
                return local_error(
                    StatusCode::BAD_GATEWAY,
                    "instance_failed",
                    "no instance accepted the connection",
                );
            }
        }
    }
}

/// Sends `req` to `instance` on `sender` (or a pooled / new connection).
async fn send(
    pool: &FunctionPool,
    slot: Slot,
    instance: Arc<Instance>,
    sender: Option<Sender>,
    mut req: Request<Incoming>,
    cold_start: Option<Duration>,
) -> Sent {
    let Some(conns) = instance.conns() else {
        // Handed out before ready: not possible, but never a hang or a panic.
        return Sent::Unsent(req);
    };
    let mut sender = match sender {
        Some(sender) => sender,
        None => match conns.checkout().await {
            Ok((sender, _reused)) => sender,
            Err(err) => {
                tracing::debug!(instance = instance.name(), cause = %err, "instance refused a connection");
                pool.retire(&instance, StopReason::Died);
                return Sent::Unsent(req);
            }
        },
    };
    let mut replaced = 0;
    instance.count_request();
    loop {
        match sender.try_send_request(req).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                if let Some(cold_start) = cold_start {
                    parts
                        .headers
                        .insert(COLD_START_HEADER, HeaderValue::from(micros(cold_start)));
                }
                let body = FunctionBody::upstream(body, instance, sender, slot);
                return Sent::Response(Response::from_parts(parts, body));
            }
            Err(mut err) => match err.take_message() {
                // Not written: the pooled connection was already closed. Use another.
                Some(unsent) if replaced < 2 => {
                    replaced += 1;
                    req = unsent;
                    sender = match conns.connect().await {
                        Ok(sender) => sender,
                        Err(_) => {
                            pool.retire(&instance, StopReason::Died);
                            return Sent::Unsent(req);
                        }
                    };
                }
                _ if crate::balance::proxy::client_body_failed(err.error()) => {
                    // The client's body broke: not the instance's fault.
                    return Sent::Response(local_error(
                        StatusCode::BAD_REQUEST,
                        "bad_request_body",
                        "the request body is malformed or was cut short",
                    ));
                }
                _ => {
                    Stats::count(&pool.stats().upstream_errors);
                    tracing::debug!(instance = instance.name(), cause = %err.error(), "request to instance failed");
                    pool.check_failed(&instance);
                    return Sent::Response(local_error(
                        StatusCode::BAD_GATEWAY,
                        "instance_failed",
                        &format!("instance {} failed while answering", instance.name()),
                    ));
                }
            },
        }
    }
}

/// The 503 of a cold start that gave no instance.
fn start_failed(err: &StartError) -> Response<FunctionBody> {
    local_error(
        StatusCode::SERVICE_UNAVAILABLE,
        err.code(),
        &err.to_string(),
    )
}

/// Makes a client request fit to send on an instance connection: origin-form URI, HTTP/1.1,
/// a `Host`, no hop-by-hop headers.
fn prepare_request(req: &mut Request<Incoming>) {
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
        headers.insert(header::HOST, HeaderValue::from_static("instance"));
    }
}

/// A JSON error of the pool's own, shaped like bench-server's.
pub fn local_error(status: StatusCode, code: &str, message: &str) -> Response<FunctionBody> {
    json(
        status,
        serde_json::json!({ "error": code, "message": message }).to_string(),
    )
}

/// A JSON response of the pool's own.
fn json(status: StatusCode, body: String) -> Response<FunctionBody> {
    let mut response = Response::new(FunctionBody::local(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderMap;

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_lists_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("x-secret, close"),
        );
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("x-kept"));
    }

    #[test]
    fn errors_are_json_with_a_code() {
        let response = local_error(StatusCode::TOO_MANY_REQUESTS, "throttled", "busy");
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let FunctionBody::Local(Some(body)) = response.into_body() else {
            panic!("a local body");
        };
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(json["error"], "throttled");
        assert_eq!(json["message"], "busy");
    }
}
