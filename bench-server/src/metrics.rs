//! Counters the server keeps about itself, rendered in the Prometheus text format.
//!
//! Hand-rolled over atomics: every hot-path update is one relaxed `fetch_add` into a fixed
//! array, so measuring costs the measured server next to nothing. The load generator scrapes
//! `/metrics` before and after a run and works with the deltas.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::error::{AuthReason, Scheme};
use crate::process_stats;

/// The routes the server knows, as metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`
    Healthz,
    /// `GET /metrics`
    Metrics,
    /// `GET /.well-known/jwks.json`
    Jwks,
    /// `POST /session/login`
    SessionLogin,
    /// `GET /session/me`
    SessionMe,
    /// `POST /session/logout`
    SessionLogout,
    /// `POST /jwt/login`
    JwtLogin,
    /// `GET /jwt/me`
    JwtMe,
    /// `POST /jwt/logout`
    JwtLogout,
    /// `POST /jwt/refresh`
    JwtRefresh,
    /// `POST /admin/users/{user}/logout`
    AdminLogout,
    /// `POST /admin/keys/reload`
    AdminKeysReload,
    /// Anything else (404s).
    Other,
}

impl Route {
    const ALL: [Route; 13] = [
        Route::Healthz,
        Route::Metrics,
        Route::Jwks,
        Route::SessionLogin,
        Route::SessionMe,
        Route::SessionLogout,
        Route::JwtLogin,
        Route::JwtMe,
        Route::JwtLogout,
        Route::JwtRefresh,
        Route::AdminLogout,
        Route::AdminKeysReload,
        Route::Other,
    ];

    /// Classifies a request path without allocating.
    pub fn of_path(path: &str) -> Route {
        match path {
            "/healthz" => Route::Healthz,
            "/metrics" => Route::Metrics,
            "/.well-known/jwks.json" => Route::Jwks,
            "/session/login" => Route::SessionLogin,
            "/session/me" => Route::SessionMe,
            "/session/logout" => Route::SessionLogout,
            "/jwt/login" => Route::JwtLogin,
            "/jwt/me" => Route::JwtMe,
            "/jwt/logout" => Route::JwtLogout,
            "/jwt/refresh" => Route::JwtRefresh,
            p if p.starts_with("/admin/users/") && p.ends_with("/logout") => Route::AdminLogout,
            "/admin/keys/reload" => Route::AdminKeysReload,
            _ => Route::Other,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Route::Healthz => "/healthz",
            Route::Metrics => "/metrics",
            Route::Jwks => "/.well-known/jwks.json",
            Route::SessionLogin => "/session/login",
            Route::SessionMe => "/session/me",
            Route::SessionLogout => "/session/logout",
            Route::JwtLogin => "/jwt/login",
            Route::JwtMe => "/jwt/me",
            Route::JwtLogout => "/jwt/logout",
            Route::JwtRefresh => "/jwt/refresh",
            Route::AdminLogout => "/admin/users/{user}/logout",
            Route::AdminKeysReload => "/admin/keys/reload",
            Route::Other => "other",
        }
    }
}

/// Store operations whose latency is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// Create a session.
    Create,
    /// Look a session up.
    Get,
    /// Delete one session.
    Delete,
    /// Delete all sessions of a user.
    DeleteUser,
    /// Check a JWT against the deny-list / token version.
    RevocationCheck,
    /// Deny-list a JWT or bump a token version.
    Revoke,
    /// Read a user's token version at login.
    VersionRead,
}

impl StoreOp {
    const ALL: [StoreOp; 7] = [
        StoreOp::Create,
        StoreOp::Get,
        StoreOp::Delete,
        StoreOp::DeleteUser,
        StoreOp::RevocationCheck,
        StoreOp::Revoke,
        StoreOp::VersionRead,
    ];

    fn label(self) -> &'static str {
        match self {
            StoreOp::Create => "create",
            StoreOp::Get => "get",
            StoreOp::Delete => "delete",
            StoreOp::DeleteUser => "delete_user",
            StoreOp::RevocationCheck => "revocation_check",
            StoreOp::Revoke => "revoke",
            StoreOp::VersionRead => "version_read",
        }
    }
}

/// Upper bounds (seconds) of the store latency histogram buckets; `+Inf` is implicit.
const BUCKETS: [f64; 16] = [
    5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1,
    0.25, 1.0,
];
const STATUS_SLOTS: usize = 600;

#[derive(Debug)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(self.buckets.iter()) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets[BUCKETS.len()].load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_nanos.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count.load(Relaxed));
    }

    fn record(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|&bound| secs <= bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot].fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }
}

/// All counters of one server process.
#[derive(Debug)]
pub struct Metrics {
    requests: Vec<[AtomicU64; STATUS_SLOTS]>,
    auth: [[AtomicU64; AuthReason::ALL.len() + 1]; 2],
    store_ops: Vec<Histogram>,
    jwt_verify: Histogram,
    store_errors: AtomicU64,
    header_bytes: [AtomicU64; 2],
    header_count: [AtomicU64; 2],
    password_hashes: AtomicU64,
    injected_cpu_checks: AtomicU64,
    injected_cpu_nanos: AtomicU64,
    /// Key-directory reloads: `[ok, error]`.
    key_reloads: [AtomicU64; 2],
    trusted_identities: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Route::ALL
                .iter()
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
            auth: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            store_ops: StoreOp::ALL.iter().map(|_| Histogram::new()).collect(),
            jwt_verify: Histogram::new(),
            store_errors: AtomicU64::new(0),
            header_bytes: std::array::from_fn(|_| AtomicU64::new(0)),
            header_count: std::array::from_fn(|_| AtomicU64::new(0)),
            password_hashes: AtomicU64::new(0),
            injected_cpu_checks: AtomicU64::new(0),
            injected_cpu_nanos: AtomicU64::new(0),
            key_reloads: std::array::from_fn(|_| AtomicU64::new(0)),
            trusted_identities: AtomicU64::new(0),
        }
    }
}

/// Which credential header was received.
#[derive(Debug, Clone, Copy)]
pub enum CredentialHeader {
    /// `Authorization`
    Authorization = 0,
    /// `Cookie`
    Cookie = 1,
}

impl Metrics {
    /// Counts a finished request.
    pub fn request(&self, route: Route, status: u16) {
        let slot = usize::from(status).min(STATUS_SLOTS - 1);
        self.requests[route as usize][slot].fetch_add(1, Relaxed);
    }

    /// Counts an accepted credential.
    pub fn auth_ok(&self, scheme: Scheme) {
        self.auth[scheme as usize][AuthReason::ALL.len()].fetch_add(1, Relaxed);
    }

    /// Counts a rejected credential.
    pub fn auth_rejected(&self, scheme: Scheme, reason: AuthReason) {
        self.auth[scheme as usize][reason.index()].fetch_add(1, Relaxed);
    }

    /// Records the latency of one store operation.
    pub fn store_op(&self, op: StoreOp, elapsed: Duration) {
        self.store_ops[op as usize].record(elapsed);
    }

    /// Records the time one JWT verification took (signature and claims).
    pub fn jwt_verify(&self, elapsed: Duration) {
        self.jwt_verify.record(elapsed);
    }

    /// Counts a store operation that failed (connection lost, timeout).
    pub fn store_error(&self) {
        self.store_errors.fetch_add(1, Relaxed);
    }

    /// Counts the size of a credential header received.
    pub fn credential_header(&self, which: CredentialHeader, bytes: usize) {
        self.header_bytes[which as usize].fetch_add(bytes as u64, Relaxed);
        self.header_count[which as usize].fetch_add(1, Relaxed);
    }

    /// Counts one argon2id computation.
    pub fn password_hash(&self) {
        self.password_hashes.fetch_add(1, Relaxed);
    }

    /// Counts one `--inject-cpu-us` burn and the time it took.
    pub fn injected_cpu(&self, spent: Duration) {
        self.injected_cpu_checks.fetch_add(1, Relaxed);
        let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.injected_cpu_nanos.fetch_add(nanos, Relaxed);
    }

    /// Counts one reload of the key directory (`SIGHUP` or `POST /admin/keys/reload`).
    pub fn key_reload(&self, ok: bool) {
        self.key_reloads[usize::from(!ok)].fetch_add(1, Relaxed);
    }

    /// Key reloads counted so far (used by tests).
    pub fn key_reloads(&self, ok: bool) -> u64 {
        self.key_reloads[usize::from(!ok)].load(Relaxed)
    }

    /// Appends the key-rotation metrics to a [`Metrics::render`] output: reloads by outcome,
    /// and one info series per key in use (`role` `current` or `previous`).
    pub fn render_keys(
        &self,
        out: &mut String,
        replica: &str,
        alg: &str,
        current_kid: &str,
        previous_kid: Option<&str>,
    ) {
        let r = escape(replica);
        out.push_str("# HELP authbench_key_reloads_total Reloads of --key-dir (SIGHUP or POST /admin/keys/reload), by outcome.\n");
        out.push_str("# TYPE authbench_key_reloads_total counter\n");
        for (i, outcome) in ["ok", "error"].iter().enumerate() {
            let _ = writeln!(
                out,
                "authbench_key_reloads_total{{replica=\"{r}\",outcome=\"{outcome}\"}} {}",
                self.key_reloads[i].load(Relaxed)
            );
        }
        out.push_str("# HELP authbench_jwt_key_info The JWT keys in use: current signs, previous only verifies.\n");
        out.push_str("# TYPE authbench_jwt_key_info gauge\n");
        let keys = std::iter::once(("current", current_kid))
            .chain(previous_kid.map(|kid| ("previous", kid)));
        for (role, kid) in keys {
            let _ = writeln!(
                out,
                "authbench_jwt_key_info{{replica=\"{r}\",alg=\"{alg}\",kid=\"{}\",role=\"{role}\"}} 1",
                escape(kid)
            );
        }
    }

    /// Counts a request authenticated by a gateway's forwarded identity (`--trust-gateway`).
    pub fn trusted_identity(&self) {
        self.trusted_identities.fetch_add(1, Relaxed);
    }

    /// Requests authenticated by a gateway's identity so far (used by tests).
    pub fn trusted_identity_count(&self) -> u64 {
        self.trusted_identities.load(Relaxed)
    }

    /// Requests counted so far for a route and status (used by tests).
    pub fn requests_for(&self, route: Route, status: u16) -> u64 {
        let slot = usize::from(status).min(STATUS_SLOTS - 1);
        self.requests[route as usize][slot].load(Relaxed)
    }

    /// Auth outcomes counted so far (used by tests); `None` counts successes.
    pub fn auth_count(&self, scheme: Scheme, reason: Option<AuthReason>) -> u64 {
        let slot = reason.map_or(AuthReason::ALL.len(), AuthReason::index);
        self.auth[scheme as usize][slot].load(Relaxed)
    }

    /// Renders everything in the Prometheus text exposition format (version 0.0.4).
    pub fn render(
        &self,
        replica: &str,
        store: &str,
        jwt_alg: &str,
        live_sessions: Option<u64>,
    ) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let r = escape(replica);

        out.push_str(
            "# HELP authbench_http_requests_total HTTP requests served, by route and status.\n",
        );
        out.push_str("# TYPE authbench_http_requests_total counter\n");
        for route in Route::ALL {
            for (status, counter) in self.requests[route as usize].iter().enumerate() {
                let n = counter.load(Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "authbench_http_requests_total{{replica=\"{r}\",route=\"{}\",status=\"{status}\"}} {n}",
                        route.label()
                    );
                }
            }
        }

        out.push_str(
            "# HELP authbench_auth_outcomes_total Credential checks, by scheme and outcome.\n",
        );
        out.push_str("# TYPE authbench_auth_outcomes_total counter\n");
        for scheme in [Scheme::Session, Scheme::Jwt] {
            let row = &self.auth[scheme as usize];
            let outcomes = AuthReason::ALL
                .iter()
                .map(|reason| reason.code())
                .chain(std::iter::once("ok"));
            for (outcome, counter) in outcomes.zip(row.iter()) {
                let _ = writeln!(
                    out,
                    "authbench_auth_outcomes_total{{replica=\"{r}\",scheme=\"{}\",outcome=\"{outcome}\"}} {}",
                    scheme.label(),
                    counter.load(Relaxed)
                );
            }
        }

        out.push_str("# HELP authbench_store_op_duration_seconds Latency of session and revocation store operations.\n");
        out.push_str("# TYPE authbench_store_op_duration_seconds histogram\n");
        for op in StoreOp::ALL {
            let labels = format!("replica=\"{r}\",store=\"{store}\",op=\"{}\"", op.label());
            self.store_ops[op as usize].render(
                &mut out,
                "authbench_store_op_duration_seconds",
                &labels,
            );
        }

        out.push_str("# HELP authbench_jwt_verify_duration_seconds Time spent verifying a JWT's signature and claims (revocation check excluded).\n");
        out.push_str("# TYPE authbench_jwt_verify_duration_seconds histogram\n");
        self.jwt_verify.render(
            &mut out,
            "authbench_jwt_verify_duration_seconds",
            &format!("replica=\"{r}\",alg=\"{jwt_alg}\""),
        );

        counter(
            &mut out,
            "authbench_store_errors_total",
            "Store operations that failed.",
            &format!("replica=\"{r}\",store=\"{store}\""),
            self.store_errors.load(Relaxed),
        );

        if let Some(live) = live_sessions {
            out.push_str("# HELP authbench_live_sessions Sessions currently in the store.\n");
            out.push_str("# TYPE authbench_live_sessions gauge\n");
            let _ = writeln!(
                out,
                "authbench_live_sessions{{replica=\"{r}\",store=\"{store}\"}} {live}"
            );
        }

        out.push_str("# HELP authbench_credential_header_bytes_total Bytes of credential headers received (name and value).\n");
        out.push_str("# TYPE authbench_credential_header_bytes_total counter\n");
        out.push_str("# HELP authbench_credential_headers_total Credential headers received.\n");
        out.push_str("# TYPE authbench_credential_headers_total counter\n");
        for (i, header) in ["authorization", "cookie"].iter().enumerate() {
            let _ = writeln!(
                out,
                "authbench_credential_header_bytes_total{{replica=\"{r}\",header=\"{header}\"}} {}",
                self.header_bytes[i].load(Relaxed)
            );
            let _ = writeln!(
                out,
                "authbench_credential_headers_total{{replica=\"{r}\",header=\"{header}\"}} {}",
                self.header_count[i].load(Relaxed)
            );
        }

        counter(
            &mut out,
            "authbench_password_hashes_total",
            "argon2id hashes computed (one per login attempt).",
            &format!("replica=\"{r}\""),
            self.password_hashes.load(Relaxed),
        );

        counter(
            &mut out,
            "authbench_injected_cpu_checks_total",
            "Credential checks that burnt --inject-cpu-us of CPU (a regression-gate test knob).",
            &format!("replica=\"{r}\""),
            self.injected_cpu_checks.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP authbench_injected_cpu_seconds_total Time spent burning --inject-cpu-us.\n\
             # TYPE authbench_injected_cpu_seconds_total counter\n\
             authbench_injected_cpu_seconds_total{{replica=\"{r}\"}} {}",
            self.injected_cpu_nanos.load(Relaxed) as f64 / 1e9
        );

        counter(
            &mut out,
            "authbench_trusted_identity_total",
            "JWT requests authenticated by the gateway's forwarded identity (--trust-gateway), not verified here.",
            &format!("replica=\"{r}\""),
            self.trusted_identities.load(Relaxed),
        );

        process_stats::render_prometheus(&mut out, &format!("replica=\"{r}\""));
        out
    }
}

fn counter(out: &mut String, name: &str, help: &str, labels: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name}{{{labels}}} {value}");
}

/// Escapes a label value per the exposition format.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_classified_without_params_leaking_into_labels() {
        assert_eq!(Route::of_path("/jwt/me"), Route::JwtMe);
        assert_eq!(
            Route::of_path("/admin/users/user7/logout"),
            Route::AdminLogout
        );
        assert_eq!(Route::of_path("/nope"), Route::Other);
        assert_eq!(Route::of_path("/admin/keys/reload"), Route::AdminKeysReload);
    }

    #[test]
    fn key_metrics_name_each_key_and_count_reloads() {
        let m = Metrics::default();
        m.key_reload(true);
        m.key_reload(false);
        m.key_reload(false);
        let mut text = String::new();
        m.render_keys(&mut text, "r0", "ES256", "new", Some("old"));
        assert!(text.contains("authbench_key_reloads_total{replica=\"r0\",outcome=\"ok\"} 1"));
        assert!(text.contains("authbench_key_reloads_total{replica=\"r0\",outcome=\"error\"} 2"));
        assert!(text.contains(
            "authbench_jwt_key_info{replica=\"r0\",alg=\"ES256\",kid=\"new\",role=\"current\"} 1"
        ));
        assert!(text.contains("kid=\"old\",role=\"previous\"} 1"));
        let mut single = String::new();
        m.render_keys(&mut single, "r0", "ES256", "new", None);
        assert!(!single.contains("previous\"}"));
    }

    #[test]
    fn render_contains_counters_and_histogram() {
        let m = Metrics::default();
        m.request(Route::JwtMe, 200);
        m.request(Route::JwtMe, 200);
        m.auth_rejected(Scheme::Jwt, AuthReason::Expired);
        m.store_op(StoreOp::Get, Duration::from_micros(30));
        m.jwt_verify(Duration::from_micros(3));
        let text = m.render("r\"1", "memory", "HS256", Some(3));
        assert!(text.contains(
            "authbench_http_requests_total{replica=\"r\\\"1\",route=\"/jwt/me\",status=\"200\"} 2"
        ));
        assert!(text.contains("scheme=\"jwt\",outcome=\"expired\"} 1"));
        assert!(text.contains("op=\"get\",le=\"0.00005\"} 1"));
        assert!(text.contains("authbench_live_sessions{replica=\"r\\\"1\",store=\"memory\"} 3"));
        assert!(text.contains("process_cpu_seconds_total "));
        assert!(text.contains(
            "authbench_jwt_verify_duration_seconds_count{replica=\"r\\\"1\",alg=\"HS256\"} 1"
        ));
    }
}
