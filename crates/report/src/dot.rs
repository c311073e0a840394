//! The DOT renderer: the lock-order graph by lock class, for Graphviz, with the edges of each finding drawn in red.
//!
//! Nodes are lock classes (kind, name, creation site); an edge `A -> B`
//! says some thread took B while holding A, labelled with the first thread
//! and site. The holds-then-acquires (or holds-then-waits) steps of every
//! `lock_order_cycle` and `deadlock` finding are drawn red and bold; a wait
//! of a deadlock that is no lock-order edge (a condvar, a join) is added
//! dashed. Every label is a DOT string with quotes, backslashes and
//! control characters escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

use lockgraph_detect::{Finding, Kind, ObjectInfo, Op};

use crate::Document;

/// Writes the document's lock-order graph as one DOT digraph.
pub fn write(doc: &Document, out: &mut dyn io::Write) -> io::Result<()> {
    out.write_all(render(doc).as_bytes())
}

/// A DOT string literal: quoted, with `"`, `\` and control characters
/// escaped (newlines become DOT's `\n` line breaks inside a label).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The steps of findings that are edges between locks: (held, wanted)
/// pairs, and whether each is a wait of a deadlock. Pictures draw these in
/// red (`dot`, `html`).
pub(crate) fn finding_edges(findings: &[Finding]) -> Vec<(ObjectInfo, ObjectInfo, bool)> {
    let mut out = Vec::new();
    for f in findings {
        if !matches!(f.kind, Kind::LockOrderCycle | Kind::Deadlock) {
            continue;
        }
        // Each thread's held objects, then what it acquires or waits for.
        for (i, step) in f.evidence.iter().enumerate() {
            if !matches!(step.op, Op::Acquires | Op::BlockedOn) {
                continue;
            }
            let Some(to) = f.object(step.object) else {
                continue;
            };
            for held in f.evidence[..i]
                .iter()
                .filter(|h| h.op == Op::Holds && h.thread == step.thread)
            {
                if let Some(from) = f.object(held.object) {
                    out.push((from.clone(), to.clone(), step.op == Op::BlockedOn));
                }
            }
        }
    }
    out
}

/// The whole graph as DOT text.
pub fn render(doc: &Document) -> String {
    let mut nodes: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut node = |o: &ObjectInfo| -> usize {
        let n = nodes.len();
        nodes
            .entry(o.class_key())
            .or_insert_with(|| (n, format!("{}\ncreated at {}", o.label(), o.site)))
            .0
    };
    let highlighted = finding_edges(&doc.findings);
    let mut edges = String::new();
    let mut drawn: Vec<(String, String)> = Vec::new();
    for e in &doc.lock_order {
        let (a, b) = (node(&e.from), node(&e.to));
        let key = (e.from.class_key(), e.to.class_key());
        let hot = highlighted
            .iter()
            .any(|(f, t, _)| f.class_key() == key.0 && t.class_key() == key.1);
        let more = if e.threads > 1 {
            format!(" and {} more", e.threads - 1)
        } else {
            String::new()
        };
        let label = format!("{}{more}\n{}", e.thread.label(), e.site);
        let style = if hot {
            ", color=red, fontcolor=red, penwidth=2.5"
        } else {
            ""
        };
        let _ = writeln!(edges, "  n{a} -> n{b} [label={}{style}];", quote(&label));
        drawn.push(key);
    }
    // Waits of deadlocks that are no lock-order edge: dashed, red.
    for (from, to, wait) in &highlighted {
        let key = (from.class_key(), to.class_key());
        if !wait || drawn.contains(&key) {
            continue;
        }
        let (a, b) = (node(from), node(to));
        let _ = writeln!(
            edges,
            "  n{a} -> n{b} [label=\"waits\", style=dashed, color=red, fontcolor=red];"
        );
        drawn.push(key);
    }
    let mut out = String::new();
    out.push_str("digraph lockgraph {\n");
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, fontname=\"monospace\"];\n");
    out.push_str("  edge [fontname=\"monospace\", fontsize=10];\n");
    let mut by_index: Vec<&(usize, String)> = nodes.values().collect();
    by_index.sort_by_key(|(i, _)| *i);
    for (i, label) in by_index {
        let _ = writeln!(out, "  n{i} [label={}];", quote(label));
    }
    out.push_str(&edges);
    out.push_str("}\n");
    out
}
