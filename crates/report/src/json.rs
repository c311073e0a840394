//! The JSON renderer: one versioned document, documented in docs/report-format.md.

use lockgraph_detect::Finding;
use serde::Serialize;

use crate::{Document, SCHEMA_VERSION};

/// Renders findings (stacks resolved by the caller) as one JSON document.
pub fn render(findings: &[Finding]) -> String {
    render_document(&Document {
        findings: findings.to_vec(),
        ..Document::default()
    })
}

/// Renders a whole analysis as one JSON document.
pub fn render_document(doc: &Document) -> String {
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
