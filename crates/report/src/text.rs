//! The text renderer: what a person reads in a panic message, on stderr or from `lockgraph analyze`, in the style of rustc's diagnostics.
//!
//! A finding's first line always starts with the kind's JSON name, so that a
//! log search for `lock_order_cycle` finds every report of one. Then the
//! primary location (`-->`), each step with its site, the source line and a
//! caret when the file is readable from here (skipped quietly when not), a
//! lockdep-style "possible interleaving" for a lock-order cycle of two to
//! four threads, backtraces with std's and lockgraph's own frames folded,
//! `note:` lines and a `help:` line with the fix.
//!
//! Names from the program are data: labels quote them as Rust string
//! literals, and every control character left in the output (from a trace's
//! file names, say) is escaped, so a report can never move a terminal's
//! cursor or forge a line. Colour is for terminals only ([`Style`]).

use std::fmt::Write;
use std::io;

use lockgraph_detect::{Evidence, Finding, Fingerprint, Frame, Kind, Op, Severity};

use crate::source::Sources;
use crate::Document;

/// How many of the user's frames a backtrace shows.
const MAX_FRAMES: usize = 16;

/// How a report is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours (for a terminal).
    pub color: bool,
    /// Source lines under each step, read from the files the sites name
    /// (relative to the current directory) when they can be read.
    pub snippets: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            snippets: true,
        }
    }
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{s}\u{1b}[0m")
        } else {
            s.to_owned()
        }
    }
}

/// Renders one finding, plain. Stacks are shown if resolved
/// ([`Finding::resolve_stacks`]).
pub fn render(f: &Finding) -> String {
    render_styled(f, Style::default())
}

/// Renders one finding in `style`.
pub fn render_styled(f: &Finding, style: Style) -> String {
    render_with(f, style, None)
}

/// Renders one finding in `style`, with its line-stable fingerprint if known.
fn render_with(f: &Finding, style: Style, stable: Option<Fingerprint>) -> String {
    let mut out = String::new();
    let mut sources = Sources::default();
    let (sev, sev_color) = match f.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let head = format!("{} ({sev})", f.kind.as_str());
    let _ = writeln!(out, "{}: {}", style.paint(sev_color, &head), f.summary);
    if let Some(p) = primary(f) {
        let _ = writeln!(
            out,
            "  {} {}",
            style.paint("1;34", "-->"),
            f.evidence[p].site
        );
    }
    match stable {
        Some(s) => {
            let _ = writeln!(
                out,
                "  fingerprint: {} (stable across line moves: {s})",
                f.fingerprint
            );
        }
        None => {
            let _ = writeln!(out, "  fingerprint: {}", f.fingerprint);
        }
    }
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
        step_lines(&mut out, f, i, step, style, &mut sources);
    }
    interleaving(&mut out, f);
    for note in &f.notes {
        match note.strip_prefix("fix: ") {
            Some(fix) => {
                let _ = writeln!(out, "  {} {fix}", style.paint("1;32", "help:"));
            }
            None => {
                let _ = writeln!(out, "  {} {note}", style.paint("1", "note:"));
            }
        }
    }
    escape_controls(&out, style)
}

/// One step: what happened, where, the source line with a caret, the
/// note, and the backtrace with std's and lockgraph's frames folded.
fn step_lines(
    out: &mut String,
    f: &Finding,
    i: usize,
    step: &Evidence,
    style: Style,
    sources: &mut Sources,
) {
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
    let source = if style.snippets {
        sources.line(&step.site)
    } else {
        None
    };
    if let Some(source) = source {
        let number = step.site.line.to_string();
        let pad = " ".repeat(number.len());
        let bar = style.paint("1;34", "|");
        let _ = writeln!(out, "        {pad} {bar}");
        let _ = writeln!(
            out,
            "        {} {bar} {source}",
            style.paint("1;34", &number)
        );
        if step.site.col > 0 {
            // Columns count characters; tabs keep their width.
            let lead: String = source
                .chars()
                .take(step.site.col as usize - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(
                out,
                "        {pad} {bar} {lead}{}",
                style.paint("1;31", "^")
            );
        }
    }
    if let Some(note) = &step.note {
        let _ = writeln!(out, "        ({note})");
    }
    if !step.backtrace.is_empty() {
        let _ = writeln!(out, "        backtrace:");
        let mut folded = 0usize;
        let mut shown = 0usize;
        for (k, frame) in step.backtrace.iter().enumerate() {
            if !users(frame) {
                folded += 1;
                continue;
            }
            if shown == MAX_FRAMES {
                let _ = writeln!(out, "          ... more frames");
                break;
            }
            shown += 1;
            let _ = writeln!(out, "          {k:>2}: {frame}");
        }
        if folded > 0 {
            let _ = writeln!(
                out,
                "          ({folded} frame(s) of std, lockgraph and the runtime folded)"
            );
        }
    }
}

/// Whether a frame is the user's: not std's, lockgraph's, its locks' or
/// the test harness's.
fn users(frame: &Frame) -> bool {
    const FOLDED: [&str; 12] = [
        "std::",
        "core::",
        "alloc::",
        "lockgraph::",
        "lockgraph_detect::",
        "lockgraph_report::",
        "lock_api::",
        "parking_lot",
        "backtrace::",
        "test::",
        "__rust",
        "<alloc::",
    ];
    let Some(function) = frame.function.as_deref() else {
        return false;
    };
    let f = function.trim_start_matches('<');
    !FOLDED
        .iter()
        .any(|p| f.starts_with(p.trim_start_matches('<')))
        && !function.starts_with("_start")
        && !function.contains("__libc_start")
        && function != "main"
}

/// For a lock-order cycle formed by two to four threads, one per edge,
/// the interleaving that deadlocks, as lockdep prints it: every thread
/// takes its first lock, then each asks for the next.
fn interleaving(out: &mut String, f: &Finding) {
    if f.kind != Kind::LockOrderCycle {
        return;
    }
    let pairs: Vec<(&Evidence, &Evidence)> = f
        .evidence
        .chunks(2)
        .filter_map(|c| match c {
            [h, a] if h.op == Op::Holds && a.op == Op::Acquires => Some((h, a)),
            _ => None,
        })
        .collect();
    let threads: Vec<_> = pairs.iter().map(|(h, _)| h.thread).collect();
    let distinct = threads
        .iter()
        .enumerate()
        .all(|(i, t)| !threads[..i].contains(t));
    if pairs.len() < 2 || pairs.len() > 4 || !distinct {
        return;
    }
    let label = |e: &Evidence| {
        f.object(e.object)
            .map(|o| o.label())
            .unwrap_or_else(|| format!("#{}", e.object.0))
    };
    let header: Vec<String> = pairs
        .iter()
        .map(|(h, _)| {
            f.thread(h.thread)
                .map(|t| t.label())
                .unwrap_or_else(|| format!("thread #{}", h.thread.0))
        })
        .collect();
    let mut rows: Vec<(usize, String)> = Vec::new();
    for (i, (h, _)) in pairs.iter().enumerate() {
        rows.push((i, format!("lock {}", label(h))));
    }
    for (i, (_, a)) in pairs.iter().enumerate() {
        rows.push((i, format!("lock {} (waits)", label(a))));
    }
    let width = header
        .iter()
        .map(|h| h.chars().count())
        .chain(rows.iter().map(|(_, r)| r.chars().count()))
        .max()
        .unwrap_or(0)
        + 2;
    let cell = |s: &str| format!("{s:<width$}");
    let _ = writeln!(out, "  possible interleaving:");
    let _ = writeln!(
        out,
        "    {}",
        header
            .iter()
            .map(|h| cell(h))
            .collect::<String>()
            .trim_end()
    );
    let _ = writeln!(
        out,
        "    {}",
        header
            .iter()
            .map(|h| cell(&"-".repeat(h.chars().count())))
            .collect::<String>()
            .trim_end()
    );
    for (col, text) in rows {
        let line: String = (0..pairs.len())
            .map(|c| if c == col { cell(&text) } else { cell("") })
            .collect();
        let _ = writeln!(out, "    {}", line.trim_end());
    }
    let _ = writeln!(out, "    *** every thread waits for the next: deadlock ***");
}

/// The step a report points at: the acquisition that closes a cycle, else
/// the last step (the wait, the second access, the act).
fn primary(f: &Finding) -> Option<usize> {
    f.evidence
        .iter()
        .position(|e| {
            e.note
                .as_deref()
                .is_some_and(|n| n.contains("closes the cycle"))
        })
        .or_else(|| f.evidence.len().checked_sub(1))
}

/// Escapes every control character but the line breaks this renderer
/// wrote (and, when colouring, its own escape sequences).
fn escape_controls(text: &str, style: Style) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' || c == '\t' {
            out.push(c);
        } else if c == '\u{1b}' && style.color && chars.peek() == Some(&'[') {
            // Only this renderer's own `ESC [ ... m` sequences reach here
            // unescaped: names were quoted as literals before.
            out.push(c);
        } else if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
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

/// Writes a whole analysis, plain: each finding as [`render`] shows it,
/// followed by a blank line, then one summary line with the stats and counts.
pub fn write(doc: &Document, out: &mut dyn io::Write) -> io::Result<()> {
    write_styled(doc, out, Style::default())
}

/// [`write()`] in `style`.
pub fn write_styled(doc: &Document, out: &mut dyn io::Write, style: Style) -> io::Result<()> {
    for (i, f) in doc.findings.iter().enumerate() {
        out.write_all(render_with(f, style, doc.stable.get(i).copied()).as_bytes())?;
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
            Some(path) => write!(
                out,
                "{}",
                escape_controls(&path.display().to_string(), Style::default())
            )?,
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
