//! Runs a [`SuitePlan`] part by part, printing a line per part, and rewrites `run.json`
//! atomically after each one — so an interrupted or crashed suite still leaves every finished
//! measurement on disk, marked partial.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::context::SuiteContext;
use super::deploy;
use super::matrix::{CellPlan, SuitePlan};
use super::{
    capacity, cell, cost, deployment, faults, revocation, rotation, security, state_cost, tokens,
};
use crate::fsutil::write_atomically;
use authbench_report::model::{
    Alg, CellConfig, Env, Skipped, SuiteOptions, SuiteRun, ToolInfo, SUITE_SCHEMA_VERSION,
};
use authbench_report::vocabulary::StateMeasure;

/// What the runner needs besides the plan and the context.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// The run's label.
    pub label: String,
    /// The command line.
    pub command: Vec<String>,
    /// The environment.
    pub env: Env,
    /// Entries for state cost (overrides the matrix).
    pub sessions: Option<u64>,
}

/// Runs everything; returns the run (complete, or partial after Ctrl-C) and the parts that
/// failed. `run.json` is up to date on disk whenever this returns.
pub async fn run(plan: &SuitePlan, ctx: &SuiteContext, meta: RunMeta) -> (SuiteRun, Vec<String>) {
    let started = Instant::now();
    let sessions = meta
        .sessions
        .or(plan.state_cost.as_ref().map(|s| s.sessions))
        .unwrap_or(0);
    let mut run = new_run(plan, ctx, meta, sessions);
    let mut failed = Vec::new();
    let total = plan.cells.len()
        + plan.cost.as_ref().map_or(0, |c| c.configs.len())
        + plan.revocation.len()
        + plan.faults.len()
        + plan.deployments.len()
        + usize::from(plan.rotation.is_some())
        + plan.state_cost.as_ref().map_or(0, |s| s.kinds.len())
        + usize::from(plan.token_sizes.is_some())
        + usize::from(plan.store_capacity.is_some());
    let mut progress = Progress { done: 0, total };

    for group in plan.cells.chunk_by(|a, b| a.group == b.group) {
        if ctx.stopped() {
            break;
        }
        let runnable: Vec<&CellPlan> = group
            .iter()
            .filter(|c| !skip(ctx, &mut progress, &mut run, &c.config, &c.id))
            .collect();
        // One trial each: one cell up at a time. Several: the group's cells up together, their
        // trials taking turns.
        let batches: Vec<&[&CellPlan]> = if runnable.iter().all(|c| c.trials <= 1) {
            runnable.chunks(1).collect()
        } else {
            vec![&runnable[..]]
        };
        for batch in batches {
            if ctx.stopped() || batch.is_empty() {
                break;
            }
            let t = Instant::now();
            for (cell_plan, cell) in batch.iter().zip(cell::run_together(ctx, batch).await) {
                match cell {
                    Ok(cell) if cell.trials.is_empty() => {}
                    Ok(cell) => {
                        progress.line(&cell_plan.id, t, &cell_line(&cell));
                        run.cells.push(cell);
                    }
                    Err(e) => fail(&mut progress, &mut failed, &cell_plan.id, t, e),
                }
            }
            save(ctx, &mut run, started);
        }
    }
    if let Some(cost_plan) = &plan.cost {
        let what = |c: &CellConfig| format!("cost/{}", c.slug());
        let runnable: Vec<CellConfig> = cost_plan
            .configs
            .iter()
            .filter(|c| !skip(ctx, &mut progress, &mut run, c, &what(c)))
            .cloned()
            .collect();
        if !runnable.is_empty() && !ctx.stopped() {
            let t = Instant::now();
            for (config, part) in cost::measure(ctx, cost_plan, &runnable).await {
                match part {
                    Ok(part) if part.rounds.is_empty() => {}
                    Ok(part) => {
                        progress.line(&what(&config), t, &cost_line(&part));
                        run.cost.push(part);
                    }
                    Err(e) => fail(&mut progress, &mut failed, &what(&config), t, e),
                }
            }
            save(ctx, &mut run, started);
        }
    }
    if let Some(state) = &plan.state_cost {
        for &kind in &state.kinds {
            if ctx.stopped() {
                break;
            }
            let what = format!("state cost {kind}");
            if skip(
                ctx,
                &mut progress,
                &mut run,
                &state_cost::config_of(kind),
                &what,
            ) {
                continue;
            }
            let t = Instant::now();
            match state_cost::measure(ctx, kind, sessions).await {
                Ok(cost) => {
                    let line = format!(
                        "{:.0} B per {} ({} entries)",
                        cost.bytes_per_entry, cost.kind, cost.entries
                    );
                    progress.line(&what, t, &line);
                    run.state_cost.push(cost);
                }
                Err(e) => fail(&mut progress, &mut failed, &what, t, e),
            }
            save(ctx, &mut run, started);
        }
    }
    if let Some(sizes) = &plan.token_sizes {
        if !ctx.stopped() {
            let t = Instant::now();
            match tokens::measure(ctx, &sizes.algs, &sizes.extra_claim_bytes).await {
                Ok(found) => {
                    let line = found
                        .iter()
                        .filter(|s| s.extra_claim_bytes == 0)
                        .map(|s| {
                            format!(
                                "{} {} B",
                                s.alg.map_or("session", Alg::as_str),
                                s.credential_bytes
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    progress.line("token sizes", t, &line);
                    run.token_sizes = found;
                    match security::measure(ctx).await {
                        Ok(found) => run.session_security = Some(found),
                        Err(e) => fail(&mut progress, &mut failed, "session security", t, e),
                    }
                }
                Err(e) => fail(&mut progress, &mut failed, "token sizes", t, e),
            }
            save(ctx, &mut run, started);
        }
    }
    for r in &plan.revocation {
        if ctx.stopped() {
            break;
        }
        let mut what = format!("revocation {} {}", r.config.slug(), r.trigger);
        if let Some(g) = r.gateway.filter(|g| g.authorizer_cache_ttl_ms > 0) {
            what.push_str(&format!(
                " (authorizer cache {} ms)",
                g.authorizer_cache_ttl_ms
            ));
        }
        if skip(ctx, &mut progress, &mut run, &r.config, &what) {
            continue;
        }
        let t = Instant::now();
        match revocation::measure(ctx, r).await {
            Ok(window) => {
                let line = match window.window_ms {
                    Some(ms) => format!("rejected everywhere after {ms:.1} ms"),
                    None => format!(
                        "still accepted by {} of {} replicas after {:.0} ms",
                        window.replicas - window.rejected_after,
                        window.replicas,
                        window.observed_ms
                    ),
                };
                progress.line(&what, t, &line);
                run.revocation.push(window);
            }
            Err(e) => fail(&mut progress, &mut failed, &what, t, e),
        }
        save(ctx, &mut run, started);
    }
    for f in &plan.faults {
        if ctx.stopped() {
            break;
        }
        if skip(ctx, &mut progress, &mut run, &f.config, &f.id) {
            continue;
        }
        let t = Instant::now();
        match faults::run(ctx, f).await {
            Ok(_) if ctx.stopped() => {}
            Ok(fault) => {
                let line = format!(
                    "{} requests, {} errors in {} s, {} re-logins",
                    fault.trial.requests,
                    fault.trial.errors,
                    fault.error_seconds,
                    fault
                        .trial
                        .logins
                        .iter()
                        .filter(|(cause, _)| cause.as_str() != "first")
                        .map(|(_, n)| n)
                        .sum::<u64>()
                );
                progress.line(&f.id, t, &line);
                run.faults.push(fault);
            }
            Err(e) => fail(&mut progress, &mut failed, &f.id, t, e),
        }
        save(ctx, &mut run, started);
    }
    for d in &plan.deployments {
        if ctx.stopped() {
            break;
        }
        if skip(ctx, &mut progress, &mut run, &d.config, &d.id) {
            continue;
        }
        let t = Instant::now();
        match deployment::run(ctx, d).await {
            Ok(_) if ctx.stopped() => {}
            Ok(part) => {
                progress.line(&d.id, t, &deployment_line(&part));
                run.deployments.push(part);
            }
            Err(e) => fail(&mut progress, &mut failed, &d.id, t, e),
        }
        save(ctx, &mut run, started);
    }
    if let Some(r) = &plan.rotation {
        let what = format!("key rotation {}", r.config.slug());
        if !ctx.stopped() && !skip(ctx, &mut progress, &mut run, &r.config, &what) {
            let t = Instant::now();
            match rotation::measure(ctx, r).await {
                Ok(_) if ctx.stopped() => {}
                Ok(found) => {
                    let line = format!(
                        "{} requests, {} errors; new key accepted {}",
                        found.requests,
                        found.errors,
                        found
                            .new_key_accepted_ms
                            .map_or("never".to_owned(), |ms| format!("after {ms:.1} ms"))
                    );
                    progress.line(&what, t, &line);
                    run.key_rotation = Some(found);
                }
                Err(e) => fail(&mut progress, &mut failed, &what, t, e),
            }
            save(ctx, &mut run, started);
        }
    }
    if let Some(entry) = &plan.store_capacity {
        let probe = state_cost::config_of(StateMeasure::SessionRedis);
        if !ctx.stopped() && !skip(ctx, &mut progress, &mut run, &probe, "store capacity") {
            let t = Instant::now();
            match capacity::measure(ctx, entry).await {
                Ok(cap) => {
                    progress.line(
                        "store capacity",
                        t,
                        &format!("{:.0} GET/s", cap.ops_per_second),
                    );
                    run.store_capacity = Some(cap);
                }
                Err(e) => fail(&mut progress, &mut failed, "store capacity", t, e),
            }
        }
    }
    run.partial = ctx.stopped();
    save(ctx, &mut run, started);
    (run, failed)
}

/// The run document before any part ran (marked partial until the end).
pub(super) fn new_run(
    plan: &SuitePlan,
    ctx: &SuiteContext,
    meta: RunMeta,
    sessions: u64,
) -> SuiteRun {
    SuiteRun {
        schema_version: SUITE_SCHEMA_VERSION,
        tool: ToolInfo {
            name: "loadgen".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        label: meta.label,
        command: meta.command,
        started_at_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        wall_seconds: 0.0,
        partial: true,
        options: SuiteOptions {
            matrix: plan.name.clone(),
            trials: plan.defaults.trials,
            sessions,
            cell_seconds: plan.defaults.seconds,
            warmup_seconds: plan.defaults.warmup,
            redis: ctx.redis.label().into(),
            slowdown_us: ctx.slowdown_us,
        },
        env: meta.env,
        skipped: Vec::new(),
        cells: Vec::new(),
        state_cost: Vec::new(),
        token_sizes: Vec::new(),
        revocation: Vec::new(),
        faults: Vec::new(),
        store_capacity: None,
        session_security: None,
        cost: Vec::new(),
        deployments: Vec::new(),
        key_rotation: None,
        target: None,
    }
}

/// Records `what` as skipped when its configuration cannot run here; true if skipped.
fn skip(
    ctx: &SuiteContext,
    progress: &mut Progress,
    run: &mut SuiteRun,
    config: &CellConfig,
    what: &str,
) -> bool {
    let Some((reason, enable)) = deploy::unavailable(ctx, config) else {
        return false;
    };
    record_skipped(progress, run, what, &reason, &enable);
    true
}

/// Records `what` as skipped, merged into the entry already skipped for the same reason.
pub(super) fn record_skipped(
    progress: &mut Progress,
    run: &mut SuiteRun,
    what: &str,
    reason: &str,
    enable: &str,
) {
    progress.line(what, Instant::now(), &format!("skipped: {reason}"));
    match run
        .skipped
        .iter_mut()
        .find(|s| s.reason == reason && s.enable == enable)
    {
        Some(entry) => {
            entry.what.push_str(", ");
            entry.what.push_str(what);
        }
        None => run.skipped.push(Skipped {
            what: what.to_owned(),
            reason: reason.to_owned(),
            enable: enable.to_owned(),
        }),
    }
}

/// Records `what` as failed; the error is printed with its causes.
pub(super) fn fail(
    progress: &mut Progress,
    failed: &mut Vec<String>,
    what: &str,
    t: Instant,
    e: anyhow::Error,
) {
    progress.line(what, t, &format!("FAILED: {e:#}"));
    failed.push(format!("{what}: {e:#}"));
}

pub(super) fn save(ctx: &SuiteContext, run: &mut SuiteRun, started: Instant) {
    run.wall_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    let path = ctx.run_dir.join("run.json");
    if let Err(e) = write_atomically(&path, run) {
        eprintln!("loadgen suite: writing {}: {e}", path.display());
    }
}

fn deployment_line(part: &authbench_report::model::DeploymentRun) -> String {
    let t = &part.trial;
    let mut line = format!(
        "{} requests, p50 {:.2} ms, p99 {:.2} ms, {} 401s, {} 429s",
        t.requests,
        t.latency.corrected.p50_us as f64 / 1e3,
        t.latency.corrected.p99_us as f64 / 1e3,
        t.status.get("401").copied().unwrap_or(0),
        t.status.get("429").copied().unwrap_or(0),
    );
    if let Some(cold) = &part.cold_starts {
        line.push_str(&format!(
            ", {} cold starts (waited p50 {:.1} ms)",
            cold.count,
            cold.latency.p50_us as f64 / 1e3
        ));
    }
    line
}

pub(super) fn cell_line(cell: &authbench_report::model::Cell) -> String {
    let Some(t) = cell.trials.last() else {
        return "no trial finished".into();
    };
    format!(
        "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} CPU-µs/req, {} errors",
        t.throughput_rps,
        t.latency.corrected.p50_us as f64 / 1e3,
        t.latency.corrected.p99_us as f64 / 1e3,
        t.cpu.total_us_per_request,
        t.errors
    )
}

fn cost_line(part: &authbench_report::model::CostPart) -> String {
    let added: Vec<f64> = part
        .rounds
        .iter()
        .filter_map(|r| Some(r.case.total_us()? - r.baseline.total_us()?))
        .collect();
    let base: Vec<f64> = part
        .rounds
        .iter()
        .filter_map(|r| r.baseline.total_us())
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    format!(
        "{:+.1} CPU-µs/req over /healthz ({:.1}), mean of {} rounds",
        mean(&added),
        mean(&base),
        part.rounds.len()
    )
}

pub(super) struct Progress {
    pub(super) done: usize,
    pub(super) total: usize,
}

impl Progress {
    pub(super) fn line(&mut self, what: &str, started: Instant, text: &str) {
        self.done += 1;
        eprintln!(
            "[{:>2}/{}] {what:<48} {text} ({:.1} s)",
            self.done,
            self.total,
            started.elapsed().as_secs_f64()
        );
    }
}

/// `results/<YYYY-MM-DD>-<host>-<label>`, with `-2`, `-3`… when it exists.
pub fn run_dir(root: &Path, host: &str, label: &str, now: SystemTime) -> PathBuf {
    let days = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let base = format!(
        "{y:04}-{m:02}-{d:02}-{}-{}",
        sanitize(host),
        sanitize(label)
    );
    let mut dir = root.join(&base);
    let mut n = 2;
    while dir.exists() {
        dir = root.join(format!("{base}-{n}"));
        n += 1;
    }
    dir
}

fn sanitize(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        "run".into()
    } else {
        s
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) — Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn run_folders_are_dated_and_unique() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_789), (2026, 12, 2));
        let root = tempfile::tempdir().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(20_789 * 86_400 + 3600);
        let first = run_dir(root.path(), "box.local", "quick run", now);
        assert_eq!(first.file_name().unwrap(), "2026-12-02-box-local-quick-run");
        std::fs::create_dir(&first).unwrap();
        let second = run_dir(root.path(), "box.local", "quick run", now);
        assert_eq!(
            second.file_name().unwrap(),
            "2026-12-02-box-local-quick-run-2"
        );
    }
}
