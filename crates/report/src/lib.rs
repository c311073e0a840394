//! lockgraph-report: the report document model and one renderer per format.
//!
//! - [`Document`]: the model of one analysis (findings, accepted findings,
//!   stale baseline entries, stats, warnings), built by the caller.
//! - [`Format`]: picks the renderer that writes a [`Document`]:
//!   - [`text`]: the report a person reads. It also renders single findings
//!     ([`render`]) for panic messages and stderr.
//!   - [`json`]: one versioned JSON document for machines.
//!   - [`sarif`]: a SARIF 2.1.0 log for GitHub code scanning and other viewers.
//!   - [`dot`]: the lock-order graph for Graphviz, findings in red.
//!   - [`html`]: one self-contained page: summary, graph, findings.
//!
//! Adding a format takes a module with
//! `pub fn write(doc: &Document, out: &mut dyn io::Write) -> io::Result<()>`
//! and a variant of [`Format`], with its name, its help line and its place
//! in [`Format::ALL`]; callers that list [`Format::ALL`] offer it unchanged.

use std::fmt;
use std::io;
use std::str::FromStr;

mod document;
pub mod dot;
pub mod html;
pub mod json;
pub mod sarif;
mod source;
pub mod text;

pub use document::{stable_fingerprints, Accepted, Document, Stale, SCHEMA_VERSION};
pub use text::{render, render_all};

/// A report format: which renderer writes a [`Document`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// For people: [`text`].
    Text,
    /// One JSON document: [`json`].
    Json,
    /// A SARIF 2.1.0 log: [`sarif`].
    Sarif,
    /// The lock-order graph in Graphviz's DOT: [`dot`].
    Dot,
    /// One self-contained HTML page: [`html`].
    Html,
}

impl Format {
    /// Every format, in the order a command line lists them.
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Dot,
        Format::Html,
    ];

    /// The name a user types, as in `--format json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Dot => "dot",
            Format::Html => "html",
        }
    }

    /// What the format is for, in a few words for `--help`.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Text => "For people",
            Format::Json => "One JSON document (docs/report-format.md)",
            Format::Sarif => "A SARIF 2.1.0 log, for GitHub code scanning",
            Format::Dot => "The lock-order graph by lock class, for Graphviz; findings in red",
            Format::Html => "One self-contained page: summary, graph, findings with evidence",
        }
    }

    /// Writes `doc` to `out` in this format.
    pub fn write(self, doc: &Document, out: &mut dyn io::Write) -> io::Result<()> {
        match self {
            Format::Text => text::write(doc, out),
            Format::Json => json::write(doc, out),
            Format::Sarif => sarif::write(doc, out),
            Format::Dot => dot::write(doc, out),
            Format::Html => html::write(doc, out),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// The format of that exact [`Format::name`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// A format name that is none of [`Format::ALL`]'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown report format {:?}: expected one of ", self.0)?;
        for (i, format) in Format::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{format}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownFormat {}
