//! The report's charts, drawn from a run with [`svg`](crate::report::svg): latency spectra,
//! scaling, CPU and bytes per request, state per session, revocation windows, fault
//! timelines and the projection. Each chart has a title, axis labels, a legend and
//! accessible `<title>`/`<desc>` text; a chart whose data is missing is simply absent.

use crate::report::format as f;
use crate::report::projection;
use crate::report::stats::{self, CellStats, CLAIMS, EQUAL_RATE};
use crate::report::svg::{nines, text_width, Axis, Doc, Frame, Scale, PALETTE};
use crate::report::tables::revocation_name;
use crate::report::verdict::IMMEDIATE_MS;
use crate::suite::model::{Auth, CellConfig, FaultRun, Store, SuiteRun};

/// Width of a full-width chart, px.
pub const WIDTH: f64 = 920.0;
/// Width of a chart shown two to a row, px.
pub const HALF: f64 = 450.0;

/// One chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// Element id.
    pub id: String,
    /// Title.
    pub title: String,
    /// A sentence under the chart.
    pub caption: String,
    /// The `<svg>` element.
    pub svg: String,
    /// Half width: two fit side by side.
    pub half: bool,
}

const APP: &str = "#4e79a7";
const STORE: &str = "#f28e2b";
const CREDENTIAL: &str = "#e15759";
const REST: &str = "#bab0ac";
const NEVER: &str = "#d62728";
const GOOD: &str = "#59a14f";

/// A stable colour per scheme configuration, so a scheme looks the same in every chart.
pub fn color(c: &CellConfig) -> &'static str {
    let rust_crypto = c.crypto_backend.as_deref() == Some("rust-crypto");
    match (c.auth, c.store, c.alg.as_deref(), c.revocation.as_deref()) {
        (Auth::None, ..) => "#7f7f7f",
        (Auth::Session, Store::Memory, ..) => "#1f77b4",
        (Auth::Session, Store::Redis, ..) => "#17becf",
        (Auth::Jwt, _, _, Some("denylist")) if c.store == Store::Redis => "#8c564b",
        (Auth::Jwt, _, _, Some("denylist")) => "#bcbd22",
        (Auth::Jwt, _, _, Some("token-version")) => "#e377c2",
        (Auth::Jwt, _, Some("ES256"), _) if rust_crypto => "#393b79",
        (Auth::Jwt, _, Some("HS256"), _) => "#ff7f0e",
        (Auth::Jwt, _, Some("RS256"), _) => "#d62728",
        (Auth::Jwt, _, Some("ES256"), _) => "#9467bd",
        (Auth::Jwt, _, Some("EdDSA"), _) => "#2ca02c",
        _ => PALETTE[11],
    }
}

fn legend_rows(items: &[(String, String)], width: f64) -> usize {
    let mut rows = 1;
    let mut x = 0.0;
    for (label, _) in items {
        let w = 22.0 + text_width(label, 11.5) + 16.0;
        if x + w > width && x > 0.0 {
            rows += 1;
            x = 0.0;
        }
        x += w;
    }
    rows
}

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
            stats::cells(run, stats::SCALING)
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

/// One horizontal bar: stacked segments `(value, colour, name)`.
struct Bar {
    label: String,
    segments: Vec<(f64, String, String)>,
    value_label: String,
    hatched: bool,
}

struct BarChart<'a> {
    id: &'a str,
    width: f64,
    title: &'a str,
    desc: String,
    x_label: &'a str,
    legend: Vec<(String, String)>,
    bars: Vec<Bar>,
    /// A prepared (log) axis instead of a linear one from 0; its label is `x_label`.
    log: Option<Axis>,
    /// Formats values in hover texts.
    fmt: &'a dyn Fn(f64) -> String,
    /// Formats axis ticks.
    tick: &'a dyn Fn(f64) -> String,
}

fn bar_chart(c: BarChart<'_>, decorate: impl FnOnce(&mut Doc, &Frame)) -> String {
    let label_w = c
        .bars
        .iter()
        .map(|b| text_width(&b.label, 12.0))
        .fold(80.0, f64::max)
        .min(c.width * 0.36);
    let width = c.width;
    let rows = if c.legend.is_empty() {
        0
    } else {
        legend_rows(&c.legend, width - 40.0)
    };
    let top = 40.0 + rows as f64 * 18.0 + 8.0;
    let bar_h = 18.0;
    let gap = 8.0;
    let plot_h = c.bars.len() as f64 * (bar_h + gap) + gap;
    let mut doc = Doc::new(c.id, width, top + plot_h + 52.0, c.title, &c.desc);
    doc.heading(c.title);
    if !c.legend.is_empty() {
        doc.legend(20.0, 44.0, width - 20.0, &c.legend);
    }
    let max = c
        .bars
        .iter()
        .map(|b| b.segments.iter().map(|s| s.0).sum::<f64>())
        .fold(0.0, f64::max);
    let x0 = label_w + 24.0;
    let xa = match &c.log {
        Some(axis) => Axis {
            label: c.x_label.to_owned(),
            ..axis.clone()
        },
        None => Axis::linear(0.0, max * 1.12, c.x_label, c.tick),
    };
    let frame = Frame {
        x: x0,
        y: top,
        w: width - x0 - 80.0,
        h: plot_h,
        xa,
        ya: Axis {
            scale: Scale::Linear { min: 0.0, max: 1.0 },
            ticks: Vec::new(),
            label: String::new(),
        },
    };
    frame.draw(&mut doc);
    let hatch = c
        .bars
        .iter()
        .any(|b| b.hatched)
        .then(|| doc.hatch("never", NEVER));
    for (i, b) in c.bars.iter().enumerate() {
        let y = top + gap + i as f64 * (bar_h + gap);
        doc.text(x0 - 8.0, y + 13.0, &b.label, "end", "bl");
        let mut acc = 0.0;
        let mut left = match c.log {
            Some(_) => frame.x,
            None => frame.px(0.0),
        };
        for (v, col, name) in &b.segments {
            acc += v;
            let right = frame.px(acc).max(left + 1.0);
            let fill = match (&hatch, b.hatched) {
                (Some(h), true) => h.clone(),
                _ => col.clone(),
            };
            doc.rect(
                left,
                y,
                right - left,
                bar_h,
                &fill,
                &format!("{}: {name} {}", b.label, (c.fmt)(*v)),
            );
            left = right;
        }
        if b.hatched {
            // The bar reaches the axis end: label it inside, on a white patch.
            let w = text_width(&b.value_label, 11.0) + 10.0;
            doc.rect(
                left - w - 6.0,
                y + 2.0,
                w,
                bar_h - 4.0,
                "#ffffff",
                &b.value_label,
            );
            doc.text(left - 11.0, y + 13.0, &b.value_label, "end", "val never");
        } else {
            doc.text(left + 6.0, y + 13.0, &b.value_label, "start", "val");
        }
    }
    decorate(&mut doc, &frame);
    doc.finish()
}

/// CPU per request per equal-rate cell, app and store stacked.
pub fn cpu_per_request(run: &SuiteRun) -> Option<Chart> {
    let bars: Vec<Bar> = stats::cells(run, EQUAL_RATE)
        .filter_map(|c| CellStats::of(c).map(|s| (c, s)))
        .map(|(c, s)| {
            let mut segments = vec![(s.app_us, APP.to_owned(), "replica".to_owned())];
            if let Some(st) = s.store_us.filter(|v| *v > 0.0) {
                segments.push((st, STORE.to_owned(), "Redis".to_owned()));
            }
            Bar {
                label: c.config.describe(),
                value_label: f::us(s.app_us + s.store_us.unwrap_or(0.0)),
                segments,
                hatched: false,
            }
        })
        .collect();
    if bars.is_empty() {
        return None;
    }
    let title = "CPU per request at equal offered rate";
    let svg = bar_chart(
        BarChart {
            id: "chart-cpu",
            width: WIDTH,
            tick: &f::tick_us,
            title,
            desc: format!("Server CPU microseconds per authenticated request for {} configurations, replica and Redis stacked.", bars.len()),
            x_label: "CPU-µs per request",
            legend: vec![
                ("replica process".to_owned(), APP.to_owned()),
                ("Redis (store)".to_owned(), STORE.to_owned()),
            ],
            bars,
            log: None,
            fmt: &|v| f::us(v),
        },
        |_, _| {},
    );
    Some(Chart {
        id: "chart-cpu".to_owned(),
        title: title.to_owned(),
        caption: "Whole-request CPU of the server processes (HTTP, auth, store client), per \
                  authenticated request; the no-auth row is the floor every scheme pays."
            .to_owned(),
        svg,
        half: false,
    })
}

/// Bytes on the wire per request: credential header and the rest.
pub fn bytes_per_request(run: &SuiteRun) -> Option<Chart> {
    let mut cells: Vec<_> = stats::cells(run, EQUAL_RATE)
        .filter(|c| c.config.auth != Auth::None)
        .collect();
    cells.extend(stats::cells(run, CLAIMS).filter(|c| c.config.extra_claim_bytes > 0));
    let mut seen = Vec::new();
    let bars: Vec<Bar> = cells
        .into_iter()
        .filter_map(|c| CellStats::of(c).map(|s| (c, s)))
        .filter_map(|(c, s)| {
            // One bar per credential shape: the store and revocation don't change the bytes.
            let key = (
                c.config.auth,
                c.config.alg.clone(),
                c.config.extra_claim_bytes,
            );
            if seen.contains(&key) {
                return None;
            }
            seen.push(key);
            let label = match c.config.auth {
                Auth::Session => "session cookie".to_owned(),
                _ => {
                    let mut l = format!("jwt {}", c.config.alg.as_deref().unwrap_or("?"));
                    if c.config.extra_claim_bytes > 0 {
                        l.push_str(&format!(
                            " +{} claims",
                            f::bytes(c.config.extra_claim_bytes as f64)
                        ));
                    }
                    l
                }
            };
            Some(Bar {
                value_label: f::bytes(s.bytes_sent),
                segments: vec![
                    (
                        s.credential_bytes,
                        CREDENTIAL.to_owned(),
                        "credential header".to_owned(),
                    ),
                    (
                        (s.bytes_sent - s.credential_bytes).max(0.0),
                        REST.to_owned(),
                        "rest of the request".to_owned(),
                    ),
                ],
                label,
                hatched: false,
            })
        })
        .collect();
    if bars.is_empty() {
        return None;
    }
    let title = "Bytes per request";
    let svg = bar_chart(
        BarChart {
            id: "chart-bytes",
            width: HALF,
            tick: &f::tick_bytes,
            title,
            desc: "Mean request bytes on the wire per authenticated request, credential header line and the rest.".to_owned(),
            x_label: "bytes per request",
            legend: vec![
                ("credential header line".to_owned(), CREDENTIAL.to_owned()),
                ("rest of the request".to_owned(), REST.to_owned()),
            ],
            bars,
            log: None,
            fmt: &|v| f::bytes(v),
        },
        |_, _| {},
    );
    Some(Chart {
        id: "chart-bytes".to_owned(),
        title: title.to_owned(),
        caption:
            "Every request carries the credential: a 43-character session ID, or the whole token."
                .to_owned(),
        svg,
        half: true,
    })
}

/// Bytes of server-side state per entry.
pub fn state_bytes(run: &SuiteRun) -> Option<Chart> {
    if run.state_cost.is_empty() {
        return None;
    }
    let bars: Vec<Bar> = run
        .state_cost
        .iter()
        .map(|s| {
            let col = if s.store == Store::Redis { STORE } else { APP };
            Bar {
                label: format!(
                    "{} · {}",
                    match s.kind.as_str() {
                        "denylist" => "revoked token",
                        "token-version" => "token version",
                        other => other,
                    },
                    s.store
                ),
                value_label: f::bytes(s.bytes_per_entry),
                segments: vec![(s.bytes_per_entry, col.to_owned(), s.measured.clone())],
                hatched: false,
            }
        })
        .collect();
    let title = "Server-side bytes per session / revoked token";
    let svg = bar_chart(
        BarChart {
            id: "chart-state",
            width: WIDTH,
            tick: &f::tick_bytes,
            title,
            desc: "Memory growth per stored entry: replica RSS for in-process stores, Redis used_memory for Redis.".to_owned(),
            x_label: "bytes per entry",
            legend: vec![
                ("in-process (replica RSS)".to_owned(), APP.to_owned()),
                ("Redis (used_memory)".to_owned(), STORE.to_owned()),
            ],
            bars,
            log: None,
            fmt: &|v| f::bytes(v),
        },
        |_, _| {},
    );
    Some(Chart {
        id: "chart-state".to_owned(),
        title: title.to_owned(),
        caption: "A stateless JWT stores nothing; revocation brings state back.".to_owned(),
        svg,
        half: true,
    })
}

/// Ticks for a log time axis in ms: powers of ten up to a second, then 10 s, 1 min, 10 min,
/// 1 h, and the upper end (a credential's lifetime) itself.
fn time_ticks(min_ms: f64, max_ms: f64) -> Vec<(f64, String)> {
    let mut ticks: Vec<f64> = [
        0.01,
        0.1,
        1.0,
        10.0,
        100.0,
        1_000.0,
        10_000.0,
        60_000.0,
        600_000.0,
        3_600_000.0,
    ]
    .into_iter()
    .filter(|&t| t >= min_ms && t <= max_ms)
    .collect();
    // The end of the axis is always labelled; a tick too close to it gives way.
    if ticks.last().is_some_and(|&t| max_ms / t < 5.0) {
        ticks.pop();
    }
    ticks.push(max_ms);
    ticks.into_iter().map(|t| (t, f::tick_ms(t))).collect()
}

/// Revocation window per credential, strategy and trigger, on a log scale; "never" shown
/// as a hatched bar to the credential's lifetime.
pub fn revocation(run: &SuiteRun) -> Option<Chart> {
    if run.revocation.is_empty() {
        return None;
    }
    let max_ttl_ms = run
        .revocation
        .iter()
        .map(|r| r.credential_ttl_seconds * 1e3)
        .fold(1_000.0, f64::max);
    let min_ms = run
        .revocation
        .iter()
        .filter_map(|r| r.window_ms)
        .fold(f64::INFINITY, f64::min)
        .clamp(0.01, IMMEDIATE_MS / 10.0);
    let bars: Vec<Bar> = run
        .revocation
        .iter()
        .map(|r| {
            let label = format!("{} — {}", revocation_name(r), r.trigger);
            match r.window_ms {
                Some(w) => Bar {
                    label,
                    value_label: f::ms(w),
                    segments: vec![(w.max(min_ms), GOOD.to_owned(), "revoked after".to_owned())],
                    hatched: false,
                },
                None => Bar {
                    label,
                    value_label: format!(
                        "never: valid until it expires ({})",
                        f::seconds(r.credential_ttl_seconds)
                    ),
                    segments: vec![(
                        r.credential_ttl_seconds * 1e3,
                        NEVER.to_owned(),
                        "valid until expiry".to_owned(),
                    )],
                    hatched: true,
                },
            }
        })
        .collect();
    let title = "Revocation window: from logout until every replica rejects";
    let svg = bar_chart(
        BarChart {
            id: "chart-revocation",
            width: WIDTH,
            tick: &f::tick_ms,
            title,
            desc: format!(
                "Time from logout or force-logout until every replica rejects the credential, per scheme, store and strategy, log scale; credentials never revoked are drawn to their lifetime, up to {}.",
                f::ms(max_ttl_ms)
            ),
            x_label: "window (log scale)",
            legend: vec![
                ("revoked on every replica".to_owned(), GOOD.to_owned()),
                ("never revoked: the bar is the credential's lifetime".to_owned(), NEVER.to_owned()),
            ],
            bars,
            log: Some(Axis {
                scale: Scale::Log {
                    min: min_ms,
                    max: max_ttl_ms,
                },
                ticks: time_ticks(min_ms, max_ttl_ms),
                label: String::new(),
            }),
            fmt: &|v| f::ms(v),
        },
        |doc, frame| {
            let x = frame.px(IMMEDIATE_MS);
            doc.line(x, frame.y, x, frame.y + frame.h, "mark");
            doc.text(x + 4.0, frame.y - 4.0, &format!("immediate ≤ {}", f::ms(IMMEDIATE_MS)), "start", "note");
        },
    );
    Some(Chart {
        id: "chart-revocation".to_owned(),
        title: title.to_owned(),
        caption: "Probed on every replica directly. A hatched bar means some replica still \
                  accepted the credential when probing stopped: it works until it expires."
            .to_owned(),
        svg,
        half: false,
    })
}

/// Requests and errors per second of one fault run, with the fault instants marked.
pub fn fault_timeline(fr: &FaultRun, index: usize) -> Option<Chart> {
    let tl = &fr.trial.timeline;
    if tl.is_empty() {
        return None;
    }
    let id = format!("chart-fault-{index}");
    let kind = match fr.kind.as_str() {
        "kill-replica" => "A replica killed".to_owned(),
        "restart-redis" => "Redis restarted".to_owned(),
        "churn" => "Replicas churned".to_owned(),
        other => other.to_owned(),
    };
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

/// Throughput as JWT claims grow.
pub fn claims(run: &SuiteRun) -> Option<Chart> {
    let mut cells: Vec<_> = stats::cells(run, CLAIMS)
        .filter_map(|c| {
            CellStats::of(c).map(|s| (c.config.extra_claim_bytes, c.config.alg.clone(), s))
        })
        .collect();
    if cells.is_empty() {
        return None;
    }
    cells.sort_by_key(|c| c.0);
    let bars = cells
        .iter()
        .map(|(extra, alg, s)| Bar {
            label: format!(
                "{} +{} claims",
                alg.as_deref().unwrap_or("jwt"),
                f::bytes(*extra as f64)
            ),
            value_label: f::rps(s.throughput_rps),
            segments: vec![(
                s.throughput_rps,
                "#ff7f0e".to_owned(),
                "throughput".to_owned(),
            )],
            hatched: false,
        })
        .collect();
    let title = "Throughput as JWT claims grow";
    let svg = bar_chart(
        BarChart {
            id: "chart-claims",
            width: HALF,
            tick: &f::tick_int,
            title,
            desc: "Closed-loop throughput of one replica with JWTs carrying growing extra claims."
                .to_owned(),
            x_label: "requests/s",
            legend: Vec::new(),
            bars,
            log: None,
            fmt: &|v| f::int(v as u64),
        },
        |_, _| {},
    );
    Some(Chart {
        id: "chart-claims".to_owned(),
        title: title.to_owned(),
        caption: "Closed loop against one replica. Bigger tokens cost base64, parsing and bytes on every request.".to_owned(),
        svg,
        half: true,
    })
}

/// Every chart the run has data for, in report order, by section id.
pub fn all(run: &SuiteRun) -> Vec<(&'static str, Chart)> {
    let mut out = Vec::new();
    let mut push = |section: &'static str, c: Option<Chart>| {
        if let Some(c) = c {
            out.push((section, c));
        }
    };
    push("equal-rate", latency_spectrum(run));
    push("equal-rate", cpu_per_request(run));
    push("scaling", scaling(run));
    push("claims", bytes_per_request(run));
    push("claims", claims(run));
    push("state-cost", state_bytes(run));
    push("revocation", revocation(run));
    for (i, fr) in run.faults.iter().enumerate() {
        push("faults", fault_timeline(fr, i));
    }
    push("projection-points", projection(run));
    out
}
