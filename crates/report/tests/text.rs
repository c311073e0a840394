//! The text report: source lines with carets, the possible interleaving, folded frames, colour only when asked, and names that cannot move a terminal's cursor.

use lockgraph_detect::{
    Evidence, Finding, Fingerprint, Frame, Kind, ObjectId, ObjectInfo, ObjectKind, Op, Severity,
    Site, ThreadId, ThreadInfo,
};
use lockgraph_report::text::{render, render_styled, Style};

/// A two-lock cycle whose sites are lines of `file`.
fn cycle(file: &str, thread_name: &str) -> Finding {
    let site = |line| Site::new(file.to_owned(), line, 9);
    let obj = |id, name: &str| ObjectInfo {
        api: None,
        id: ObjectId(id),
        kind: ObjectKind::Mutex,
        name: Some(name.into()),
        site: site(1),
    };
    let t = |id, name: &str| ThreadInfo {
        span: None,
        id: ThreadId(id),
        name: Some(name.into()),
    };
    let step = |t, o, op, line, note: Option<&str>| {
        let mut e = Evidence::new(ThreadId(t), ObjectId(o), op, site(line));
        e.note = note.map(Into::into);
        e
    };
    let mut closing = step(
        2,
        1,
        Op::Acquires,
        5,
        Some("this acquisition closes the cycle"),
    );
    closing.backtrace = vec![
        Frame {
            function: Some("std::rt::lang_start".into()),
            file: None,
            line: None,
            col: None,
        },
        Frame {
            function: Some("bank::report".into()),
            file: Some("src/bank.rs".into()),
            line: Some(5),
            col: Some(9),
        },
        Frame {
            function: Some("lockgraph::mutex::Mutex<T>::lock".into()),
            file: None,
            line: None,
            col: None,
        },
    ];
    Finding {
        kind: Kind::LockOrderCycle,
        severity: Severity::Error,
        summary: "possible deadlock".into(),
        fingerprint: Fingerprint(1),
        threads: vec![t(1, thread_name), t(2, "report")],
        objects: vec![obj(1, "accounts"), obj(2, "audit log")],
        evidence: vec![
            step(1, 1, Op::Holds, 2, None),
            step(
                1,
                2,
                Op::Acquires,
                3,
                Some("first time this order was seen"),
            ),
            step(2, 2, Op::Holds, 4, None),
            closing,
        ],
        notes: vec!["fix: take these locks in one order".into()],
    }
}

#[test]
fn steps_show_their_source_line_and_a_caret_when_the_file_is_readable() {
    let dir = std::env::temp_dir().join(format!("lockgraph-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bank.rs");
    std::fs::write(
        &file,
        "// bank\n    let a = accounts.lock();\n    let l = audit.lock();\n    let l = audit.lock();\n    let a = accounts.lock();\n",
    )
    .expect("write");
    let text = render(&cycle(&file.to_string_lossy(), "deposit"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        text.starts_with("lock_order_cycle (error): possible deadlock\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  --> {}:5:9\n", file.display())),
        "the closing step is primary:\n{text}"
    );
    assert!(
        text.contains("        5 |     let a = accounts.lock();\n          |         ^\n"),
        "{text}"
    );
    assert!(
        text.contains("  help: take these locks in one order\n"),
        "{text}"
    );
    // The interleaving, one column per thread.
    assert!(text.contains("  possible interleaving:\n"), "{text}");
    assert!(text.contains("lock Mutex \"audit log\" (waits)"), "{text}");
    // Backtraces show the user's frames; std's and lockgraph's are folded.
    assert!(
        text.contains("1: bank::report at src/bank.rs:5:9"),
        "{text}"
    );
    assert!(
        !text.contains("lang_start") && !text.contains("Mutex<T>::lock"),
        "{text}"
    );
    assert!(
        text.contains("(2 frame(s) of std, lockgraph and the runtime folded)"),
        "{text}"
    );
}

#[test]
fn a_missing_source_file_is_skipped_quietly_and_colour_is_only_on_request() {
    let f = cycle("no/such/file.rs", "deposit");
    let plain = render(&f);
    assert!(!plain.contains(" | "), "no snippet: {plain}");
    assert!(!plain.contains('\u{1b}'), "no colour unless asked: {plain}");
    let coloured = render_styled(
        &f,
        Style {
            color: true,
            snippets: true,
        },
    );
    assert!(
        coloured.contains("\u{1b}[1;31mlock_order_cycle (error)\u{1b}[0m"),
        "{coloured}"
    );
    assert!(
        coloured.contains("\u{1b}[1;32mhelp:\u{1b}[0m"),
        "{coloured}"
    );
}

#[test]
fn hostile_names_are_data_in_a_terminal() {
    let hostile = "x\u{1b}[2J\u{1b}]0;owned\u{7}\nforged line";
    let text = render_styled(
        &cycle("no/such/file.rs", hostile),
        Style {
            color: true,
            snippets: false,
        },
    );
    // The only escapes left are the renderer's own colour codes.
    for (i, _) in text.match_indices('\u{1b}') {
        assert!(
            text[i..].starts_with("\u{1b}[1") || text[i..].starts_with("\u{1b}[0m"),
            "{text:?}"
        );
    }
    assert!(!text.contains('\u{7}'), "{text:?}");
    assert!(!text.contains("\nforged line"), "{text:?}");
    assert!(
        text.contains(r#"thread "x\u{1b}[2J\u{1b}]0;owned\u{7}\nforged line" (#1)"#),
        "{text}"
    );
}
