//! The JSON renderer: the [`Document`] as one versioned JSON document,
//! specified in docs/report-format.md.

use std::io;

use lockgraph_detect::Finding;
use serde::Serialize;

use crate::{Document, SCHEMA_VERSION};

/// Renders findings (stacks resolved by the caller) as one JSON document.
pub fn render(findings: &[Finding]) -> String {
    to_string(&Document {
        findings: findings.to_vec(),
        ..Document::default()
    })
}

/// Writes a whole analysis as one JSON document and a newline.
pub fn write(doc: &Document, out: &mut dyn io::Write) -> io::Result<()> {
    out.write_all(to_string(doc).as_bytes())?;
    out.write_all(b"\n")
}

/// The document, pretty-printed; should serialization ever fail, a document
/// that says why.
fn to_string(doc: &Document) -> String {
    #[derive(Serialize)]
    struct Versioned<'a> {
        version: u32,
        #[serde(flatten)]
        doc: &'a Document,
    }
    serde_json::to_string_pretty(&Versioned {
        version: SCHEMA_VERSION,
        doc,
    })
    .unwrap_or_else(|e| {
        format!(
            "{{\"version\":{SCHEMA_VERSION},\"error\":{:?}}}",
            e.to_string()
        )
    })
}
