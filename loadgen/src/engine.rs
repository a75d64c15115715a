//! Runs a plan: dispatches the schedule to the workers (open loop) or lets the workers loop
//! (closed loop), feeds the recorder, and stops on time, on a request count, or on shutdown
//! (marked partial). A worker is one connection serving a group of users ([`crate::worker`]).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Context as _};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::http::HttpClient;
use crate::plan::{LoadModel, Plan, StopAt};
use crate::progress::Progress;
use crate::record::Recorder;
use crate::result::RunOutcome;
use crate::schedule::Schedule;
use crate::user::Context;
use crate::worker::Worker;

/// One scheduled request.
#[derive(Debug, Clone, Copy)]
struct Job {
    index: u64,
    intended: Instant,
}

/// Runs `plan` until it is done or `shutdown` completes; `progress` draws a live line on a
/// terminal.
pub async fn run(
    plan: Plan,
    shutdown: impl Future<Output = ()> + Send + 'static,
    progress: bool,
) -> anyhow::Result<RunOutcome> {
    run_at(plan, shutdown, progress, None).await
}

/// [`run`], starting the schedule at the wall-clock instant `start_at` (`--start-at`; see
/// [`crate::start_at::lead`]) instead of at once.
pub async fn run_at(
    plan: Plan,
    shutdown: impl Future<Output = ()> + Send + 'static,
    progress: bool,
    start_at: Option<SystemTime>,
) -> anyhow::Result<RunOutcome> {
    let client = HttpClient::new(&plan.authority, plan.timeout)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let shutdown_task = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    // A short lead so the first intended send is not already late while tasks spin up, or
    // the wait until --start-at.
    let now = SystemTime::now();
    let lead = crate::start_at::lead(start_at, now)?;
    let started_at = now + lead;
    let start = Instant::now() + lead;
    let warmup_end = start + plan.warmup;
    let (sample_tx, mut sample_rx) = mpsc::unbounded_channel::<Vec<crate::record::Sample>>();
    let progress = Progress::new(&plan, progress);
    let recorder_task = tokio::spawn(async move {
        let mut recorder = Recorder::new(start, warmup_end);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                batch = sample_rx.recv() => match batch {
                    Some(batch) => batch.iter().for_each(|sample| recorder.record(sample)),
                    None => break,
                },
                _ = tick.tick() => progress.update(&recorder, start.elapsed()),
            }
        }
        progress.finish();
        recorder.finish();
        recorder
    });
    let ctx = Arc::new(Context::new(plan.clone(), client, sample_tx)?);

    let counts = match &plan.model {
        LoadModel::Open { stages } => {
            open_loop(
                &ctx,
                Schedule::new(stages).shard(plan.shard),
                start,
                warmup_end,
                stop_rx.clone(),
            )
            .await
        }
        LoadModel::Closed { concurrency } => {
            closed_loop(&ctx, *concurrency, start, warmup_end, stop_rx.clone())
                .await
                .map(|sent| (sent, 0))
        }
    };
    let partial = *stop_rx.borrow();
    let elapsed = start.elapsed();
    shutdown_task.abort();
    drop(ctx);
    // The recorder is awaited even when the dispatcher failed, so the progress line is
    // closed before the error is reported.
    let recorder = recorder_task.await.context("recorder task failed")?;
    let (dispatched, max_backlog) = counts?;
    Ok(RunOutcome {
        recorder,
        started_at,
        elapsed,
        partial,
        dispatched,
        max_backlog,
    })
}

/// Logs the worker's users out at the end, when the plan says so and the run was not
/// interrupted, and hands over its last samples.
async fn finish_worker(ctx: &Context, worker: &mut Worker, stop: &watch::Receiver<bool>) {
    let logout = ctx.plan.logout_at_end && !*stop.borrow();
    worker.finish(ctx, logout).await;
}

async fn open_loop(
    ctx: &Arc<Context>,
    schedule: impl Iterator<Item = (u64, Duration)> + Send + 'static,
    start: Instant,
    warmup_end: Instant,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(u64, u64)> {
    let (jobs_tx, jobs_rx) = async_channel::unbounded::<Job>();
    let mut users = JoinSet::new();
    let workers = ctx.plan.connections;
    for w in 0..workers {
        let ctx = Arc::clone(ctx);
        let jobs = jobs_rx.clone();
        let stop = stop.clone();
        let mut worker = Worker::new(&ctx, w, workers);
        users.spawn(async move {
            while let Ok(job) = jobs.recv().await {
                if *stop.borrow() {
                    break;
                }
                worker.run_job(&ctx, job.index, job.intended).await;
            }
            finish_worker(&ctx, &mut worker, &stop).await;
        });
    }
    drop(jobs_rx);

    let budget = match ctx.plan.stop {
        StopAt::Requests { count } => Some(count),
        StopAt::Duration { .. } => None,
    };
    // The dispatcher runs on its own OS thread: tokio's timer ticks in whole milliseconds,
    // which would make every request up to 1 ms late and put that lateness into the
    // corrected latency. A thread sleep wakes within tens of microseconds; requests due
    // closer together than that are released together.
    let dispatcher = tokio::task::spawn_blocking(move || {
        let (mut dispatched, mut measured, mut max_backlog) = (0u64, 0u64, 0u64);
        let start = start.into_std();
        let warmup_end = warmup_end.into_std();
        for (index, offset) in schedule {
            if budget.is_some_and(|b| measured >= b) || *stop.borrow() {
                break;
            }
            let intended = start + offset;
            loop {
                let now = std::time::Instant::now();
                if intended <= now + EARLY_RELEASE {
                    break;
                }
                // Sleep in slices so a shutdown is noticed promptly at low rates.
                std::thread::sleep((intended - now).min(Duration::from_millis(50)));
                if *stop.borrow() {
                    break;
                }
            }
            let job = Job {
                index,
                intended: Instant::from_std(intended),
            };
            if jobs_tx.send_blocking(job).is_err() {
                break;
            }
            dispatched += 1;
            if intended >= warmup_end {
                measured += 1;
            }
            max_backlog = max_backlog.max(jobs_tx.len() as u64);
        }
        (dispatched, max_backlog)
    });
    // A panicking dispatcher drops `jobs_tx` while unwinding, so the workers still drain the
    // queue and stop; the run then fails instead of passing as one that dispatched nothing.
    let counts = task_outcome("dispatcher", dispatcher.await);
    let workers = join_workers(&mut users).await;
    counts.and_then(|counts| workers.map(|()| counts))
}

/// Waits for every worker. A worker that panicked fails the run (the first panic's message
/// is the error) instead of passing as a run whose users quietly sent less.
async fn join_workers(users: &mut JoinSet<()>) -> anyhow::Result<()> {
    let mut first = Ok(());
    while let Some(joined) = users.join_next().await {
        let outcome = task_outcome("worker", joined);
        if first.is_ok() {
            first = outcome;
        }
    }
    first
}

/// Maps a task's join result to the run's: a panic (with its message, when it is a string)
/// or a cancellation is an error naming the task (`dispatcher`, `worker`), never a run that
/// silently sent less.
fn task_outcome<T>(task: &str, joined: Result<T, tokio::task::JoinError>) -> anyhow::Result<T> {
    joined.map_err(|e| {
        if e.is_panic() {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            match message {
                Some(message) => anyhow!("the {task} task panicked: {message}"),
                None => anyhow!("the {task} task panicked"),
            }
        } else {
            anyhow::Error::new(e).context(format!("the {task} task did not finish"))
        }
    })
}

/// How early the dispatcher may release a request: a worker that picks it up sends it at once,
/// and its latency still counts from the intended instant, so early release only removes the
/// dispatcher's own wake-up delay from the measurement.
const EARLY_RELEASE: Duration = Duration::from_micros(20);

async fn closed_loop(
    ctx: &Arc<Context>,
    concurrency: usize,
    start: Instant,
    warmup_end: Instant,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<u64> {
    let deadline = match ctx.plan.stop {
        StopAt::Duration { length } => Some(start + length),
        StopAt::Requests { .. } => None,
    };
    let budget = match ctx.plan.stop {
        StopAt::Requests { count } => Some(count),
        StopAt::Duration { .. } => None,
    };
    let next_index = Arc::new(AtomicU64::new(0));
    let measured = Arc::new(AtomicU64::new(0));
    tokio::time::sleep_until(start).await;
    let mut users = JoinSet::new();
    for i in 0..concurrency {
        let ctx = Arc::clone(ctx);
        let stop = stop.clone();
        let next_index = Arc::clone(&next_index);
        let measured = Arc::clone(&measured);
        let mut worker = Worker::new(&ctx, i, concurrency);
        users.spawn(async move {
            loop {
                let now = Instant::now();
                if *stop.borrow() || deadline.is_some_and(|d| now >= d) {
                    break;
                }
                if now >= warmup_end {
                    let taken = measured.fetch_add(1, Relaxed);
                    if budget.is_some_and(|b| taken >= b) {
                        break;
                    }
                }
                let index = next_index.fetch_add(1, Relaxed);
                worker.run_job(&ctx, index, now).await;
            }
            finish_worker(&ctx, &mut worker, &stop).await;
        });
    }
    join_workers(&mut users).await?;
    Ok(next_index.load(Relaxed))
}

#[cfg(test)]
mod tests {
    use tokio::task::JoinSet;

    use super::{join_workers, task_outcome};

    #[tokio::test]
    async fn a_finished_dispatcher_passes_its_counts_through() {
        let joined = tokio::task::spawn_blocking(|| (7u64, 2u64)).await;
        assert_eq!(task_outcome("dispatcher", joined).unwrap(), (7, 2));
    }

    #[tokio::test]
    async fn a_panicking_dispatcher_fails_the_run_with_the_panic_message() {
        let joined =
            tokio::task::spawn_blocking(|| -> (u64, u64) { panic!("schedule broke") }).await;
        let err = task_outcome("dispatcher", joined).expect_err("a panic is an error");
        assert_eq!(
            format!("{err:#}"),
            "the dispatcher task panicked: schedule broke"
        );
    }

    #[tokio::test]
    async fn a_formatted_panic_message_is_kept() {
        let stage = 3;
        let joined =
            tokio::task::spawn_blocking(move || -> (u64, u64) { panic!("stage {stage} broke") })
                .await;
        let err = task_outcome("dispatcher", joined).expect_err("a panic is an error");
        assert_eq!(
            format!("{err:#}"),
            "the dispatcher task panicked: stage 3 broke"
        );
    }

    #[tokio::test]
    async fn a_cancelled_dispatcher_fails_the_run() {
        let task = tokio::spawn(std::future::pending::<(u64, u64)>());
        task.abort();
        let err = task_outcome("dispatcher", task.await).expect_err("a cancelled task is an error");
        assert_eq!(err.to_string(), "the dispatcher task did not finish");
        // The join error is kept as the cause.
        assert!(
            err.downcast_ref::<tokio::task::JoinError>()
                .is_some_and(|e| e.is_cancelled()),
            "{err:#}"
        );
    }

    #[tokio::test]
    async fn a_panicking_worker_fails_the_run_after_the_others_finish() {
        let mut users = JoinSet::new();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..3 {
            let done = done_tx.clone();
            users.spawn(async move {
                if i == 1 {
                    panic!("worker {i} broke");
                }
                let _ = done.send(i);
            });
        }
        drop(done_tx);
        let err = join_workers(&mut users)
            .await
            .expect_err("a panic is an error");
        assert_eq!(
            format!("{err:#}"),
            "the worker task panicked: worker 1 broke"
        );
        let mut finished = Vec::new();
        while let Some(i) = done_rx.recv().await {
            finished.push(i);
        }
        finished.sort_unstable();
        assert_eq!(finished, [0, 2], "the other workers ran to the end");
    }

    #[tokio::test]
    async fn workers_that_finish_pass() {
        let mut users = JoinSet::new();
        for _ in 0..3 {
            users.spawn(async {});
        }
        join_workers(&mut users).await.unwrap();
    }
}
