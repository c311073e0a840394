//! The HTML renderer: one self-contained page (no network, no external scripts or fonts) with a summary, the lock-order graph drawn as SVG, and each finding with its evidence, source lines and a per-thread timeline.
//!
//! Everything is inline: the style, a few lines of script (opening the
//! finding a URL fragment `#open=finding-N` names, and nothing else), and
//! the graph, laid out here on a circle (lock classes as nodes, the
//! edges of findings in red). A finding is a `<details>` element: a click
//! on its summary shows its evidence. Every text from the program or a
//! trace goes through [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

use lockgraph_detect::{Finding, ObjectInfo, Severity};

use crate::Document;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.4em}table{border-collapse:collapse;margin:.5em 0}\
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top;font-size:.9em}\
details{border:1px solid #ddd;border-radius:4px;margin:.6em 0;padding:.4em .8em}\
summary{cursor:pointer;font-weight:600}.error{color:#b00}.warning{color:#a60}\
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f6f6f6;padding:.3em}\
.graph{border:1px solid #ddd;max-width:100%}.help{color:#060}";

/// Opens the finding `#open=<id>` names, as a click on its summary would.
const SCRIPT: &str = "window.addEventListener('DOMContentLoaded',function(){\
var m=location.hash.match(/^#open=([a-z0-9-]+)$/);\
if(m){var d=document.getElementById(m[1]);if(d){d.querySelector('summary').click();}}});";

/// Writes `doc` as one HTML page.
pub fn write(doc: &Document, out: &mut dyn io::Write) -> io::Result<()> {
    out.write_all(render(doc).as_bytes())
}

/// The page.
pub fn render(doc: &Document) -> String {
    let mut out = String::new();
    let errors = doc
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<title>lockgraph report</title>");
    let _ = writeln!(
        out,
        "<style>{STYLE}</style><script>{SCRIPT}</script></head><body>"
    );
    let _ = writeln!(
        out,
        "<h1>lockgraph: {} finding(s), {errors} error(s), {} warning(s)</h1>",
        doc.findings.len(),
        doc.findings.len() - errors
    );
    let _ = writeln!(
        out,
        "<p id=\"stats\">{} trace(s), {} event(s), {} thread(s), {} object(s); {} accepted by the baseline.</p>",
        doc.stats.traces,
        doc.stats.events,
        doc.stats.threads,
        doc.stats.objects,
        doc.accepted.len()
    );
    for w in &doc.warnings {
        let _ = writeln!(out, "<p class=\"warning\">warning: {}</p>", escape(w));
    }
    out.push_str("<h2>Lock-order graph</h2>\n");
    out.push_str(&graph_svg(doc));
    out.push_str("<h2>Findings</h2>\n");
    if doc.findings.is_empty() {
        out.push_str("<p>None.</p>\n");
    }
    for (i, f) in doc.findings.iter().enumerate() {
        finding(&mut out, i + 1, f, doc.stable.get(i).copied());
    }
    out.push_str("</body></html>\n");
    out
}

fn finding(out: &mut String, n: usize, f: &Finding, stable: Option<lockgraph_detect::Fingerprint>) {
    let sev = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(
        out,
        "<details id=\"finding-{n}\" class=\"finding\"><summary><span class=\"{sev}\">{} ({sev})</span>: {}</summary>",
        f.kind.as_str(),
        escape(&f.summary)
    );
    match stable {
        Some(s) => {
            let _ = writeln!(
                out,
                "<p>fingerprint <code>{}</code>, stable across line moves <code>{s}</code></p>",
                f.fingerprint
            );
        }
        None => {
            let _ = writeln!(out, "<p>fingerprint <code>{}</code></p>", f.fingerprint);
        }
    }
    out.push_str("<table class=\"evidence\"><tr><th>#</th><th>thread</th><th>what</th><th>where</th><th>note</th></tr>\n");
    for (i, e) in f.evidence.iter().enumerate() {
        let thread = f
            .thread(e.thread)
            .map_or_else(|| format!("thread #{}", e.thread.0), |t| t.label());
        let object = f
            .object(e.object)
            .map_or_else(|| format!("#{}", e.object.0), |o| o.label());
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{} {}</td><td><code>{}</code></td><td>{}</td></tr>",
            i + 1,
            escape(&thread),
            e.op.as_str().replace('_', " "),
            escape(&object),
            escape(&e.site.to_string()),
            escape(e.note.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
    timeline(out, f);
    for note in &f.notes {
        match note.strip_prefix("fix: ") {
            Some(fix) => {
                let _ = writeln!(out, "<p class=\"help\">help: {}</p>", escape(fix));
            }
            None => {
                let _ = writeln!(out, "<p>note: {}</p>", escape(note));
            }
        }
    }
    out.push_str("</details>\n");
}

/// What each thread of the finding held and waited for, step by step: a
/// column per thread.
fn timeline(out: &mut String, f: &Finding) {
    if f.threads.len() < 2 {
        return;
    }
    out.push_str("<table class=\"timeline\"><tr><th>step</th>");
    for t in &f.threads {
        let _ = write!(out, "<th>{}</th>", escape(&t.label()));
    }
    out.push_str("</tr>\n");
    for (i, e) in f.evidence.iter().enumerate() {
        let _ = write!(out, "<tr><td>{}</td>", i + 1);
        for t in &f.threads {
            if t.id == e.thread {
                let object = f
                    .object(e.object)
                    .map_or_else(|| format!("#{}", e.object.0), |o| o.label());
                let _ = write!(
                    out,
                    "<td>{} {}</td>",
                    e.op.as_str().replace('_', " "),
                    escape(&object)
                );
            } else {
                out.push_str("<td></td>");
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The (held, wanted) class pairs of the findings' lock steps.
fn hot_pairs(findings: &[Finding]) -> Vec<(String, String)> {
    crate::dot::finding_edges(findings)
        .iter()
        .map(|(from, to, _)| (from.class_key(), to.class_key()))
        .collect()
}

/// The lock-order graph as an inline SVG: lock classes on a circle, an
/// arrow per edge, the findings' edges red.
fn graph_svg(doc: &Document) -> String {
    let mut nodes: BTreeMap<String, (usize, ObjectInfo)> = BTreeMap::new();
    for e in &doc.lock_order {
        for o in [&e.from, &e.to] {
            let n = nodes.len();
            nodes.entry(o.class_key()).or_insert((n, o.clone()));
        }
    }
    if nodes.is_empty() {
        return "<p id=\"graph\">No lock was ever taken under another.</p>\n".to_owned();
    }
    let count = nodes.len();
    let radius = (60.0 * count as f64 / std::f64::consts::PI).max(120.0);
    let size = 2.0 * radius + 260.0;
    let center = size / 2.0;
    let pos = |i: usize| {
        let a = 2.0 * std::f64::consts::PI * i as f64 / count as f64 - std::f64::consts::FRAC_PI_2;
        (center + radius * a.cos(), center + radius * a.sin())
    };
    let hot = hot_pairs(&doc.findings);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg id=\"graph\" class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{size:.0}\" height=\"{size:.0}\" viewBox=\"0 0 {size:.0} {size:.0}\" role=\"img\" aria-label=\"lock-order graph\">"
    );
    svg.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker>");
    svg.push_str("<marker id=\"arrow-hot\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#c00\"/></marker></defs>\n");
    for e in &doc.lock_order {
        let (a, b) = (nodes[&e.from.class_key()].0, nodes[&e.to.class_key()].0);
        let ((x1, y1), (x2, y2)) = (pos(a), pos(b));
        // A curve bent to its left: two opposite edges take two arcs.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (nx, ny) = (-dy / len, dx / len);
        let (cx, cy) = ((x1 + x2) / 2.0 + nx * 40.0, (y1 + y2) / 2.0 + ny * 40.0);
        // Stop short of the target's circle, along the curve's last leg.
        let (lx, ly) = (x2 - cx, y2 - cy);
        let l = (lx * lx + ly * ly).sqrt().max(1.0);
        let (ex, ey) = (x2 - lx / l * 14.0, y2 - ly / l * 14.0);
        let is_hot = hot
            .iter()
            .any(|(f, t)| *f == e.from.class_key() && *t == e.to.class_key());
        let (stroke, marker, class) = if is_hot {
            ("#c00", "arrow-hot", "edge hot")
        } else {
            ("#555", "arrow", "edge")
        };
        let _ = writeln!(
            svg,
            "<path class=\"{class}\" d=\"M {x1:.1} {y1:.1} Q {cx:.1} {cy:.1} {ex:.1} {ey:.1}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{}\" marker-end=\"url(#{marker})\"><title>{} then {} ({} at {})</title></path>",
            if is_hot { 2.5 } else { 1.2 },
            escape(&e.from.label()),
            escape(&e.to.label()),
            escape(&e.thread.label()),
            escape(&e.site.to_string())
        );
    }
    for (i, o) in nodes.values() {
        let (x, y) = pos(*i);
        let _ = writeln!(
            svg,
            "<g class=\"node\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"12\" fill=\"#eef\" stroke=\"#335\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text><title>{} created at {}</title></g>",
            y - 18.0,
            escape(&o.label()),
            escape(&o.label()),
            escape(&o.site.to_string())
        );
    }
    svg.push_str("</svg>\n");
    svg
}
