//! One report, two formats: the [`Document`] (header, verdicts, sections) is built once from
//! the run, and [`render`] walks it through a [`Markup`] — one impl per format
//! ([`crate::render::markdown::Markdown`], [`crate::render::html::Html`]), after hyperfine's
//! `MarkupExporter`.

use crate::model::SuiteRun;
use crate::render::tables::{self, Header, Section, Table};
use crate::render::verdict::{self, Verdict};

/// What the report shows, independent of the format.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Title, warnings, run facts.
    pub header: Header,
    /// Every claim's verdict.
    pub verdicts: Vec<Verdict>,
    /// The measurement sections, in report order.
    pub sections: Vec<Section>,
    /// The tool that wrote the report: name.
    pub tool: String,
    /// The tool that wrote the report: version.
    pub version: String,
}

/// Builds the report's [`Document`] from `run`.
pub fn document(run: &SuiteRun) -> Document {
    Document {
        header: tables::header(run),
        verdicts: verdict::verdicts(run),
        sections: tables::sections(run),
        tool: run.tool.name.clone(),
        version: run.tool.version.clone(),
    }
}

/// A format the report can be written in. [`render`] calls the methods in document order.
pub trait Markup {
    /// The start of the document, before the header.
    fn begin(&mut self, _header: &Header) {}
    /// The title, warnings and run facts.
    fn header(&mut self, header: &Header);
    /// A table of contents over the sections (after the header).
    fn contents(&mut self, _sections: &[Section]) {}
    /// The claims and their verdicts.
    fn claims(&mut self, verdicts: &[Verdict]);
    /// A section's heading; `id` is its anchor.
    fn heading(&mut self, id: &str, title: &str);
    /// A paragraph (`` `code` `` spans marked with backticks).
    fn paragraph(&mut self, text: &str);
    /// A table.
    fn table(&mut self, table: &Table);
    /// Why a section has no table.
    fn missing(&mut self, text: &str);
    /// The end of the section `id`.
    fn end_section(&mut self, _id: &str) {}
    /// The closing note; `tool` and `version` name the tool that wrote it.
    fn footer(&mut self, tool: &str, version: &str);
    /// The finished text.
    fn finish(self) -> String;
}

/// Renders `doc` in the format `m` writes.
pub fn render<M: Markup>(mut m: M, doc: &Document) -> String {
    m.begin(&doc.header);
    m.header(&doc.header);
    m.contents(&doc.sections);
    m.claims(&doc.verdicts);
    for s in &doc.sections {
        m.heading(s.id, &s.title);
        for p in &s.intro {
            m.paragraph(p);
        }
        match (&s.table, &s.missing) {
            (Some(t), _) => m.table(t),
            (None, Some(why)) => m.missing(why),
            (None, None) => {}
        }
        m.end_section(s.id);
    }
    m.footer(&doc.tool, &doc.version);
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::example::{example_run, example_run_without_redis};
    use crate::render::{html, markdown};

    /// Both formats render the one document; each format's own entry point gives the same.
    #[test]
    fn one_document_renders_in_both_formats() {
        for run in [example_run(), example_run_without_redis()] {
            let doc = document(&run);
            let both = crate::render::render(&run);
            assert_eq!(both.markdown, render(markdown::Markdown::default(), &doc));
            assert_eq!(both.html, render(html::Html::new(&run), &doc));
            assert_eq!(both.markdown, markdown::render(&run));
            assert_eq!(both.html, html::render(&run));
            for s in &doc.sections {
                assert!(both.markdown.contains(&format!("## {}\n", s.title)));
                assert!(both.html.contains(&format!(r#"<section id="{}">"#, s.id)));
            }
        }
    }
}
