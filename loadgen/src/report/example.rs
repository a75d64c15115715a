//! A synthetic but realistic [`SuiteRun`] covering every group and part the suite writes,
//! for tests, snapshots and documentation. Deterministic: no clock, no randomness.
//!
//! The figures are shaped after the project's reference measurements on a 2-core machine
//! (`results/bench-server/`): an in-process session lookup costs about 9.5 µs of replica CPU
//! per request, a Redis lookup about 15 µs plus Redis's own 3 µs, HS256 about 14 µs, RS256 40,
//! EdDSA 59 and ES256 75 µs (300 µs with pure-Rust P-256).

use std::collections::BTreeMap;

use crate::record::{Percentiles, Second};
use crate::suite::model::{
    Auth, Cell, CellConfig, CpuCost, Env, FaultRun, Latency, Load, RevocationWindow,
    SessionSecurity, Skipped, SpectrumPoint, StateCost, Store, StoreCapacity, SuiteOptions,
    SuiteRun, TokenSize, ToolInfo, Trial, WireBytes, SUITE_SCHEMA_VERSION,
};

/// The offered rate of the example's equal-rate and balancing cells, requests/s.
pub const EXAMPLE_RATE: f64 = 2_000.0;
/// Trials per example load cell.
const TRIALS: usize = 3;
/// Seconds per example trial.
const WINDOW: f64 = 20.0;
/// Small, fixed trial-to-trial variation.
const WOBBLE: [f64; 3] = [1.0, 1.031, 0.978];

/// What a synthetic cell looks like; every trial is derived from it.
#[derive(Debug, Clone)]
struct Spec {
    rps: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    app_us: f64,
    store_us: Option<f64>,
    balancer_us: Option<f64>,
    store_ops: Option<f64>,
    credential: f64,
    /// Share of requests rejected with 401.
    unauthorized: f64,
    /// Share of requests per replica (empty: one replica named `r0`).
    spread: Vec<f64>,
}

impl Spec {
    fn new(rps: f64, p50: f64, p99: f64, p999: f64, app_us: f64, credential: f64) -> Spec {
        Spec {
            rps,
            p50,
            p99,
            p999,
            app_us,
            store_us: None,
            balancer_us: None,
            store_ops: None,
            credential,
            unauthorized: 0.0,
            spread: Vec::new(),
        }
    }

    fn store(mut self, store_us: f64, ops: f64) -> Spec {
        self.store_us = Some(store_us);
        self.store_ops = Some(ops);
        self
    }

    /// In-process store operations per request (no store process, so no store CPU).
    fn ops(mut self, ops: f64) -> Spec {
        self.store_ops = Some(ops);
        self
    }

    fn balancer(mut self, us: f64, spread: &[f64]) -> Spec {
        self.balancer_us = Some(us);
        self.spread = spread.to_vec();
        self
    }

    fn unauthorized(mut self, share: f64) -> Spec {
        self.unauthorized = share;
        self
    }
}

/// Latency anchors → the percentiles and a spectrum shaped like an HdrHistogram's.
fn latency(p50: f64, p99: f64, p999: f64) -> Latency {
    let min = p50 * 0.42;
    let p90 = p50 * (p99 / p50).powf(0.45);
    let p9999 = p999 * (p999 / p99).powf(0.7);
    let max = p9999 * 1.35;
    let anchors = [
        (0.0, min),
        (50.0, p50),
        (90.0, p90),
        (99.0, p99),
        (99.9, p999),
        (99.99, p9999),
        (99.999, max),
    ];
    let x = |p: f64| -(1.0 - p / 100.0).log10();
    let at = |p: f64| -> f64 {
        if p >= 99.999 {
            return max;
        }
        for w in anchors.windows(2) {
            let ((pa, va), (pb, vb)) = (w[0], w[1]);
            if p <= pb {
                let t = (x(p) - x(pa)) / (x(pb) - x(pa));
                return (va.ln() + t * (vb.ln() - va.ln())).exp();
            }
        }
        max
    };
    let spectrum_at = [
        0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 77.5, 80.0, 82.5, 85.0,
        87.5, 88.75, 90.0, 91.25, 92.5, 93.75, 94.375, 95.0, 95.625, 96.25, 96.875, 97.1875, 97.5,
        97.8125, 98.125, 98.4375, 98.75, 99.0, 99.21875, 99.375, 99.53125, 99.6875, 99.8, 99.9,
        99.95, 99.975, 99.99, 99.995, 99.999, 100.0,
    ];
    let spectrum = spectrum_at
        .iter()
        .map(|&p| SpectrumPoint {
            percentile: p,
            us: at(p.min(99.999)).round().max(1.0) as u64,
        })
        .collect();
    let r = |v: f64| v.round().max(1.0) as u64;
    let corrected = Percentiles {
        count: 0,
        min_us: r(min),
        mean_us: (p50 * 1.12 * 10.0).round() / 10.0,
        p50_us: r(p50),
        p90_us: r(p90),
        p99_us: r(p99),
        p99_9_us: r(p999),
        p99_99_us: r(p9999),
        max_us: r(max),
    };
    let shrink = |v: u64| ((v as f64) * 0.93).round().max(1.0) as u64;
    let uncorrected = Percentiles {
        count: 0,
        min_us: corrected.min_us,
        mean_us: (corrected.mean_us * 0.95 * 10.0).round() / 10.0,
        p50_us: shrink(corrected.p50_us),
        p90_us: shrink(corrected.p90_us),
        p99_us: shrink(corrected.p99_us),
        p99_9_us: shrink(corrected.p99_9_us),
        p99_99_us: shrink(corrected.p99_99_us),
        max_us: shrink(corrected.max_us),
    };
    Latency {
        corrected,
        uncorrected,
        spectrum,
    }
}

/// Request and response bytes on the wire around a credential header line.
fn wire(credential: f64) -> WireBytes {
    WireBytes {
        sent: 62.0 + credential,
        received: if credential > 0.0 { 196.0 } else { 139.0 },
        credential_header: credential,
    }
}

fn trial(spec: &Spec, k: usize, window: f64) -> Trial {
    let w = WOBBLE[k % WOBBLE.len()];
    let rps = (spec.rps * (1.0 + (w - 1.0) * 0.05) * 10.0).round() / 10.0;
    let requests = (rps * window).round() as u64;
    let unauthorized = (requests as f64 * spec.unauthorized).round() as u64;
    let mut latency = latency(spec.p50 * w, spec.p99 * w, spec.p999 * w);
    latency.corrected.count = requests;
    latency.uncorrected.count = requests;
    let mut status = BTreeMap::new();
    status.insert("200".to_owned(), requests - unauthorized);
    if unauthorized > 0 {
        status.insert("401".to_owned(), unauthorized);
    }
    let mut unauthorized_by = BTreeMap::new();
    let mut logins = BTreeMap::new();
    logins.insert("first".to_owned(), 100);
    if unauthorized > 0 {
        unauthorized_by.insert("unknown-session".to_owned(), unauthorized);
        logins.insert("unknown-session".to_owned(), unauthorized);
    }
    let spread = if spec.spread.is_empty() {
        vec![1.0]
    } else {
        spec.spread.clone()
    };
    let replicas = spread
        .iter()
        .enumerate()
        .map(|(i, share)| (format!("r{i}"), (requests as f64 * share).round() as u64))
        .collect();
    let app_us = spec.app_us * (1.0 + (w - 1.0) * 0.3);
    let store_us = spec.store_us.map(|s| s * (1.0 + (w - 1.0) * 0.3));
    let balancer_us = spec.balancer_us.map(|b| b * (1.0 + (w - 1.0) * 0.3));
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    let seconds = |us: f64| round2(us * requests as f64 / 1e6);
    let timeline = (0..window as u64)
        .map(|t| {
            let n = (rps * (1.0 + ((t * 7 + k as u64) % 5) as f64 * 0.002)).round() as u64;
            Second {
                t,
                requests: n,
                errors: (n as f64 * spec.unauthorized).round() as u64,
                p50_us: (spec.p50 * w * (1.0 + (t % 3) as f64 * 0.01)).round() as u64,
                p99_us: (spec.p99 * w * (1.0 + (t % 4) as f64 * 0.03)).round() as u64,
            }
        })
        .collect();
    Trial {
        requests,
        errors: unauthorized,
        window_seconds: window,
        throughput_rps: rps,
        latency,
        status,
        failures: BTreeMap::new(),
        unauthorized: unauthorized_by,
        logins,
        replicas,
        bytes: wire(spec.credential),
        cpu: CpuCost {
            app_seconds: seconds(app_us),
            balancer_seconds: balancer_us.map(seconds),
            store_seconds: store_us.map(seconds),
            app_us_per_request: round2(app_us),
            balancer_us_per_request: balancer_us.map(round2),
            store_us_per_request: store_us.map(round2),
            total_us_per_request: round2(app_us + store_us.unwrap_or(0.0)),
        },
        store_ops_per_request: spec.store_ops,
        server_counted: Some(requests),
        exchanges: requests,
        hdr_log: None,
        timeline,
    }
}

fn config(auth: Auth, store: Store, alg: Option<&str>, revocation: Option<&str>) -> CellConfig {
    CellConfig {
        auth,
        store,
        alg: alg.map(str::to_owned),
        revocation: revocation.map(str::to_owned),
        crypto_backend: alg.map(|_| "aws-lc".to_owned()),
        extra_claim_bytes: 0,
        replicas: 1,
        balancer: "none".to_owned(),
        policy: "round-robin".to_owned(),
    }
}

fn session(store: Store) -> CellConfig {
    config(Auth::Session, store, None, None)
}

fn jwt(alg: &str) -> CellConfig {
    config(Auth::Jwt, Store::Memory, Some(alg), Some("none"))
}

fn jwt_revoking(strategy: &str, store: Store) -> CellConfig {
    config(Auth::Jwt, store, Some("HS256"), Some(strategy))
}

fn clustered(mut c: CellConfig, replicas: usize, policy: &str) -> CellConfig {
    c.replicas = replicas;
    c.balancer = "builtin".to_owned();
    c.policy = policy.to_owned();
    c
}

fn cell(id: &str, group: &str, config: CellConfig, load: Load, spec: &Spec) -> Cell {
    let slug = id.replace('/', "-");
    Cell {
        id: id.to_owned(),
        group: group.to_owned(),
        config,
        load,
        users: 100,
        trials: (0..TRIALS)
            .map(|k| {
                let mut t = trial(spec, k, WINDOW);
                t.hdr_log = Some(format!("hdr/{slug}-t{}.hlog", k + 1));
                t
            })
            .collect(),
    }
}

/// Credential header lines: `cookie: sid=<43>` and `authorization: Bearer <token>`.
const COOKIE_LINE: f64 = 57.0;
const fn bearer_line(token: u64) -> f64 {
    (token + 24) as f64
}
const HS256_TOKEN: u64 = 215;
const RS256_TOKEN: u64 = 514;
const ES256_TOKEN: u64 = 258;

fn equal_rate_cells() -> Vec<Cell> {
    let open = Load::Open { rate: EXAMPLE_RATE };
    let r = EXAMPLE_RATE;
    let g = "equal-rate";
    let mut es256_rust = jwt("ES256");
    es256_rust.crypto_backend = Some("rust-crypto".to_owned());
    vec![
        cell(
            "rate/none",
            g,
            config(Auth::None, Store::Memory, None, None),
            open.clone(),
            &Spec::new(r, 182.0, 421.0, 905.0, 8.9, 0.0),
        ),
        cell(
            "rate/session-memory",
            g,
            session(Store::Memory),
            open.clone(),
            &Spec::new(r, 191.0, 447.0, 962.0, 9.6, COOKIE_LINE).ops(1.0),
        ),
        cell(
            "rate/session-redis",
            g,
            session(Store::Redis),
            open.clone(),
            &Spec::new(r, 309.0, 716.0, 1_420.0, 15.4, COOKIE_LINE).store(3.1, 1.0),
        ),
        cell(
            "rate/jwt-hs256",
            g,
            jwt("HS256"),
            open.clone(),
            &Spec::new(r, 204.0, 478.0, 1_010.0, 13.8, bearer_line(HS256_TOKEN)),
        ),
        cell(
            "rate/jwt-rs256",
            g,
            jwt("RS256"),
            open.clone(),
            &Spec::new(r, 241.0, 562.0, 1_190.0, 40.1, bearer_line(RS256_TOKEN)),
        ),
        cell(
            "rate/jwt-es256",
            g,
            jwt("ES256"),
            open.clone(),
            &Spec::new(r, 283.0, 698.0, 1_610.0, 74.5, bearer_line(ES256_TOKEN)),
        ),
        cell(
            "rate/jwt-eddsa",
            g,
            jwt("EdDSA"),
            open.clone(),
            &Spec::new(r, 262.0, 641.0, 1_380.0, 59.2, bearer_line(ES256_TOKEN)),
        ),
        cell(
            "rate/jwt-hs256-denylist-redis",
            g,
            jwt_revoking("denylist", Store::Redis),
            open.clone(),
            &Spec::new(r, 321.0, 741.0, 1_470.0, 19.8, bearer_line(HS256_TOKEN)).store(2.9, 1.0),
        ),
        cell(
            "rate/jwt-hs256-token-version-redis",
            g,
            jwt_revoking("token-version", Store::Redis),
            open.clone(),
            &Spec::new(r, 318.0, 735.0, 1_450.0, 19.5, bearer_line(HS256_TOKEN)).store(2.8, 1.0),
        ),
        cell(
            "rate/jwt-hs256-denylist-memory",
            g,
            jwt_revoking("denylist", Store::Memory),
            open.clone(),
            &Spec::new(r, 209.0, 489.0, 1_030.0, 14.3, bearer_line(HS256_TOKEN)).ops(2.0),
        ),
        cell(
            "rate/jwt-es256-rust-crypto",
            g,
            es256_rust,
            open,
            &Spec::new(r, 561.0, 1_930.0, 4_210.0, 303.0, bearer_line(ES256_TOKEN)),
        ),
    ]
}

fn scaling_cells() -> Vec<Cell> {
    let closed = Load::Closed { concurrency: 64 };
    let even: [&[f64]; 3] = [&[1.0], &[0.5, 0.5], &[0.334, 0.333, 0.333]];
    let mut out = Vec::new();
    // (slug, configuration, throughput and p99 for 1–3 replicas, app µs, store µs, credential)
    let session_redis = (
        "session-redis",
        session(Store::Redis),
        [21_040.0, 26_530.0, 27_180.0],
        [5_120.0, 4_610.0, 4_930.0],
        (17.2, Some(3.3), COOKIE_LINE),
    );
    let jwt_hs256 = (
        "jwt-hs256",
        jwt("HS256"),
        [28_130.0, 33_820.0, 34_460.0],
        [3_790.0, 3_420.0, 3_650.0],
        (15.1, None, bearer_line(HS256_TOKEN)),
    );
    for (slug, config, rps, p99, (app, store, credential)) in [session_redis, jwt_hs256] {
        for n in 1..=3usize {
            let mut spec = Spec::new(
                rps[n - 1],
                p99[n - 1] * 0.42,
                p99[n - 1],
                p99[n - 1] * 1.6,
                app + (n - 1) as f64 * 0.8,
                credential,
            );
            if let Some(s) = store {
                spec = spec.store(s, 1.0);
            }
            let spec = spec.balancer(11.4, even[n - 1]);
            out.push(cell(
                &format!("scale/{slug}/r{n}"),
                "scaling",
                clustered(config.clone(), n, "round-robin"),
                closed.clone(),
                &spec,
            ));
        }
    }
    out
}

fn balancing_cells() -> Vec<Cell> {
    let open = Load::Open { rate: EXAMPLE_RATE };
    let r = EXAMPLE_RATE;
    let g = "balancing";
    let even = [0.334, 0.333, 0.333];
    vec![
        cell(
            "balance/session-memory/round-robin",
            g,
            clustered(session(Store::Memory), 3, "round-robin"),
            open.clone(),
            &Spec::new(r, 236.0, 583.0, 1_240.0, 10.9, COOKIE_LINE)
                .ops(1.0)
                .balancer(11.8, &even)
                .unauthorized(0.6641),
        ),
        cell(
            "balance/session-memory/sticky-cookie",
            g,
            clustered(session(Store::Memory), 3, "sticky-cookie"),
            open.clone(),
            &Spec::new(r, 231.0, 561.0, 1_190.0, 10.1, COOKIE_LINE)
                .ops(1.0)
                .balancer(12.6, &[0.39, 0.35, 0.26]),
        ),
        cell(
            "balance/session-redis/round-robin",
            g,
            clustered(session(Store::Redis), 3, "round-robin"),
            open.clone(),
            &Spec::new(r, 352.0, 812.0, 1_610.0, 16.0, COOKIE_LINE)
                .store(3.2, 1.0)
                .balancer(11.9, &even),
        ),
        cell(
            "balance/jwt-hs256/round-robin",
            g,
            clustered(jwt("HS256"), 3, "round-robin"),
            open,
            &Spec::new(r, 249.0, 598.0, 1_260.0, 14.4, bearer_line(HS256_TOKEN))
                .balancer(11.7, &even),
        ),
    ]
}

/// Token bytes of an HS256 JWT carrying `extra` claim bytes (base64url grows 4/3).
fn hs256_token(extra: usize) -> u64 {
    if extra == 0 {
        HS256_TOKEN
    } else {
        HS256_TOKEN + ((extra as f64 + 9.0) * 4.0 / 3.0).round() as u64
    }
}

fn claims_cells() -> Vec<Cell> {
    let closed = Load::Closed { concurrency: 64 };
    [
        (0usize, 28_420.0, 3_760.0),
        (1_024, 26_870.0, 3_990.0),
        (4_096, 21_310.0, 5_040.0),
    ]
    .into_iter()
    .map(|(extra, rps, p99)| {
        let mut c = jwt("HS256");
        c.extra_claim_bytes = extra;
        cell(
            &format!("claims/jwt-hs256/{extra}"),
            "claims",
            c,
            closed.clone(),
            &Spec::new(
                rps,
                p99 * 0.43,
                p99,
                p99 * 1.5,
                14.9 + extra as f64 / 1024.0 * 1.7,
                bearer_line(hs256_token(extra)),
            ),
        )
    })
    .collect()
}

fn state_costs() -> Vec<StateCost> {
    let row = |kind: &str, store: Store, measured: &str, before: u64, per: f64| StateCost {
        kind: kind.to_owned(),
        store,
        entries: 100_000,
        measured: measured.to_owned(),
        bytes_before: before,
        bytes_after: before + (per * 100_000.0) as u64,
        bytes_per_entry: per,
    };
    vec![
        row("session", Store::Memory, "replica_rss", 14_680_064, 212.4),
        row(
            "session",
            Store::Redis,
            "redis_used_memory",
            1_048_576,
            161.3,
        ),
        row("denylist", Store::Memory, "replica_rss", 14_811_136, 118.2),
        row(
            "denylist",
            Store::Redis,
            "redis_used_memory",
            1_048_576,
            128.7,
        ),
        row(
            "token-version",
            Store::Redis,
            "redis_used_memory",
            1_048_576,
            88.1,
        ),
    ]
}

fn token_sizes() -> Vec<TokenSize> {
    let jwt = |alg: &str, extra: usize, token: u64| TokenSize {
        auth: Auth::Jwt,
        alg: Some(alg.to_owned()),
        extra_claim_bytes: extra,
        credential_bytes: token,
        header_bytes: bearer_line(token) as u64,
    };
    vec![
        TokenSize {
            auth: Auth::Session,
            alg: None,
            extra_claim_bytes: 0,
            credential_bytes: 43,
            header_bytes: COOKIE_LINE as u64,
        },
        jwt("HS256", 0, HS256_TOKEN),
        jwt("RS256", 0, RS256_TOKEN),
        jwt("ES256", 0, ES256_TOKEN),
        jwt("EdDSA", 0, ES256_TOKEN),
        jwt("HS256", 256, hs256_token(256)),
        jwt("HS256", 1_024, hs256_token(1_024)),
        jwt("HS256", 2_048, hs256_token(2_048)),
        jwt("HS256", 4_096, hs256_token(4_096)),
    ]
}

fn revocations() -> Vec<RevocationWindow> {
    let row = |auth: Auth,
               store: Store,
               revocation: Option<&str>,
               trigger: &str,
               accepted: usize,
               rejected: usize,
               window: Option<f64>| RevocationWindow {
        auth,
        store,
        revocation: revocation.map(str::to_owned),
        trigger: trigger.to_owned(),
        replicas: 3,
        accepted_before: accepted,
        rejected_after: rejected,
        window_ms: window,
        observed_ms: 5_000.0,
        credential_ttl_seconds: if auth == Auth::Session {
            1_800.0
        } else {
            900.0
        },
    };
    let mut out = Vec::new();
    for trigger in ["logout", "force-logout"] {
        let force = trigger == "force-logout";
        out.extend([
            row(
                Auth::Session,
                Store::Memory,
                None,
                trigger,
                1,
                3,
                Some(if force { 0.6 } else { 0.4 }),
            ),
            row(
                Auth::Session,
                Store::Redis,
                None,
                trigger,
                3,
                3,
                Some(if force { 0.9 } else { 0.7 }),
            ),
            row(Auth::Jwt, Store::Memory, Some("none"), trigger, 3, 0, None),
            row(
                Auth::Jwt,
                Store::Memory,
                Some("denylist"),
                trigger,
                3,
                1,
                None,
            ),
            row(
                Auth::Jwt,
                Store::Redis,
                Some("denylist"),
                trigger,
                3,
                3,
                Some(if force { 1.1 } else { 0.8 }),
            ),
            row(
                Auth::Jwt,
                Store::Redis,
                Some("token-version"),
                trigger,
                3,
                3,
                Some(if force { 1.0 } else { 0.9 }),
            ),
        ]);
    }
    out
}

/// A fault run's per-second timeline: `rate` requests/s, errors at the given seconds.
fn fault_trial(rate: f64, errors_at: &[(u64, u64, u64)], seconds: u64) -> Trial {
    let spec = Spec::new(rate, 240.0, 610.0, 1_300.0, 12.0, COOKIE_LINE);
    let mut t = trial(&spec, 0, seconds as f64);
    let mut unauthorized = 0;
    let mut failed = 0;
    let hit: Vec<u64> = errors_at.iter().map(|e| e.0).collect();
    for s in &mut t.timeline {
        // A fault stalls some requests for a moment; the open loop catches up the next second.
        s.requests = if hit.contains(&s.t) {
            (rate * 0.91) as u64
        } else if s.t > 0 && hit.contains(&(s.t - 1)) {
            (rate * 1.08) as u64
        } else {
            (rate * (1.0 + ((s.t * 7) % 5) as f64 * 0.004)) as u64
        };
        s.errors = 0;
        for &(at, n401, nfail) in errors_at {
            if s.t == at {
                s.errors += n401 + nfail;
                s.p99_us = 48_000 + 9_000 * nfail.min(10);
                unauthorized += n401;
                failed += nfail;
            }
        }
    }
    t.requests = t.timeline.iter().map(|s| s.requests).sum();
    t.errors = unauthorized + failed;
    t.throughput_rps = t.requests as f64 / seconds as f64;
    t.status.clear();
    t.status.insert("200".to_owned(), t.requests - t.errors);
    t.unauthorized.clear();
    if unauthorized > 0 {
        t.status.insert("401".to_owned(), unauthorized);
        t.unauthorized
            .insert("unknown-session".to_owned(), unauthorized);
        t.logins.insert("unknown-session".to_owned(), unauthorized);
    }
    if failed > 0 {
        t.failures.insert("io".to_owned(), failed);
    }
    t
}

fn faults() -> Vec<FaultRun> {
    let rate = 1_000.0;
    let sticky = clustered(session(Store::Memory), 3, "sticky-cookie");
    let redis = clustered(session(Store::Redis), 3, "round-robin");
    let hs = clustered(jwt("HS256"), 3, "round-robin");
    let run = |id: &str,
               kind: &str,
               config: &CellConfig,
               at: &[f64],
               errors: &[(u64, u64, u64)],
               recovery: Option<f64>| {
        let trial = fault_trial(rate, errors, 30);
        FaultRun {
            id: id.to_owned(),
            kind: kind.to_owned(),
            config: config.clone(),
            rate,
            fault_at_seconds: at.to_vec(),
            error_seconds: trial.timeline.iter().filter(|s| s.errors > 0).count() as u64,
            trial,
            recovery_seconds: recovery,
        }
    };
    let churn_at = [5.0, 10.0, 15.0, 20.0, 25.0];
    vec![
        run(
            "kill-replica/session-memory-sticky",
            "kill-replica",
            &sticky,
            &[10.0],
            &[(10, 33, 5)],
            Some(1.0),
        ),
        run(
            "kill-replica/jwt-hs256",
            "kill-replica",
            &hs,
            &[10.0],
            &[(10, 0, 4)],
            Some(1.0),
        ),
        run(
            "restart-redis/session-redis",
            "restart-redis",
            &redis,
            &[10.0],
            &[(10, 0, 610), (11, 100, 240)],
            Some(2.0),
        ),
        run(
            "churn/session-memory-sticky",
            "churn",
            &sticky,
            &churn_at,
            &[
                (5, 34, 3),
                (10, 33, 4),
                (15, 33, 2),
                (20, 34, 3),
                (25, 33, 3),
            ],
            Some(21.0),
        ),
        run(
            "churn/session-redis",
            "churn",
            &redis,
            &churn_at,
            &[(5, 0, 3), (10, 0, 2), (15, 0, 4), (20, 0, 3), (25, 0, 2)],
            Some(21.0),
        ),
        run(
            "churn/jwt-hs256",
            "churn",
            &hs,
            &churn_at,
            &[(5, 0, 3), (10, 0, 3), (15, 0, 2), (20, 0, 3), (25, 0, 3)],
            Some(21.0),
        ),
    ]
}

fn env(command: &[String], redis: bool) -> Env {
    let crates = [
        ("bench-server", "0.1.0"),
        ("hyper", "1.7.0"),
        ("jsonwebtoken", "10.2.0"),
        ("loadgen", "0.1.0"),
        ("redis", "0.32.7"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Env {
        command: command.to_vec(),
        hostname: "bench-2c".to_owned(),
        kernel: "Linux 6.18.44".to_owned(),
        cpu_model: "AMD EPYC 9B14".to_owned(),
        cores: 2,
        memory_bytes: 8 * 1024 * 1024 * 1024,
        git_commit: Some("6f83f41c0ffee5eed0d15ea5e5c0ffee12345678".to_owned()),
        rustc: Some("rustc 1.95.0 (59807616e 2026-04-14)".to_owned()),
        crates,
        redis: redis.then(|| {
            "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64".to_owned()
        }),
        haproxy: None,
        nginx: None,
    }
}

/// A complete synthetic run: every group, part and fault the suite produces.
#[doc(hidden)]
pub fn example_run() -> SuiteRun {
    let command: Vec<String> = ["loadgen", "suite", "--label", "example"]
        .map(String::from)
        .to_vec();
    let mut cells = equal_rate_cells();
    cells.extend(scaling_cells());
    cells.extend(balancing_cells());
    cells.extend(claims_cells());
    SuiteRun {
        schema_version: SUITE_SCHEMA_VERSION,
        tool: ToolInfo {
            name: "loadgen".to_owned(),
            version: "0.1.0".to_owned(),
        },
        label: "example".to_owned(),
        env: env(&command, true),
        command,
        started_at_unix: 1_795_000_000.0,
        wall_seconds: 1_843.0,
        partial: false,
        options: SuiteOptions {
            matrix: "default".to_owned(),
            trials: TRIALS as u32,
            sessions: 100_000,
            cell_seconds: WINDOW,
            warmup_seconds: 5.0,
            redis: "spawned".to_owned(),
            slowdown_us: 0,
        },
        skipped: Vec::new(),
        cells,
        state_cost: state_costs(),
        token_sizes: token_sizes(),
        revocation: revocations(),
        faults: faults(),
        store_capacity: Some(StoreCapacity {
            method: "redis GET, 50 connections, unpipelined".to_owned(),
            ops_per_second: 98_400.0,
            connections: 50,
        }),
        session_security: Some(SessionSecurity {
            cookie_attributes: ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1800"]
                .map(String::from)
                .to_vec(),
            id_bits: 256,
            ids_sampled: 1_000,
            ids_distinct: 1_000,
        }),
    }
}

/// [`example_run`] as it looks when redis-server is missing: no Redis cells, state, windows,
/// faults or store capacity, and a [`Skipped`] entry saying how to enable them.
#[doc(hidden)]
pub fn example_run_without_redis() -> SuiteRun {
    let mut run = example_run();
    run.label = "example-no-redis".to_owned();
    run.options.redis = "none".to_owned();
    run.env.redis = None;
    run.cells
        .retain(|c| !crate::report::stats::uses_redis(&c.config));
    run.state_cost.retain(|s| s.store != Store::Redis);
    run.revocation.retain(|r| r.store != Store::Redis);
    run.faults
        .retain(|f| !crate::report::stats::uses_redis(&f.config));
    run.store_capacity = None;
    run.wall_seconds = 1_212.0;
    run.skipped.push(Skipped {
        what: "Redis cells (sessions in Redis, JWT deny-list and token versions in Redis, \
               the restart-redis fault, Redis capacity)"
            .to_owned(),
        reason: "redis-server not found on PATH".to_owned(),
        enable: "install redis-server (apt-get install redis-server) and run the suite again"
            .to_owned(),
    });
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_is_deterministic_and_round_trips() {
        let run = example_run();
        assert_eq!(run, example_run());
        let json = serde_json::to_string(&run).unwrap();
        let back: SuiteRun = serde_json::from_str(&json).unwrap();
        assert_eq!(back, run);
        for group in ["equal-rate", "scaling", "balancing", "claims"] {
            assert!(run.cells.iter().any(|c| c.group == group), "{group}");
        }
        let ids: std::collections::BTreeSet<&str> =
            run.cells.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), run.cells.len(), "cell ids are unique");
    }

    #[test]
    fn without_redis_has_no_redis_parts() {
        let run = example_run_without_redis();
        assert!(run
            .cells
            .iter()
            .all(|c| !crate::report::stats::uses_redis(&c.config)));
        assert!(run.store_capacity.is_none());
        assert_eq!(run.skipped.len(), 1);
        assert!(run.cells.iter().any(|c| c.config.auth == Auth::Session));
    }

    #[test]
    fn spectrum_is_monotonic() {
        let l = latency(200.0, 500.0, 1_000.0);
        assert!(l
            .spectrum
            .windows(2)
            .all(|w| w[0].us <= w[1].us && w[0].percentile < w[1].percentile));
        assert_eq!(l.corrected.p50_us, 200);
        assert_eq!(l.corrected.p99_us, 500);
    }
}
