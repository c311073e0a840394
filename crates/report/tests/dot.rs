//! The DOT picture: the lock-order graph by class, the finding's edges in red, hostile names escaped, and Graphviz reads it.

use std::io::Write as _;
use std::process::{Command, Stdio};

use lockgraph_detect::order::Acquisition;
use lockgraph_detect::{
    HeldLock, LockOrderGraph, Mode, ObjectId, ObjectInfo, ObjectKind, Site, ThreadId, ThreadInfo,
};
use lockgraph_report::{dot, Document};

const HOSTILE: &str = "a\"b\\c\nd\u{1b}[2J}]; x -> y [label=\"pwned";

fn graph_and_cycle() -> Document {
    let mut g = LockOrderGraph::new();
    for (id, name) in [(1, HOSTILE), (2, "plain"), (3, "unrelated")] {
        g.ensure_object(ObjectId(id), || ObjectInfo {
            api: None,
            id: ObjectId(id),
            kind: ObjectKind::Mutex,
            name: Some(name.into()),
            site: Site::new("src/x.rs", id as u32, 1),
        });
    }
    let t = |id| ThreadInfo {
        span: None,
        id: ThreadId(id),
        name: Some(format!("t{id}").into()),
    };
    let mut acquire = |thread: &ThreadInfo, held: u64, lock: u64| {
        let h = [HeldLock {
            object: ObjectId(held),
            mode: Mode::Exclusive,
            site: Site::new("src/x.rs", 10 + held as u32, 5),
        }];
        g.on_acquire(&Acquisition {
            thread,
            object: ObjectId(lock),
            mode: Mode::Exclusive,
            site: Site::new("src/x.rs", 20 + lock as u32, 5),
            held: &h,
            stack: None,
            epoch: 0,
        })
    };
    let (t1, t2) = (t(1), t(2));
    assert!(acquire(&t1, 2, 3).is_empty());
    assert!(acquire(&t1, 1, 2).is_empty());
    let findings = acquire(&t2, 2, 1);
    assert_eq!(findings.len(), 1);
    Document {
        findings,
        lock_order: g.edges(),
        ..Document::default()
    }
}

#[test]
fn the_graph_is_drawn_by_class_with_the_cycle_in_red_and_names_escaped() {
    let text = dot::render(&graph_and_cycle());
    assert!(
        text.starts_with("digraph lockgraph {\n") && text.ends_with("}\n"),
        "{text}"
    );
    // Three locks, three edges; the two of the cycle in red, the other not.
    let edges: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  n") && l.contains(" -> n"))
        .collect();
    assert_eq!(edges.len(), 3, "{text}");
    assert_eq!(text.matches(", color=red").count(), 2, "{text}");
    // The hostile name stays inside its quoted label: no raw escape, no
    // raw newline, no way out of the string.
    assert!(!text.contains('\u{1b}'), "{text:?}");
    for line in text.lines() {
        assert!(
            line.is_empty()
                || line.starts_with("  ")
                || line == "digraph lockgraph {"
                || line == "}",
            "a name forged a line: {line:?}"
        );
    }
    // Inside its label the forged edge is text: the one node line holds it.
    assert_eq!(
        text.lines().filter(|l| l.contains("x -> y")).count(),
        1,
        "{text}"
    );
    assert!(
        text.contains(r#"[label=\\\"pwned"#),
        "quotes escaped: {text}"
    );
    graphviz_reads(&text);
}

/// Graphviz's `dot` lays the text out (installed by `.ci/run`; skipped,
/// with a word on stderr, outside CI when it is missing).
fn graphviz_reads(text: &str) {
    let mut child = match Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "dot is missing in CI: {e}"
            );
            eprintln!("skipping the Graphviz check: {e}");
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed");
    let out = child.wait_with_output().expect("dot ran");
    assert!(
        out.status.success(),
        "dot refused it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.contains("<svg"), "{svg}");
    // The name came through as text of a node, escaped for XML.
    assert!(
        svg.contains("&quot;pwned") || svg.contains("\"pwned"),
        "{svg}"
    );
}
