//! Every format of `Format::ALL` writes a small document, so none can be
//! added without being run.

use lockgraph_detect::selfwait::{self, Request};
use lockgraph_detect::{
    HeldLock, Kind, Mode, ObjectId, ObjectInfo, ObjectKind, Site, ThreadId, ThreadInfo,
};
use lockgraph_report::{Accepted, Document, Format, Stale, SCHEMA_VERSION};

fn small_document() -> Document {
    let site = |line| Site::new("src/bank.rs", line, 5);
    let thread = ThreadInfo {
        span: None,
        id: ThreadId(1),
        name: Some("main".into()),
    };
    let object = ObjectInfo {
        api: None,
        id: ObjectId(3),
        kind: ObjectKind::Mutex,
        name: Some("table".into()),
        site: site(10),
    };
    let held = [HeldLock {
        object: ObjectId(3),
        mode: Mode::Exclusive,
        site: site(20),
    }];
    let request = Request {
        thread: &thread,
        object: &object,
        mode: Mode::Exclusive,
        site: site(21),
        stack: None,
    };
    let finding = selfwait::check(&request, &held).expect("a relock waits for itself");
    Document {
        accepted: vec![Accepted {
            fingerprint: finding.fingerprint,
            stable_fingerprint: finding.fingerprint,
            kind: Kind::SelfDeadlock,
            reason: "tracked in #1".into(),
        }],
        stale_baseline: vec![Stale {
            fingerprint: "0000000000000000".into(),
            reason: "fixed".into(),
        }],
        warnings: vec!["t.jsonl:9: last line is incomplete".into()],
        stable: lockgraph_report::stable_fingerprints(std::slice::from_ref(&finding), false),
        findings: vec![finding],
        ..Document::default()
    }
}

#[test]
fn every_format_writes_a_document() {
    let doc = small_document();
    for format in Format::ALL {
        assert_eq!(format.name().parse(), Ok(format));
        let mut out = Vec::new();
        format.write(&doc, &mut out).expect("writes to memory");
        assert!(!out.is_empty(), "{format} wrote nothing");
        if format == Format::Json {
            let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
            assert_eq!(json["version"], SCHEMA_VERSION);
        }
    }
}
