//! The document model: one analysis with its baseline applied, the one thing every renderer reads.

use std::path::PathBuf;

use lockgraph_detect::replay::Stats;
use lockgraph_detect::{Finding, Fingerprint, Kind};
use serde::Serialize;

use crate::source::{stable_fingerprint, Sources};

/// Version of the report schema (docs/report-format.md); bumped on any
/// incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A finding a baseline accepted, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Accepted {
    /// The finding's fingerprint.
    pub fingerprint: Fingerprint,
    /// Its line-stable fingerprint (see [`Document::stable`]).
    pub stable_fingerprint: Fingerprint,
    /// The finding's kind.
    pub kind: Kind,
    /// The reason the baseline gives.
    pub reason: String,
}

/// A baseline entry that matched no finding.
#[derive(Clone, Debug, Serialize)]
pub struct Stale {
    /// The fingerprint it names, as the baseline spells it.
    pub fingerprint: String,
    /// Its reason.
    pub reason: String,
}

/// Everything an analysis reports. It serializes as the JSON report, minus
/// the `version` that [`crate::json`] adds.
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
    /// The baseline file applied, if any. The text report names it; schema
    /// version 1 of the JSON report has no key for it.
    #[serde(skip)]
    pub baseline: Option<PathBuf>,
    /// The line-stable fingerprint of each of `findings`, index for index
    /// ([`stable_fingerprints`]); empty if the caller computed none.
    /// Renderers show it beside `fingerprint` (JSON: `stable_fingerprint`,
    /// SARIF: `partialFingerprints`), and a baseline may name either.
    #[serde(skip)]
    pub stable: Vec<Fingerprint>,
    /// The lock-order graph by lock class, for pictures (`dot`); not part
    /// of schema version 1 of the JSON report.
    #[serde(skip)]
    pub lock_order: Vec<lockgraph_detect::order::OrderEdge>,
}

/// The line-stable fingerprint of each finding: its fingerprint with every
/// site named by the text of its line instead of its number, so an edit
/// that only moves lines keeps it (`source` module docs). `read_sources:
/// false` reads no file, and names sites by file and line.
pub fn stable_fingerprints(findings: &[Finding], read_sources: bool) -> Vec<Fingerprint> {
    let mut sources = if read_sources {
        Sources::default()
    } else {
        Sources::unread()
    };
    findings
        .iter()
        .map(|f| stable_fingerprint(f, &mut sources))
        .collect()
}
