//! The cost part's chart: CPU each configuration adds over no auth, with its 95 % interval.

use super::*;
use crate::render::cost::{added_costs, AddedCost, Resolved};
use crate::render::svg::nice_step;

/// Dark ink for the interval whiskers (the charts' text colour).
const INK: &str = "#2b3240";

/// Fill of a bar by how its added cost compares with no auth (the table's "over no auth").
fn fill(c: &AddedCost) -> &'static str {
    match c.over_baseline() {
        Resolved::More => APP,
        Resolved::Indistinguishable => REST,
        Resolved::Less => NEVER,
    }
}

/// A linear µs axis from zero — or a little below the lowest interval end when an interval
/// goes negative — to the highest interval end rounded up to a nice tick. A log axis can't
/// show zero, the baseline every bar is measured from, nor an interval that crosses it.
fn cost_axis(min: f64, max: f64) -> Axis {
    let min = if min.is_finite() { min.min(0.0) } else { 0.0 };
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let step = nice_step(max - min, 5.0);
    let hi = (max / step).ceil() * step;
    // Below zero only as far as the data goes (plus a little air), not a whole tick.
    let lo = if min < 0.0 {
        min - 0.01 * (hi - min)
    } else {
        0.0
    };
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).round() as i64;
    Axis {
        scale: Scale::Linear { min: lo, max: hi },
        ticks: (first..=last)
            .map(|k| k as f64 * step)
            .map(|v| (v, f::tick_us(v)))
            .collect(),
        label: "added CPU-µs per request (linear; 0 = no auth, /healthz)".to_owned(),
    }
}

/// Added CPU per request over `/healthz` per configuration of the cost part: a bar at the
/// median, whiskers for the 95 % bootstrap interval, a line at zero; rows in table order.
pub fn added_cost(run: &SuiteRun) -> Option<Chart> {
    let costs = added_costs(run);
    if costs.is_empty() {
        return None;
    }
    let id = "chart-cost";
    let width = WIDTH;
    let title = "CPU added over no auth, with 95 % intervals";
    let labels: Vec<String> = costs.iter().map(|c| c.config.describe()).collect();
    let values: Vec<String> = costs.iter().map(|c| f::interval_us(&c.total)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, 12.0))
        .fold(80.0, f64::max)
        .min(width * 0.36);
    let value_w = values
        .iter()
        .map(|v| text_width(v, 11.0))
        .fold(0.0, f64::max);
    let mut legend = Vec::new();
    for (r, name, col) in [
        (Resolved::More, "more than no auth", APP),
        (
            Resolved::Indistinguishable,
            "indistinguishable from no auth",
            REST,
        ),
        (Resolved::Less, "below no auth: measurement problem", NEVER),
    ] {
        if costs.iter().any(|c| c.over_baseline() == r) {
            legend.push((name.to_owned(), col.to_owned()));
        }
    }
    legend.push((
        "whiskers: 95 % bootstrap interval".to_owned(),
        INK.to_owned(),
    ));
    let rows = legend_rows(&legend, width - 40.0);
    let top = 40.0 + rows as f64 * 18.0 + 8.0;
    let bar_h = 18.0;
    let gap = 8.0;
    let plot_h = costs.len() as f64 * (bar_h + gap) + gap;
    let finite: Vec<&AddedCost> = costs
        .iter()
        .filter(|c| c.total.estimate.is_finite())
        .collect();
    let lo = finite
        .iter()
        .flat_map(|c| [c.total.estimate, c.total.low])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::min);
    let hi = finite
        .iter()
        .flat_map(|c| [c.total.estimate, c.total.high])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let desc = format!(
        "Median server CPU microseconds per request that each of {} configurations adds over \
         the unauthenticated /healthz baseline on the same server, with whiskers for the 95 % \
         bootstrap interval; linear axis from {} to {}, zero marked as the baseline.",
        costs.len(),
        f::us(lo),
        f::us(hi)
    );
    let mut doc = Doc::new(id, width, top + plot_h + 52.0, title, &desc);
    doc.heading(title);
    doc.legend(20.0, 44.0, width - 20.0, &legend);
    let x0 = label_w + 24.0;
    let frame = Frame {
        x: x0,
        y: top,
        w: width - x0 - value_w - 24.0,
        h: plot_h,
        xa: cost_axis(lo, hi),
        ya: Axis {
            scale: Scale::Linear { min: 0.0, max: 1.0 },
            ticks: Vec::new(),
            label: String::new(),
        },
    };
    frame.draw(&mut doc);
    let zero = frame.px(0.0);
    for (i, ((c, label), value)) in costs.iter().zip(&labels).zip(&values).enumerate() {
        let y = top + gap + i as f64 * (bar_h + gap);
        let mid = y + bar_h / 2.0;
        doc.text(x0 - 8.0, y + 13.0, label, "end", "bl");
        let t = &c.total;
        if !t.estimate.is_finite() {
            doc.text(zero + 6.0, y + 13.0, value, "start", "val");
            continue;
        }
        let at = frame.px(t.estimate);
        // At least a hairline, so a cost of about zero still shows where it is.
        let (left, right) = if at >= zero {
            (zero, at.max(zero + 1.0))
        } else {
            (at.min(zero - 1.0), zero)
        };
        doc.rect(
            left,
            y,
            right - left,
            bar_h,
            fill(c),
            &format!(
                "{label}: added {} over no auth (median of {} rounds)",
                f::us_signed(t.estimate),
                c.rounds
            ),
        );
        let mut end = right;
        if t.low.is_finite() && t.high.is_finite() {
            let (xl, xh) = (frame.px(t.low), frame.px(t.high));
            let cap = 5.0;
            // One path: left cap, the interval, right cap.
            doc.path(
                &[
                    (xl, mid - cap),
                    (xl, mid + cap),
                    (xl, mid),
                    (xh, mid),
                    (xh, mid - cap),
                    (xh, mid + cap),
                ],
                INK,
                1.5,
                false,
                &format!("{label}: 95 % interval {value}"),
            );
            end = end.max(xh);
        }
        doc.text(end + 6.0, y + 13.0, value, "start", "val");
    }
    doc.line(zero, frame.y, zero, frame.y + frame.h, "zero");
    doc.text(
        zero + 4.0,
        frame.y - 4.0,
        "no auth (/healthz)",
        "start",
        "note",
    );
    Some(Chart {
        id: id.to_owned(),
        title: title.to_owned(),
        caption: "Each bar is the median over paired rounds of the configuration's CPU per \
                  request minus /healthz on the same server, in the table's order; the whiskers \
                  are its 95 % bootstrap interval. A grey bar is indistinguishable from no auth: \
                  its interval does not clear the minimum difference."
            .to_owned(),
        svg: doc.finish(),
        half: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::example::{example_run, example_run_without_redis};
    use crate::render::svg::esc;

    #[test]
    fn one_row_per_configuration_in_table_order() {
        for run in [example_run(), example_run_without_redis()] {
            let costs = added_costs(&run);
            assert!(!costs.is_empty());
            let chart = added_cost(&run).expect("the example has a cost part");
            let svg = &chart.svg;
            assert!(
                svg.starts_with(r#"<svg id="chart-cost" viewBox="0 0 "#),
                "{svg}"
            );
            assert!(svg.ends_with("</svg>"));
            assert_eq!(svg.matches("<svg").count(), 1);
            assert!(svg.contains(r#"role="img""#));
            assert!(svg.contains(r#"<title id="chart-cost-title">"#));
            assert!(svg.contains(r#"<desc id="chart-cost-desc">"#));
            assert!(svg.contains(r#"class="ttl""#) && svg.contains(r#"class="axl""#));
            for tag in ["text", "title", "path"] {
                assert_eq!(
                    svg.matches(&format!("<{tag}")).count(),
                    svg.matches(&format!("</{tag}>")).count(),
                    "<{tag}> balanced"
                );
            }
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
            // One row label per configuration, in the table's order.
            let rows: Vec<usize> = costs
                .iter()
                .map(|c| {
                    let label = format!(r#"class="bl">{}</text>"#, esc(&c.config.describe()));
                    assert_eq!(svg.matches(&label).count(), 1, "{label}");
                    svg.find(&label).unwrap()
                })
                .collect();
            assert!(rows.windows(2).all(|w| w[0] < w[1]), "table order");
            assert_eq!(svg.matches(r#"class="bl""#).count(), costs.len());
            // A bar and an interval per row, and the zero line.
            // (The legend's swatches are `<rect …/>` without a hover text.)
            assert_eq!(svg.matches("</rect>").count(), costs.len());
            assert_eq!(svg.matches(r#"<path d="M"#).count(), costs.len());
            assert_eq!(svg.matches(r#"class="zero""#).count(), 1);
        }
        assert_eq!(
            added_cost(&SuiteRun {
                cost: Vec::new(),
                ..example_run()
            }),
            None
        );
    }

    #[test]
    fn the_axis_starts_at_zero_or_just_below_the_lowest_interval() {
        let a = cost_axis(0.2, 196.0);
        assert_eq!(
            a.scale,
            Scale::Linear {
                min: 0.0,
                max: 200.0
            }
        );
        let v: Vec<f64> = a.ticks.iter().map(|t| t.0).collect();
        assert_eq!(v, [0.0, 50.0, 100.0, 150.0, 200.0]);
        // An interval slightly below zero: a sliver of negative axis, not a whole tick.
        let a = cost_axis(-0.8, 196.0);
        let Scale::Linear { min, max } = a.scale else {
            panic!("linear")
        };
        assert!(min < -0.8 && min > -10.0, "{min}");
        assert_eq!(max, 200.0);
        assert_eq!(a.ticks[0].0, 0.0);
        assert!(a.scale.norm(0.0) > 0.0);
        // Well below zero: negative ticks too.
        let a = cost_axis(-60.0, 40.0);
        assert!(a.ticks.iter().any(|t| t.0 < 0.0));
        assert!(a.ticks.iter().all(|t| a.scale.norm(t.0) >= 0.0));
    }
}
