//! The cost part: what each configuration adds to a request's CPU over the unauthenticated
//! baseline, measured where a few µs can be resolved.
//!
//! One replica with one worker thread, pinned to a core of its own, loadgen (and a spawned
//! Redis) on the others; closed loop, so the replica is saturated and its CPU is spent on
//! requests, not on waking up. Each round measures `/healthz` and then the configuration's
//! route on the same server, so a pair sees the same machine; the report takes the per-round
//! differences (docs/claims.md, "How the report decides").

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};

use super::cell::{load_plan, request_route, wait_for_stop};
use super::context::SuiteContext;
use super::deploy::{self, Deployment, Snapshot};
use super::matrix::CostPlan;
use super::pin::{self, Layout, PinError, SelfPin};
use crate::result::RunResult;
use authbench_report::model::{Auth, CellConfig, CostPart, CostRound, CostSample, Load};

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

/// The order of the two sides in round `round`: baseline first in even rounds, the
/// configuration first in odd ones (A B, B A, A B …), so neither side always runs on a server
/// just woken up by the other, nor always last before the next configuration.
pub fn order(round: u32) -> [Side; 2] {
    if round.is_multiple_of(2) {
        [Side::Baseline, Side::Case]
    } else {
        [Side::Case, Side::Baseline]
    }
}

/// Runs `rounds` rounds; in each, every configuration in turn measures its baseline and
/// itself through `measure(config index, side)`, in the [`order`] of the round.
/// Interleaving the configurations exposes them to the same drift of the machine; pairing
/// the sides cancels most of what is left. Stops early (with the rounds done) when `stopped`
/// says so; a configuration whose measurement fails is dropped from later rounds and keeps
/// its error.
pub async fn rounds<E, F, Fut>(
    rounds: u32,
    configs: usize,
    mut measure: F,
    stopped: impl Fn() -> bool,
) -> Vec<Result<Vec<CostRound>, E>>
where
    F: FnMut(usize, Side) -> Fut,
    Fut: Future<Output = Result<CostSample, E>>,
{
    let mut out: Vec<Result<Vec<CostRound>, E>> = (0..configs).map(|_| Ok(Vec::new())).collect();
    'rounds: for round in 0..rounds {
        for (c, slot) in out.iter_mut().enumerate() {
            if slot.is_err() {
                continue;
            }
            let mut baseline = None;
            let mut case = None;
            for side in order(round) {
                if stopped() {
                    break 'rounds;
                }
                match measure(c, side).await {
                    Ok(s) if side == Side::Baseline => baseline = Some(s),
                    Ok(s) => case = Some(s),
                    Err(e) => {
                        *slot = Err(e);
                        break;
                    }
                }
            }
            if let (Ok(done), Some(baseline), Some(case)) = (slot, baseline, case) {
                done.push(CostRound { baseline, case });
            }
        }
    }
    out
}

/// Whether `snap` holds the replica's counters (and Redis's, when `redis`): a side measured
/// against a failed scrape would subtract zeros and record cumulative totals.
pub fn check_scraped(snap: &Snapshot, redis: bool) -> Result<(), &'static str> {
    if snap.replicas.iter().flatten().next().is_none() {
        return Err("the replica could not be scraped");
    }
    if redis && snap.redis.is_none() {
        return Err("Redis INFO could not be read");
    }
    Ok(())
}

/// The routes whose requests are logins: a side that counts one in its window measured a
/// password hash along with the requests.
pub const LOGIN_ROUTES: [&str; 2] = ["/session/login", "/jwt/login"];

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
    let logins = |r: &crate::suite::scrape::ReplicaSnapshot| -> u64 {
        LOGIN_ROUTES
            .iter()
            .map(|route| r.requests.get(*route).copied().unwrap_or(0))
            .sum()
    };
    CostSample {
        requests,
        logins: logins(&b).saturating_sub(logins(&a)),
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

/// Measures every configuration of `plan` (those `skip` lets through) against the baseline,
/// each on a replica of its own, all pinned to one core.
pub async fn measure(
    ctx: &SuiteContext,
    plan: &CostPlan,
    configs: &[CellConfig],
) -> Vec<(CellConfig, anyhow::Result<CostPart>)> {
    let layout = Layout::split(&pin::allowed_cores());
    let extra = ["--worker-threads".to_owned(), WORKER_THREADS.to_string()];
    let mut deployments = Vec::new();
    let mut out = Vec::new();
    for config in configs {
        match deploy::start_with(ctx, config, plan.concurrency, &extra).await {
            Ok(d) => deployments.push(d),
            Err(e) => out.push((config.clone(), Err(e))),
        }
    }
    let measured = match pin_all(&deployments, layout.as_ref()) {
        Ok(_self_pin) => {
            rounds(
                plan.rounds,
                deployments.len(),
                |c, side| measure_side(ctx, plan, &deployments[c], side),
                || ctx.stopped(),
            )
            .await
        }
        Err(e) => {
            // Every configuration fails with the one error, its cause kept.
            let e = Arc::new(e);
            deployments
                .iter()
                .map(|_| Err(anyhow::Error::new(Arc::clone(&e))))
                .collect()
        }
    };
    for (deployment, rounds) in deployments.into_iter().zip(measured) {
        let part = rounds.map(|rounds| CostPart {
            config: deployment.config.clone(),
            concurrency: plan.concurrency,
            seconds: plan.seconds.as_secs_f64(),
            warmup_seconds: plan.warmup.as_secs_f64(),
            worker_threads: WORKER_THREADS,
            server_core: layout.as_ref().map(|l| l.server),
            client_cores: layout
                .as_ref()
                .map(|l| l.clients.clone())
                .unwrap_or_default(),
            rounds,
        });
        out.push((deployment.config.clone(), part));
        deployment.stop().await;
    }
    out
}

/// Pins the replicas to the server core, spawned Redis servers and this process to the
/// others; this process's pin lasts as long as the returned guard.
fn pin_all(
    deployments: &[Deployment],
    layout: Option<&Layout>,
) -> Result<Option<SelfPin>, PinError> {
    let Some(l) = layout else {
        return Ok(None);
    };
    for d in deployments {
        let info = d.cluster.info();
        for pid in info.replicas.iter().filter_map(|r| r.pid) {
            pin::pin_process(pid, &[l.server])?;
        }
        if let Some(pid) = info.redis.as_ref().and_then(|r| r.pid) {
            pin::pin_process(pid, &l.clients)?;
        }
    }
    SelfPin::to(&l.clients).map(Some)
}

async fn measure_side(
    ctx: &SuiteContext,
    plan: &CostPlan,
    deployment: &Deployment,
    side: Side,
) -> anyhow::Result<CostSample> {
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
    if outcome.partial {
        bail!("interrupted");
    }
    let to = deployment.snapshot(ctx).await;
    let redis = deployment.config.store == authbench_report::model::Store::Redis
        && deployment.cluster.redis_url().is_some();
    for (when, snap) in [("before", &from), ("after", &to)] {
        check_scraped(snap, redis).map_err(|what| anyhow!("{what} {when} the window"))?;
    }
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
        let mut rounds = rounds(
            4,
            1,
            |_, side| {
                // The machine gets slower every round; both sides of a round see the same.
                let base = *drift.borrow();
                if server.borrow().calls.len() % 2 == 1 {
                    *drift.borrow_mut() += 3.0;
                }
                let s = server.borrow_mut().serve(side, base);
                async move { Ok::<_, String>(s) }
            },
            || false,
        )
        .await;
        let rounds = rounds.remove(0).unwrap();
        use Side::{Baseline as A, Case as B};
        assert_eq!(server.borrow().calls, [A, B, B, A, A, B, B, A]);
        assert_eq!(rounds.len(), 4);
        for (i, r) in rounds.iter().enumerate() {
            let base = 20.0 + 3.0 * i as f64;
            assert!((r.baseline.app_us().unwrap() - base).abs() < 1e-6);
            let added = r.case.app_us().unwrap() - r.baseline.app_us().unwrap();
            assert!((added - 5.0).abs() < 1e-6, "round {i}: {added}");
            assert!((r.case.store_us().unwrap() - 2.0).abs() < 1e-6);
            assert!(r.baseline.store_us().unwrap().abs() < 1e-9);
            assert!((r.case.app_user_us().unwrap() - 0.75 * (base + 5.0)).abs() < 1e-6);
            assert_eq!((r.baseline.logins, r.case.logins), (0, 0));
        }
    }

    #[test]
    fn logins_in_the_window_are_counted() {
        let from = server().borrow().snapshot();
        let mut to = from.clone();
        let replica = to.replicas[0].as_mut().unwrap();
        replica.requests.insert("/jwt/login".into(), 3);
        replica.requests.insert("/session/login".into(), 2);
        assert_eq!(sample("/jwt/me", 0, 0.1, &from, &to).logins, 5);
        assert_eq!(sample("/jwt/me", 0, 0.1, &to, &to).logins, 0);
    }

    #[tokio::test]
    async fn configurations_interleave_within_each_round() {
        let order = RefCell::new(Vec::new());
        let done = rounds(
            2,
            3,
            |c, side| {
                order.borrow_mut().push((c, side));
                let s = server().borrow_mut().serve(side, 20.0);
                async move { Ok::<_, String>(s) }
            },
            || false,
        )
        .await;
        use Side::{Baseline as A, Case as B};
        let first = [(0, A), (0, B), (1, A), (1, B), (2, A), (2, B)];
        let second = [(0, B), (0, A), (1, B), (1, A), (2, B), (2, A)];
        assert_eq!(order.borrow()[..6], first);
        assert_eq!(order.borrow()[6..], second);
        assert!(done.iter().all(|r| r.as_ref().unwrap().len() == 2));
    }

    #[tokio::test]
    async fn stopping_keeps_finished_rounds_and_a_failure_stays_with_its_configuration() {
        let server = server();
        let calls = RefCell::new(0);
        let done = rounds(
            5,
            1,
            |_, side| {
                *calls.borrow_mut() += 1;
                let s = server.borrow_mut().serve(side, 20.0);
                async move { Ok::<_, String>(s) }
            },
            || *calls.borrow() >= 3,
        )
        .await;
        assert_eq!(
            done[0].as_ref().unwrap().len(),
            1,
            "a half-measured round is dropped"
        );
        let calls = RefCell::new(0);
        let done = rounds(
            3,
            2,
            |c, side| {
                *calls.borrow_mut() += 1;
                let s = server.borrow_mut().serve(side, 20.0);
                async move {
                    if c == 0 {
                        Err("scrape failed".to_owned())
                    } else {
                        Ok(s)
                    }
                }
            },
            || false,
        )
        .await;
        assert_eq!(done[0].as_ref().unwrap_err(), "scrape failed");
        assert_eq!(done[1].as_ref().unwrap().len(), 3);
        assert_eq!(
            *calls.borrow(),
            1 + 3 * 2,
            "the failed one is not measured again"
        );
    }

    #[test]
    fn a_missing_scrape_fails_the_side() {
        let full = server().borrow().snapshot();
        assert_eq!(check_scraped(&full, true), Ok(()));
        let no_redis = Snapshot {
            redis: None,
            ..full.clone()
        };
        assert!(check_scraped(&no_redis, false).is_ok());
        assert!(check_scraped(&no_redis, true).is_err());
        assert!(check_scraped(&Snapshot::default(), false).is_err());
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
