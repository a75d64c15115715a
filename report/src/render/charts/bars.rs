//! Bar charts: CPU per request, bytes per request and vs claim size, bytes of state per entry, revocation windows.

use super::*;

/// One horizontal bar: stacked segments `(value, colour, name)`.
pub(super) struct Bar {
    label: String,
    segments: Vec<(f64, String, String)>,
    value_label: String,
    hatched: bool,
}

pub(super) struct BarChart<'a> {
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

pub(super) fn bar_chart(c: BarChart<'_>, decorate: impl FnOnce(&mut Doc, &Frame)) -> String {
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
            let key = (c.config.auth, c.config.alg, c.config.extra_claim_bytes);
            if seen.contains(&key) {
                return None;
            }
            seen.push(key);
            let label = match c.config.auth {
                Auth::Session => "session cookie".to_owned(),
                _ => {
                    let mut l = format!("jwt {}", c.config.alg.map_or("?", Alg::as_str));
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
                label: format!("{} · {}", s.kind.label(), s.store),
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
pub(super) fn time_ticks(min_ms: f64, max_ms: f64) -> Vec<(f64, String)> {
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

/// Throughput as JWT claims grow.
pub fn claims(run: &SuiteRun) -> Option<Chart> {
    let mut cells: Vec<_> = stats::cells(run, CLAIMS)
        .filter_map(|c| CellStats::of(c).map(|s| (c.config.extra_claim_bytes, c.config.alg, s)))
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
                alg.map_or("jwt", Alg::as_str),
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
