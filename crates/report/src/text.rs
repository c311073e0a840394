//! The text renderer: what a person reads in a panic message, on stderr or
//! from `lockgraph analyze`.
//!
//! A finding's first line always starts with the kind's JSON name, so that a
//! log search for `lock_order_cycle` finds every report of one.

use std::fmt::Write;
use std::io;

use lockgraph_detect::{Finding, Op, Severity};

use crate::Document;

/// How many frames of a backtrace a report shows.
const MAX_FRAMES: usize = 24;

/// Renders one finding. Stacks are shown if resolved ([`Finding::resolve_stacks`]).
pub fn render(f: &Finding) -> String {
    let mut out = String::new();
    let sev = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{} ({sev}): {}", f.kind.as_str(), f.summary);
    let _ = writeln!(out, "  fingerprint: {}", f.fingerprint);
    if !f.objects.is_empty() {
        let _ = writeln!(out, "  objects:");
        for o in &f.objects {
            let _ = writeln!(out, "    {} created at {}", o.label(), o.site);
        }
    }
    if !f.threads.is_empty() {
        let _ = writeln!(out, "  threads:");
        for t in &f.threads {
            let _ = writeln!(out, "    {}", t.label());
        }
    }
    let _ = writeln!(out, "  evidence:");
    for (i, step) in f.evidence.iter().enumerate() {
        let thread = f
            .thread(step.thread)
            .map(|t| t.label())
            .unwrap_or_else(|| format!("thread #{}", step.thread.0));
        let object = f
            .object(step.object)
            .map(|o| o.label())
            .unwrap_or_else(|| format!("object #{}", step.object.0));
        let verb = match step.op {
            Op::Holds => "holds",
            Op::Acquires => "acquires",
            Op::BlockedOn => "is blocked on",
            Op::Signals => "signals",
            Op::Sleeps => "sleeps",
            Op::Reads => "reads",
            Op::Writes => "writes",
        };
        if step.op == Op::Sleeps {
            // A sleep waits on nothing: no object to name.
            let _ = writeln!(out, "    {:>2}. {thread} sleeps at {}", i + 1, step.site);
        } else {
            let _ = writeln!(
                out,
                "    {:>2}. {thread} {verb} {object} at {}",
                i + 1,
                step.site
            );
        }
        if let Some(note) = &step.note {
            let _ = writeln!(out, "        ({note})");
        }
        if !step.backtrace.is_empty() {
            let _ = writeln!(out, "        backtrace:");
            for (k, frame) in step.backtrace.iter().take(MAX_FRAMES).enumerate() {
                let _ = writeln!(out, "          {k:>2}: {frame}");
            }
            if step.backtrace.len() > MAX_FRAMES {
                let _ = writeln!(
                    out,
                    "          ... {} more frames",
                    step.backtrace.len() - MAX_FRAMES
                );
            }
        }
    }
    for note in &f.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    out
}

/// Renders many findings, separated by blank lines, with a closing count.
pub fn render_all(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&render(f));
        out.push('\n');
    }
    let errors = errors(findings);
    let _ = writeln!(
        out,
        "lockgraph: {} finding(s), {} error(s), {} warning(s)",
        findings.len(),
        errors,
        findings.len() - errors
    );
    out
}

/// Writes a whole analysis: each finding as [`render`] shows it, followed by
/// a blank line, then one summary line with the stats and counts.
pub fn write(doc: &Document, out: &mut dyn io::Write) -> io::Result<()> {
    for f in &doc.findings {
        out.write_all(render(f).as_bytes())?;
        out.write_all(b"\n")?;
    }
    let errors = errors(&doc.findings);
    write!(
        out,
        "lockgraph: {} trace(s), {} event(s), {} thread(s), {} object(s): {} finding(s), {} error(s), {} warning(s)",
        doc.stats.traces,
        doc.stats.events,
        doc.stats.threads,
        doc.stats.objects,
        doc.findings.len(),
        errors,
        doc.findings.len() - errors
    )?;
    if !doc.accepted.is_empty() {
        write!(out, "; {} accepted by ", doc.accepted.len())?;
        match &doc.baseline {
            Some(path) => write!(out, "{}", path.display())?,
            None => write!(out, "the baseline")?,
        }
    }
    writeln!(out)
}

/// How many of `findings` are errors.
fn errors(findings: &[Finding]) -> usize {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count()
}
