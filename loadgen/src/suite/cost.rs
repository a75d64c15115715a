//! The cost part: what each configuration adds to a request's CPU over the unauthenticated
//! baseline, measured where a few µs can be resolved.
//!
//! One replica with one worker thread, pinned to a core of its own, loadgen (and a spawned
//! Redis) on the others; closed loop, so the replica is saturated and its CPU is spent on
//! requests, not on waking up. Each round measures `/healthz` and then the configuration's
//! route on the same server, so a pair sees the same machine; the report takes the per-round
//! differences (docs/claims.md, "How the report decides").

use std::future::Future;
use std::time::Duration;

use super::cell::{load_plan, request_route, wait_for_stop};
use super::context::SuiteContext;
use super::deploy::{self, Deployment, Snapshot};
use super::matrix::CostPlan;
use super::model::{Auth, CellConfig, CostPart, CostRound, CostSample, Load};
use super::pin::{self, Layout, SelfPin};
use crate::result::RunResult;

/// Worker threads of the measured replica: one, so it is bound by one core.
pub const WORKER_THREADS: usize = 1;

/// Which side of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `/healthz` on the configuration's server.
    Baseline,
    /// The configuration's authenticated route.
    Case,
}

/// Runs `rounds` rounds of baseline-then-case through `measure`, stopping early (with the
/// rounds done) when `stopped` says so.
pub async fn rounds<F, Fut>(
    rounds: u32,
    mut measure: F,
    stopped: impl Fn() -> bool,
) -> Result<Vec<CostRound>, String>
where
    F: FnMut(Side) -> Fut,
    Fut: Future<Output = Result<CostSample, String>>,
{
    let mut out = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        if stopped() {
            break;
        }
        let baseline = measure(Side::Baseline).await?;
        if stopped() {
            break;
        }
        let case = measure(Side::Case).await?;
        out.push(CostRound { baseline, case });
    }
    Ok(out)
}

/// What the servers counted on `route` and spent between two snapshots.
pub fn sample(
    route: &str,
    errors: u64,
    seconds: f64,
    from: &Snapshot,
    to: &Snapshot,
) -> CostSample {
    let replica = |s: &Snapshot| s.replicas.iter().flatten().next().cloned();
    let (a, b) = (
        replica(from).unwrap_or_default(),
        replica(to).unwrap_or_default(),
    );
    let requests = b
        .requests
        .get(route)
        .copied()
        .unwrap_or(0)
        .saturating_sub(a.requests.get(route).copied().unwrap_or(0));
    CostSample {
        requests,
        errors,
        seconds,
        app_user_seconds: (b.cpu_user_seconds - a.cpu_user_seconds).max(0.0),
        app_system_seconds: (b.cpu_system_seconds - a.cpu_system_seconds).max(0.0),
        store_seconds: from
            .redis
            .zip(to.redis)
            .map(|(a, b)| (b.cpu_seconds - a.cpu_seconds).max(0.0)),
    }
}

/// Measures `config` against the baseline on one pinned replica.
pub async fn measure(
    ctx: &SuiteContext,
    plan: &CostPlan,
    config: &CellConfig,
) -> Result<CostPart, String> {
    let layout = Layout::split(&pin::allowed_cores());
    let extra = ["--worker-threads".to_owned(), WORKER_THREADS.to_string()];
    let deployment = deploy::start_with(ctx, config, plan.concurrency, &extra).await?;
    let measured = pinned_rounds(ctx, plan, &deployment, layout.as_ref()).await;
    deployment.stop().await;
    Ok(CostPart {
        config: config.clone(),
        concurrency: plan.concurrency,
        seconds: plan.seconds.as_secs_f64(),
        warmup_seconds: plan.warmup.as_secs_f64(),
        worker_threads: WORKER_THREADS,
        server_core: layout.as_ref().map(|l| l.server),
        client_cores: layout.map(|l| l.clients).unwrap_or_default(),
        rounds: measured?,
    })
}

async fn pinned_rounds(
    ctx: &SuiteContext,
    plan: &CostPlan,
    deployment: &Deployment,
    layout: Option<&Layout>,
) -> Result<Vec<CostRound>, String> {
    let _self_pin = match layout {
        Some(l) => {
            let info = deployment.cluster.info();
            for pid in info.replicas.iter().filter_map(|r| r.pid) {
                pin::pin_process(pid, &[l.server]).map_err(|e| e.to_string())?;
            }
            if let Some(pid) = info.redis.as_ref().and_then(|r| r.pid) {
                pin::pin_process(pid, &l.clients).map_err(|e| e.to_string())?;
            }
            Some(SelfPin::to(&l.clients).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    rounds(
        plan.rounds,
        |side| measure_side(ctx, plan, deployment, side),
        || ctx.stopped(),
    )
    .await
}

async fn measure_side(
    ctx: &SuiteContext,
    plan: &CostPlan,
    deployment: &Deployment,
    side: Side,
) -> Result<CostSample, String> {
    let config = match side {
        Side::Baseline => CellConfig {
            auth: Auth::None,
            ..deployment.config.clone()
        },
        Side::Case => deployment.config.clone(),
    };
    let load = load_plan(
        &deployment.entry(),
        &config,
        &Load::Closed {
            concurrency: plan.concurrency,
        },
        plan.seconds,
        plan.warmup,
        plan.concurrency,
    )?;
    // The engine starts 20 ms after it is called; the first snapshot lands at the end of the
    // warm-up, after every user has logged in.
    let first_delay = Duration::from_millis(20) + plan.warmup;
    let (outcome, from) = tokio::join!(
        crate::engine::run(load.clone(), wait_for_stop(ctx.stop.clone()), false),
        async {
            tokio::time::sleep(first_delay).await;
            deployment.snapshot(ctx).await
        }
    );
    let outcome = outcome?;
    let to = deployment.snapshot(ctx).await;
    let result = RunResult::new(&load, &outcome, Vec::new());
    Ok(sample(
        request_route(config.auth),
        result.summary.errors,
        result.summary.window_seconds,
        &from,
        &to,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::scrape::{RedisSnapshot, ReplicaSnapshot};
    use std::cell::RefCell;

    /// A fake replica whose counters advance as a real one would: each side serves
    /// `requests` at `base + added` µs (case) or `base` µs (baseline), with `base` drifting
    /// from round to round as a shared machine does.
    struct FakeServer {
        cpu: f64,
        healthz: u64,
        me: u64,
        redis: f64,
        calls: Vec<Side>,
    }

    impl FakeServer {
        fn snapshot(&self) -> Snapshot {
            Snapshot {
                replicas: vec![Some(ReplicaSnapshot {
                    cpu_seconds: self.cpu,
                    cpu_user_seconds: self.cpu * 0.75,
                    cpu_system_seconds: self.cpu * 0.25,
                    requests: [
                        ("/healthz".to_owned(), self.healthz),
                        ("/jwt/me".to_owned(), self.me),
                    ]
                    .into(),
                    ..ReplicaSnapshot::default()
                })],
                balancer_cpu: None,
                redis: Some(RedisSnapshot {
                    cpu_seconds: self.redis,
                    used_memory: 0,
                }),
            }
        }

        fn serve(&mut self, side: Side, base_us: f64) -> CostSample {
            self.calls.push(side);
            let from = self.snapshot();
            let n = 10_000;
            match side {
                Side::Baseline => {
                    self.healthz += n;
                    self.cpu += n as f64 * base_us / 1e6;
                }
                Side::Case => {
                    self.me += n;
                    self.cpu += n as f64 * (base_us + 5.0) / 1e6;
                    self.redis += n as f64 * 2.0 / 1e6;
                }
            }
            let route = match side {
                Side::Baseline => "/healthz",
                Side::Case => "/jwt/me",
            };
            sample(route, 0, 0.25, &from, &self.snapshot())
        }
    }

    fn server() -> RefCell<FakeServer> {
        RefCell::new(FakeServer {
            cpu: 1.0,
            healthz: 7,
            me: 0,
            redis: 0.5,
            calls: Vec::new(),
        })
    }

    #[tokio::test]
    async fn rounds_alternate_and_pair_on_the_same_server() {
        let server = server();
        let drift = RefCell::new(20.0);
        let rounds = rounds(
            4,
            |side| {
                // The machine gets slower every round; both sides of a round see the same.
                let base = *drift.borrow();
                if side == Side::Case {
                    *drift.borrow_mut() += 3.0;
                }
                let s = server.borrow_mut().serve(side, base);
                async move { Ok(s) }
            },
            || false,
        )
        .await
        .unwrap();
        use Side::{Baseline as A, Case as B};
        assert_eq!(server.borrow().calls, [A, B, A, B, A, B, A, B]);
        assert_eq!(rounds.len(), 4);
        for (i, r) in rounds.iter().enumerate() {
            let base = 20.0 + 3.0 * i as f64;
            assert!((r.baseline.app_us().unwrap() - base).abs() < 1e-6);
            let added = r.case.app_us().unwrap() - r.baseline.app_us().unwrap();
            assert!((added - 5.0).abs() < 1e-6, "round {i}: {added}");
            assert!((r.case.store_us().unwrap() - 2.0).abs() < 1e-6);
            assert!(r.baseline.store_us().unwrap().abs() < 1e-9);
            assert!((r.case.app_user_us().unwrap() - 0.75 * (base + 5.0)).abs() < 1e-6);
        }
    }

    #[tokio::test]
    async fn stopping_keeps_finished_rounds_and_errors_propagate() {
        let server = server();
        let calls = RefCell::new(0);
        let done = rounds(
            5,
            |side| {
                *calls.borrow_mut() += 1;
                let s = server.borrow_mut().serve(side, 20.0);
                async move { Ok(s) }
            },
            || *calls.borrow() >= 3,
        )
        .await
        .unwrap();
        assert_eq!(done.len(), 1, "a half-measured round is dropped");
        let failed = rounds(3, |_| async { Err("scrape failed".to_owned()) }, || false).await;
        assert_eq!(failed.unwrap_err(), "scrape failed");
    }

    #[test]
    fn a_sample_without_a_scrape_counts_nothing() {
        let empty = Snapshot::default();
        let s = sample("/healthz", 0, 0.25, &empty, &empty);
        assert_eq!(s.requests, 0);
        assert_eq!(s.app_us(), None);
        assert_eq!(s.store_seconds, None);
    }
}
