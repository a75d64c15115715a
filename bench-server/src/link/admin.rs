//! The link's admin port.
//!
//! * `GET /metrics` — Prometheus text: connections, bytes and chunks per direction, the
//!   achieved one-way delay's quantiles (µs), the link process's CPU;
//! * `GET /healthz`;
//! * `POST /toxics/stall?for=2s` — hold every byte in both directions that long;
//! * `POST /toxics/refuse?for=2s` — close new connections at once (RST) that long;
//! * `POST /toxics/reset` — reset every open connection;
//! * `DELETE /toxics` — end every toxic; `POST /stats/reset` — forget recorded delays.
//!
//! Bad input gets 400 with a JSON reason naming the parameter.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use authbench_contract::link::DelayArg;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use super::stats::{Direction, DirectionStats};
use super::Link;
use crate::balance::body::ProxyBody;
use crate::balance::proxy::local_error;
use crate::process_stats;

/// Reads one counter of a direction.
type PerDirection = fn(&DirectionStats) -> u64;

/// Quantiles of the achieved delay on `/metrics`.
const QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 1.0];

/// The metrics page.
pub fn render(link: &Link) -> String {
    let s = &link.stats;
    let mut out = String::with_capacity(2048);
    let counters = [
        (
            "connections_total",
            "Connections forwarded.",
            s.connections.load(Relaxed),
        ),
        (
            "refused_total",
            "Connections closed by the refuse toxic.",
            s.refused.load(Relaxed),
        ),
        (
            "over_limit_total",
            "Connections closed over --max-connections.",
            s.over_limit.load(Relaxed),
        ),
        (
            "connect_errors_total",
            "Upstream connects that failed.",
            s.connect_errors.load(Relaxed),
        ),
        (
            "resets_total",
            "Connections reset by the reset toxic.",
            s.resets.load(Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP authbench_link_{name} {help}");
        let _ = writeln!(out, "# TYPE authbench_link_{name} counter");
        let _ = writeln!(out, "authbench_link_{name} {value}");
    }
    out.push_str("# HELP authbench_link_open_connections Connections open now.\n");
    out.push_str("# TYPE authbench_link_open_connections gauge\n");
    let _ = writeln!(
        out,
        "authbench_link_open_connections {}",
        s.open.load(Relaxed)
    );
    let per_direction: [(&str, &str, PerDirection); 2] = [
        (
            "bytes_total",
            "Bytes forwarded, by direction (up: client to upstream).",
            |d| d.bytes.load(Relaxed),
        ),
        (
            "chunks_total",
            "Chunks forwarded (one read each), by direction.",
            |d| d.chunks.load(Relaxed),
        ),
    ];
    for (name, help, get) in per_direction {
        let _ = writeln!(out, "# HELP authbench_link_{name} {help}");
        let _ = writeln!(out, "# TYPE authbench_link_{name} counter");
        for d in [Direction::Up, Direction::Down] {
            let value = get(s.direction(d));
            let _ = writeln!(
                out,
                "authbench_link_{name}{{direction=\"{}\"}} {value}",
                d.as_str()
            );
        }
    }
    let (values, count) = s.delay_quantiles(&QUANTILES);
    out.push_str(
        "# HELP authbench_link_delay_us One-way delay each chunk got, arrival to written, microseconds.\n",
    );
    out.push_str("# TYPE authbench_link_delay_us summary\n");
    for (q, v) in QUANTILES.iter().zip(values) {
        let _ = writeln!(out, "authbench_link_delay_us{{quantile=\"{q}\"}} {v}");
    }
    let _ = writeln!(out, "authbench_link_delay_us_count {count}");
    let _ = writeln!(
        out,
        "# HELP authbench_link_configured_delay_us The one-way delay asked for.\n# TYPE authbench_link_configured_delay_us gauge\nauthbench_link_configured_delay_us {}",
        link.config.delay.as_micros()
    );
    process_stats::render_prometheus(&mut out, "component=\"link\"");
    out
}

/// The `for` duration of a toxic request, or why it is bad.
fn duration_param(req: &Request<Incoming>) -> Result<DelayArg, String> {
    let query = req.uri().query().unwrap_or("");
    let value = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("for="))
        .ok_or_else(|| "missing ?for=DURATION (e.g. ?for=2s; 0s ends the toxic)".to_owned())?;
    value
        .parse::<DelayArg>()
        .map_err(|reason| format!("for: {reason}"))
}

fn bad_request(reason: &str) -> Response<ProxyBody> {
    local_error(StatusCode::BAD_REQUEST, "bad_request", reason)
}

fn ok_json(body: serde_json::Value) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::local(body.to_string()));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Answers one admin request.
pub async fn handle(link: Arc<Link>, req: Request<Incoming>) -> Response<ProxyBody> {
    let now = Instant::now();
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            let mut response = Response::new(ProxyBody::local(render(&link)));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        (&Method::GET, "/healthz") => Response::new(ProxyBody::local("ok\n")),
        (&Method::POST, "/toxics/stall") => match duration_param(&req) {
            Ok(d) => {
                link.toxics.stall(now, d.0);
                ok_json(serde_json::json!({ "toxic": "stall", "for_us": d.as_micros() }))
            }
            Err(reason) => bad_request(&reason),
        },
        (&Method::POST, "/toxics/refuse") => match duration_param(&req) {
            Ok(d) => {
                link.toxics.refuse(now, d.0);
                ok_json(serde_json::json!({ "toxic": "refuse", "for_us": d.as_micros() }))
            }
            Err(reason) => bad_request(&reason),
        },
        (&Method::POST, "/toxics/reset") => {
            let reset = link.reset_all();
            ok_json(serde_json::json!({ "toxic": "reset", "connections": reset }))
        }
        (&Method::DELETE, "/toxics") => {
            link.toxics.clear();
            ok_json(serde_json::json!({ "toxics": "cleared" }))
        }
        (&Method::POST, "/stats/reset") => {
            link.stats.reset_delays();
            ok_json(serde_json::json!({ "stats": "delays reset" }))
        }
        _ => local_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the admin port serves GET /metrics, GET /healthz, POST /toxics/{stall,refuse}?for=D, POST /toxics/reset, DELETE /toxics, POST /stats/reset",
        ),
    }
}
