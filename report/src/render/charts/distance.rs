//! Added latency vs store round trip: one line per configuration measured at several network
//! profiles, p50 and p99 side by side, with each point's interval.

use super::*;
use crate::model::Network;
use crate::render::distance::{self, Series};
use crate::render::interval::Interval;

/// Added p50 and p99 over each profile's own baseline vs the profile's store RTT.
pub fn distance(run: &SuiteRun) -> Option<Chart> {
    let series = distance::series(run);
    if series.is_empty() {
        return None;
    }
    let networks = distance::networks(run);
    let x_of = |n: &Network| {
        networks
            .iter()
            .position(|m| stats::same_network(m, n))
            .unwrap_or(0) as f64
    };
    let intervals = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter_map(|p| p.added.as_ref())
            .flat_map(|a| [a.p50, a.p99])
    };
    let lo = intervals().map(|i| i.low).fold(0.0, f64::min);
    let hi = intervals().map(|i| i.high).fold(0.0, f64::max);
    let title = "Latency added vs store round trip (each profile over its own baseline)";
    let profiles: Vec<String> = networks
        .iter()
        .map(|n| {
            if n.is_loopback() {
                "loopback".to_owned()
            } else {
                format!("{} {}", n.profile, distance::rtt(n))
            }
        })
        .collect();
    let items: Vec<(String, String)> = series
        .iter()
        .map(|s| (s.name.clone(), color(&s.config).to_owned()))
        .collect();
    let top = 62.0 + legend_rows(&items, WIDTH - 110.0) as f64 * 18.0 + 10.0;
    let mut doc = Doc::new(
        "chart-distance",
        WIDTH,
        top + 330.0,
        title,
        &format!(
            "Added p50 and p99 latency with 95 % intervals of {} configurations at the network profiles {}.",
            series.len(),
            profiles.join(", ")
        ),
    );
    doc.heading(title);
    doc.subheading(&format!("profiles: {}", profiles.join(" · ")));
    doc.legend(90.0, 62.0, WIDTH - 20.0, &items);
    let ticks: Vec<(f64, String)> = networks
        .iter()
        .map(|n| {
            let label = if n.is_loopback() {
                "loopback".to_owned()
            } else {
                distance::rtt(n)
            };
            (x_of(n), label)
        })
        .collect();
    let x_axis = || Axis {
        scale: Scale::Linear {
            min: -0.3,
            max: (networks.len().max(2) - 1) as f64 + 0.3,
        },
        ticks: ticks.clone(),
        label: "store round trip (profiles evenly spaced)".to_owned(),
    };
    let y_axis = |label: &str| Axis::linear(lo, hi * 1.05, label, &f::tick_us);
    let panels = [
        (
            Frame {
                x: 90.0,
                y: top,
                w: 330.0,
                h: 260.0,
                xa: x_axis(),
                ya: y_axis("added p50"),
            },
            "p50",
        ),
        (
            Frame {
                x: 560.0,
                y: top,
                w: 330.0,
                h: 260.0,
                xa: x_axis(),
                ya: y_axis("added p99"),
            },
            "p99",
        ),
    ];
    for (frame, _) in &panels {
        frame.draw(&mut doc);
    }
    for s in &series {
        draw(&mut doc, &panels, s, &x_of);
    }
    Some(Chart {
        id: "chart-distance".to_owned(),
        title: title.to_owned(),
        caption: "Each point is a configuration's latency over the no-auth baseline of the same \
                  profile (median of paired trials; the bar is its 95 % interval): what the \
                  scheme adds at that distance, the client link cancelled. A session in Redis \
                  pays the store's round trip on every request; a JWT check does not."
            .to_owned(),
        svg: doc.finish(),
        half: false,
    })
}

fn draw(
    doc: &mut Doc,
    panels: &[(Frame, &str); 2],
    s: &Series<'_>,
    x_of: &dyn Fn(&Network) -> f64,
) {
    let c = color(&s.config);
    for (frame, which) in panels {
        let pick = |i: &crate::render::latency::AddedLatency| -> Interval {
            if *which == "p50" {
                i.p50
            } else {
                i.p99
            }
        };
        let pts: Vec<(f64, f64, Interval, String)> = s
            .points
            .iter()
            .filter_map(|p| {
                let i = pick(p.added.as_ref()?);
                Some((
                    frame.px(x_of(&p.network)),
                    frame.py(i.estimate),
                    i,
                    p.network.describe(),
                ))
            })
            .collect();
        let line: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
        doc.path(&line, c, 2.0, false, &s.name);
        for (x, y, i, network) in &pts {
            let tip = format!(
                "{}, {network}: added {which} {}",
                s.name,
                f::interval_lat(i)
            );
            doc.path(
                &[(*x, frame.py(i.low)), (*x, frame.py(i.high))],
                c,
                1.5,
                false,
                &tip,
            );
            doc.dot(*x, *y, 4.0, c, &tip);
        }
    }
}
