//! What happens to a finding: recorded always, then panic, warn or silence per configuration.

use lockgraph_detect::{Finding, Severity};

use super::config::{self, OnFinding};
use super::global::GLOBAL;

/// Records a finding and applies the configured reaction. Returns the panic
/// message when the caller must panic: the caller first undoes whatever it
/// half-did (a raw lock taken but not yet guarded), then panics with it.
///
/// `fatal` says the thread would otherwise wait forever (a certain
/// self-deadlock, a confirmed deadlock). Such a finding ends the wait with a
/// panic under `warn` too, since going on would hang the program: only `off`
/// lets it hang.
///
/// A finding already reported in this process (same fingerprint and
/// severity) is not reported again; a fatal one still ends the wait.
pub(crate) fn handle(mut f: Finding, fatal: bool) -> Option<String> {
    let reaction = config::on_finding();
    let first = remember(&f);
    let must_end = fatal && reaction != OnFinding::Off;
    if !first {
        return must_end.then(|| {
            format!(
                "lockgraph: {} (error, reported before): {}",
                f.kind.as_str(),
                f.summary
            )
        });
    }
    if super::sink::recording() {
        super::sink::finding_record(&f);
    }
    if reaction == OnFinding::Off {
        return None;
    }
    trace_event(&f);
    if must_end || (reaction == OnFinding::Panic && f.severity == Severity::Error) {
        // This thread leaves with the report: it may as well render it.
        f.resolve_stacks();
        return Some(format!("lockgraph: {}", lockgraph_report::render(&f)));
    }
    // Symbolized, rendered and printed off this thread: see `reporter`.
    super::reporter::print(f);
    None
}

/// A thread ended holding lock `object` (`f` is its `lock_leak`): held
/// back until [`confirm_leaks`], and dropped if another thread lets the
/// lock go first (`global::orphan_release`: the guard had been sent there).
pub(crate) fn leak_pending(object: u64, f: Finding) {
    GLOBAL.lock().ended_holding.push((object, f));
}

/// Reports the leaks still held back, when the program asks for its findings.
pub(crate) fn confirm_leaks() {
    let pending = std::mem::take(&mut GLOBAL.lock().ended_holding);
    for (_, f) in pending {
        // A warning: reported, never a panic.
        let _ = handle(f, false);
    }
}

/// Reports the leaks still held back at process exit (printed at once:
/// the reporter thread may not get to run any more).
pub(crate) fn confirm_leaks_at_exit() {
    let pending = std::mem::take(&mut GLOBAL.lock().ended_holding);
    for (_, f) in pending {
        report_at_exit(f);
    }
}

/// The finding as a `tracing` event (target `lockgraph`; `error` or
/// `warn` by severity) with structured fields, on the thread that found it
/// (a subscriber may be set for it alone), before any panic. Cheap: no
/// backtrace is symbolized.
fn trace_event(f: &Finding) {
    let objects = f
        .objects
        .iter()
        .map(|o| o.label())
        .collect::<Vec<_>>()
        .join(", ");
    let threads = f
        .threads
        .iter()
        .map(|t| t.label())
        .collect::<Vec<_>>()
        .join(", ");
    let sites = f
        .evidence
        .iter()
        .map(|e| e.site.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    macro_rules! event {
        ($level:ident) => {
            tracing::$level!(
                target: "lockgraph",
                kind = f.kind.as_str(),
                severity = f.severity.as_str(),
                fingerprint = %f.fingerprint,
                objects = %objects,
                threads = %threads,
                sites = %sites,
                "{}",
                f.summary
            )
        };
    }
    match f.severity {
        Severity::Error => event!(error),
        Severity::Warning => event!(warn),
    }
}

/// Keeps `f` among the process's findings unless it was reported before
/// (same fingerprint and severity); whether it is new.
fn remember(f: &Finding) -> bool {
    let mut g = GLOBAL.lock();
    let first = g.reported.insert((f.fingerprint, f.severity));
    if first {
        g.findings.push(f.clone());
    }
    first
}

/// Records a finding found at process exit and prints it unless the
/// reaction is `off`; never panics (a panic in an exit handler aborts).
pub(crate) fn report_at_exit(mut f: Finding) {
    let first = remember(&f);
    if !first {
        return;
    }
    if super::sink::recording() {
        super::sink::finding_record(&f);
    }
    if config::on_finding() == OnFinding::Off {
        return;
    }
    trace_event(&f);
    // The process is ending: printed here, after what the reporter had.
    super::reporter::drain(std::time::Duration::from_secs(2));
    f.resolve_stacks();
    eprintln!("lockgraph: {}", lockgraph_report::render(&f));
}

/// Handles several findings; the first that demands a panic wins, the rest are still recorded.
pub(crate) fn handle_all(findings: Vec<Finding>) -> Option<String> {
    let mut message = None;
    for f in findings {
        if let Some(m) = handle(f, false) {
            message.get_or_insert(m);
        }
    }
    message
}

/// Every finding recorded so far in this process, stacks resolved.
pub fn findings() -> Vec<Finding> {
    confirm_leaks();
    let mut all = GLOBAL.lock().findings.clone();
    for f in &mut all {
        f.resolve_stacks();
    }
    all
}

/// Removes and returns every finding recorded so far (the reported-once
/// memory is kept: the same finding is not reported again).
pub fn take_findings() -> Vec<Finding> {
    confirm_leaks();
    let mut all = std::mem::take(&mut GLOBAL.lock().findings);
    for f in &mut all {
        f.resolve_stacks();
    }
    all
}
