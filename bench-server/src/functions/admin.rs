//! The admin port: `GET /metrics` (Prometheus text), `GET /healthz` and `GET /instances`
//! (JSON).
//!
//! Metrics (all prefixed `authbench_functions_`): `instances{state}` (idle, busy, starting),
//! `requests_total`, `throttled_total`, `upstream_errors_total`, `cold_starts_total`,
//! `cold_start_microseconds` (summary: quantiles, `_sum`, `_count`), `stopped_total{reason}`
//! (idle, died, start_failed, shutdown), `instance_seconds_total` (the instances' summed
//! lifetime, the billing figure of instance-billed platforms), `instance_cpu_seconds_total
//! {mode}` (the instances' CPU: live ones from `/proc`, gone ones as they left), the limits
//! `max_instances` and `instance_concurrency`; plus the pool process's own CPU under the
//! replica names with `component="functions"`. CPU per request in the functions is
//! `Δ(instance_cpu_seconds_total) / Δ(requests_total − throttled_total)`.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use super::body::FunctionBody;
use super::instance::StopReason;
use super::pool::FunctionPool;
use super::proxy::local_error;
use crate::process_stats;

/// The metrics page.
pub fn render(pool: &FunctionPool) -> String {
    let mut out = String::with_capacity(4096);
    let snapshot = pool.snapshot();
    let stats = pool.stats();
    let metric = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP authbench_functions_{name} {help}");
        let _ = writeln!(out, "# TYPE authbench_functions_{name} {kind}");
    };

    metric(&mut out, "instances", "gauge", "Instances by state.");
    let counts = snapshot.counts;
    for (state, n) in [
        ("idle", counts.idle),
        ("busy", counts.busy),
        ("starting", counts.starting),
    ] {
        let _ = writeln!(
            out,
            "authbench_functions_instances{{state=\"{state}\"}} {n}"
        );
    }

    let counters = [
        (
            "requests_total",
            "Requests received (throttled ones included).",
            stats.requests.load(Ordering::Relaxed),
        ),
        (
            "throttled_total",
            "Requests answered 429: every instance busy at --max-instances.",
            stats.throttled.load(Ordering::Relaxed),
        ),
        (
            "upstream_errors_total",
            "Requests that failed after being sent to an instance (502).",
            stats.upstream_errors.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        metric(&mut out, name, "counter", help);
        let _ = writeln!(out, "authbench_functions_{name} {value}");
    }

    let cold = stats.cold_starts();
    metric(
        &mut out,
        "cold_starts_total",
        "counter",
        "Instances started for a request and ready (spawn, address printed, connected).",
    );
    let _ = writeln!(out, "authbench_functions_cold_starts_total {}", cold.count);
    metric(
        &mut out,
        "cold_start_microseconds",
        "summary",
        "Cold start: spawn to ready (address printed and a connection made), microseconds.",
    );
    for (quantile, us) in &cold.quantiles {
        let _ = writeln!(
            out,
            "authbench_functions_cold_start_microseconds{{quantile=\"{quantile}\"}} {us}"
        );
    }
    let _ = writeln!(
        out,
        "authbench_functions_cold_start_microseconds_sum {}",
        cold.sum_us
    );
    let _ = writeln!(
        out,
        "authbench_functions_cold_start_microseconds_count {}",
        cold.count
    );

    metric(
        &mut out,
        "stopped_total",
        "counter",
        "Instances gone, by why: idle timeout, died by itself, failed to start, shutdown.",
    );
    for reason in StopReason::ALL {
        let _ = writeln!(
            out,
            "authbench_functions_stopped_total{{reason=\"{}\"}} {}",
            reason.label(),
            stats.stopped(reason)
        );
    }

    metric(
        &mut out,
        "instance_seconds_total",
        "counter",
        "Summed lifetime of every instance, spawn to exit (live ones so far), seconds.",
    );
    let _ = writeln!(
        out,
        "authbench_functions_instance_seconds_total {}",
        snapshot.instance_time.as_secs_f64()
    );
    metric(
        &mut out,
        "instance_cpu_seconds_total",
        "counter",
        "CPU time of every instance (live ones so far, gone ones at exit), seconds, by mode.",
    );
    for (mode, time) in [
        ("user", snapshot.instance_cpu.user),
        ("system", snapshot.instance_cpu.system),
    ] {
        let _ = writeln!(
            out,
            "authbench_functions_instance_cpu_seconds_total{{mode=\"{mode}\"}} {}",
            time.as_secs_f64()
        );
    }

    let (max_instances, concurrency) = pool.limits();
    metric(&mut out, "max_instances", "gauge", "--max-instances.");
    let _ = writeln!(out, "authbench_functions_max_instances {max_instances}");
    metric(
        &mut out,
        "instance_concurrency",
        "gauge",
        "--instance-concurrency: requests in flight per instance.",
    );
    let _ = writeln!(
        out,
        "authbench_functions_instance_concurrency {concurrency}"
    );

    // The pool's own CPU, under the same names as a replica's (label component="functions").
    pool.conn()
        .stats
        .render(&mut out, "authbench_functions", "");
    process_stats::render_prometheus(&mut out, "component=\"functions\"");
    out
}

/// `GET /instances`: `{"instances": [{id, pid, url, state, started_unix_ms, cold_start_us,
/// requests, in_flight}, …]}`.
pub fn instances_json(pool: &FunctionPool) -> String {
    serde_json::json!({ "instances": pool.snapshot().instances }).to_string()
}

/// Answers one admin request.
pub async fn handle(pool: Arc<FunctionPool>, req: Request<Incoming>) -> Response<FunctionBody> {
    let (body, content_type) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => (render(&pool), "text/plain; version=0.0.4; charset=utf-8"),
        (&Method::GET, "/instances") => (instances_json(&pool), "application/json"),
        (&Method::GET, "/healthz") => ("ok\n".to_owned(), "text/plain; charset=utf-8"),
        _ => {
            return local_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "the admin port serves /metrics, /instances and /healthz",
            )
        }
    };
    let mut response = Response::new(FunctionBody::local(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
