//! What happens to a finding: recorded always, then panic, warn or silence per configuration.

use lockgraph_detect::{Finding, Severity};

use super::config::{self, OnFinding};
use super::global::GLOBAL;

/// Records a finding and applies the configured reaction. Returns the panic
/// message when the caller must panic: the caller first undoes whatever it
/// half-did (a raw lock taken but not yet guarded), then panics with it.
///
/// A finding already reported in this process (same fingerprint and severity)
/// is not reported again and never panics twice.
pub(crate) fn handle(mut f: Finding) -> Option<String> {
    let reaction = config::on_finding();
    {
        let mut g = GLOBAL.lock();
        if !g.reported.insert((f.fingerprint, f.severity)) {
            return None;
        }
        g.findings.push(f.clone());
    }
    if super::record::recording() {
        super::record::finding_record(&f);
    }
    if reaction == OnFinding::Off {
        return None;
    }
    f.resolve_stacks();
    let text = lockgraph_report::render(&f);
    if reaction == OnFinding::Panic && f.severity == Severity::Error {
        return Some(format!("lockgraph: {text}"));
    }
    eprintln!("lockgraph: {text}");
    tracing::warn!(
        target: "lockgraph",
        kind = f.kind.as_str(),
        severity = f.severity.as_str(),
        fingerprint = %f.fingerprint,
        "{}",
        f.summary
    );
    None
}

/// Handles several findings; the first that demands a panic wins, the rest are still recorded.
pub(crate) fn handle_all(findings: Vec<Finding>) -> Option<String> {
    let mut message = None;
    for f in findings {
        if let Some(m) = handle(f) {
            message.get_or_insert(m);
        }
    }
    message
}

/// Every finding recorded so far in this process, stacks resolved.
pub fn findings() -> Vec<Finding> {
    let mut all = GLOBAL.lock().findings.clone();
    for f in &mut all {
        f.resolve_stacks();
    }
    all
}

/// Removes and returns every finding recorded so far (the reported-once
/// memory is kept: the same finding is not reported again).
pub fn take_findings() -> Vec<Finding> {
    let mut all = std::mem::take(&mut GLOBAL.lock().findings);
    for f in &mut all {
        f.resolve_stacks();
    }
    all
}

/// The locks the current thread holds right now, oldest first: what the
/// detector believes, for tests and debugging.
pub fn held_locks() -> Vec<lockgraph_detect::ObjectInfo> {
    super::local::with(|l| {
        l.drain_pending();
        l.held_infos()
    })
    .unwrap_or_default()
}
