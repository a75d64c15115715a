//! The example's load cells: equal-rate, scaling, balancing and claim-size groups.

use crate::model::{Alg, Auth, Cell, CryptoBackend, Load, Policy, Revocation, Store};

use super::trial::{cell, clustered, config, jwt, jwt_revoking, session, Spec};
use super::EXAMPLE_RATE;

/// Credential header lines: `cookie: sid=<43>` and `authorization: Bearer <token>`.
pub(super) const COOKIE_LINE: f64 = 57.0;
pub(super) const fn bearer_line(token: u64) -> f64 {
    (token + 24) as f64
}
pub(super) const HS256_TOKEN: u64 = 215;
pub(super) const RS256_TOKEN: u64 = 514;
pub(super) const ES256_TOKEN: u64 = 258;

pub(super) fn equal_rate_cells() -> Vec<Cell> {
    let open = Load::Open { rate: EXAMPLE_RATE };
    let r = EXAMPLE_RATE;
    let g = "equal-rate";
    let mut es256_rust = jwt(Alg::Es256);
    es256_rust.crypto_backend = Some(CryptoBackend::RustCrypto);
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
            jwt(Alg::Hs256),
            open.clone(),
            &Spec::new(r, 204.0, 478.0, 1_010.0, 13.8, bearer_line(HS256_TOKEN)),
        ),
        cell(
            "rate/jwt-rs256",
            g,
            jwt(Alg::Rs256),
            open.clone(),
            &Spec::new(r, 241.0, 562.0, 1_190.0, 40.1, bearer_line(RS256_TOKEN)),
        ),
        cell(
            "rate/jwt-es256",
            g,
            jwt(Alg::Es256),
            open.clone(),
            &Spec::new(r, 283.0, 698.0, 1_610.0, 74.5, bearer_line(ES256_TOKEN)),
        ),
        cell(
            "rate/jwt-eddsa",
            g,
            jwt(Alg::EdDsa),
            open.clone(),
            &Spec::new(r, 262.0, 641.0, 1_380.0, 59.2, bearer_line(ES256_TOKEN)),
        ),
        cell(
            "rate/jwt-hs256-denylist-redis",
            g,
            jwt_revoking(Revocation::Denylist, Store::Redis),
            open.clone(),
            &Spec::new(r, 321.0, 741.0, 1_470.0, 19.8, bearer_line(HS256_TOKEN)).store(2.9, 1.0),
        ),
        cell(
            "rate/jwt-hs256-token-version-redis",
            g,
            jwt_revoking(Revocation::TokenVersion, Store::Redis),
            open.clone(),
            &Spec::new(r, 318.0, 735.0, 1_450.0, 19.5, bearer_line(HS256_TOKEN)).store(2.8, 1.0),
        ),
        cell(
            "rate/jwt-hs256-denylist-memory",
            g,
            jwt_revoking(Revocation::Denylist, Store::Memory),
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

pub(super) fn scaling_cells() -> Vec<Cell> {
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
        jwt(Alg::Hs256),
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
                clustered(config.clone(), n, Policy::RoundRobin),
                closed.clone(),
                &spec,
            ));
        }
    }
    out
}

pub(super) fn balancing_cells() -> Vec<Cell> {
    let open = Load::Open { rate: EXAMPLE_RATE };
    let r = EXAMPLE_RATE;
    let g = "balancing";
    let even = [0.334, 0.333, 0.333];
    vec![
        cell(
            "balance/session-memory/round-robin",
            g,
            clustered(session(Store::Memory), 3, Policy::RoundRobin),
            open.clone(),
            &Spec::new(r, 236.0, 583.0, 1_240.0, 10.9, COOKIE_LINE)
                .ops(1.0)
                .balancer(11.8, &even)
                .unauthorized(0.6641),
        ),
        cell(
            "balance/session-memory/sticky-cookie",
            g,
            clustered(session(Store::Memory), 3, Policy::StickyCookie),
            open.clone(),
            &Spec::new(r, 231.0, 561.0, 1_190.0, 10.1, COOKIE_LINE)
                .ops(1.0)
                .balancer(12.6, &[0.39, 0.35, 0.26]),
        ),
        cell(
            "balance/session-redis/round-robin",
            g,
            clustered(session(Store::Redis), 3, Policy::RoundRobin),
            open.clone(),
            &Spec::new(r, 352.0, 812.0, 1_610.0, 16.0, COOKIE_LINE)
                .store(3.2, 1.0)
                .balancer(11.9, &even),
        ),
        cell(
            "balance/jwt-hs256/round-robin",
            g,
            clustered(jwt(Alg::Hs256), 3, Policy::RoundRobin),
            open,
            &Spec::new(r, 249.0, 598.0, 1_260.0, 14.4, bearer_line(HS256_TOKEN))
                .balancer(11.7, &even),
        ),
    ]
}

/// Token bytes of an HS256 JWT carrying `extra` claim bytes (base64url grows 4/3).
pub(super) fn hs256_token(extra: usize) -> u64 {
    if extra == 0 {
        HS256_TOKEN
    } else {
        HS256_TOKEN + ((extra as f64 + 9.0) * 4.0 / 3.0).round() as u64
    }
}

pub(super) fn claims_cells() -> Vec<Cell> {
    let closed = Load::Closed { concurrency: 64 };
    [
        (0usize, 28_420.0, 3_760.0),
        (1_024, 26_870.0, 3_990.0),
        (4_096, 21_310.0, 5_040.0),
    ]
    .into_iter()
    .map(|(extra, rps, p99)| {
        let mut c = jwt(Alg::Hs256);
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
