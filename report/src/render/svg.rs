//! A small SVG toolkit for the report's charts: scales (linear, log, and the "nines" axis of
//! HdrHistogram percentile plots), a plot frame with grid, ticks and axis labels, and the
//! elements the charts draw. Output is plain inline SVG: no scripts, no external resources;
//! every text is escaped.

use std::fmt::Write as _;

/// Escapes text for XML/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Rounds a coordinate to 0.1 px (keeps the SVG small and the output stable).
fn r(v: f64) -> String {
    let v = (v * 10.0).round() / 10.0;
    if v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A colour palette that stays distinguishable for up to 12 series (Tableau-like).
pub const PALETTE: [&str; 12] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#ad494a",
];

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Linear from `min` to `max`.
    Linear {
        /// Lower end.
        min: f64,
        /// Upper end.
        max: f64,
    },
    /// Logarithmic (base 10) from `min` to `max` (both > 0).
    Log {
        /// Lower end.
        min: f64,
        /// Upper end.
        max: f64,
    },
    /// Percentiles on HdrHistogram's axis: `x = −log10(1 − p/100)`, from 0 to `nines`
    /// (e.g. 5 for 99.999 %).
    Nines {
        /// Nines at the right end.
        nines: f64,
    },
}

/// `−log10(1 − p/100)`, capped at 9 nines for p = 100.
pub fn nines(p: f64) -> f64 {
    let q = 1.0 - p / 100.0;
    if q <= 1e-9 {
        9.0
    } else {
        -q.log10()
    }
}

impl Scale {
    /// Position of `v` between 0 (lower end) and 1 (upper end), clamped to [−0.05, 1.05].
    pub fn norm(&self, v: f64) -> f64 {
        let t = match *self {
            Scale::Linear { min, max } => {
                if max > min {
                    (v - min) / (max - min)
                } else {
                    0.5
                }
            }
            Scale::Log { min, max } => {
                if v <= 0.0 || max <= min {
                    0.0
                } else {
                    (v.log10() - min.log10()) / (max.log10() - min.log10())
                }
            }
            Scale::Nines { nines: n } => {
                if n > 0.0 {
                    nines(v) / n
                } else {
                    0.0
                }
            }
        };
        if t.is_finite() {
            t.clamp(-0.05, 1.05)
        } else {
            0.0
        }
    }
}

/// An axis: its scale, its ticks and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Scale.
    pub scale: Scale,
    /// Tick positions (in data units) and their labels.
    pub ticks: Vec<(f64, String)>,
    /// Axis title.
    pub label: String,
}

/// A "nice" step (1, 2 or 5 × 10^k) for about `target` intervals over `range`.
pub fn nice_step(range: f64, target: f64) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let raw = range / target.max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let m = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

impl Axis {
    /// A linear axis from `min` to at least `max`, rounded out to nice ticks.
    pub fn linear(min: f64, max: f64, label: &str, fmt: &dyn Fn(f64) -> String) -> Axis {
        let max = if max > min { max } else { min + 1.0 };
        let step = nice_step(max - min, 5.0);
        let lo = (min / step).floor() * step;
        let hi = (max / step).ceil() * step;
        let mut ticks = Vec::new();
        let mut v = lo;
        while v <= hi + step * 0.01 {
            ticks.push((v, fmt(v)));
            v += step;
        }
        Axis {
            scale: Scale::Linear { min: lo, max: hi },
            ticks,
            label: label.to_owned(),
        }
    }

    /// A linear axis over integer categories `1..=n` (e.g. replicas).
    pub fn integers(values: &[usize], label: &str) -> Axis {
        let lo = values.iter().copied().min().unwrap_or(1) as f64;
        let hi = values.iter().copied().max().unwrap_or(1) as f64;
        let pad = ((hi - lo) * 0.08).max(0.3);
        Axis {
            scale: Scale::Linear {
                min: lo - pad,
                max: hi + pad,
            },
            ticks: values.iter().map(|&v| (v as f64, v.to_string())).collect(),
            label: label.to_owned(),
        }
    }

    /// A log axis covering `min..max`, widened to whole 1-2-5 steps, ticks at 1, 2, 5 × 10^k
    /// (only powers of ten when it spans many decades).
    pub fn log(min: f64, max: f64, label: &str, fmt: &dyn Fn(f64) -> String) -> Axis {
        let min = if min > 0.0 && min.is_finite() {
            min
        } else {
            1.0
        };
        let max = if max > min && max.is_finite() {
            max
        } else {
            min * 10.0
        };
        let steps = [1.0, 2.0, 5.0];
        let lo_dec = min.log10().floor() as i32;
        let hi_dec = max.log10().ceil() as i32;
        let mut candidates = Vec::new();
        for d in lo_dec..=hi_dec {
            for s in steps {
                candidates.push(s * 10f64.powi(d));
            }
        }
        let lo = candidates
            .iter()
            .copied()
            .filter(|&c| c <= min * 1.000_001)
            .fold(10f64.powi(lo_dec), f64::max);
        let hi = candidates
            .iter()
            .copied()
            .filter(|&c| c >= max / 1.000_001)
            .fold(10f64.powi(hi_dec), f64::min);
        let decades = hi.log10() - lo.log10();
        let ticks = candidates
            .into_iter()
            .filter(|&c| c >= lo / 1.000_001 && c <= hi * 1.000_001)
            .filter(|&c| decades <= 3.0 || (c.log10() - c.log10().round()).abs() < 1e-9)
            .map(|c| (c, fmt(c)))
            .collect();
        Axis {
            scale: Scale::Log { min: lo, max: hi },
            ticks,
            label: label.to_owned(),
        }
    }

    /// The percentile axis of HdrHistogram plots, with ticks 0, 90, 99, 99.9 … up to
    /// `nines` nines.
    pub fn percentiles(n: usize, label: &str) -> Axis {
        let mut ticks = vec![(0.0, "0%".to_owned())];
        for k in 1..=n {
            let p = 100.0 - 100.0 / 10f64.powi(k as i32);
            let text = format!("{p:.*}%", k.saturating_sub(2));
            ticks.push((p, text));
        }
        Axis {
            scale: Scale::Nines { nines: n as f64 },
            ticks,
            label: label.to_owned(),
        }
    }
}

/// An SVG document being drawn.
#[derive(Debug)]
pub struct Doc {
    /// Width, px (the viewBox; the page scales it).
    pub width: f64,
    /// Height, px.
    pub height: f64,
    id: String,
    title: String,
    desc: String,
    defs: String,
    body: String,
}

impl Doc {
    /// A document `id` (unique in the page) with an accessible title and description.
    pub fn new(id: &str, width: f64, height: f64, title: &str, desc: &str) -> Doc {
        Doc {
            width,
            height,
            id: id.to_owned(),
            title: title.to_owned(),
            desc: desc.to_owned(),
            defs: String::new(),
            body: String::new(),
        }
    }

    /// An id unique in the page, derived from the document's.
    pub fn local_id(&self, name: &str) -> String {
        format!("{}-{name}", self.id)
    }

    /// Adds a diagonal hatch pattern named `name` in `color`; returns its `url(#…)`.
    pub fn hatch(&mut self, name: &str, color: &str) -> String {
        let id = self.local_id(name);
        let _ = write!(
            self.defs,
            r#"<pattern id="{id}" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="{c}" fill-opacity="0.18"/><line x1="0" y1="0" x2="0" y2="8" stroke="{c}" stroke-width="2" stroke-opacity="0.6"/></pattern>"#,
            c = esc(color)
        );
        format!("url(#{id})")
    }

    /// The chart's title, drawn at the top left.
    pub fn heading(&mut self, text: &str) {
        let _ = write!(
            self.body,
            r#"<text class="ttl" x="12" y="22">{}</text>"#,
            esc(text)
        );
    }

    /// A smaller line under the heading.
    pub fn subheading(&mut self, text: &str) {
        let _ = write!(
            self.body,
            r#"<text class="sub" x="12" y="40">{}</text>"#,
            esc(text)
        );
    }

    /// Text at `(x, y)`; `anchor` is `start`, `middle` or `end`; `class` styles it.
    pub fn text(&mut self, x: f64, y: f64, text: &str, anchor: &str, class: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            r(x),
            r(y),
            esc(text)
        );
    }

    /// Text rotated by −90° around `(x, y)` (vertical axis titles).
    pub fn vtext(&mut self, x: f64, y: f64, text: &str, class: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x}" y="{y}" text-anchor="middle" class="{class}" transform="rotate(-90 {x} {y})">{}</text>"#,
            esc(text),
            x = r(x),
            y = r(y)
        );
    }

    /// A line segment.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{class}"/>"#,
            r(x1),
            r(y1),
            r(x2),
            r(y2)
        );
    }

    /// A rectangle with a fill and a hover text.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>"#,
            r(x),
            r(y),
            r(w.max(0.0)),
            r(h.max(0.0)),
            esc(fill),
            esc(tip)
        );
    }

    /// A polyline through `points` (px) as a path; `dash` for a dashed line.
    pub fn path(&mut self, points: &[(f64, f64)], color: &str, width: f64, dash: bool, tip: &str) {
        if points.is_empty() {
            return;
        }
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(d, "{}{},{}", if i == 0 { "M" } else { "L" }, r(*x), r(*y));
        }
        let _ = write!(
            self.body,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round"{}><title>{}</title></path>"#,
            esc(color),
            r(width),
            if dash {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            },
            esc(tip)
        );
    }

    /// A dot with a hover text.
    pub fn dot(&mut self, x: f64, y: f64, radius: f64, color: &str, tip: &str) {
        let _ = write!(
            self.body,
            r##"<circle cx="{}" cy="{}" r="{}" fill="{}" stroke="#fff" stroke-width="1"><title>{}</title></circle>"##,
            r(x),
            r(y),
            r(radius),
            esc(color),
            esc(tip)
        );
    }

    /// A legend: coloured swatches and labels in rows starting at `(x, y)`, wrapping at
    /// `max_x`; returns the y below it.
    pub fn legend(&mut self, x: f64, y: f64, max_x: f64, items: &[(String, String)]) -> f64 {
        let mut cx = x;
        let mut cy = y;
        for (label, fill) in items {
            let w = 22.0 + text_width(label, 11.5) + 16.0;
            if cx + w > max_x && cx > x {
                cx = x;
                cy += 18.0;
            }
            let _ = write!(
                self.body,
                r#"<rect x="{}" y="{}" width="14" height="10" rx="2" fill="{}"/>"#,
                r(cx),
                r(cy - 9.0),
                esc(fill)
            );
            self.text(cx + 19.0, cy, label, "start", "lg");
            cx += w;
        }
        cy + 8.0
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        let title_id = format!("{}-title", self.id);
        let desc_id = format!("{}-desc", self.id);
        format!(
            r#"<svg id="{id}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{title_id} {desc_id}" class="chart"><title id="{title_id}">{title}</title><desc id="{desc_id}">{desc}</desc>{defs}{body}</svg>"#,
            id = esc(&self.id),
            w = r(self.width),
            h = r(self.height),
            title = esc(&self.title),
            desc = esc(&self.desc),
            defs = if self.defs.is_empty() {
                String::new()
            } else {
                format!("<defs>{}</defs>", self.defs)
            },
            body = self.body
        )
    }
}

/// Rough width of `text` at `size` px in the report's sans-serif font.
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// A plot area inside a [`Doc`] with its two axes.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Left edge, px.
    pub x: f64,
    /// Top edge, px.
    pub y: f64,
    /// Width, px.
    pub w: f64,
    /// Height, px.
    pub h: f64,
    /// Horizontal axis.
    pub xa: Axis,
    /// Vertical axis.
    pub ya: Axis,
}

impl Frame {
    /// x pixel of a data value.
    pub fn px(&self, v: f64) -> f64 {
        self.x + self.xa.scale.norm(v) * self.w
    }

    /// y pixel of a data value.
    pub fn py(&self, v: f64) -> f64 {
        self.y + self.h - self.ya.scale.norm(v) * self.h
    }

    /// Grid, ticks, tick labels and axis titles.
    pub fn draw(&self, doc: &mut Doc) {
        for (v, label) in &self.ya.ticks {
            let y = self.py(*v);
            doc.line(self.x, y, self.x + self.w, y, "grid");
            doc.text(self.x - 6.0, y + 4.0, label, "end", "tick");
        }
        for (v, label) in &self.xa.ticks {
            let x = self.px(*v);
            doc.line(x, self.y, x, self.y + self.h, "grid");
            doc.text(x, self.y + self.h + 16.0, label, "middle", "tick");
        }
        doc.line(
            self.x,
            self.y + self.h,
            self.x + self.w,
            self.y + self.h,
            "axis",
        );
        doc.line(self.x, self.y, self.x, self.y + self.h, "axis");
        doc.text(
            self.x + self.w / 2.0,
            self.y + self.h + 34.0,
            &self.xa.label,
            "middle",
            "axl",
        );
        let widest = self
            .ya
            .ticks
            .iter()
            .map(|t| text_width(&t.1, 11.0))
            .fold(0.0, f64::max);
        doc.vtext(
            self.x - widest - 20.0,
            self.y + self.h / 2.0,
            &self.ya.label,
            "axl",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn nines_axis() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(90.0) - 1.0).abs() < 1e-12);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(nines(100.0), 9.0);
        let a = Axis::percentiles(4, "p");
        let labels: Vec<&str> = a.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%"]);
        assert!((a.scale.norm(99.0) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn log_axis_ticks() {
        let a = Axis::log(150.0, 4_000.0, "µs", &|v| format!("{v}"));
        assert_eq!(
            a.scale,
            Scale::Log {
                min: 100.0,
                max: 5_000.0
            }
        );
        let v: Vec<f64> = a.ticks.iter().map(|t| t.0).collect();
        assert_eq!(v, [100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0]);
        let wide = Axis::log(0.5, 2_000_000.0, "ms", &|v| format!("{v}"));
        assert!(wide
            .ticks
            .iter()
            .all(|t| (t.0.log10() - t.0.log10().round()).abs() < 1e-9));
    }

    #[test]
    fn linear_axis_is_nice() {
        let a = Axis::linear(0.0, 34_460.0, "rps", &|v| format!("{v}"));
        let v: Vec<f64> = a.ticks.iter().map(|t| t.0).collect();
        assert_eq!(v, [0.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0]);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
    }

    #[test]
    fn document_is_accessible_and_escaped() {
        let mut d = Doc::new("c1", 100.0, 50.0, "A < B", "desc & more");
        d.text(1.0, 2.0, "<script>", "start", "tick");
        let svg = d.finish();
        assert!(svg.contains(r#"<title id="c1-title">A &lt; B</title>"#));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("<script"));
    }
}
