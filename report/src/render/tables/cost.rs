//! The cost part's table: CPU each configuration adds over no auth, with intervals.

use super::{Left, Right, Section, Table};
use crate::model::{Store, SuiteRun};
use crate::render::cost::{added_costs, Resolved, MIN_DIFF_SHARE, MIN_DIFF_US};
use crate::render::format as f;

/// The cost part: CPU each configuration adds over no auth, with intervals.
pub fn added_cost(run: &SuiteRun) -> Section {
    let costs = added_costs(run);
    let mut s = Section::new("added-cost", "CPU added over no auth, at saturation");
    let Some(first) = run.cost.first() else {
        return s.missing(run, "The cost part was", &["cost"]);
    };
    let pinned = match first.server_core {
        Some(core) => format!(
            "the replica pinned alone to core {core}, loadgen{} on core {}",
            if run.cost.iter().any(|p| p.config.store == Store::Redis) {
                " and Redis"
            } else {
                ""
            },
            first
                .client_cores
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "not pinned (fewer than two cores)".to_owned(),
    };
    s.intro.push(format!(
        "One replica per configuration with {} worker thread, {pinned}; closed loop with {} \
         connections, so the replica is saturated and its CPU goes to requests, not to waking \
         up. Each round measures `/healthz` and then the configuration on the same server ({} \
         each after {} of warm-up), the configurations taking turns; added = configuration − \
         `/healthz` of the same round. Median over rounds with a 95 % bootstrap interval; a \
         difference counts only when its whole interval lies beyond the larger of {} and {} \
         of the larger cost.",
        first.worker_threads,
        first.concurrency,
        f::seconds(first.seconds),
        f::seconds(first.warmup_seconds),
        f::us(MIN_DIFF_US),
        f::pct(MIN_DIFF_SHARE),
    ));
    let mut t = Table::new(&[
        ("configuration", Left),
        ("rounds", Right),
        ("no auth", Right),
        ("added app", Right),
        ("user", Right),
        ("kernel", Right),
        ("added store", Right),
        ("added total", Right),
        ("over no auth", Left),
        ("cores per 100k req/s", Right),
    ]);
    for c in &costs {
        t.row(vec![
            c.config.describe(),
            c.rounds.to_string(),
            f::us(c.baseline_us),
            f::interval_us(&c.app),
            f::us_signed(c.app_user_us),
            f::us_signed(c.app_system_us),
            c.store.as_ref().map_or("–".to_owned(), f::interval_us),
            f::interval_us(&c.total),
            match c.over_baseline() {
                Resolved::More => "more".to_owned(),
                Resolved::Less => "⚠ below: measurement problem".to_owned(),
                Resolved::Indistinguishable => "indistinguishable".to_owned(),
            },
            format!("{:.1}", c.cores_per_100k()),
        ]);
    }
    s.table(t)
}
