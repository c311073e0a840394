//! The JSON renderer: one versioned document, documented in docs/report-format.md.

use lockgraph_detect::replay::Stats;
use lockgraph_detect::Finding;
use serde::Serialize;

/// Version of the JSON report schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A finding a baseline accepted, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Accepted {
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// The finding's kind.
    pub kind: String,
    /// The reason the baseline gives.
    pub reason: String,
}

/// A baseline entry that matched no finding.
#[derive(Clone, Debug, Serialize)]
pub struct Stale {
    /// The fingerprint it names.
    pub fingerprint: String,
    /// Its reason.
    pub reason: String,
}

/// Everything an analysis reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Document {
    /// Findings not accepted by the baseline, most serious first.
    pub findings: Vec<Finding>,
    /// Findings the baseline accepted.
    pub accepted: Vec<Accepted>,
    /// Baseline entries that matched nothing.
    pub stale_baseline: Vec<Stale>,
    /// What was read.
    pub stats: Stats,
    /// Problems that did not stop the analysis (a truncated last line).
    pub warnings: Vec<String>,
}

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
