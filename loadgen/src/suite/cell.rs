//! A load cell: one configuration brought up once and driven by the engine for each trial,
//! with the servers scraped at the start, at the end of the warm-up and at the end; the cells
//! of a group with several trials are brought up together and take turns.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;

use super::context::SuiteContext;
use super::deploy::{self, Deployment, Snapshot};
use super::matrix::CellPlan;
use crate::plan::{parse_target, LoadModel, Mix, Plan, PlanError, Scheme, Stage, StopAt};
use crate::record::{Percentiles, Phase};
use crate::result::{RunOutcome, RunResult};
use authbench_report::model::{
    Auth, Cell, CellConfig, CpuCost, Latency, Load, SpectrumPoint, Trial, WireBytes,
};

/// Percentiles of the spectrum chart (HdrHistogram's plots use the same log-scaled axis).
const SPECTRUM: [f64; 14] = [
    0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100.0,
];

/// The engine's scheme for an authentication kind.
pub fn scheme_of(auth: Auth) -> Scheme {
    match auth {
        Auth::None => Scheme::None,
        Auth::Session => Scheme::Session,
        Auth::Jwt => Scheme::Jwt,
    }
}

/// A loadgen plan against `entry`.
pub fn load_plan(
    entry: &str,
    config: &CellConfig,
    load: &Load,
    seconds: Duration,
    warmup: Duration,
    users: usize,
) -> Result<Plan, PlanError> {
    let (target, authority) = parse_target(entry)?;
    let scheme = scheme_of(config.auth);
    let length = warmup + seconds;
    let (model, connections) = match load {
        Load::Open { rate } => (
            LoadModel::Open {
                stages: vec![Stage {
                    length,
                    rate: *rate,
                    ramp: false,
                }],
            },
            users.clamp(1, 256),
        ),
        Load::Closed { concurrency } => (
            LoadModel::Closed {
                concurrency: *concurrency,
            },
            *concurrency,
        ),
    };
    Ok(Plan {
        target,
        authority,
        scheme,
        model,
        stop: StopAt::Duration { length },
        warmup,
        users: users.max(connections),
        first_user: 0,
        shard: None,
        connections,
        mix: Mix::default_for(scheme),
        logout_every: None,
        logout_at_end: false,
        renew_before: Duration::from_secs(30),
        timeout: Duration::from_secs(5),
    })
}

/// The route the cell's authenticated requests go to.
pub fn request_route(auth: Auth) -> &'static str {
    match auth {
        Auth::None => "/healthz",
        Auth::Session => "/session/me",
        Auth::Jwt => "/jwt/me",
    }
}

/// Runs the cells of `plans` with their trials taking turns ([`take_turns`]): every cell is
/// brought up first, then trial 1 of each, trial 2 of each, and so on. One cell's failure
/// stops only that cell; a trial cut short by Ctrl-C is left out.
pub async fn run_together(ctx: &SuiteContext, plans: &[&CellPlan]) -> Vec<anyhow::Result<Cell>> {
    let mut deployments: Vec<anyhow::Result<Deployment>> = Vec::new();
    for plan in plans {
        deployments.push(deploy::start(ctx, &plan.config, users_of(plan)).await);
    }
    let counts: Vec<u32> = plans
        .iter()
        .zip(&deployments)
        .map(|(p, d)| if d.is_ok() { p.trials } else { 0 })
        .collect();
    let measured = take_turns(
        &counts,
        |c, t| {
            let plan = plans[c];
            let deployment = deployments[c].as_ref().ok();
            let hdr =
                PathBuf::from("hdr").join(format!("{}.t{}.hlog", plan.id.replace('/', "_"), t + 1));
            async move {
                let deployment = deployment.context("not deployed")?;
                trial(ctx, deployment, plan, Some(hdr)).await
            }
        },
        || ctx.stopped(),
    )
    .await;
    let mut out = Vec::new();
    for ((plan, deployment), trials) in plans.iter().zip(deployments).zip(measured) {
        out.push(match deployment {
            Ok(deployment) => {
                let hops = deployment.hops.clone();
                deployment.stop().await;
                trials.map(|trials| Cell {
                    id: plan.id.clone(),
                    group: plan.group.clone(),
                    config: plan.config.clone(),
                    load: plan.load.clone(),
                    users: users_of(plan),
                    warmup_seconds: Some(plan.warmup.as_secs_f64()),
                    trials,
                    hops,
                })
            }
            Err(e) => Err(e),
        });
    }
    out
}

/// Runs trial *t* of every cell (`trials[c]` trials of cell `c`) before trial *t* + 1 of any,
/// through `measure(cell, t)`, so that a drift of the machine touches every cell alike and
/// trial *t* of one cell can be paired with trial *t* of another (docs/claims.md). A cell
/// whose trial fails keeps the error and is not measured again; when `stopped` says so after
/// a trial, that trial (cut short) is dropped and nothing more runs.
pub async fn take_turns<T, E, F, Fut>(
    trials: &[u32],
    mut measure: F,
    stopped: impl Fn() -> bool,
) -> Vec<Result<Vec<T>, E>>
where
    F: FnMut(usize, u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut out: Vec<Result<Vec<T>, E>> = trials.iter().map(|_| Ok(Vec::new())).collect();
    let most = trials.iter().copied().max().unwrap_or(0);
    'trials: for t in 0..most {
        for (c, slot) in out.iter_mut().enumerate() {
            if slot.is_err() || t >= trials[c] {
                continue;
            }
            if stopped() {
                break 'trials;
            }
            let result = measure(c, t).await;
            if stopped() {
                break 'trials;
            }
            match (result, slot) {
                (Ok(trial), Ok(done)) => done.push(trial),
                (Err(e), slot) => *slot = Err(e),
                (Ok(_), Err(_)) => {}
            }
        }
    }
    out
}

/// Virtual users of a cell: at least one per closed-loop connection.
pub fn users_of(plan: &CellPlan) -> usize {
    plan.users.max(match plan.load {
        Load::Closed { concurrency } => concurrency,
        Load::Open { .. } => 1,
    })
}

/// One trial on a running deployment.
pub async fn trial(
    ctx: &SuiteContext,
    deployment: &Deployment,
    plan: &CellPlan,
    hdr_log: Option<PathBuf>,
) -> anyhow::Result<Trial> {
    trial_at(
        ctx,
        &deployment.entry(),
        || deployment.snapshot(ctx),
        plan,
        hdr_log,
    )
    .await
}

/// One trial with load to `entry` and the servers counted by `snapshot` (a local cluster's
/// processes, or a deployment file's replicas).
pub async fn trial_at<S, Fut>(
    ctx: &SuiteContext,
    entry: &str,
    snapshot: S,
    plan: &CellPlan,
    hdr_log: Option<PathBuf>,
) -> anyhow::Result<Trial>
where
    S: Fn() -> Fut,
    Fut: Future<Output = Snapshot>,
{
    let load = load_plan(
        entry,
        &plan.config,
        &plan.load,
        plan.seconds,
        plan.warmup,
        plan.users,
    )?;
    let start = snapshot().await;
    let stop = ctx.stop.clone();
    // The engine starts 20 ms after it is called (its lead); the mid snapshot lands at the
    // end of the warm-up, when measurement starts.
    let mid_delay = Duration::from_millis(20) + plan.warmup;
    let (outcome, mid) = tokio::join!(
        crate::engine::run(load.clone(), wait_for_stop(stop), false),
        async {
            tokio::time::sleep(mid_delay).await;
            snapshot().await
        }
    );
    let outcome = outcome?;
    let end = snapshot().await;
    let hdr_log = match hdr_log {
        Some(relative) => {
            let path = ctx.in_run(&relative);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            crate::hdrlog::write(
                &path,
                outcome.started_at,
                &format!("authbench suite {}", plan.id),
                &outcome.recorder.intervals,
            )?;
            Some(relative.display().to_string())
        }
        None => None,
    };
    Ok(measure(
        &load,
        &outcome,
        &plan.config,
        Windows {
            start: &start,
            mid: &mid,
            end: &end,
        },
        hdr_log,
    ))
}

/// Completes when `stop` turns true.
pub async fn wait_for_stop(mut stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The three snapshots of a trial.
#[derive(Debug, Clone, Copy)]
pub struct Windows<'a> {
    /// Before the engine started.
    pub start: &'a Snapshot,
    /// At the end of the warm-up.
    pub mid: &'a Snapshot,
    /// After the last response.
    pub end: &'a Snapshot,
}

/// [`measure`] for a run with no `/metrics` scrapes around it (the fault and key-rotation
/// runs): no server-side counters, only what loadgen recorded.
pub fn measure_unscraped(load: &Plan, outcome: &RunOutcome, config: &CellConfig) -> Trial {
    let none = Snapshot::default();
    let windows = Windows {
        start: &none,
        mid: &none,
        end: &none,
    };
    measure(load, outcome, config, windows, None)
}

/// Turns an engine outcome and the server snapshots into a [`Trial`].
pub fn measure(
    load: &Plan,
    outcome: &RunOutcome,
    config: &CellConfig,
    w: Windows<'_>,
    hdr_log: Option<String>,
) -> Trial {
    let result = RunResult::new(load, outcome, Vec::new());
    let request = result.phases.get(&Phase::Request);
    let histogram = &outcome.recorder.phase(Phase::Request).corrected;
    let route = request_route(config.auth);
    let served = w
        .end
        .route_requests(route)
        .saturating_sub(w.mid.route_requests(route));
    let per_request = |seconds: f64| {
        if served == 0 {
            0.0
        } else {
            round2(seconds * 1e6 / served as f64)
        }
    };
    let app = (w.end.app_cpu() - w.mid.app_cpu()).max(0.0);
    let balancer = w
        .end
        .balancer_cpu
        .zip(w.mid.balancer_cpu)
        .map(|(e, m)| (e - m).max(0.0));
    let store = w
        .end
        .redis
        .zip(w.mid.redis)
        .map(|(e, m)| (e.cpu_seconds - m.cpu_seconds).max(0.0));
    let store_ops = w.end.store_ops().saturating_sub(w.mid.store_ops());
    let exchanges: u64 = outcome
        .recorder
        .phases
        .values()
        .map(|p| p.count())
        .sum::<u64>()
        + outcome.recorder.warmup_samples;
    let healthz = config.auth == Auth::None;
    let server_counted = w
        .end
        .load_requests(healthz)
        .saturating_sub(w.start.load_requests(healthz));
    let complete = w
        .start
        .replicas
        .iter()
        .chain(&w.end.replicas)
        .all(Option::is_some);
    Trial {
        requests: result.summary.requests,
        errors: result.summary.errors,
        window_seconds: result.summary.window_seconds,
        throughput_rps: result.summary.throughput_rps,
        latency: Latency {
            corrected: request.map_or_else(|| Percentiles::of(histogram), |r| r.corrected.clone()),
            uncorrected: request
                .map_or_else(|| Percentiles::of(histogram), |r| r.uncorrected.clone()),
            spectrum: spectrum(histogram),
        },
        status: request.map(|r| r.status.clone()).unwrap_or_default(),
        failures: request.map(|r| r.failures.clone()).unwrap_or_default(),
        unauthorized: request.map(|r| r.unauthorized.clone()).unwrap_or_default(),
        unavailable: request.map(|r| r.unavailable.clone()).unwrap_or_default(),
        logins: result.logins.clone(),
        replicas: result.replicas.clone(),
        bytes: request.map_or_else(WireBytes::default, |r| WireBytes {
            sent: r.bytes_sent_mean,
            received: r.bytes_received_mean,
            credential_header: r.credential_header_bytes_mean,
        }),
        cpu: CpuCost {
            app_seconds: round6(app),
            balancer_seconds: balancer.map(round6),
            store_seconds: store.map(round6),
            app_us_per_request: per_request(app),
            balancer_us_per_request: balancer.map(per_request),
            store_us_per_request: store.map(per_request),
            total_us_per_request: per_request(app + store.unwrap_or(0.0)),
        },
        store_ops_per_request: (served > 0).then(|| round2(store_ops as f64 / served as f64)),
        server_counted: complete.then_some(server_counted),
        exchanges,
        hdr_log,
        timeline: result.timeline.clone(),
    }
}

/// Latency at each of [`SPECTRUM`]'s percentiles.
pub fn spectrum(h: &Histogram<u64>) -> Vec<SpectrumPoint> {
    if h.is_empty() {
        return Vec::new();
    }
    SPECTRUM
        .iter()
        .map(|&p| SpectrumPoint {
            percentile: p,
            us: if p >= 100.0 {
                h.max()
            } else {
                h.value_at_quantile(p / 100.0)
            },
        })
        .collect()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[tokio::test]
    async fn trials_take_turns_across_cells() {
        let order = RefCell::new(Vec::new());
        let done = take_turns(
            &[3, 1, 2],
            |c, t| {
                order.borrow_mut().push((c, t));
                async move { Ok::<_, String>((c, t)) }
            },
            || false,
        )
        .await;
        assert_eq!(
            *order.borrow(),
            [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (0, 2)]
        );
        assert_eq!(done[0], Ok(vec![(0, 0), (0, 1), (0, 2)]));
        assert_eq!(done[1], Ok(vec![(1, 0)]));
        assert_eq!(done[2], Ok(vec![(2, 0), (2, 1)]));
    }

    #[tokio::test]
    async fn a_failed_cell_stops_alone_and_ctrl_c_drops_the_cut_trial() {
        let calls = RefCell::new(0);
        let done = take_turns(
            &[3, 3],
            |c, t| {
                *calls.borrow_mut() += 1;
                async move {
                    if c == 0 && t == 1 {
                        Err("replica died".to_owned())
                    } else {
                        Ok(t)
                    }
                }
            },
            || false,
        )
        .await;
        assert_eq!(done[0], Err("replica died".to_owned()));
        assert_eq!(done[1], Ok(vec![0, 1, 2]));
        assert_eq!(*calls.borrow(), 5, "the failed cell is not measured again");

        let calls = RefCell::new(0);
        let done = take_turns(
            &[2, 2],
            |_, t| {
                *calls.borrow_mut() += 1;
                async move { Ok::<_, String>(t) }
            },
            // Ctrl-C arrives during the third trial.
            || *calls.borrow() >= 3,
        )
        .await;
        // Trial 2 of cell 0 was cut short: dropped; the trials finished before it are kept.
        assert_eq!(done[0], Ok(vec![0]));
        assert_eq!(done[1], Ok(vec![0]));
        assert_eq!(*calls.borrow(), 3, "nothing runs after Ctrl-C");
    }
}
