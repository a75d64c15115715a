//! `report.html`: one self-contained page — inline CSS and SVG, no scripts, nothing fetched —
//! with the claims and their verdicts, every table of `summary.md`, and the charts.

use std::fmt::Write as _;

use crate::model::SuiteRun;
use crate::render::charts::{self, Chart};
use crate::render::markup::{self, Markup};
use crate::render::svg::esc;
use crate::render::tables::{Align, FactStyle, Header, Section, Table};
use crate::render::verdict::{self, Outcome, Verdict};

const CSS: &str = r#"
:root { --fg:#1d2330; --muted:#5b6474; --line:#e3e6eb; --bg:#fff; --soft:#f6f7f9; }
* { box-sizing: border-box; }
body { margin:0; background:var(--soft); color:var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 32px 48px; background: var(--bg); }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
p { margin: 6px 0 10px; max-width: 1100px; }
.sub { color: var(--muted); margin-bottom: 14px; }
.warn { background:#fff4e5; border-left: 4px solid #f0a030; padding: 8px 12px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
code { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: var(--soft); padding: 1px 4px; border-radius: 3px; }
nav { margin: 14px 0 0; font-size: 13px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
nav a { color: #2f5da8; text-decoration: none; white-space: nowrap; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { text-align: left; background: var(--soft); font-weight: 600; white-space: nowrap; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfbfc; }
.scroll { overflow-x: auto; }
table.claims td:nth-child(1) { font-weight: 600; white-space: nowrap; }
table.claims td:nth-child(2) { width: 24%; }
table.claims td:nth-child(3) { width: 22%; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.supported { background: #e3f4e4; color: #1e6b2a; }
.refuted { background: #fde4e4; color: #a11d1d; }
.depends { background: #fff0d6; color: #8a5400; }
.not-measured { background: #eceef1; color: #555d6b; }
.why { display: block; color: var(--muted); font-size: 12.5px; margin-top: 3px; }
.missing { color: var(--muted); font-style: italic; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; margin: 10px 0; }
figure { margin: 12px 0; padding: 10px 10px 6px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.charts figure { margin: 0; }
figure.full { grid-column: 1 / -1; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font-family: inherit; font-size: 12px; fill: #2b3240; }
svg.chart .ttl { font-size: 15px; font-weight: 600; fill: var(--fg); }
svg.chart .tick { font-size: 11px; fill: #5b6474; }
svg.chart .axl { font-size: 12px; fill: #2b3240; }
svg.chart .lg { font-size: 11.5px; }
svg.chart .bl { font-size: 12px; }
svg.chart .val { font-size: 11px; fill: #3b4250; }
svg.chart .note { font-size: 11px; fill: #5b6474; }
svg.chart .sub { font-size: 12.5px; fill: #5b6474; }
svg.chart .never { fill: #a11d1d; font-weight: 600; }
svg.chart .grid { stroke: #eceef1; stroke-width: 1; }
svg.chart .axis { stroke: #9aa1ad; stroke-width: 1; }
svg.chart .mark { stroke: #59a14f; stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.chart .zero { stroke: #2b3240; stroke-width: 1.5; }
svg.chart .fault { stroke: #333; stroke-width: 1.5; stroke-dasharray: 4 3; }
footer { margin-top: 36px; color: var(--muted); font-size: 12.5px; }
@media (max-width: 900px) { .charts { grid-template-columns: 1fr; } main { padding: 16px; } }
@media print { body { background: #fff; } main { max-width: none; } figure { break-inside: avoid; } }
"#;

fn class(o: &Outcome) -> &'static str {
    match o {
        Outcome::Supported => "supported",
        Outcome::Refuted => "refuted",
        Outcome::Depends(_) => "depends",
        Outcome::NotMeasured(_) => "not-measured",
    }
}

fn table(out: &mut String, t: &Table, extra_class: &str) {
    let _ = write!(
        out,
        r#"<div class="scroll"><table class="{extra_class}"><thead><tr>"#
    );
    for (h, a) in t.headers.iter().zip(&t.align) {
        let c = if *a == Align::Right {
            r#" class="r""#
        } else {
            ""
        };
        let _ = write!(out, "<th{c}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for (v, a) in row.iter().zip(&t.align) {
            let c = if *a == Align::Right {
                r#" class="r""#
            } else {
                ""
            };
            let _ = write!(out, "<td{c}>{}</td>", esc(v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n");
}

fn figures(out: &mut String, charts: &[&Chart]) {
    if charts.is_empty() {
        return;
    }
    out.push_str(r#"<div class="charts">"#);
    // A lone half-width chart still takes the full row.
    let halves = charts.iter().filter(|c| c.half).count();
    for c in charts {
        let full = !c.half || halves == 1;
        let _ = write!(
            out,
            r#"<figure class="{}">{}<figcaption>{}</figcaption></figure>"#,
            if full { "full" } else { "half" },
            c.svg,
            esc(&c.caption)
        );
    }
    out.push_str("</div>\n");
}

/// Escapes `text`, turning `` `code` `` spans into `<code>`.
fn inline_code(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

/// The HTML [`Markup`]: writes `report.html`, with the run's charts in their sections.
#[derive(Debug)]
pub struct Html {
    out: String,
    charts: Vec<(&'static str, Chart)>,
}

impl Html {
    /// A page for `run`, whose charts it places in the sections they name.
    pub fn new(run: &SuiteRun) -> Html {
        Html {
            out: String::with_capacity(256 * 1024),
            charts: charts::all(run),
        }
    }
}

impl Markup for Html {
    fn begin(&mut self, h: &Header) {
        let _ = write!(
            self.out,
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>{CSS}</style></head>
<body><main>
"#,
            esc(&h.title)
        );
    }

    /// The header's title, warnings and facts; [`Markup::contents`] closes `<header>` after
    /// the navigation.
    fn header(&mut self, h: &Header) {
        let out = &mut self.out;
        let _ = writeln!(out, "<header><h1>{}</h1>", esc(&h.title));
        let _ = writeln!(out, r#"<p class="sub">{}</p>"#, esc(&h.subtitle));
        for w in &h.warnings {
            match w.lead {
                Some(lead) => {
                    let _ = write!(
                        out,
                        r#"<p class="warn"><strong>{}:</strong> {}</p>"#,
                        esc(lead),
                        esc(&w.text)
                    );
                }
                None => {
                    let _ = write!(out, r#"<p class="warn">{}</p>"#, esc(&w.text));
                }
            }
        }
        out.push_str(r#"<dl class="meta">"#);
        for fact in &h.facts {
            let value = match fact.style {
                FactStyle::Text => esc(&fact.value),
                FactStyle::Id | FactStyle::Command => {
                    format!("<code>{}</code>", esc(&fact.value))
                }
            };
            let _ = write!(out, "<dt>{}</dt><dd>{value}</dd>", esc(fact.key));
        }
        out.push_str("</dl>\n");
    }

    fn contents(&mut self, sections: &[Section]) {
        let out = &mut self.out;
        out.push_str(r##"<nav><a href="#claims">Claims</a>"##);
        for s in sections {
            let _ = write!(out, r##"<a href="#{}">{}</a>"##, s.id, esc(&s.title));
        }
        out.push_str("</nav></header>\n");
    }

    fn claims(&mut self, verdicts: &[Verdict]) {
        let out = &mut self.out;
        let [supported, refuted, depends, not_measured] = verdict::tally(verdicts);
        let _ = writeln!(
            out,
            r#"<section id="claims"><h2>Claims</h2><p>{} supported, {} refuted, {} depend, {} not measured. Each verdict follows a fixed rule with the thresholds listed in docs/claims.md, “How the report decides”.</p>"#,
            supported, refuted, depends, not_measured
        );
        out.push_str(r#"<div class="scroll"><table class="claims"><thead><tr><th>id</th><th>claim</th><th>verdict</th><th>evidence</th></tr></thead><tbody>"#);
        for v in verdicts {
            let why = v.outcome.detail().map_or(String::new(), |d| {
                format!(r#"<span class="why">{}</span>"#, esc(d))
            });
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}<span class="why">{}</span></td><td><span class="badge {}">{}</span>{why}</td><td>{}</td></tr>"#,
                esc(v.claim),
                esc(v.claim_text),
                esc(v.metric),
                class(&v.outcome),
                esc(v.outcome.label()),
                if v.evidence.is_empty() {
                    "–".to_owned()
                } else {
                    esc(&v.evidence)
                }
            );
        }
        out.push_str("</tbody></table></div></section>\n");
    }

    fn heading(&mut self, id: &str, title: &str) {
        let _ = writeln!(self.out, r#"<section id="{id}"><h2>{}</h2>"#, esc(title));
    }

    fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.out, "<p>{}</p>", inline_code(text));
    }

    fn table(&mut self, t: &Table) {
        table(&mut self.out, t, "");
    }

    fn missing(&mut self, text: &str) {
        let _ = writeln!(self.out, r#"<p class="missing">{}</p>"#, esc(text));
    }

    /// The section's charts, then its end.
    fn end_section(&mut self, id: &str) {
        let mine: Vec<&Chart> = self
            .charts
            .iter()
            .filter(|(chart_id, _)| *chart_id == id)
            .map(|(_, c)| c)
            .collect();
        figures(&mut self.out, &mine);
        self.out.push_str("</section>\n");
    }

    fn footer(&mut self, tool: &str, version: &str) {
        let _ = write!(
            self.out,
            "<footer>Generated by {} {} from run.json; re-render with <code>loadgen report &lt;run folder&gt;</code>. Numbers from one machine compare only with the same machine class.</footer>\n</main></body></html>\n",
            esc(tool),
            esc(version)
        );
    }

    fn finish(self) -> String {
        self.out
    }
}

/// Renders `report.html`.
pub fn render(run: &SuiteRun) -> String {
    markup::render(Html::new(run), &markup::document(run))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::example::{example_run, example_run_without_redis};

    fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
        let needle = format!("{attr}=\"");
        html.match_indices(&needle)
            .map(|(i, _)| {
                let rest = &html[i + needle.len()..];
                &rest[..rest.find('"').unwrap_or(rest.len())]
            })
            .collect()
    }

    #[test]
    fn self_contained_and_script_free() {
        for run in [example_run(), example_run_without_redis()] {
            let html = render(&run);
            assert!(html.starts_with("<!DOCTYPE html>"));
            assert!(!html.to_lowercase().contains("<script"), "no scripts");
            for attr in ["src", "href", "xlink:href"] {
                for v in attr_values(&html, attr) {
                    assert!(
                        v.starts_with('#'),
                        "{attr}={v} must be a same-page reference"
                    );
                }
            }
            assert!(!html.contains("url(http"), "no fetched CSS resources");
            assert!(!html.contains("@import"));
            for scheme in ["http://", "https://"] {
                assert!(!html.contains(scheme), "no {scheme} anywhere");
            }
        }
    }

    /// Every `id` appears once and every same-page link lands on one, so the navigation goes
    /// where it says (the claim-size section once shared `#claims` with the verdicts).
    #[test]
    fn ids_are_unique_and_every_anchor_resolves() {
        for run in [example_run(), example_run_without_redis()] {
            let html = render(&run);
            let ids = attr_values(&html, " id");
            let mut seen = std::collections::HashSet::new();
            for id in &ids {
                assert!(!id.is_empty(), "empty id");
                assert!(seen.insert(*id), "id {id:?} appears more than once");
            }
            assert!(seen.contains("claims"), "the verdicts section");
            assert!(seen.contains("claim-size"), "the JWT size section");
            for attr in [" href", "xlink:href"] {
                for target in attr_values(&html, attr) {
                    let id = target.strip_prefix('#').unwrap_or(target);
                    assert!(seen.contains(id), "{attr}={target:?} points at no id");
                }
            }
            for (i, _) in html.match_indices("url(#") {
                let rest = &html[i + "url(#".len()..];
                let id = &rest[..rest.find(')').unwrap_or(rest.len())];
                assert!(seen.contains(id), "url(#{id}) points at no id");
            }
            for aria in ["aria-labelledby", "aria-describedby"] {
                for list in attr_values(&html, aria) {
                    for id in list.split_whitespace() {
                        assert!(seen.contains(id), "{aria}={id:?} points at no id");
                    }
                }
            }
        }
    }

    /// A chart is placed in the section whose id it names; a stale name would drop it.
    #[test]
    fn every_chart_names_an_existing_section() {
        let run = example_run();
        let sections = crate::render::tables::sections(&run);
        for (id, chart) in charts::all(&run) {
            assert!(
                sections.iter().any(|s| s.id == id),
                "a chart ({}) names the missing section {id:?}",
                chart.caption
            );
        }
    }

    #[test]
    fn every_chart_is_present_with_content() {
        let html = render(&example_run());
        let ids = [
            "chart-cost",
            "chart-spectrum",
            "chart-cpu",
            "chart-distance",
            "chart-scaling",
            "chart-bytes",
            "chart-claims",
            "chart-state",
            "chart-revocation",
            "chart-projection",
        ];
        for id in ids {
            let start = html
                .find(&format!(r#"<svg id="{id}""#))
                .unwrap_or_else(|| panic!("{id} missing"));
            let end = start + html[start..].find("</svg>").unwrap();
            let svg = &html[start..end];
            assert!(svg.contains("<title id="), "{id} has an accessible title");
            assert!(svg.contains("<desc id="), "{id} has a description");
            assert!(svg.contains(r#"class="ttl""#), "{id} has a visible title");
            assert!(svg.contains(r#"class="axl""#), "{id} has axis labels");
            let drawn = svg.matches("<path d=\"M").count() + svg.matches("<rect x=").count();
            assert!(drawn > 2, "{id} draws something");
            assert!(
                !svg.contains("NaN") && !svg.contains("inf"),
                "{id} has finite coordinates"
            );
        }
        let faults = example_run().faults.len();
        assert_eq!(html.matches(r#"<svg id="chart-fault-"#).count(), faults);
        assert_eq!(html.matches("<svg ").count(), ids.len() + faults);
    }

    #[test]
    fn text_is_escaped() {
        let mut run = example_run();
        run.label = "<img src=x onerror=alert(1)>".to_owned();
        run.env.cpu_model = "<b>".to_owned();
        let html = render(&run);
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn without_redis_names_the_skipped_part() {
        let html = render(&example_run_without_redis());
        assert!(html.contains("redis-server not found on PATH"));
        assert!(html.contains("apt-get install redis-server"));
        assert!(!html.contains(r#"<svg id="chart-projection" "#) || html.contains("jwt HS256"));
    }
}
