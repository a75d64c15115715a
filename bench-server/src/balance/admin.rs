//! The admin port: `GET /metrics` (Prometheus text) and `GET /healthz`.
//!
//! Metrics, labelled by backend name: requests sent, connect errors, errors after sending,
//! retries (away from the backend), failovers (pinned clients moved away from it), times it
//! went down, whether it is up, requests in flight; plus requests refused for want of any
//! backend and the balancer process's CPU time; in gateway mode, the gateway's counters
//! ([`crate::gateway::metrics`]).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use super::backend::{Backend, BackendStats};
use super::body::ProxyBody;
use super::proxy::{local_error, Balancer};
use crate::process_stats;

type Counter = fn(&BackendStats) -> u64;
type Gauge = fn(&Backend) -> usize;

const COUNTERS: [(&str, &str, Counter); 6] = [
    ("requests_total", "Requests sent to the backend.", |s| {
        s.requests.load(Ordering::Relaxed)
    }),
    (
        "connect_errors_total",
        "TCP connects to the backend that failed.",
        |s| s.connect_errors.load(Ordering::Relaxed),
    ),
    (
        "upstream_errors_total",
        "Requests that failed after being sent (502).",
        |s| s.upstream_errors.load(Ordering::Relaxed),
    ),
    (
        "retries_total",
        "Requests retried on another backend after a failed connect to this one.",
        |s| s.retries.load(Ordering::Relaxed),
    ),
    (
        "failovers_total",
        "Pinned clients moved to another backend because this one was down.",
        |s| s.failovers.load(Ordering::Relaxed),
    ),
    (
        "down_total",
        "Times the backend was taken out of rotation.",
        |s| s.went_down.load(Ordering::Relaxed),
    ),
];

/// The metrics page.
pub fn render(balancer: &Balancer) -> String {
    let mut out = String::with_capacity(4096);
    let backends = balancer.backends();
    for (name, help, get) in COUNTERS {
        let _ = writeln!(out, "# HELP authbench_balancer_{name} {help}");
        let _ = writeln!(out, "# TYPE authbench_balancer_{name} counter");
        for b in backends {
            let _ = writeln!(
                out,
                "authbench_balancer_{name}{{backend=\"{}\"}} {}",
                b.name(),
                get(&b.stats)
            );
        }
    }
    let gauges: [(&str, &str, Gauge); 2] = [
        ("backend_up", "1 while the backend is in rotation.", |b| {
            usize::from(b.is_up())
        }),
        (
            "in_flight",
            "Requests in flight on the backend.",
            Backend::in_flight,
        ),
    ];
    for (name, help, get) in gauges {
        let _ = writeln!(out, "# HELP authbench_balancer_{name} {help}");
        let _ = writeln!(out, "# TYPE authbench_balancer_{name} gauge");
        for b in backends {
            let _ = writeln!(
                out,
                "authbench_balancer_{name}{{backend=\"{}\"}} {}",
                b.name(),
                get(b)
            );
        }
    }
    out.push_str(
        "# HELP authbench_balancer_no_backend_total Requests answered 503: no backend up.\n",
    );
    out.push_str("# TYPE authbench_balancer_no_backend_total counter\n");
    let _ = writeln!(
        out,
        "authbench_balancer_no_backend_total {}",
        balancer.no_backend.load(Ordering::Relaxed)
    );
    out.push_str("# HELP authbench_balancer_bad_request_body_total Requests answered 400: the client's body was malformed.\n");
    out.push_str("# TYPE authbench_balancer_bad_request_body_total counter\n");
    let _ = writeln!(
        out,
        "authbench_balancer_bad_request_body_total {}",
        balancer.bad_request_body.load(Ordering::Relaxed)
    );
    balancer
        .conn()
        .stats
        .render(&mut out, "authbench_balancer", "");
    if let Some(gateway) = balancer.gateway() {
        gateway.render_metrics(&mut out);
    }
    // The balancer's own CPU, under the same names as a replica's (label component="balancer").
    process_stats::render_prometheus(&mut out, "component=\"balancer\"");
    out
}

/// Answers one admin request.
pub async fn handle(balancer: Arc<Balancer>, req: Request<Incoming>) -> Response<ProxyBody> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            let mut response = Response::new(ProxyBody::local(render(&balancer)));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        (&Method::GET, "/healthz") => Response::new(ProxyBody::local("ok\n")),
        _ => local_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the admin port serves /metrics and /healthz",
        ),
    }
}
