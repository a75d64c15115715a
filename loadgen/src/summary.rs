//! The console summary printed at the end of a run.

use std::fmt::Write as _;

use crate::record::Phase;
use crate::result::RunResult;

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// A human-readable summary of `result`.
pub fn render(result: &RunResult<'_>) -> String {
    let mut out = String::new();
    let s = &result.summary;
    let _ = writeln!(
        out,
        "{} {} → {}{}",
        result.plan.scheme,
        match &result.plan.model {
            crate::plan::LoadModel::Open { .. } => "open loop",
            crate::plan::LoadModel::Closed { .. } => "closed loop",
        },
        result.plan.target,
        if result.partial {
            " (PARTIAL: interrupted)"
        } else {
            ""
        }
    );
    if let Some(shard) = &result.shard {
        let _ = writeln!(
            out,
            "shard {}/{}: users {}…{}, {} connections",
            shard.index,
            shard.count,
            result.plan.first_user,
            result.plan.first_user + result.plan.users.saturating_sub(1),
            result.plan.connections
        );
    }
    let _ = writeln!(
        out,
        "requests {}  errors {}  throughput {:.1}/s over {:.2}s  (max backlog {})",
        s.requests, s.errors, s.throughput_rps, s.window_seconds, s.max_backlog
    );
    let _ = writeln!(
        out,
        "{:<8} {:>8} {:>7}  {:>10} {:>10} {:>10} {:>10}  {:>10} {:>10}",
        "phase", "count", "errors", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "raw p50", "raw p99"
    );
    for phase in Phase::ALL {
        let Some(p) = result.phases.get(&phase) else {
            continue;
        };
        if p.count == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "{:<8} {:>8} {:>7}  {:>10} {:>10} {:>10} {:>10}  {:>10} {:>10}",
            format!("{phase:?}").to_lowercase(),
            p.count,
            p.errors,
            ms(p.corrected.p50_us),
            ms(p.corrected.p99_us),
            ms(p.corrected.p99_9_us),
            ms(p.corrected.max_us),
            ms(p.uncorrected.p50_us),
            ms(p.uncorrected.p99_us),
        );
    }
    if let Some(p) = result.phases.get(&Phase::Request) {
        if !p.unauthorized.is_empty() {
            let _ = writeln!(out, "401 by reason: {:?}", p.unauthorized);
        }
        if !p.unavailable.is_empty() {
            let _ = writeln!(out, "503 by reason: {:?}", p.unavailable);
        }
        let _ = writeln!(
            out,
            "bytes/request: sent {:.1} (credential {:.1}), received {:.1}",
            p.bytes_sent_mean, p.credential_header_bytes_mean, p.bytes_received_mean
        );
    }
    if let Some(cold) = &result.cold_starts {
        let _ = writeln!(
            out,
            "cold starts {}: waited p50 {} ms, p99 {} ms, max {} ms (start-up p50 {} ms); \
             warm requests p50 {} ms, p99 {} ms",
            cold.count,
            ms(cold.latency.p50_us),
            ms(cold.latency.p99_us),
            ms(cold.latency.max_us),
            ms(cold.startup.p50_us),
            ms(cold.warm_requests.p50_us),
            ms(cold.warm_requests.p99_us),
        );
    }
    if !result.replicas.is_empty() {
        let _ = writeln!(out, "replicas: {:?}", result.replicas);
    }
    let _ = writeln!(out, "logins by cause: {:?}", result.logins);
    let _ = writeln!(
        out,
        "(ms columns are corrected for coordinated omission: timed from the intended send; raw = from the actual send)"
    );
    out
}
