//! The example's state cost, token size and revocation-window parts.

use crate::model::{
    Alg, Auth, RefreshCheck, Revocation, RevocationWindow, StateCost, StateKind, Store, TokenSize,
    Trigger,
};

use super::cells::{bearer_line, hs256_token, COOKIE_LINE, ES256_TOKEN, HS256_TOKEN, RS256_TOKEN};

pub(super) fn state_costs() -> Vec<StateCost> {
    let row = |kind: StateKind, store: Store, measured: &str, before: u64, per: f64| StateCost {
        kind,
        store,
        entries: 100_000,
        measured: measured.to_owned(),
        bytes_before: before,
        bytes_after: before + (per * 100_000.0) as u64,
        bytes_per_entry: per,
    };
    vec![
        row(
            StateKind::Session,
            Store::Memory,
            "replica_rss",
            14_680_064,
            212.4,
        ),
        row(
            StateKind::Session,
            Store::Redis,
            "redis_used_memory",
            1_048_576,
            161.3,
        ),
        row(
            StateKind::Denylist,
            Store::Memory,
            "replica_rss",
            14_811_136,
            118.2,
        ),
        row(
            StateKind::Denylist,
            Store::Redis,
            "redis_used_memory",
            1_048_576,
            128.7,
        ),
        row(
            StateKind::TokenVersion,
            Store::Redis,
            "redis_used_memory",
            1_048_576,
            88.1,
        ),
    ]
}

pub(super) fn token_sizes() -> Vec<TokenSize> {
    let jwt = |alg: Alg, extra: usize, token: u64| TokenSize {
        auth: Auth::Jwt,
        alg: Some(alg),
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
        jwt(Alg::Hs256, 0, HS256_TOKEN),
        jwt(Alg::Rs256, 0, RS256_TOKEN),
        jwt(Alg::Es256, 0, ES256_TOKEN),
        jwt(Alg::EdDsa, 0, ES256_TOKEN),
        jwt(Alg::Hs256, 256, hs256_token(256)),
        jwt(Alg::Hs256, 1_024, hs256_token(1_024)),
        jwt(Alg::Hs256, 2_048, hs256_token(2_048)),
        jwt(Alg::Hs256, 4_096, hs256_token(4_096)),
    ]
}

pub(super) fn revocations() -> Vec<RevocationWindow> {
    let row = |auth: Auth,
               store: Store,
               revocation: Option<Revocation>,
               trigger: Trigger,
               accepted: usize,
               rejected: usize,
               window: Option<f64>| RevocationWindow {
        auth,
        store,
        revocation,
        trigger,
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
        refresh: None,
        gateway: None,
    };
    let mut out = Vec::new();
    for &trigger in Trigger::ALL {
        let force = trigger == Trigger::ForceLogout;
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
            row(
                Auth::Jwt,
                Store::Memory,
                Some(Revocation::None),
                trigger,
                3,
                0,
                None,
            ),
            row(
                Auth::Jwt,
                Store::Memory,
                Some(Revocation::Denylist),
                trigger,
                3,
                1,
                None,
            ),
            row(
                Auth::Jwt,
                Store::Redis,
                Some(Revocation::Denylist),
                trigger,
                3,
                3,
                Some(if force { 1.1 } else { 0.8 }),
            ),
            row(
                Auth::Jwt,
                Store::Redis,
                Some(Revocation::TokenVersion),
                trigger,
                3,
                3,
                Some(if force { 1.0 } else { 0.9 }),
            ),
            // Short access tokens: every replica accepts the token until it expires (3 s
            // after login, plus up to a second as `exp` counts whole seconds), and the
            // refresh token is refused from the trigger on.
            RevocationWindow {
                credential_ttl_seconds: 3.0,
                observed_ms: if force { 3_710.0 } else { 3_620.0 },
                refresh: Some(RefreshCheck {
                    accepted_before: true,
                    accepted_after: false,
                }),
                ..row(
                    Auth::Jwt,
                    Store::Redis,
                    Some(Revocation::Refresh),
                    trigger,
                    3,
                    3,
                    Some(if force { 3_710.0 } else { 3_620.0 }),
                )
            },
        ]);
    }
    out
}
