//! Revocation window: log a user in on replica r0, check which replicas accept the
//! credential, log out (or have an admin force the logout), then probe every replica
//! directly, round after round, until all of them reject it or the observation ends.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::client;
use super::context::SuiteContext;
use super::deploy;
use super::matrix::RevocationPlan;
use authbench_report::model::{RefreshCheck, RevocationWindow, Trigger};

/// Pause between probe rounds.
const PROBE_INTERVAL: Duration = Duration::from_millis(5);

/// Measures one configuration and trigger.
pub async fn measure(
    ctx: &SuiteContext,
    plan: &RevocationPlan,
) -> anyhow::Result<RevocationWindow> {
    let ttl = plan.gateway.map_or(Duration::ZERO, |g| {
        Duration::from_millis(g.authorizer_cache_ttl_ms)
    });
    let deployment = deploy::start_shaped(ctx, &plan.config, 2, &[], |spec| {
        spec.authorizer_cache_ttl = ttl;
    })
    .await?;
    // Behind the gateway the edge decides (the replicas trust it): probe through the entry.
    let replicas = match plan.gateway {
        Some(_) => vec![deployment.entry()],
        None => deployment.cluster.replica_urls(),
    };
    let result = probe(ctx, plan, &replicas).await;
    deployment.stop().await;
    result
}

/// One probe of every replica, in order. Each probe is a sub-millisecond loopback exchange,
/// so a round takes about a millisecond per replica: the window's resolution.
async fn round(
    ctx: &SuiteContext,
    replicas: &[String],
    credential: &client::Credential,
) -> Vec<Option<bool>> {
    let mut out = Vec::with_capacity(replicas.len());
    for url in replicas {
        out.push(client::accepted(&ctx.http, url, credential).await);
    }
    out
}

/// Logs in at the first of `replicas`, ends the credential there, and probes every replica
/// until all reject it.
pub async fn probe(
    ctx: &SuiteContext,
    plan: &RevocationPlan,
    replicas: &[String],
) -> anyhow::Result<RevocationWindow> {
    let r0 = replicas.first().context("the cluster has no replica")?;
    let credential = client::login(&ctx.http, r0, plan.config.auth, 0).await?;
    // A refresh token is used once before the trigger (rotating it, on the replica that
    // issued it) and once after: the trigger must have deleted the rotated one.
    let mut refresh_token = None;
    let mut refresh_before = false;
    if let Some(token) = &credential.refresh_token {
        refresh_token = client::refresh(&ctx.http, r0, token).await?;
        refresh_before = refresh_token.is_some();
    }
    let before = round(ctx, replicas, &credential).await;
    let accepted_before = before.iter().filter(|a| **a == Some(true)).count();
    match plan.trigger {
        Trigger::ForceLogout => client::force_logout(&ctx.http, r0, &ctx.admin_token, 0).await?,
        Trigger::Logout => client::logout(&ctx.http, r0, &credential).await?,
    }
    let triggered = Instant::now();
    let mut window_ms = None;
    let mut last = before;
    while triggered.elapsed() < plan.observe {
        let now = round(ctx, replicas, &credential).await;
        let all_reject = now.iter().all(|a| *a == Some(false));
        last = now;
        if all_reject {
            window_ms = Some((triggered.elapsed().as_secs_f64() * 1e3 * 100.0).round() / 100.0);
            break;
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
    let observed = triggered.elapsed();
    let refresh = match (&credential.refresh_token, &refresh_token) {
        (None, _) => None,
        (Some(_), None) => Some(RefreshCheck {
            accepted_before: refresh_before,
            accepted_after: false,
        }),
        (Some(_), Some(token)) => Some(RefreshCheck {
            accepted_before: refresh_before,
            accepted_after: client::refresh(&ctx.http, r0, token).await?.is_some(),
        }),
    };
    Ok(RevocationWindow {
        auth: plan.config.auth,
        store: plan.config.store,
        revocation: plan.config.revocation,
        trigger: plan.trigger,
        replicas: replicas.len(),
        accepted_before,
        rejected_after: last.iter().filter(|a| **a == Some(false)).count(),
        window_ms,
        observed_ms: (observed.as_secs_f64() * 1e3 * 10.0).round() / 10.0,
        credential_ttl_seconds: credential.expires_in.unwrap_or(0) as f64,
        refresh,
        gateway: plan.gateway,
    })
}
