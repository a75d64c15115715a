//! Line charts: the latency percentile spectrum, throughput and p99 vs replicas, fault timelines and the scale-out projection.

use super::*;

/// Corrected latency spectrum of every equal-rate cell, on HdrHistogram's percentile axis.
pub fn latency_spectrum(run: &SuiteRun) -> Option<Chart> {
    let cells: Vec<(String, &'static str, CellStats)> = stats::cells(run, EQUAL_RATE)
        .filter_map(|c| CellStats::of(c).map(|s| (c.config.describe(), color(&c.config), s)))
        .filter(|(_, _, s)| !s.spectrum.is_empty())
        .collect();
    if cells.is_empty() {
        return None;
    }
    let top = cells
        .iter()
        .flat_map(|c| c.2.spectrum.iter())
        .filter(|p| p.percentile < 100.0)
        .map(|p| nines(p.percentile))
        .fold(2.0, f64::max);
    let n = (top.ceil() as usize).clamp(3, 6);
    let lo = cells
        .iter()
        .flat_map(|c| c.2.spectrum.iter())
        .map(|p| p.us)
        .min()
        .unwrap_or(1);
    let hi = cells
        .iter()
        .flat_map(|c| c.2.spectrum.iter())
        .map(|p| p.us)
        .max()
        .unwrap_or(10);
    let items: Vec<(String, String)> = cells
        .iter()
        .map(|c| (c.0.clone(), c.1.to_owned()))
        .collect();
    let rows = legend_rows(&items, WIDTH - 100.0);
    let top_y = 44.0 + rows as f64 * 18.0;
    let title = "Latency by percentile at equal offered rate (corrected)";
    let mut doc = Doc::new(
        "chart-spectrum",
        WIDTH,
        top_y + 330.0,
        title,
        &format!(
            "Corrected latency of {} equal-rate cells from the 0th to the {} percentile; log-scaled axes.",
            cells.len(),
            Axis::percentiles(n, "").ticks.last().map_or(String::new(), |t| t.1.clone())
        ),
    );
    doc.heading(title);
    doc.legend(80.0, 44.0, WIDTH - 20.0, &items);
    let frame = Frame {
        x: 80.0,
        y: top_y,
        w: WIDTH - 110.0,
        h: 270.0,
        xa: Axis::percentiles(n, "percentile"),
        ya: Axis::log(lo as f64, hi as f64, "latency", &f::tick_us),
    };
    frame.draw(&mut doc);
    let max_x = 100.0 - 100.0 / 10f64.powi(n as i32);
    for (name, color, s) in &cells {
        let pts: Vec<(f64, f64)> = s
            .spectrum
            .iter()
            .filter(|p| p.percentile <= max_x)
            .map(|p| (frame.px(p.percentile), frame.py(p.us as f64)))
            .collect();
        doc.path(
            &pts,
            color,
            2.0,
            false,
            &format!(
                "{name}: p50 {}, p99 {}, p99.9 {}",
                f::lat(s.p50_us),
                f::lat(s.p99_us),
                f::lat(s.p99_9_us)
            ),
        );
    }
    Some(Chart {
        id: "chart-spectrum".to_owned(),
        title: title.to_owned(),
        caption: "Each line is one configuration at the same open-loop rate; read it like an \
                  HdrHistogram plot: the far right is the rare slow request. Latency is timed \
                  from the intended send time, so queueing shows."
            .to_owned(),
        svg: doc.finish(),
        half: false,
    })
}

/// Throughput and p99 vs replicas, two panels.
pub fn scaling(run: &SuiteRun) -> Option<Chart> {
    let series = stats::all_scaling_series(run);
    if series.is_empty() {
        return None;
    }
    let colors: Vec<&str> = series
        .iter()
        .map(|(name, _)| {
            stats::all_cells(run, stats::SCALING)
                .find(|c| &stats::scheme_name(&c.config) == name)
                .map_or(PALETTE[0], |c| color(&c.config))
        })
        .collect();
    let replicas: Vec<usize> = {
        let mut v: Vec<usize> = series
            .iter()
            .flat_map(|s| s.1.iter().map(|p| p.replicas))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let max_rps = series
        .iter()
        .flat_map(|s| s.1.iter())
        .map(|p| p.stats.throughput_rps)
        .fold(0.0, f64::max);
    let max_p99 = series
        .iter()
        .flat_map(|s| s.1.iter())
        .map(|p| p.stats.p99_us)
        .fold(0.0, f64::max);
    let title = "Throughput and p99 vs replicas (one machine, shared cores)";
    let mut doc = Doc::new(
        "chart-scaling",
        WIDTH,
        400.0,
        title,
        "Measured closed-loop throughput and corrected p99 latency for 1 to N replicas behind the built-in balancer, on one machine.",
    );
    doc.heading(title);
    let items: Vec<(String, String)> = series
        .iter()
        .zip(&colors)
        .map(|((n, _), c)| (n.clone(), (*c).to_owned()))
        .collect();
    doc.legend(80.0, 44.0, WIDTH - 20.0, &items);
    let rps_frame = Frame {
        x: 90.0,
        y: 70.0,
        w: 330.0,
        h: 270.0,
        xa: Axis::integers(&replicas, "replicas"),
        ya: Axis::linear(0.0, max_rps * 1.05, "requests/s", &f::tick_int),
    };
    let p99_frame = Frame {
        x: 560.0,
        y: 70.0,
        w: 330.0,
        h: 270.0,
        xa: Axis::integers(&replicas, "replicas"),
        ya: Axis::linear(0.0, max_p99 * 1.05, "p99 latency", &f::tick_us),
    };
    rps_frame.draw(&mut doc);
    p99_frame.draw(&mut doc);
    for ((name, points), c) in series.iter().zip(&colors) {
        for (frame, value, unit) in [
            (
                &rps_frame,
                &(|p: &stats::ScalingPoint| p.stats.throughput_rps)
                    as &dyn Fn(&stats::ScalingPoint) -> f64,
                "rps",
            ),
            (&p99_frame, &|p: &stats::ScalingPoint| p.stats.p99_us, "p99"),
        ] {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (frame.px(p.replicas as f64), frame.py(value(p))))
                .collect();
            doc.path(&pts, c, 2.0, false, name);
            for (p, (x, y)) in points.iter().zip(&pts) {
                let v = value(p);
                let tip = if unit == "rps" {
                    format!(
                        "{name}, {} replicas: {} (efficiency {})",
                        p.replicas,
                        f::rps(v),
                        p.efficiency.map_or("–".to_owned(), f::ratio)
                    )
                } else {
                    format!("{name}, {} replicas: p99 {}", p.replicas, f::us(v))
                };
                doc.dot(*x, *y, 4.0, c, &tip);
            }
        }
    }
    Some(Chart {
        id: "chart-scaling".to_owned(),
        title: title.to_owned(),
        caption: format!(
            "All replicas share this machine's {} cores with the balancer, Redis and loadgen: \
             this is contention, not scale-out (see the projection).",
            run.env.cores
        ),
        svg: doc.finish(),
        half: false,
    })
}

/// `text` with its first letter in upper case, for a title.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Requests and errors per second of one fault run, with the fault instants marked.
pub fn fault_timeline(fr: &FaultRun, index: usize) -> Option<Chart> {
    let tl = &fr.trial.timeline;
    if tl.is_empty() {
        return None;
    }
    let id = format!("chart-fault-{index}");
    let kind = capitalised(fr.kind.label());
    let subtitle = fr.config.describe();
    let title = format!("{kind}: {subtitle}");
    let w = HALF;
    let mut doc = Doc::new(
        &id,
        w,
        350.0,
        &title,
        &format!(
            "Requests and errors per second over {} seconds; faults at {} s.",
            tl.len(),
            fr.fault_at_seconds
                .iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    doc.heading(&kind);
    doc.subheading(&subtitle);
    doc.legend(
        70.0,
        64.0,
        w - 10.0,
        &[
            ("requests/s".to_owned(), APP.to_owned()),
            ("errors/s".to_owned(), NEVER.to_owned()),
            ("fault".to_owned(), "#333".to_owned()),
        ],
    );
    let t_max = tl.iter().map(|s| s.t).max().unwrap_or(1) as f64 + 1.0;
    let max_req = tl.iter().map(|s| s.requests).max().unwrap_or(1) as f64;
    let max_err = tl.iter().map(|s| s.errors).max().unwrap_or(0).max(1) as f64;
    let time = Axis::linear(0.0, t_max, "seconds into the run", &|v| format!("{v:.0}"));
    let req = Frame {
        x: 70.0,
        y: 82.0,
        w: w - 90.0,
        h: 120.0,
        xa: Axis {
            scale: time.scale,
            ticks: Vec::new(),
            label: String::new(),
        },
        ya: Axis::linear(0.0, max_req * 1.1, "requests/s", &f::tick_int),
    };
    let err = Frame {
        x: 70.0,
        y: 226.0,
        w: w - 90.0,
        h: 70.0,
        xa: time,
        ya: Axis::linear(0.0, max_err, "errors/s", &f::tick_int),
    };
    req.draw(&mut doc);
    err.draw(&mut doc);
    let pts: Vec<(f64, f64)> = tl
        .iter()
        .map(|s| (req.px(s.t as f64 + 0.5), req.py(s.requests as f64)))
        .collect();
    doc.path(&pts, APP, 2.0, false, "requests per second");
    let bw = (err.px(1.0) - err.px(0.0)) * 0.8;
    for s in tl.iter().filter(|s| s.errors > 0) {
        let x = err.px(s.t as f64 + 0.5) - bw / 2.0;
        let y = err.py(s.errors as f64);
        doc.rect(
            x,
            y,
            bw,
            err.y + err.h - y,
            NEVER,
            &format!(
                "second {}: {} errors of {} requests",
                s.t, s.errors, s.requests
            ),
        );
    }
    for &at in &fr.fault_at_seconds {
        let x = req.px(at);
        doc.line(x, req.y, x, err.y + err.h, "fault");
    }
    let caption = format!(
        "{} errors ({} s with errors), {}",
        f::int(fr.trial.errors),
        fr.error_seconds,
        match fr.recovery_seconds {
            Some(s) => format!("recovered in {}", f::seconds(s)),
            None => "errors lasted to the end".to_owned(),
        }
    );
    Some(Chart {
        id,
        title,
        caption,
        svg: doc.finish(),
        half: true,
    })
}

/// Projected throughput vs replicas, log–log, with each store's limit.
pub fn projection(run: &SuiteRun) -> Option<Chart> {
    let ps = projection::projections(run);
    if ps.is_empty() {
        return None;
    }
    let colors: Vec<&str> = ps
        .iter()
        .map(|p| {
            stats::cells(run, EQUAL_RATE)
                .find(|c| stats::scheme_name(&c.config) == p.name)
                .map_or(PALETTE[0], |c| color(&c.config))
        })
        .collect();
    let lo = ps
        .iter()
        .flat_map(|p| p.points.iter())
        .map(|x| x.1)
        .fold(f64::INFINITY, f64::min);
    let hi = ps
        .iter()
        .flat_map(|p| p.points.iter())
        .map(|x| x.1)
        .fold(0.0, f64::max);
    let title = "Projected throughput: N replicas on N cores (projection, not measured)";
    let mut doc = Doc::new(
        "chart-projection",
        WIDTH,
        420.0,
        title,
        "Projected requests per second for 1 to 64 replicas from measured per-request costs; a shared store caps the configurations that use it.",
    );
    doc.heading(title);
    let items: Vec<(String, String)> = ps
        .iter()
        .zip(&colors)
        .map(|(p, c)| (p.name.clone(), (*c).to_owned()))
        .collect();
    doc.legend(90.0, 44.0, WIDTH - 20.0, &items);
    let xs: Vec<usize> = projection::PROJECTED_REPLICAS.to_vec();
    let frame = Frame {
        x: 90.0,
        y: 72.0,
        w: WIDTH - 130.0,
        h: 280.0,
        xa: Axis {
            scale: Scale::Log {
                min: 0.8,
                max: 80.0,
            },
            ticks: xs.iter().map(|&n| (n as f64, n.to_string())).collect(),
            label: "replicas (= cores), log scale".to_owned(),
        },
        ya: Axis::log(lo, hi, "requests/s (log scale)", &f::tick_int),
    };
    frame.draw(&mut doc);
    for (p, c) in ps.iter().zip(&colors) {
        let pts: Vec<(f64, f64)> = p
            .points
            .iter()
            .map(|&(n, v, _)| (frame.px(n as f64), frame.py(v)))
            .collect();
        doc.path(&pts, c, 2.0, false, &p.name);
        for (&(n, v, bound), (x, y)) in p.points.iter().zip(&pts) {
            let tip = format!(
                "{}: {n} replicas → {}{}",
                p.name,
                f::rps(v),
                if bound { " (store-bound)" } else { "" }
            );
            doc.dot(*x, *y, if bound { 5.0 } else { 3.5 }, c, &tip);
        }
    }
    // One dashed line per distinct store limit, labelled with who hits it and where.
    let mut limits: Vec<(f64, Vec<String>)> = Vec::new();
    for p in &ps {
        if let (Some(limit), Some(n)) = (p.store_rps, p.saturates_at) {
            let who = format!("{} at {n}", p.name);
            match limits
                .iter_mut()
                .find(|l| (l.0 - limit).abs() < 1e-6 * limit)
            {
                Some(l) => l.1.push(who),
                None => limits.push((limit, vec![who])),
            }
        }
    }
    for (limit, who) in &limits {
        let y = frame.py(*limit);
        doc.path(
            &[(frame.x, y), (frame.x + frame.w, y)],
            "#555",
            1.0,
            true,
            &format!("shared store limit {}", f::rps(*limit)),
        );
        doc.text(
            frame.x + frame.w - 4.0,
            y - 6.0,
            &format!("shared store limit {}", f::rps(*limit)),
            "end",
            "note",
        );
        doc.text(
            frame.x + frame.w - 4.0,
            y + 14.0,
            &format!("saturated: {} replicas", who.join(", ")),
            "end",
            "note",
        );
    }
    Some(Chart {
        id: "chart-projection".to_owned(),
        title: title.to_owned(),
        caption: "Computed from the per-request CPU measured at equal rate, the balancer's CPU \
                  per request and the store's measured capacity; real clusters also pay network \
                  and kernel costs."
            .to_owned(),
        svg: doc.finish(),
        half: false,
    })
}
