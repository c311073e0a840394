//! Golden-file tests of the renderers, fed by the real analyses. Regenerate
//! after a deliberate change with `UPDATE_SNAPSHOTS=1 cargo test -p lockgraph-report`.

use std::path::PathBuf;

use lockgraph_detect::selfwait::{self, Request};
use lockgraph_detect::waitfor::{self, WaitOn, Waiter};
use lockgraph_detect::{
    Acquisition, Finding, Frame, HeldLock, LockOrderGraph, Mode, ObjectId, ObjectInfo, ObjectKind,
    Site, ThreadId, ThreadInfo,
};

fn object(id: u64, name: &str, kind: ObjectKind) -> ObjectInfo {
    ObjectInfo {
        api: None,
        id: ObjectId(id),
        kind,
        name: Some(name.into()),
        site: Site::new("src/bank.rs", 10 + id as u32, 17),
    }
}

fn thread(id: u64, name: &str) -> ThreadInfo {
    ThreadInfo {
        span: None,
        id: ThreadId(id),
        name: Some(name.into()),
    }
}

fn held(id: u64, line: u32) -> HeldLock {
    HeldLock {
        object: ObjectId(id),
        mode: Mode::Exclusive,
        site: Site::new("src/bank.rs", line, 9),
    }
}

fn stack(function: &str, line: u32) -> Option<lockgraph_detect::StackRef> {
    Some(std::sync::Arc::new(vec![Frame {
        function: Some(function.to_owned()),
        file: Some("src/bank.rs".to_owned()),
        line: Some(line),
        col: Some(9),
    }]))
}

fn lock_order_cycle() -> Finding {
    let mut g = LockOrderGraph::new();
    g.ensure_object(ObjectId(1), || object(1, "accounts", ObjectKind::Mutex));
    g.ensure_object(ObjectId(2), || object(2, "audit log", ObjectKind::Mutex));
    let (t1, t2) = (thread(1, "deposit"), thread(2, "report"));
    let first = [held(1, 40)];
    assert!(g
        .on_acquire(&Acquisition {
            thread: &t1,
            object: ObjectId(2),
            mode: Mode::Exclusive,
            site: Site::new("src/bank.rs", 41, 9),
            held: &first,
            stack: stack("bank::deposit", 41),
            epoch: 0,
        })
        .is_empty());
    let second = [held(2, 60)];
    let mut found = g.on_acquire(&Acquisition {
        thread: &t2,
        object: ObjectId(1),
        mode: Mode::Exclusive,
        site: Site::new("src/bank.rs", 61, 9),
        held: &second,
        stack: stack("bank::report", 61),
        epoch: 0,
    });
    assert_eq!(found.len(), 1);
    found.remove(0)
}

fn self_deadlock() -> Finding {
    let t = thread(1, "main");
    let o = object(3, "table", ObjectKind::RwLock);
    let h = [HeldLock {
        object: ObjectId(3),
        mode: Mode::Shared,
        site: Site::new("src/bank.rs", 70, 5),
    }];
    selfwait::check(
        &Request {
            thread: &t,
            object: &o,
            mode: Mode::Exclusive,
            site: Site::new("src/bank.rs", 72, 5),
            stack: None,
        },
        &h,
    )
    .expect("write under read waits for itself")
}

fn deadlock() -> Finding {
    let ws = vec![
        Waiter {
            thread: thread(1, "t1"),
            object: ObjectId(2),
            on: WaitOn::Lock,
            timed: false,
            mode: Mode::Exclusive,
            site: Site::new("src/bank.rs", 81, 9),
            held: vec![held(1, 80)],
            stack: None,
            missed: None,
        },
        Waiter {
            thread: thread(2, "t2"),
            object: ObjectId(1),
            on: WaitOn::Lock,
            timed: false,
            mode: Mode::Exclusive,
            site: Site::new("src/bank.rs", 91, 9),
            held: vec![held(2, 90)],
            stack: None,
            missed: None,
        },
    ];
    let cycle = waitfor::find_cycle(&ws, ThreadId(2)).expect("cycle");
    let info = |id: ObjectId| {
        object(
            id.0,
            if id.0 == 1 { "left" } else { "right" },
            ObjectKind::Mutex,
        )
    };
    waitfor::finding(&ws, &cycle, &info)
}

fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() || !path.exists() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("read snapshot");
    assert_eq!(
        actual, expected,
        "{name} changed; if deliberate, rerun with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn text_reports() {
    let mut all = vec![lock_order_cycle(), self_deadlock(), deadlock()];
    for f in &mut all {
        f.resolve_stacks();
    }
    check("lock_order_cycle.txt", &lockgraph_report::render(&all[0]));
    check("self_deadlock.txt", &lockgraph_report::render(&all[1]));
    check("deadlock.txt", &lockgraph_report::render(&all[2]));
    check("all.txt", &lockgraph_report::render_all(&all));
    for f in &all {
        let first = lockgraph_report::render(f);
        assert!(
            first.starts_with(f.kind.as_str()),
            "first line names the kind: {first}"
        );
    }
}

#[test]
fn json_report_round_trips() {
    let mut all = vec![lock_order_cycle(), self_deadlock(), deadlock()];
    for f in &mut all {
        f.resolve_stacks();
    }
    let json = lockgraph_report::json::render(&all);
    check("all.json", &json);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(doc["version"], 1);
    let back: Vec<Finding> =
        serde_json::from_value(doc["findings"].clone()).expect("findings parse back");
    assert_eq!(back.len(), 3);
    assert_eq!(back[0].fingerprint, all[0].fingerprint);
    assert_eq!(back[0].evidence[1].backtrace, all[0].evidence[1].backtrace);
}

#[test]
fn a_sleep_under_a_lock_reads_as_a_sleep_not_as_a_wait_on_the_lock() {
    let held = [held(2, 40)];
    let info = |h: &HeldLock| object(h.object.0, "accounts", ObjectKind::Mutex);
    let f = lockgraph_detect::hazard::blocking_while_holding(
        &thread(1, "flusher"),
        &held,
        &info,
        lockgraph_detect::hazard::Blocking::Sleep,
        Site::new("src/bank.rs", 44, 9),
        None,
    )
    .expect("a warning");
    let text = lockgraph_report::render(&f);
    assert!(
        text.contains("2. thread \"flusher\" (#1) sleeps at src/bank.rs:44:9"),
        "{text}"
    );
    assert!(!text.contains("is blocked on"), "{text}");
}
