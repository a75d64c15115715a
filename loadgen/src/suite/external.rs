//! Runs a [`SuitePlan`] against a deployment file's cluster ([`ExternalTarget`]) instead of
//! local clusters: the parts that fit one fixed deployment run against it, every other part
//! is recorded as skipped with the reason.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::cell;
use super::client;
use super::context::SuiteContext;
use super::faults;
use super::matrix::{CellPlan, FaultPlan, SuitePlan};
use super::revocation;
use super::runner::{self, Progress, RunMeta};
use super::security;
use super::state_cost;
use super::target::{run_hook, ExternalTarget};
use authbench_report::model::{
    Alg, Auth, Balancer, CellConfig, CryptoBackend, FaultKind, FaultRun, Load, Revocation,
    StateKind, Store, SuiteRun, TokenSize, Trigger,
};
use authbench_report::vocabulary::StateMeasure;

const ENABLE_LOCAL: &str = "run the suite without --deployment (it starts local clusters)";

/// Why `config` cannot run on the target, if it cannot.
pub fn mismatch(target: &ExternalTarget, config: &CellConfig) -> Option<String> {
    let server = &target.server;
    if !config.network.is_loopback() {
        return Some(
            "adds network delay between the tiers; the deployment's network is its own".into(),
        );
    }
    if config.balancer == Balancer::Gateway {
        return Some("needs the API gateway and function pool the suite starts itself".into());
    }
    if !target.replica_urls.is_empty() && config.replicas != target.replica_urls.len() {
        return Some(format!(
            "needs {} replica(s); the deployment file lists {}",
            config.replicas,
            target.replica_urls.len()
        ));
    }
    let revocation = config.revocation.unwrap_or(Revocation::None);
    let uses_store = match config.auth {
        Auth::None => false,
        Auth::Session => true,
        Auth::Jwt => revocation != Revocation::None,
    };
    if uses_store && config.store != server.store {
        return Some(format!(
            "needs store {}; the deployment runs {}",
            config.store, server.store
        ));
    }
    if config.auth == Auth::Jwt {
        let alg = config.alg.unwrap_or(Alg::Hs256);
        if alg != server.jwt_alg {
            return Some(format!(
                "needs JWT algorithm {alg}; the deployment signs with {}",
                server.jwt_alg
            ));
        }
        if revocation != server.revocation {
            return Some(format!(
                "needs revocation {revocation}; the deployment runs {}",
                server.revocation
            ));
        }
        if let Some(b) = config.crypto_backend.filter(|b| *b != CryptoBackend::AwsLc) {
            return Some(format!(
                "needs crypto backend {b}; the deployment's is not reported"
            ));
        }
        if config.extra_claim_bytes > 0 {
            return Some(format!(
                "needs {} extra claim bytes per token",
                config.extra_claim_bytes
            ));
        }
    }
    None
}

/// Records `what` as skipped (merged with others skipped for the same reason).
fn skip(progress: &mut Progress, run: &mut SuiteRun, what: &str, reason: &str, enable: &str) {
    super::runner::record_skipped(progress, run, what, reason, enable);
}

/// Runs what fits the target; returns the run and the parts that failed.
pub async fn run(
    plan: &SuitePlan,
    ctx: &SuiteContext,
    target: &ExternalTarget,
    meta: RunMeta,
) -> (SuiteRun, Vec<String>) {
    let started = Instant::now();
    let sessions = meta
        .sessions
        .or(plan.state_cost.as_ref().map(|s| s.sessions))
        .unwrap_or(0);
    let mut run = runner::new_run(plan, ctx, meta, sessions);
    run.options.redis = if target.redis_url.is_some() {
        "external"
    } else {
        "none"
    }
    .into();
    run.target = Some(target.info());
    let mut failed = Vec::new();
    let total = plan.cells.len()
        + plan.revocation.len()
        + plan.faults.len()
        + 2 * usize::from(plan.token_sizes.is_some())
        + plan.state_cost.as_ref().map_or(0, |s| s.kinds.len())
        + usize::from(plan.cost.is_some())
        + usize::from(plan.store_capacity.is_some())
        + usize::from(!plan.deployments.is_empty())
        + usize::from(plan.rotation.is_some())
        + usize::from(plan.cells.iter().any(|c| c.config.auth == Auth::None))
        + usize::from(target.replica_urls.is_empty());
    let mut progress = Progress { done: 0, total };
    let p = &mut progress;

    if target.replica_urls.is_empty() {
        skip(
            p,
            &mut run,
            "server counts (per-cell cross-check, CPU per request)",
            "the deployment file lists no replica_urls to scrape /metrics from",
            "add replica_urls to the deployment file",
        );
    }
    cells(plan, ctx, target, p, &mut run, &mut failed, started).await;
    if !ctx.stopped() {
        if let Some(sizes) = &plan.token_sizes {
            token_sizes(
                ctx,
                target,
                &sizes.extra_claim_bytes,
                p,
                &mut run,
                &mut failed,
            )
            .await;
            runner::save(ctx, &mut run, started);
        }
    }
    for r in &plan.revocation {
        if ctx.stopped() {
            break;
        }
        let what = format!("revocation {} {}", r.config.slug(), r.trigger);
        let reason = if r.gateway.is_some() {
            Some("probes through the API gateway the suite starts itself".to_owned())
        } else if target.replica_urls.is_empty() {
            Some("needs replica_urls to probe each replica".to_owned())
        } else if r.trigger == Trigger::ForceLogout && target.admin_token.is_none() {
            Some("force-logout needs the admin token".to_owned())
        } else {
            mismatch(target, &r.config)
        };
        if let Some(reason) = reason {
            skip(p, &mut run, &what, &reason, "a deployment file with that configuration, replica_urls and admin_token_env; or run without --deployment");
            continue;
        }
        let t = Instant::now();
        match revocation::probe(ctx, r, &target.replica_urls).await {
            Ok(window) => {
                let line = match window.window_ms {
                    Some(ms) => format!("rejected everywhere after {ms:.1} ms"),
                    None => format!("still accepted after {:.0} ms", window.observed_ms),
                };
                p.line(&what, t, &line);
                run.revocation.push(window);
            }
            Err(e) => runner::fail(p, &mut failed, &what, t, e),
        }
        runner::save(ctx, &mut run, started);
    }
    if let Some(state) = &plan.state_cost {
        for &kind in &state.kinds {
            if ctx.stopped() {
                break;
            }
            state_cost(ctx, target, kind, sessions, p, &mut run, &mut failed).await;
            runner::save(ctx, &mut run, started);
        }
    }
    // Faults last: they may leave the deployment short of a replica.
    for f in &plan.faults {
        if ctx.stopped() {
            break;
        }
        fault(ctx, target, f, p, &mut run, &mut failed).await;
        runner::save(ctx, &mut run, started);
    }
    let not_here: [(bool, &str, &str); 4] = [
        (
            plan.cost.is_some(),
            "cost (CPU over /healthz)",
            "pins one saturated replica to its own core on this machine",
        ),
        (
            plan.store_capacity.is_some(),
            "store capacity",
            "hammers the store with GETs; not done to a store the suite does not own",
        ),
        (
            !plan.deployments.is_empty(),
            "deployment part (A1, A2)",
            "compares a load balancer with the API gateway and functions the suite starts itself",
        ),
        (
            plan.rotation.is_some(),
            "key rotation",
            "rewrites the replicas' key folder and reloads it",
        ),
    ];
    for (planned, what, reason) in not_here {
        if planned {
            skip(p, &mut run, what, reason, ENABLE_LOCAL);
        }
    }
    run.partial = ctx.stopped();
    runner::save(ctx, &mut run, started);
    (run, failed)
}

/// The load cells that fit, each group's trials taking turns; a cell differing from one
/// already run only in its cluster shape (balancer, policy, replica count) is skipped, since
/// the deployment's shape is fixed.
async fn cells(
    plan: &SuitePlan,
    ctx: &SuiteContext,
    target: &ExternalTarget,
    p: &mut Progress,
    run: &mut SuiteRun,
    failed: &mut Vec<String>,
    started: Instant,
) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for group in plan.cells.chunk_by(|a, b| a.group == b.group) {
        if ctx.stopped() {
            break;
        }
        let mut runnable: Vec<&CellPlan> = Vec::new();
        for c in group {
            let mut shape_free = c.config.clone();
            shape_free.replicas = 0;
            shape_free.balancer = Balancer::None;
            shape_free.policy = authbench_report::model::Policy::None;
            let key = format!("{}|{}|{:?}", c.group, shape_free.slug(), c.load);
            let users = cell::users_of(c);
            // A configuration the deployment lacks first; then a repeat of one already run.
            let reason = mismatch(target, &c.config)
                .or_else(|| {
                    (users > target.server.users).then(|| {
                        format!(
                            "needs {users} seeded users; server.users = {}",
                            target.server.users
                        )
                    })
                })
                .or_else(|| {
                    seen.get(&key).map(|first| {
                        format!(
                            "same server configuration and load as {first}; the deployment's \
                             balancer and replica count are fixed"
                        )
                    })
                });
            match reason {
                Some(reason) => skip(p, run, &c.id, &reason, ENABLE_LOCAL),
                None => {
                    seen.insert(key, c.id.clone());
                    runnable.push(c);
                }
            }
        }
        let t = Instant::now();
        let counts: Vec<u32> = runnable.iter().map(|c| c.trials).collect();
        let measured = cell::take_turns(
            &counts,
            |c, trial| {
                let plan = runnable[c];
                let hdr = PathBuf::from("hdr").join(format!(
                    "{}.t{}.hlog",
                    plan.id.replace('/', "_"),
                    trial + 1
                ));
                cell::trial_at(
                    ctx,
                    &target.entry_url,
                    || target.snapshot(&ctx.http),
                    plan,
                    Some(hdr),
                )
            },
            || ctx.stopped(),
        )
        .await;
        for (plan, trials) in runnable.iter().zip(measured) {
            match trials {
                Ok(trials) if trials.is_empty() => {}
                Ok(mut trials) => {
                    if plan.config.auth == Auth::None {
                        // The deployment's own health checks hit /healthz too: its count
                        // cannot be told apart from the baseline's requests.
                        trials.iter_mut().for_each(|t| t.server_counted = None);
                        skip(
                            p,
                            run,
                            &format!("server count cross-check of {}", plan.id),
                            "the deployment's own health checks hit /healthz too",
                            "compare the counts of the authenticated cells",
                        );
                    }
                    let cell = authbench_report::model::Cell {
                        id: plan.id.clone(),
                        group: plan.group.clone(),
                        config: plan.config.clone(),
                        load: plan.load.clone(),
                        users: cell::users_of(plan),
                        warmup_seconds: Some(plan.warmup.as_secs_f64()),
                        trials,
                        hops: Vec::new(),
                    };
                    p.line(&plan.id, t, &runner::cell_line(&cell));
                    run.cells.push(cell);
                }
                Err(e) => runner::fail(p, failed, &plan.id, t, e),
            }
        }
        runner::save(ctx, run, started);
    }
}

/// The session cookie and the deployment's own JWT; other algorithms and claim sizes skipped.
async fn token_sizes(
    ctx: &SuiteContext,
    target: &ExternalTarget,
    extra_claim_bytes: &[usize],
    p: &mut Progress,
    run: &mut SuiteRun,
    failed: &mut Vec<String>,
) {
    let t = Instant::now();
    let mut sizes = Vec::new();
    for (auth, alg) in [
        (Auth::Session, None),
        (Auth::Jwt, Some(target.server.jwt_alg)),
    ] {
        match client::login(&ctx.http, &target.entry_url, auth, 0).await {
            Ok(credential) => sizes.push(TokenSize {
                auth,
                alg,
                extra_claim_bytes: 0,
                credential_bytes: credential.value.len() as u64,
                header_bytes: credential.header_line().len() as u64 + 2,
            }),
            Err(e) => return runner::fail(p, failed, "token sizes", t, e),
        }
    }
    p.line(
        "token sizes",
        t,
        &format!(
            "session {} B, {} {} B",
            sizes[0].credential_bytes, target.server.jwt_alg, sizes[1].credential_bytes
        ),
    );
    run.token_sizes = sizes;
    if extra_claim_bytes.iter().any(|&e| e > 0) {
        skip(
            p,
            run,
            "token sizes of other algorithms and extra claims",
            &format!(
                "the deployment signs only with {}, without extra claims",
                target.server.jwt_alg
            ),
            ENABLE_LOCAL,
        );
    }
    let users = target.server.users.min(50) as u64;
    match security::sample(ctx, &target.entry_url, users).await {
        Ok(found) => run.session_security = Some(found),
        Err(e) => runner::fail(p, failed, "session security", t, e),
    }
}

/// Bytes per entry of `what`, when the deployment keeps that kind of state and its memory can
/// be read (Redis `INFO` for the Redis store, the replicas' RSS for the in-process one).
async fn state_cost(
    ctx: &SuiteContext,
    target: &ExternalTarget,
    what: StateMeasure,
    entries: u64,
    p: &mut Progress,
    run: &mut SuiteRun,
    failed: &mut Vec<String>,
) {
    let label = format!("state cost {what}");
    let server = &target.server;
    let redis = what.store() == Store::Redis;
    let needs = match what.kind() {
        StateKind::Session => None,
        StateKind::Denylist => Some(Revocation::Denylist),
        StateKind::TokenVersion => Some(Revocation::TokenVersion),
    };
    let reason = if what.store() != server.store {
        Some(format!(
            "needs store {}; the deployment runs {}",
            what.store(),
            server.store
        ))
    } else if needs.is_some_and(|r| r != server.revocation) {
        Some(format!(
            "needs revocation {}; the deployment runs {}",
            needs.unwrap_or(Revocation::None),
            server.revocation
        ))
    } else if redis && target.redis_url.is_none() {
        Some("needs redis_url to read Redis INFO memory".to_owned())
    } else if !redis && target.replica_urls.is_empty() {
        Some("needs replica_urls to read the replicas' memory".to_owned())
    } else if what.kind() == StateKind::TokenVersion && target.admin_token.is_none() {
        Some("token versions are bumped by force-logout, which needs the admin token".to_owned())
    } else {
        None
    };
    if let Some(reason) = reason {
        return skip(
            p,
            run,
            &label,
            &reason,
            "a deployment file with that configuration; or run without --deployment",
        );
    }
    let most = server.users as u64;
    let (entries, users) = if what.kind() == StateKind::TokenVersion {
        let n = entries.min(state_cost::MAX_VERSION_USERS).min(most);
        (n, n)
    } else {
        (entries, entries.min(state_cost::MAX_USERS).min(most))
    };
    let mut config = state_cost::config_of(what);
    if config.auth == Auth::Jwt {
        config.alg = Some(server.jwt_alg);
    }
    let t = Instant::now();
    let read = || async { state_cost::reading(&target.snapshot(&ctx.http).await, redis) };
    match state_cost::seed_and_measure(
        ctx,
        &target.entry_url,
        &config,
        what.kind(),
        entries,
        users,
        read,
    )
    .await
    {
        Ok(cost) => {
            p.line(
                &label,
                t,
                &format!(
                    "{:.0} B per {} ({} entries)",
                    cost.bytes_per_entry, cost.kind, cost.entries
                ),
            );
            run.state_cost.push(cost);
        }
        Err(e) => runner::fail(p, failed, &label, t, e),
    }
}

/// A fault run when its hook exists: open-loop load with the hook run a third of the way in.
async fn fault(
    ctx: &SuiteContext,
    target: &ExternalTarget,
    plan: &FaultPlan,
    p: &mut Progress,
    run: &mut SuiteRun,
    failed: &mut Vec<String>,
) {
    let hooks = &target.hooks;
    let (hook, undo) = match plan.kind {
        FaultKind::KillReplica => (
            hooks.kill_replica.as_ref().map(|h| ("kill_replica", h)),
            None,
        ),
        FaultKind::RestartRedis => (
            hooks.restart_redis.as_ref().map(|h| ("restart_redis", h)),
            None,
        ),
        FaultKind::StallRedis => (
            hooks.stall_redis.as_ref().map(|h| ("stall_redis", h)),
            hooks.resume_redis.as_ref().map(|h| ("resume_redis", h)),
        ),
        FaultKind::Churn => (None, None),
    };
    let reason = match (hook, mismatch(target, &plan.config)) {
        (_, Some(reason)) => Some(reason),
        (None, None) if plan.kind == FaultKind::Churn => {
            Some("restarts replicas one after another; no hook does that".to_owned())
        }
        (None, None) => Some(format!(
            "no hooks.{} in the deployment file",
            plan.kind.as_str().replace('-', "_")
        )),
        _ if plan.users > target.server.users => Some(format!(
            "needs {} seeded users; server.users = {}",
            plan.users, target.server.users
        )),
        _ => None,
    };
    let (Some((key, command)), None) = (hook, reason.clone()) else {
        let reason = reason.unwrap_or_default();
        return skip(
            p,
            run,
            &plan.id,
            &reason,
            "add the hook to [hooks] of a deployment file with that configuration",
        );
    };
    let t = Instant::now();
    match drive(ctx, target, plan, (key, command), undo).await {
        Ok(_) if ctx.stopped() => {}
        Ok(found) => {
            p.line(
                &plan.id,
                t,
                &format!(
                    "{} requests, {} errors in {} s",
                    found.trial.requests, found.trial.errors, found.error_seconds
                ),
            );
            run.faults.push(found);
        }
        Err(e) => runner::fail(p, failed, &plan.id, t, e),
    }
}

async fn drive(
    ctx: &SuiteContext,
    target: &ExternalTarget,
    plan: &FaultPlan,
    (key, command): (&str, &String),
    undo: Option<(&str, &String)>,
) -> anyhow::Result<FaultRun> {
    let load = Load::Open { rate: plan.rate };
    let engine_plan = cell::load_plan(
        &target.entry_url,
        &plan.config,
        &load,
        plan.seconds,
        Duration::ZERO,
        plan.users,
    )?;
    let at = plan.seconds / 3;
    let timeout = target.hook_timeout();
    let strike = async {
        tokio::time::sleep(Duration::from_millis(20) + at).await;
        let outcome = run_hook(key, command, timeout).await;
        if let Some((undo_key, undo_command)) = undo {
            // Never leave it stalled, whatever the first hook did.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let undone = run_hook(undo_key, undo_command, timeout).await;
            return outcome.and(undone);
        }
        outcome
    };
    let (outcome, hooked) = tokio::join!(
        crate::engine::run(
            engine_plan.clone(),
            cell::wait_for_stop(ctx.stop.clone()),
            false
        ),
        strike
    );
    hooked?;
    let outcome = outcome.context("the load run")?;
    let trial = cell::measure_unscraped(&engine_plan, &outcome, &plan.config);
    let fault_at = vec![at.as_secs_f64()];
    let (error_seconds, recovery_seconds) =
        faults::error_window(&trial.timeline, Some(at.as_secs_f64()));
    Ok(FaultRun {
        id: plan.id.clone(),
        kind: plan.kind,
        config: plan.config.clone(),
        rate: plan.rate,
        fault_at_seconds: fault_at,
        trial,
        error_seconds,
        recovery_seconds,
    })
}

#[cfg(test)]
#[path = "external_tests.rs"]
mod tests;
