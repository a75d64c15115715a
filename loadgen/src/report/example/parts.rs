//! The example's state cost, token size and revocation-window parts.

use crate::suite::model::{Auth, RefreshCheck, RevocationWindow, StateCost, Store, TokenSize};

use super::cells::{bearer_line, hs256_token, COOKIE_LINE, ES256_TOKEN, HS256_TOKEN, RS256_TOKEN};

pub(super) fn state_costs() -> Vec<StateCost> {
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

pub(super) fn token_sizes() -> Vec<TokenSize> {
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

pub(super) fn revocations() -> Vec<RevocationWindow> {
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
        refresh: None,
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
                    Some("refresh"),
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
