//! Where and how the run was made: the machine, the tools, the suite's settings.

use super::*;

/// `cells: 1–5 trial(s) of 0.50–2.00 s`, over every cell of the run.
fn cell_lengths(run: &SuiteRun) -> String {
    let range = |v: Vec<f64>, fmt: &dyn Fn(f64) -> String| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        match (lo.is_finite(), lo == hi) {
            (false, _) => "–".to_owned(),
            (true, true) => fmt(lo),
            (true, false) => format!("{}–{}", fmt(lo), fmt(hi)),
        }
    };
    let trials = range(
        run.cells.iter().map(|c| c.trials.len() as f64).collect(),
        &|v| format!("{v:.0}"),
    );
    let seconds = range(
        run.cells
            .iter()
            // To the 10 ms: measured windows end a few ms apart.
            .flat_map(|c| {
                c.trials
                    .iter()
                    .map(|t| (t.window_seconds * 100.0).round() / 100.0)
            })
            .collect(),
        &f::seconds,
    );
    format!("cells: {trials} trial(s) of {seconds}")
}

/// The machine and software.
pub fn environment(run: &SuiteRun) -> Section {
    let e = &run.env;
    let mut t = Table::new(&[("", Left), ("", Left)]);
    let mut kv = |k: &str, v: String| t.row(vec![k.to_owned(), v]);
    kv("host", e.hostname.clone());
    kv("CPU", format!("{} · {} cores", e.cpu_model, e.cores));
    kv("memory", f::bytes(e.memory_bytes as f64));
    kv("kernel", e.kernel.clone());
    kv(
        "commit",
        e.git_commit.clone().unwrap_or_else(|| "unknown".to_owned()),
    );
    kv(
        "rustc",
        e.rustc.clone().unwrap_or_else(|| "unknown".to_owned()),
    );
    kv(
        "crates",
        e.crates
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    kv(
        "redis",
        e.redis.clone().unwrap_or_else(|| "not used".to_owned()),
    );
    if let Some(h) = &e.haproxy {
        kv("haproxy", h.clone());
    }
    if let Some(n) = &e.nginx {
        kv("nginx", n.clone());
    }
    kv(
        "suite",
        format!(
            "matrix {}, {}, Redis {}, {} seeded sessions{}",
            run.options.matrix,
            cell_lengths(run),
            run.options.redis,
            f::int(run.options.sessions),
            if run.options.slowdown_us > 0 {
                format!(", ⚠ slowdown {} µs (test knob)", run.options.slowdown_us)
            } else {
                String::new()
            }
        ),
    );
    if let Some(target) = &run.target {
        kv(
            "deployment",
            format!(
                "deployment file {:?}: load to {}, {} replica(s) scraped, Redis INFO {}",
                target.name,
                target.entry_url,
                target.replicas,
                if target.redis { "read" } else { "not read" }
            ),
        );
    }
    Section::new("environment", "Environment").table(t)
}
