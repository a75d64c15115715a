//! The deployment part (claims A1, A2): each deployment brought up cold and driven through
//! the same open-loop schedule — warm, idle past the pool's idle timeout, burst — with the
//! gateway's and the function pool's own counters read before and after.

use std::time::Duration;

use super::cell::{self, Windows};
use super::context::SuiteContext;
use super::deploy::{self, Deployment};
use super::matrix::DeploymentPlan;
use super::scrape::{self, Counters};
use crate::plan::{LoadModel, Stage};
use crate::result::RunResult;
use authbench_contract::cluster::{ClusterSpec, FunctionsSpec};
use authbench_report::deployment::{
    ColdStartClass, DeploymentRun, EdgeCounters, GatewaySettings, PoolCounters,
};
use authbench_report::model::{Auth, CpuCost, Load};

/// Runs one deployment.
pub async fn run(ctx: &SuiteContext, plan: &DeploymentPlan) -> anyhow::Result<DeploymentRun> {
    let shape = |spec: &mut ClusterSpec| shape(spec, plan);
    // Sessions behind the gateway: the replicas still publish a key set for it to fetch.
    let extra: Vec<String> = match (plan.gateway, plan.config.auth) {
        (Some(_), Auth::Session) => vec!["--jwt-alg".into(), "ES256".into()],
        _ => Vec::new(),
    };
    let deployment = deploy::start_shaped(ctx, &plan.config, plan.users, &extra, shape).await?;
    let result = drive(ctx, &deployment, plan).await;
    deployment.stop().await;
    result
}

/// The cluster for `plan`: long-lived replicas, or one issuer replica and a function pool.
fn shape(spec: &mut ClusterSpec, plan: &DeploymentPlan) {
    if let Some(f) = plan.functions {
        spec.replicas = 1;
        spec.functions = Some(FunctionsSpec {
            max_instances: f.max_instances,
            instance_concurrency: f.instance_concurrency,
            idle_timeout: Duration::from_millis(f.idle_timeout_ms),
        });
    }
    if let Some(GatewaySettings {
        authorizer_cache_ttl_ms,
        ..
    }) = plan.gateway
    {
        spec.authorizer_cache_ttl = Duration::from_millis(authorizer_cache_ttl_ms);
    }
}

/// What the gateway and the pool have counted, when they run.
struct Extra {
    edge: Option<Counters>,
    pool: Option<Counters>,
}

async fn extra(ctx: &SuiteContext, d: &Deployment, gateway: bool) -> anyhow::Result<Extra> {
    let edge = match d.cluster.balancer_admin_url().filter(|_| gateway) {
        Some(url) => Some(scrape::counters(&ctx.http, url).await?),
        None => None,
    };
    let pool = match d.cluster.functions_admin_url() {
        Some(url) => Some(scrape::counters(&ctx.http, url).await?),
        None => None,
    };
    Ok(Extra { edge, pool })
}

async fn drive(
    ctx: &SuiteContext,
    deployment: &Deployment,
    plan: &DeploymentPlan,
) -> anyhow::Result<DeploymentRun> {
    let length: f64 = plan.stages.iter().map(|s| s.seconds).sum();
    let mut engine_plan = cell::load_plan(
        &deployment.entry(),
        &plan.config,
        &Load::Open { rate: 1.0 },
        Duration::from_secs_f64(length),
        Duration::ZERO,
        plan.users,
    )?;
    engine_plan.model = LoadModel::Open {
        stages: plan
            .stages
            .iter()
            .map(|s| Stage {
                length: Duration::from_secs_f64(s.seconds),
                rate: s.rate,
                ramp: false,
            })
            .collect(),
    };
    // Enough connections for the burst's in-flight requests, as in any open-loop cell.
    let peak = plan.stages.iter().map(|s| s.rate).fold(0.0, f64::max);
    engine_plan.connections = plan.users.clamp(1, 256).max((peak / 50.0).ceil() as usize);
    engine_plan.users = engine_plan.users.max(engine_plan.connections);
    let gateway = plan.gateway.is_some();
    let start = deployment.snapshot(ctx).await;
    let before = extra(ctx, deployment, gateway).await?;
    let outcome = crate::engine::run(
        engine_plan.clone(),
        cell::wait_for_stop(ctx.stop.clone()),
        false,
    )
    .await?;
    let end = deployment.snapshot(ctx).await;
    let after = extra(ctx, deployment, gateway).await?;
    let mut trial = cell::measure(
        &engine_plan,
        &outcome,
        &plan.config,
        Windows {
            start: &start,
            mid: &start,
            end: &end,
        },
        None,
    );
    let requests = trial.requests;
    let per_request = |seconds: f64| {
        (requests > 0).then(|| (seconds * 1e6 / requests as f64 * 100.0).round() / 100.0)
    };
    let edge_cpu = end
        .balancer_cpu
        .zip(start.balancer_cpu)
        .map(|(e, s)| (e - s).max(0.0));
    let edge = match (&before.edge, &after.edge) {
        (Some(b), Some(a)) => Some(edge_counters(b, a, edge_cpu.and_then(per_request))),
        _ => None,
    };
    let functions = match (&before.pool, &after.pool) {
        (Some(b), Some(a)) => {
            let counters = pool_counters(b, a, requests);
            // The instances are the app tier; their counters die with them, so the pool's
            // own count of instance CPU is what the trial records.
            let app = delta(b, a, "authbench_functions_instance_cpu_seconds_total");
            trial.cpu = CpuCost {
                app_seconds: app,
                app_us_per_request: per_request(app).unwrap_or(0.0),
                balancer_us_per_request: trial.cpu.balancer_seconds.and_then(per_request),
                total_us_per_request: per_request(app + trial.cpu.store_seconds.unwrap_or(0.0))
                    .unwrap_or(0.0),
                ..trial.cpu
            };
            trial.server_counted = Some(counters.requests);
            Some(counters)
        }
        _ => None,
    };
    let result = RunResult::new(&engine_plan, &outcome, Vec::new());
    let cold_starts = result.cold_starts.map(|c| ColdStartClass {
        count: c.count,
        phases: c
            .phases
            .iter()
            .map(|(phase, n)| (format!("{phase:?}").to_lowercase(), *n))
            .collect(),
        latency: c.latency,
        startup: c.startup,
        warm_requests: c.warm_requests,
    });
    Ok(DeploymentRun {
        id: plan.id.clone(),
        deployment: plan.deployment,
        config: plan.config.clone(),
        gateway_settings: plan.gateway,
        function_settings: plan.functions,
        stages: plan.stages.clone(),
        users: plan.users,
        trial,
        cold_starts,
        edge,
        functions,
    })
}

fn delta(before: &Counters, after: &Counters, name: &str) -> f64 {
    (after.sum(name) - before.sum(name)).max(0.0)
}

fn edge_counters(before: &Counters, after: &Counters, cpu: Option<f64>) -> EdgeCounters {
    let name = "authbench_gateway_rejections_total";
    let (b, a) = (
        before.by_label(name, "reason"),
        after.by_label(name, "reason"),
    );
    let rejections = a
        .iter()
        .map(|(reason, n)| {
            (
                reason.clone(),
                (n - b.get(reason).unwrap_or(&0.0)).max(0.0) as u64,
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let cache = "authbench_gateway_authorizer_cache_total";
    EdgeCounters {
        verifications: delta(
            before,
            after,
            "authbench_gateway_verify_duration_seconds_count",
        ) as u64,
        rejections,
        cache_hits: (after.sum_where(cache, "result", "hit")
            - before.sum_where(cache, "result", "hit"))
        .max(0.0) as u64,
        jwks_fetches: delta(before, after, "authbench_gateway_jwks_fetches_total") as u64,
        cpu_us_per_request: cpu,
    }
}

fn pool_counters(before: &Counters, after: &Counters, requests: u64) -> PoolCounters {
    let cold = delta(before, after, "authbench_functions_cold_starts_total");
    let cold_us = delta(
        before,
        after,
        "authbench_functions_cold_start_microseconds_sum",
    );
    let stopped = "authbench_functions_stopped_total";
    let app = delta(
        before,
        after,
        "authbench_functions_instance_cpu_seconds_total",
    );
    PoolCounters {
        cold_starts: cold as u64,
        throttled: delta(before, after, "authbench_functions_throttled_total") as u64,
        stopped_idle: (after.sum_where(stopped, "reason", "idle")
            - before.sum_where(stopped, "reason", "idle"))
        .max(0.0) as u64,
        instance_seconds: (delta(before, after, "authbench_functions_instance_seconds_total")
            * 1000.0)
            .round()
            / 1000.0,
        startup_mean_us: (cold > 0.0).then(|| (cold_us / cold).round()),
        cpu_us_per_request: (requests > 0)
            .then(|| (app * 1e6 / requests as f64 * 100.0).round() / 100.0),
        requests: delta(before, after, "authbench_functions_requests_total") as u64,
    }
}
