//! The gateway's counters, rendered on the balancer's admin `/metrics`.
//!
//! | metric | labels | meaning |
//! |--------|--------|---------|
//! | `authbench_gateway_verifications_total` | `result=ok\|rejected` | decisions on protected requests (cache hits included) |
//! | `authbench_gateway_rejections_total` | `reason` | refusals at the edge, by code |
//! | `authbench_gateway_authorizer_cache_total` | `result=hit\|miss` | authorizer-cache lookups |
//! | `authbench_gateway_authorizer_cache_entries` | | decisions cached now |
//! | `authbench_gateway_jwks_fetches_total` | `trigger=startup\|ttl\|unknown_kid`, `outcome=ok\|error` | key-set fetches |
//! | `authbench_gateway_jwks_refetch_limited_total` | | unknown-`kid` fetches refused by the rate limit |
//! | `authbench_gateway_jwks_keys` | | usable keys held |
//! | `authbench_gateway_verify_duration_seconds_sum` / `_count` | | signature and claims checks performed |
//! | `authbench_gateway_revocation_checks_total` | `result=ok\|revoked\|error` | revocation-store lookups |
//! | `authbench_gateway_identity_stripped_total` | | client-sent identity headers removed |
//! | `authbench_gateway_passthrough_total` | | requests on unprotected paths |

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::rejection::Rejection;

/// Why a key set was fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// No key set yet (first fetch and its retries).
    Startup = 0,
    /// The cached set reached `--jwks-cache-ttl` (refresh and its retries).
    Ttl = 1,
    /// A token named an unknown `kid`, or a request found no keys.
    UnknownKid = 2,
}

impl Trigger {
    const ALL: [Trigger; 3] = [Trigger::Startup, Trigger::Ttl, Trigger::UnknownKid];

    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Ttl => "ttl",
            Trigger::UnknownKid => "unknown_kid",
        }
    }
}

/// Outcome of a revocation-store lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationResult {
    /// Not revoked.
    Ok = 0,
    /// Revoked.
    Revoked = 1,
    /// The store failed.
    Error = 2,
}

/// The gateway's counters.
#[derive(Debug, Default)]
pub struct GatewayMetrics {
    decisions: [AtomicU64; 2],
    rejections: [AtomicU64; Rejection::COUNT],
    cache: [AtomicU64; 2],
    fetches: [[AtomicU64; 2]; 3],
    refetch_limited: AtomicU64,
    jwks_keys: AtomicU64,
    verify_nanos: AtomicU64,
    verify_count: AtomicU64,
    revocation: [AtomicU64; 3],
    stripped: AtomicU64,
    passthrough: AtomicU64,
}

impl GatewayMetrics {
    /// Counts a protected request let through.
    pub fn allowed(&self) {
        self.decisions[0].fetch_add(1, Relaxed);
    }

    /// Counts a protected request refused.
    pub fn rejected(&self, rejection: Rejection) {
        self.decisions[1].fetch_add(1, Relaxed);
        self.rejections[rejection.index()].fetch_add(1, Relaxed);
    }

    /// Counts an authorizer-cache lookup.
    pub fn cache_lookup(&self, hit: bool) {
        self.cache[usize::from(!hit)].fetch_add(1, Relaxed);
    }

    /// Counts a key-set fetch.
    pub fn jwks_fetch(&self, trigger: Trigger, ok: bool) {
        self.fetches[trigger as usize][usize::from(!ok)].fetch_add(1, Relaxed);
    }

    /// Counts an unknown-`kid` fetch the rate limit refused.
    pub fn refetch_limited(&self) {
        self.refetch_limited.fetch_add(1, Relaxed);
    }

    /// Sets the number of usable keys.
    pub fn set_jwks_keys(&self, n: usize) {
        self.jwks_keys.store(n as u64, Relaxed);
    }

    /// Records one signature-and-claims check.
    pub fn verify_time(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.verify_nanos.fetch_add(nanos, Relaxed);
        self.verify_count.fetch_add(1, Relaxed);
    }

    /// Counts a revocation-store lookup.
    pub fn revocation_check(&self, result: RevocationResult) {
        self.revocation[result as usize].fetch_add(1, Relaxed);
    }

    /// Counts client-sent identity headers removed from one request.
    pub fn identity_stripped(&self) {
        self.stripped.fetch_add(1, Relaxed);
    }

    /// Counts a request on an unprotected path.
    pub fn passthrough(&self) {
        self.passthrough.fetch_add(1, Relaxed);
    }

    /// Refusals so far for one reason (tests).
    pub fn rejection_count(&self, rejection: Rejection) -> u64 {
        self.rejections[rejection.index()].load(Relaxed)
    }

    /// Fetches so far for a trigger and outcome (tests).
    pub fn fetch_count(&self, trigger: Trigger, ok: bool) -> u64 {
        self.fetches[trigger as usize][usize::from(!ok)].load(Relaxed)
    }

    /// Unknown-`kid` fetches refused by the rate limit (tests).
    pub fn refetch_limited_count(&self) -> u64 {
        self.refetch_limited.load(Relaxed)
    }

    /// Authorizer-cache hits (`true`) or misses so far (tests).
    pub fn cache_count(&self, hit: bool) -> u64 {
        self.cache[usize::from(!hit)].load(Relaxed)
    }

    /// Signature checks performed so far (tests).
    pub fn verify_count(&self) -> u64 {
        self.verify_count.load(Relaxed)
    }

    /// Appends the Prometheus text; `cache_entries` is `None` with the cache off.
    pub fn render(&self, out: &mut String, cache_entries: Option<usize>) {
        header(
            out,
            "verifications_total",
            "counter",
            "Decisions on protected requests (authorizer-cache hits included).",
        );
        for (i, result) in ["ok", "rejected"].iter().enumerate() {
            let n = self.decisions[i].load(Relaxed);
            let _ = writeln!(
                out,
                "authbench_gateway_verifications_total{{result=\"{result}\"}} {n}"
            );
        }
        header(
            out,
            "rejections_total",
            "counter",
            "Protected requests answered at the edge, by reason.",
        );
        for rejection in Rejection::all() {
            let n = self.rejections[rejection.index()].load(Relaxed);
            let _ = writeln!(
                out,
                "authbench_gateway_rejections_total{{reason=\"{}\"}} {n}",
                rejection.code()
            );
        }
        header(
            out,
            "authorizer_cache_total",
            "counter",
            "Authorizer-cache lookups.",
        );
        for (i, result) in ["hit", "miss"].iter().enumerate() {
            let n = self.cache[i].load(Relaxed);
            let _ = writeln!(
                out,
                "authbench_gateway_authorizer_cache_total{{result=\"{result}\"}} {n}"
            );
        }
        if let Some(entries) = cache_entries {
            header(
                out,
                "authorizer_cache_entries",
                "gauge",
                "Decisions in the authorizer cache.",
            );
            let _ = writeln!(out, "authbench_gateway_authorizer_cache_entries {entries}");
        }
        header(
            out,
            "jwks_fetches_total",
            "counter",
            "Key-set fetches from the issuer, by trigger and outcome.",
        );
        for trigger in Trigger::ALL {
            for (i, outcome) in ["ok", "error"].iter().enumerate() {
                let n = self.fetches[trigger as usize][i].load(Relaxed);
                let _ = writeln!(out, "authbench_gateway_jwks_fetches_total{{trigger=\"{}\",outcome=\"{outcome}\"}} {n}", trigger.label());
            }
        }
        simple(
            out,
            "jwks_refetch_limited_total",
            "counter",
            "Unknown-kid fetches refused by --jwks-refetch-interval.",
            self.refetch_limited.load(Relaxed),
        );
        simple(
            out,
            "jwks_keys",
            "gauge",
            "Usable keys in the cached key set.",
            self.jwks_keys.load(Relaxed),
        );
        header(
            out,
            "verify_duration_seconds",
            "summary",
            "Signature and claims checks performed at the edge.",
        );
        let _ = writeln!(
            out,
            "authbench_gateway_verify_duration_seconds_sum {}",
            self.verify_nanos.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "authbench_gateway_verify_duration_seconds_count {}",
            self.verify_count.load(Relaxed)
        );
        header(
            out,
            "revocation_checks_total",
            "counter",
            "Revocation-store lookups at the edge.",
        );
        for (i, result) in ["ok", "revoked", "error"].iter().enumerate() {
            let n = self.revocation[i].load(Relaxed);
            let _ = writeln!(
                out,
                "authbench_gateway_revocation_checks_total{{result=\"{result}\"}} {n}"
            );
        }
        simple(
            out,
            "identity_stripped_total",
            "counter",
            "Client-sent identity headers removed before forwarding.",
            self.stripped.load(Relaxed),
        );
        simple(
            out,
            "passthrough_total",
            "counter",
            "Requests on unprotected paths, forwarded without a check.",
            self.passthrough.load(Relaxed),
        );
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP authbench_gateway_{name} {help}");
    let _ = writeln!(out, "# TYPE authbench_gateway_{name} {kind}");
}

fn simple(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    header(out, name, kind, help);
    let _ = writeln!(out, "authbench_gateway_{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthReason;

    #[test]
    fn render_names_every_series() {
        let m = GatewayMetrics::default();
        m.allowed();
        m.rejected(Rejection::Auth(AuthReason::UnknownKey));
        m.cache_lookup(true);
        m.jwks_fetch(Trigger::UnknownKid, false);
        m.verify_time(Duration::from_micros(40));
        let mut out = String::new();
        m.render(&mut out, Some(3));
        for line in [
            "authbench_gateway_verifications_total{result=\"ok\"} 1",
            "authbench_gateway_rejections_total{reason=\"unknown_key\"} 1",
            "authbench_gateway_rejections_total{reason=\"jwks_unavailable\"} 0",
            "authbench_gateway_authorizer_cache_total{result=\"hit\"} 1",
            "authbench_gateway_authorizer_cache_entries 3",
            "authbench_gateway_jwks_fetches_total{trigger=\"unknown_kid\",outcome=\"error\"} 1",
            "authbench_gateway_verify_duration_seconds_sum 0.00004",
            "authbench_gateway_verify_duration_seconds_count 1",
        ] {
            assert!(out.lines().any(|l| l == line), "{line}\n{out}");
        }
    }
}
