//! Fault runs: open-loop load while a replica is killed, Redis is restarted (connections
//! reset, keys lost) or stalled (SIGSTOP: connections open, no answers, keys kept), or
//! replicas are restarted one after another (churn, like short-lived functions behind a
//! gateway). The per-second timeline shows the error window and the recovery.

use std::time::Duration;

use anyhow::Context as _;

use super::cell;
use super::context::SuiteContext;
use super::deploy::{self, Deployment};
use super::matrix::FaultPlan;
use authbench_report::model::{FaultKind, FaultRun, Load, Second};

/// How long Redis stays down in `restart-redis`, and stalled in `stall-redis`: the same, so
/// the two compare.
const REDIS_DOWN: Duration = Duration::from_secs(1);

/// The instants (since the run started) at which `kind` strikes during `length`.
pub fn fault_times(kind: FaultKind, length: Duration) -> Vec<Duration> {
    match kind {
        // Churn: a restart every quarter of the run, the first after one eighth.
        FaultKind::Churn => (0..4)
            .map(|i| length.mul_f64(0.125 + 0.25 * f64::from(i)))
            .filter(|t| *t + Duration::from_millis(500) < length)
            .collect(),
        FaultKind::KillReplica | FaultKind::RestartRedis | FaultKind::StallRedis => {
            vec![length / 3]
        }
    }
}

/// Runs one fault plan.
pub async fn run(ctx: &SuiteContext, plan: &FaultPlan) -> anyhow::Result<FaultRun> {
    let mut deployment = deploy::start(ctx, &plan.config, plan.users).await?;
    let result = drive(ctx, &mut deployment, plan).await;
    deployment.stop().await;
    result
}

async fn drive(
    ctx: &SuiteContext,
    deployment: &mut Deployment,
    plan: &FaultPlan,
) -> anyhow::Result<FaultRun> {
    let load = Load::Open { rate: plan.rate };
    let engine_plan = cell::load_plan(
        &deployment.entry(),
        &plan.config,
        &load,
        plan.seconds,
        Duration::ZERO,
        plan.users,
    )?;
    let times = fault_times(plan.kind, plan.seconds);
    let replicas = plan.config.replicas;
    let kind = plan.kind;
    let strike_times = times.clone();
    let cluster = &mut deployment.cluster;
    let faults = async move {
        let started = tokio::time::Instant::now() + Duration::from_millis(20);
        let mut log = Vec::new();
        for (i, at) in strike_times.iter().enumerate() {
            tokio::time::sleep_until(started + *at).await;
            let outcome = match kind {
                FaultKind::RestartRedis => match cluster.stop_redis().await {
                    Ok(()) => {
                        tokio::time::sleep(REDIS_DOWN).await;
                        cluster.start_redis().await
                    }
                    Err(e) => Err(e),
                },
                FaultKind::StallRedis => match cluster.stall_redis() {
                    Ok(()) => {
                        tokio::time::sleep(REDIS_DOWN).await;
                        cluster.resume_redis()
                    }
                    Err(e) => {
                        // Never leave it stopped, whatever went wrong.
                        let _ = cluster.resume_redis();
                        Err(e)
                    }
                },
                FaultKind::Churn => {
                    let victim = i % replicas;
                    match cluster.kill_replica(victim).await {
                        Ok(()) => cluster.restart_replica(victim).await,
                        Err(e) => Err(e),
                    }
                }
                // r1 stays down (r0 is where the revocation probes log in).
                FaultKind::KillReplica => cluster.kill_replica(1.min(replicas - 1)).await,
            };
            if let Err(e) = outcome {
                log.push(e);
            }
        }
        log
    };
    let (outcome, fault_errors) = tokio::join!(
        crate::engine::run(
            engine_plan.clone(),
            cell::wait_for_stop(ctx.stop.clone()),
            false
        ),
        faults
    );
    let outcome = outcome?;
    if let Some(e) = fault_errors.into_iter().next() {
        return Err(e).with_context(|| format!("injecting {}", plan.kind));
    }
    let trial = cell::measure_unscraped(&engine_plan, &outcome, &plan.config);
    let fault_at: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    let (error_seconds, recovery_seconds) =
        error_window(&trial.timeline, fault_at.first().copied());
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

/// Seconds with errors, and the time from the first fault to the end of the last second with
/// errors (`None` when the errors lasted until the run ended; 0 when there were none).
pub fn error_window(timeline: &[Second], first_fault: Option<f64>) -> (u64, Option<f64>) {
    let erroring: Vec<u64> = timeline
        .iter()
        .filter(|s| s.errors > 0)
        .map(|s| s.t)
        .collect();
    let Some(&last) = erroring.last() else {
        return (0, Some(0.0));
    };
    let ended = timeline.last().map_or(0, |s| s.t);
    let recovery = if last >= ended {
        None
    } else {
        let fault = first_fault.unwrap_or(0.0);
        Some(((last + 1) as f64 - fault).max(0.0))
    };
    (erroring.len() as u64, recovery)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(t: u64, errors: u64) -> Second {
        Second {
            t,
            requests: 100,
            errors,
            p50_us: 100,
            p99_us: 200,
        }
    }

    #[test]
    fn error_window_from_the_timeline() {
        let clean: Vec<Second> = (0..5).map(|t| second(t, 0)).collect();
        assert_eq!(error_window(&clean, Some(1.5)), (0, Some(0.0)));
        let blip: Vec<Second> = [0, 0, 3, 1, 0, 0]
            .iter()
            .enumerate()
            .map(|(t, &e)| second(t as u64, e))
            .collect();
        assert_eq!(error_window(&blip, Some(1.5)), (2, Some(2.5)));
        let to_the_end: Vec<Second> = [0, 2, 2]
            .iter()
            .enumerate()
            .map(|(t, &e)| second(t as u64, e))
            .collect();
        assert_eq!(error_window(&to_the_end, Some(1.0)), (2, None));
    }

    #[test]
    fn churn_strikes_several_times_inside_the_run() {
        let times = fault_times(FaultKind::Churn, Duration::from_secs(8));
        assert_eq!(times, [1.0, 3.0, 5.0, 7.0].map(Duration::from_secs_f64));
        assert_eq!(
            fault_times(FaultKind::KillReplica, Duration::from_secs(6)),
            [Duration::from_secs(2)]
        );
    }
}
