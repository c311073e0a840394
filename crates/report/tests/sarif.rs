//! The SARIF renderer against the published SARIF 2.1.0 schema, with hostile names from the program.

use lockgraph_detect::order::Acquisition;
use lockgraph_detect::{
    HeldLock, LockOrderGraph, Mode, ObjectId, ObjectInfo, ObjectKind, Site, ThreadId, ThreadInfo,
};
use lockgraph_report::{sarif, Document};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sarif-schema-2.1.0.json"
    ))
    .expect("the SARIF schema (tests/data, from the OASIS sarif-spec repository)");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    jsonschema::draft4::new(&schema).expect("compiles")
}

fn errors(log: &Value) -> Vec<String> {
    validator()
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

const HOSTILE: &str = "<script>alert(1)</script>\u{1b}[31mred\n\"quoted\" \\ and a very long name that goes on and on and on and on and on";

/// A lock-order cycle between two locks with hostile names, formed by two threads.
fn cycle() -> Document {
    let mut g = LockOrderGraph::new();
    for (id, name) in [(1, HOSTILE), (2, "b\u{0}\u{7f}")] {
        g.ensure_object(ObjectId(id), || ObjectInfo {
            api: None,
            id: ObjectId(id),
            kind: ObjectKind::Mutex,
            name: Some(name.into()),
            site: Site::new("src/a b/ü.rs", id as u32, 1),
        });
    }
    let thread = |id, name: &str| ThreadInfo {
        span: None,
        id: ThreadId(id),
        name: Some(name.into()),
    };
    let (t1, t2) = (thread(1, HOSTILE), thread(2, "worker"));
    let held = |o: u64, line| {
        [HeldLock {
            object: ObjectId(o),
            mode: Mode::Exclusive,
            site: Site::new("/abs/path/x.rs", line, 0),
        }]
    };
    let h1 = held(1, 10);
    assert!(g
        .on_acquire(&Acquisition {
            thread: &t1,
            object: ObjectId(2),
            mode: Mode::Exclusive,
            site: Site::new("src/x.rs", 11, 5),
            held: &h1,
            stack: None,
            epoch: 0,
        })
        .is_empty());
    let h2 = held(2, 20);
    let found = g.on_acquire(&Acquisition {
        thread: &t2,
        object: ObjectId(1),
        mode: Mode::Exclusive,
        site: Site::new("src/x.rs", 21, 5),
        held: &h2,
        stack: None,
        epoch: 0,
    });
    assert_eq!(found.len(), 1);
    Document {
        findings: found,
        warnings: vec![format!("a warning about {HOSTILE}")],
        ..Document::default()
    }
}

#[test]
fn a_log_with_hostile_names_is_valid_sarif_and_keeps_them_as_data() {
    let doc = cycle();
    let mut out = Vec::new();
    sarif::write(&doc, &mut out).expect("writes");
    let text = String::from_utf8(out).expect("UTF-8");
    // No raw control characters: escape sequences and newlines are JSON escapes.
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{0}'),
        "{text}"
    );
    let log: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(errors(&log), Vec::<String>::new());
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "lock_order_cycle");
    assert_eq!(result["level"], "error");
    let message = result["message"]["text"].as_str().expect("text");
    // The name is data: quoted as a Rust string literal, every control
    // character escaped, nothing cut.
    assert!(message.contains(&format!("{HOSTILE:?}")), "{message}");
    assert!(!message.contains('\u{1b}'), "{message}");
    // The closing acquisition is the primary location.
    let primary = &result["locations"][0]["physicalLocation"];
    assert_eq!(primary["region"]["startLine"], 21);
    assert_eq!(primary["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    // Absolute paths become file URIs; unsafe characters are escaped; no
    // column 0 (SARIF columns start at 1).
    let related = result["relatedLocations"].as_array().expect("related");
    let abs = related
        .iter()
        .find(|l| l["physicalLocation"]["artifactLocation"]["uri"] == "file:///abs/path/x.rs")
        .expect("the held site");
    assert!(abs["physicalLocation"]["region"]
        .get("startColumn")
        .is_none());
    assert_eq!(
        result["codeFlows"][0]["threadFlows"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        result["partialFingerprints"]["lockgraph/v1"],
        doc.findings[0].fingerprint.to_string()
    );
    // Rules: one per kind, in Kind::ALL order, so ruleIndex points at its rule.
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let index = result["ruleIndex"].as_u64().expect("index") as usize;
    assert_eq!(rules[index]["id"], "lock_order_cycle");
}

#[test]
fn the_schema_check_rejects_what_is_not_sarif() {
    let doc = cycle();
    let mut log = sarif::log(&doc);
    assert!(errors(&log).is_empty());
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!errors(&log).is_empty(), "an unknown level is refused");
    let mut log = sarif::log(&doc);
    log["version"] = "2.0.0".into();
    assert!(!errors(&log).is_empty(), "another version is refused");
}

#[test]
fn an_empty_analysis_is_a_valid_log_with_every_rule() {
    let log = sarif::log(&Document::default());
    assert!(errors(&log).is_empty());
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .map(Vec::len),
        Some(lockgraph_detect::Kind::ALL.len())
    );
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(0));
}
