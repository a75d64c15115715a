//! Bytes of server-side state per entry: seed K sessions (or revoked tokens, or token
//! versions) into a one-replica cluster and divide the growth of the replica's RSS (in-process
//! store) or of Redis `used_memory` by K.
//!
//! Every user logs in once before the first reading, so the lazily derived password hashes
//! and the allocator's first growth are not charged to the entries.

use std::sync::Arc;

use anyhow::Context as _;

use super::client::{self, Credential};
use super::context::SuiteContext;
use super::deploy::{self, Snapshot};
use authbench_report::model::{
    Alg, Auth, Balancer, CellConfig, CryptoBackend, Network, Policy, Revocation, StateCost,
    StateKind, Store,
};
use authbench_report::vocabulary::StateMeasure;

/// Concurrent requests while seeding.
const SEED_WORKERS: usize = 16;
/// Users the sessions and revoked tokens are spread over.
pub const MAX_USERS: u64 = 1000;
/// Token versions are one per user, so their count is capped by the users seeded.
pub const MAX_VERSION_USERS: u64 = 20_000;

/// The configuration a state-cost measurement runs on.
pub fn config_of(what: StateMeasure) -> CellConfig {
    let (auth, revocation) = match what.kind() {
        StateKind::Session => (Auth::Session, None),
        StateKind::Denylist => (Auth::Jwt, Some(Revocation::Denylist)),
        StateKind::TokenVersion => (Auth::Jwt, Some(Revocation::TokenVersion)),
    };
    let jwt = auth == Auth::Jwt;
    CellConfig {
        auth,
        store: what.store(),
        alg: jwt.then_some(Alg::Hs256),
        revocation,
        crypto_backend: jwt.then_some(CryptoBackend::AwsLc),
        extra_claim_bytes: 0,
        replicas: 1,
        balancer: Balancer::None,
        policy: Policy::None,
        network: Network::default(),
    }
}

/// Measures `what` with `entries` entries.
pub async fn measure(
    ctx: &SuiteContext,
    what: StateMeasure,
    entries: u64,
) -> anyhow::Result<StateCost> {
    let config = config_of(what);
    let kind = what.kind();
    let versions = kind == StateKind::TokenVersion;
    let entries = if versions {
        entries.min(MAX_VERSION_USERS)
    } else {
        entries
    };
    let users = if versions {
        entries
    } else {
        entries.min(MAX_USERS)
    };
    let deployment = deploy::start(ctx, &config, users as usize).await?;
    let redis = config.store == Store::Redis;
    let result = seed_and_measure(
        ctx,
        &deployment.entry(),
        &config,
        kind,
        entries,
        users,
        || async { reading(&deployment.snapshot(ctx).await, redis) },
    )
    .await;
    deployment.stop().await;
    result
}

/// Seeds `entries` entries of `kind` through `base` (spread over `users` users) and divides
/// the growth of what `read` reads (Redis `used_memory` or the replicas' RSS) by them.
pub async fn seed_and_measure<R, Fut>(
    ctx: &SuiteContext,
    base: &str,
    config: &CellConfig,
    kind: StateKind,
    entries: u64,
    users: u64,
    read: R,
) -> anyhow::Result<StateCost>
where
    R: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<u64>>,
{
    let base = Arc::new(base.to_owned());
    let http = ctx.http.clone();
    let auth = config.auth;
    // Every user logs in once: password hashes derived, allocator warmed.
    {
        let (http, base) = (http.clone(), Arc::clone(&base));
        client::parallel(users, SEED_WORKERS, move |i| {
            let (http, base) = (http.clone(), Arc::clone(&base));
            async move {
                client::login(&http, &base, auth, i as usize)
                    .await
                    .map(drop)
            }
        })
        .await?;
    }
    let redis = config.store == Store::Redis;
    let before = read().await?;
    let admin = Arc::new(ctx.admin_token.clone());
    {
        let (http, base) = (http.clone(), Arc::clone(&base));
        client::parallel(entries, SEED_WORKERS, move |i| {
            let (http, base, admin) = (http.clone(), Arc::clone(&base), Arc::clone(&admin));
            async move {
                let user = (i % users) as usize;
                match kind {
                    StateKind::Session => client::login(&http, &base, auth, user).await.map(drop),
                    StateKind::TokenVersion => {
                        client::force_logout(&http, &base, &admin, user).await
                    }
                    StateKind::Denylist => {
                        let credential: Credential =
                            client::login(&http, &base, auth, user).await?;
                        client::logout(&http, &base, &credential).await
                    }
                }
            }
        })
        .await?;
    }
    let after = read().await?;
    Ok(StateCost {
        kind,
        store: config.store,
        entries,
        measured: if redis {
            "redis_used_memory"
        } else {
            "replica_rss"
        }
        .into(),
        bytes_before: before,
        bytes_after: after,
        bytes_per_entry: ((after as f64 - before as f64) / entries as f64 * 10.0).round() / 10.0,
    })
}

/// Redis `used_memory`, or the sum of the replicas' RSS (every replica must answer).
pub fn reading(snap: &Snapshot, redis: bool) -> anyhow::Result<u64> {
    if redis {
        snap.redis
            .map(|r| r.used_memory)
            .context("Redis INFO memory could not be read")
    } else {
        snap.replicas
            .iter()
            .map(|r| r.as_ref().map(|r| r.rss_bytes))
            .sum::<Option<u64>>()
            .filter(|_| !snap.replicas.is_empty())
            .context("a replica's /metrics could not be read")
    }
}
