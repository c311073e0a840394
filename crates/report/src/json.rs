//! The JSON renderer: `{"version": 1, "findings": [...]}`.

use lockgraph_detect::Finding;

/// Version of the JSON report schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Renders findings (stacks resolved by the caller) as one JSON document.
pub fn render(findings: &[Finding]) -> String {
    let doc = serde_json::json!({
        "version": SCHEMA_VERSION,
        "findings": findings,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
