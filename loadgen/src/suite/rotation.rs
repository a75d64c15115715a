//! Key rotation under load, through the gateway: replicas behind `balancer = "gateway"` sign
//! with a key directory of their own; partway through an open-loop run the key is rotated
//! (`bench-server keys --rotate` semantics: the old key kept for verification) and every
//! replica told to reload. Recorded: the run's errors, whether a token signed before the
//! rotation still works after it, and how long until the gateway accepts a token signed with
//! the new key — it learns the new `kid` by fetching the issuer's JWKS again.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::cell;
use super::client;
use super::context::SuiteContext;
use super::deploy;
use super::matrix::RotationPlan;
use super::scrape;
use authbench_contract::keys::{create_key_dir, rotate_key, JwtAlg, ADMIN_TOKEN_FILE};
use authbench_report::deployment::KeyRotation;
use authbench_report::model::{Alg, Load};

/// Pause between attempts to use a new-key token.
const PROBE_INTERVAL: Duration = Duration::from_millis(5);
/// How long the gateway gets to accept a new-key token.
const ACCEPT_WITHIN: Duration = Duration::from_secs(5);

fn contract_alg(alg: Alg) -> JwtAlg {
    match alg {
        Alg::Hs256 => JwtAlg::Hs256,
        Alg::Rs256 => JwtAlg::Rs256,
        Alg::Es256 => JwtAlg::Es256,
        Alg::EdDsa => JwtAlg::EdDsa,
    }
}

/// A duration in ms, to two decimals.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

/// Runs the rotation part.
pub async fn measure(ctx: &SuiteContext, plan: &RotationPlan) -> anyhow::Result<KeyRotation> {
    let alg = plan
        .config
        .alg
        .context("the rotation part needs a JWT algorithm")?;
    let keys = tempfile::Builder::new()
        .prefix("authbench-rotation.")
        .tempdir()
        .context("creating the rotation part's key directory")?;
    create_key_dir(keys.path(), &[contract_alg(alg)], false)?;
    let admin_token = std::fs::read_to_string(keys.path().join(ADMIN_TOKEN_FILE))?;
    let dir = keys.path().display().to_string();
    // Two more users than the load: one token from before the rotation, one from after.
    let deployment = deploy::start_shaped(ctx, &plan.config, plan.users + 2, &[], |spec| {
        // This part's own key directory: rotating it must not touch the suite's.
        if let Some(i) = spec.serve_args.iter().position(|a| a == "--key-dir") {
            if let Some(value) = spec.serve_args.get_mut(i + 1) {
                value.clone_from(&dir);
            }
        }
    })
    .await?;
    let result = drive(ctx, &deployment, plan, keys.path(), admin_token.trim()).await;
    deployment.stop().await;
    result
}

async fn drive(
    ctx: &SuiteContext,
    deployment: &deploy::Deployment,
    plan: &RotationPlan,
    keys: &std::path::Path,
    admin_token: &str,
) -> anyhow::Result<KeyRotation> {
    let entry = deployment.entry();
    let edge_url = deployment
        .cluster
        .balancer_admin_url()
        .context("the gateway has no admin port")?
        .to_owned();
    let engine_plan = cell::load_plan(
        &entry,
        &plan.config,
        &Load::Open { rate: plan.rate },
        plan.seconds,
        Duration::ZERO,
        plan.users,
    )?;
    // A token from before the rotation; user index past the engine's users.
    let old = client::login(&ctx.http, &entry, plan.config.auth, plan.users).await?;
    let edge_before = scrape::counters(&ctx.http, &edge_url).await?;
    let replicas = deployment.cluster.replica_urls();
    let alg = plan.config.alg.map(contract_alg).context("no algorithm")?;
    let rotate = async {
        tokio::time::sleep(plan.rotate_at).await;
        let started = Instant::now();
        rotate_key(keys, alg)?;
        for url in &replicas {
            let reload = format!("{url}/admin/keys/reload");
            let response = ctx
                .http
                .post(&reload)
                .bearer_auth(admin_token)
                .send()
                .await
                .with_context(|| format!("POST {reload}"))?;
            if !response.status().is_success() {
                bail!("POST {reload}: HTTP {}", response.status());
            }
        }
        let reloaded = ms(started.elapsed());
        // A new login is signed with the new key; the gateway has not seen its kid yet.
        let fresh = client::login(&ctx.http, &entry, plan.config.auth, plan.users + 1).await?;
        let new_token = ms(started.elapsed());
        let mut accepted_ms = None;
        while started.elapsed() < ACCEPT_WITHIN {
            if client::accepted(&ctx.http, &entry, &fresh).await == Some(true) {
                accepted_ms = Some(ms(started.elapsed()));
                break;
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        let old_after = client::accepted(&ctx.http, &entry, &old).await == Some(true);
        anyhow::Ok((reloaded, new_token, accepted_ms, old_after))
    };
    let (outcome, rotated) = tokio::join!(
        crate::engine::run(
            engine_plan.clone(),
            cell::wait_for_stop(ctx.stop.clone()),
            false
        ),
        rotate
    );
    let outcome = outcome?;
    let (reloaded_ms, new_token_ms, new_key_accepted_ms, old_token_accepted_after) = rotated?;
    let edge_after = scrape::counters(&ctx.http, &edge_url).await?;
    let fetches = |c: &scrape::Counters| {
        c.sum_where(
            "authbench_gateway_jwks_fetches_total",
            "trigger",
            "unknown_kid",
        )
    };
    let trial = cell::measure_unscraped(&engine_plan, &outcome, &plan.config);
    Ok(KeyRotation {
        config: plan.config.clone(),
        requests: trial.requests,
        errors: trial.errors,
        unauthorized: trial.unauthorized.clone(),
        reloaded_ms,
        new_token_ms,
        new_key_accepted_ms,
        old_token_accepted_after,
        unknown_key_fetches: (fetches(&edge_after) - fetches(&edge_before)).max(0.0) as u64,
    })
}
