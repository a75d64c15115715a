//! The shape every synthetic cell is derived from: a [`Spec`] turned into trials with
//! percentiles, a spectrum, CPU, bytes and a per-second timeline.

use std::collections::BTreeMap;

use crate::measure::{Percentiles, Second};
use crate::model::{
    Alg, Auth, Balancer, Cell, CellConfig, CpuCost, CryptoBackend, Latency, Load, Network, Policy,
    Revocation, SpectrumPoint, Store, Trial, WireBytes,
};

use super::{TRIALS, WINDOW};

/// Small, fixed trial-to-trial variation.
const WOBBLE: [f64; 3] = [1.0, 1.031, 0.978];

/// What a synthetic cell looks like; every trial is derived from it.
#[derive(Debug, Clone)]
pub(super) struct Spec {
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
    pub(super) fn new(
        rps: f64,
        p50: f64,
        p99: f64,
        p999: f64,
        app_us: f64,
        credential: f64,
    ) -> Spec {
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

    pub(super) fn store(mut self, store_us: f64, ops: f64) -> Spec {
        self.store_us = Some(store_us);
        self.store_ops = Some(ops);
        self
    }

    /// In-process store operations per request (no store process, so no store CPU).
    pub(super) fn ops(mut self, ops: f64) -> Spec {
        self.store_ops = Some(ops);
        self
    }

    pub(super) fn balancer(mut self, us: f64, spread: &[f64]) -> Spec {
        self.balancer_us = Some(us);
        self.spread = spread.to_vec();
        self
    }

    pub(super) fn unauthorized(mut self, share: f64) -> Spec {
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

pub(super) fn trial(spec: &Spec, k: usize, window: f64) -> Trial {
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
        unavailable: BTreeMap::new(),
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

pub(super) fn config(
    auth: Auth,
    store: Store,
    alg: Option<Alg>,
    revocation: Option<Revocation>,
) -> CellConfig {
    CellConfig {
        auth,
        store,
        alg,
        revocation,
        crypto_backend: alg.map(|_| CryptoBackend::AwsLc),
        extra_claim_bytes: 0,
        replicas: 1,
        balancer: Balancer::None,
        policy: Policy::RoundRobin,
        network: Network::default(),
    }
}

pub(super) fn session(store: Store) -> CellConfig {
    config(Auth::Session, store, None, None)
}

pub(super) fn jwt(alg: Alg) -> CellConfig {
    config(Auth::Jwt, Store::Memory, Some(alg), Some(Revocation::None))
}

pub(super) fn jwt_revoking(strategy: Revocation, store: Store) -> CellConfig {
    config(Auth::Jwt, store, Some(Alg::Hs256), Some(strategy))
}

pub(super) fn clustered(mut c: CellConfig, replicas: usize, policy: Policy) -> CellConfig {
    c.replicas = replicas;
    c.balancer = Balancer::Builtin;
    c.policy = policy;
    c
}

pub(super) fn cell(id: &str, group: &str, config: CellConfig, load: Load, spec: &Spec) -> Cell {
    let slug = id.replace('/', "-");
    Cell {
        id: id.to_owned(),
        group: group.to_owned(),
        config,
        load,
        users: 100,
        warmup_seconds: Some(5.0),
        trials: (0..TRIALS)
            .map(|k| {
                let mut t = trial(spec, k, WINDOW);
                t.hdr_log = Some(format!("hdr/{slug}-t{}.hlog", k + 1));
                t
            })
            .collect(),
        hops: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
