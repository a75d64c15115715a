//! Counters of the hardened accept loop, rendered in Prometheus text under the prefix of
//! the process they belong to (`authbench` for a replica, `authbench_balancer` for the
//! balancer, `authbench_functions` for the function pool).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a connection was closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The request head did not arrive in `--header-read-timeout`.
    HeaderTimeout,
    /// No request started within `--keepalive-timeout`.
    KeepaliveTimeout,
}

impl CloseReason {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::KeepaliveTimeout => "keepalive_timeout",
        }
    }
}

/// Why a request was refused before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// 400: the method is longer than any real one.
    BadRequestLine,
    /// 414: the URI is longer than `--max-uri-bytes`.
    UriTooLong,
    /// 431: a header value over `--max-header-bytes`, or all over 4×.
    HeadersTooLarge,
    /// 431: more than `--max-headers` fields.
    TooManyHeaders,
}

impl Rejection {
    /// Every reason, in metric order.
    pub const ALL: [Rejection; 4] = [
        Rejection::BadRequestLine,
        Rejection::UriTooLong,
        Rejection::HeadersTooLarge,
        Rejection::TooManyHeaders,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::BadRequestLine => "bad_request_line",
            Rejection::UriTooLong => "uri_too_long",
            Rejection::HeadersTooLarge => "headers_too_large",
            Rejection::TooManyHeaders => "too_many_headers",
        }
    }
}

/// The accept loop's counters.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections open now (served ones; refused ones are not counted).
    pub open: AtomicU64,
    /// Connections accepted (served and refused).
    pub accepted: AtomicU64,
    /// Connections refused with a 503 because `--max-connections` were open.
    pub refused_limit: AtomicU64,
    closed: [AtomicU64; 2],
    rejected: [AtomicU64; 4],
    /// `accept` failed for want of file descriptors (EMFILE / ENFILE).
    pub accept_emfile: AtomicU64,
    /// `accept` failed otherwise.
    pub accept_other: AtomicU64,
}

impl ConnStats {
    /// Counts a connection the server closed.
    pub fn closed(&self, reason: CloseReason) {
        self.closed[reason as usize].fetch_add(1, Relaxed);
    }

    /// Connections the server closed for `reason`.
    pub fn closed_count(&self, reason: CloseReason) -> u64 {
        self.closed[reason as usize].load(Relaxed)
    }

    /// Counts a request refused before routing.
    pub fn rejected(&self, reason: Rejection) {
        self.rejected[reason as usize].fetch_add(1, Relaxed);
    }

    /// Requests refused before routing for `reason`.
    pub fn rejected_count(&self, reason: Rejection) -> u64 {
        self.rejected[reason as usize].load(Relaxed)
    }

    /// Appends the counters, named `{prefix}_connections_*`, labelled with `labels`
    /// (`name="value"` pairs, or empty).
    pub fn render(&self, out: &mut String, prefix: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let series = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {prefix}_{name} {help}");
            let _ = writeln!(out, "# TYPE {prefix}_{name} {kind}");
        };
        series(
            out,
            "connections_open",
            "gauge",
            "Client connections open now.",
        );
        let _ = writeln!(
            out,
            "{prefix}_connections_open{{{labels}}} {}",
            self.open.load(Relaxed)
        );
        series(
            out,
            "connections_accepted_total",
            "counter",
            "Client connections accepted.",
        );
        let _ = writeln!(
            out,
            "{prefix}_connections_accepted_total{{{labels}}} {}",
            self.accepted.load(Relaxed)
        );
        series(
            out,
            "connections_refused_total",
            "counter",
            "Connections answered 503 and closed at once, by reason.",
        );
        let _ = writeln!(
            out,
            "{prefix}_connections_refused_total{{{labels}{sep}reason=\"limit\"}} {}",
            self.refused_limit.load(Relaxed)
        );
        series(
            out,
            "connections_closed_total",
            "counter",
            "Connections closed by the server for a timeout, by reason.",
        );
        for reason in [CloseReason::HeaderTimeout, CloseReason::KeepaliveTimeout] {
            let _ = writeln!(
                out,
                "{prefix}_connections_closed_total{{{labels}{sep}reason=\"{}\"}} {}",
                reason.label(),
                self.closed_count(reason)
            );
        }
        series(
            out,
            "requests_rejected_total",
            "counter",
            "Requests refused before routing (request line or header limits), by reason.",
        );
        for reason in Rejection::ALL {
            let _ = writeln!(
                out,
                "{prefix}_requests_rejected_total{{{labels}{sep}reason=\"{}\"}} {}",
                reason.label(),
                self.rejected_count(reason)
            );
        }
        series(
            out,
            "accept_errors_total",
            "counter",
            "Failed accepts, by kind (emfile: out of file descriptors).",
        );
        for (kind, counter) in [
            ("emfile", &self.accept_emfile),
            ("other", &self.accept_other),
        ] {
            let _ = writeln!(
                out,
                "{prefix}_accept_errors_total{{{labels}{sep}kind=\"{kind}\"}} {}",
                counter.load(Relaxed)
            );
        }
    }
}
