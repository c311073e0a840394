//! The JSON renderer: the [`Document`] as one versioned JSON document,
//! specified in docs/report-format.md.

use std::io;

use lockgraph_detect::replay::Stats;
use lockgraph_detect::{Finding, Fingerprint};
use serde::Serialize;

use crate::{Accepted, Document, Stale, SCHEMA_VERSION};

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
    /// A finding and, after its own keys, its line-stable fingerprint.
    #[derive(Serialize)]
    struct Reported<'a> {
        #[serde(flatten)]
        finding: &'a Finding,
        #[serde(skip_serializing_if = "Option::is_none")]
        stable_fingerprint: Option<Fingerprint>,
    }
    #[derive(Serialize)]
    struct Versioned<'a> {
        version: u32,
        findings: Vec<Reported<'a>>,
        accepted: &'a [Accepted],
        stale_baseline: &'a [Stale],
        stats: &'a Stats,
        warnings: &'a [String],
    }
    let findings = doc
        .findings
        .iter()
        .enumerate()
        .map(|(i, finding)| Reported {
            finding,
            stable_fingerprint: doc.stable.get(i).copied(),
        })
        .collect();
    serde_json::to_string_pretty(&Versioned {
        version: SCHEMA_VERSION,
        findings,
        accepted: &doc.accepted,
        stale_baseline: &doc.stale_baseline,
        stats: &doc.stats,
        warnings: &doc.warnings,
    })
    .unwrap_or_else(|e| {
        format!(
            "{{\"version\":{SCHEMA_VERSION},\"error\":{:?}}}",
            e.to_string()
        )
    })
}
