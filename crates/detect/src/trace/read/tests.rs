//! Reader tests: every record kind round-trips, and every kind of bad input gets its error.

use super::*;
use crate::trace::write;

fn read_all(text: &str) -> (Vec<Record>, Result<(), String>, Vec<String>) {
    let mut r = TraceReader::new(text.as_bytes(), "t.jsonl");
    let mut out = Vec::new();
    let mut err = Ok(());
    for rec in r.by_ref() {
        match rec {
            Ok(x) => out.push(x),
            Err(e) => err = Err(e.to_string()),
        }
    }
    let warnings = r.warnings().to_vec();
    (out, err, warnings)
}

const HEADER: &str = "{\"lockgraph_trace\":1,\"program\":\"p\",\"pid\":7,\"start_unix_ms\":5}\n";

#[test]
fn every_record_round_trips_through_the_writer() {
    let records = vec![
        Record::Header {
            version: 1,
            program: "p \"q\"".into(),
            pid: 7,
            start_unix_ms: 5,
        },
        Record::Thread {
            id: 1,
            name: Some("main".into()),
        },
        Record::Thread { id: 2, name: None },
        Record::Site {
            id: 3,
            file: "src/a.rs".into(),
            line: 4,
            col: 5,
            frames: vec![Frame {
                function: Some("f".into()),
                file: None,
                line: Some(1),
                col: None,
            }],
        },
        Record::Object {
            id: 9,
            kind: ObjectKind::RwLock,
            name: Some("cfg".into()),
            site: 3,
            ownerless: false,
            api: None,
        },
        Record::Event {
            thread: 1,
            event: Event::Acquire {
                object: 9,
                mode: Mode::SharedRecursive,
                site: Some(3),
            },
        },
        Record::Event {
            thread: 1,
            event: Event::Release { object: 9 },
        },
        Record::Event {
            thread: 2,
            event: Event::CvWoken {
                object: 4,
                mutex: 9,
                timed_out: true,
                site: None,
            },
        },
        Record::Event {
            thread: 1,
            event: Event::Spawn {
                child: 2,
                site: None,
            },
        },
        Record::Finding {
            kind: "deadlock".into(),
            fingerprint: "00ff".into(),
        },
        Record::Deadlock(vec![
            WaitSnapshot {
                t: 1,
                o: 9,
                s: 3,
                mode: Mode::Exclusive,
                held: vec![(8, 3, Mode::Exclusive)],
                on: None,
                by: None,
                missed: None,
            },
            WaitSnapshot {
                t: 2,
                o: 4611686018427387905,
                s: 4,
                mode: Mode::Exclusive,
                held: vec![],
                on: Some("thread".into()),
                by: Some(1),
                missed: Some((3, 1)),
            },
        ]),
        Record::Event {
            thread: 2,
            event: Event::Block {
                object: 5,
                timed: true,
                site: None,
            },
        },
        Record::Event {
            thread: 2,
            event: Event::Signal {
                object: 5,
                how: SignalKind::Set,
                woken: 3,
                site: None,
            },
        },
        Record::Object {
            id: 10,
            kind: ObjectKind::Atomic,
            name: None,
            site: 3,
            ownerless: false,
            api: None,
        },
        Record::Object {
            id: 11,
            kind: ObjectKind::Mutex,
            name: Some("py".into()),
            site: 3,
            ownerless: true,
            api: Some("Lock".into()),
        },
        Record::Access(AccessRecord {
            t: 2,
            o: 10,
            n: 4,
            k: "w".into(),
            slot: 1,
            vc: vec![(0, 3), (1, 7)],
            s: 3,
            held: vec![(9, 3, Mode::Exclusive)],
            sync: Some(("acquired".into(), Some(9), 3)),
            v: Some("10".into()),
        }),
        Record::Access(AccessRecord {
            t: 0,
            o: 10,
            n: 5,
            k: "x".into(),
            ..AccessRecord::default()
        }),
    ];
    let mut text = String::new();
    for r in &records {
        write::record(&mut text, r);
    }
    let (back, err, warnings) = read_all(&text);
    assert_eq!(err, Ok(()));
    assert!(warnings.is_empty());
    assert_eq!(back, records);
}

#[test]
fn an_access_with_a_clock_slot_out_of_range_is_refused_not_allocated() {
    let text = format!(
        "{HEADER}{}\n",
        r#"{"access":{"t":1,"o":2,"n":0,"k":"r","slot":0,"vc":[[4000000000,1]],"s":0}}"#
    );
    let (_, err, _) = read_all(&text);
    let err = err.expect_err("refused");
    assert!(
        err.contains("t.jsonl:2") && err.contains("slot 4000000000"),
        "{err}"
    );
}

#[test]
fn an_access_with_an_unknown_operation_is_named() {
    let text = format!(
        "{HEADER}{}\n",
        r#"{"access":{"t":1,"o":2,"n":0,"k":"q","s":0}}"#
    );
    let (_, err, _) = read_all(&text);
    let err = err.expect_err("refused");
    assert!(err.contains("t.jsonl:2") && err.contains("\"q\""), "{err}");
}

#[test]
fn key_order_and_spacing_do_not_matter() {
    let text = format!(
        "{HEADER}  {{ \"mode\" : \"exclusive\", \"o\": 2, \"t\": 1, \"ev\": \"acquire\" }}\n\n"
    );
    let (back, err, _) = read_all(&text);
    assert_eq!(err, Ok(()));
    assert_eq!(back.len(), 2);
}

#[test]
fn empty_input_says_so() {
    assert_eq!(
        read_all("").1,
        Err("t.jsonl: empty trace: no header line".into())
    );
}

#[test]
fn a_file_without_header_is_not_a_trace() {
    let err = read_all("{\"ev\":\"release\",\"t\":1,\"o\":2}\n")
        .1
        .unwrap_err();
    assert!(err.starts_with("t.jsonl:1: not a lockgraph trace"), "{err}");
    let err = read_all("hello\n").1.unwrap_err();
    assert!(err.starts_with("t.jsonl:1: not a lockgraph trace"), "{err}");
}

#[test]
fn wrong_version_names_both_versions() {
    let err = read_all("{\"lockgraph_trace\":2,\"program\":\"p\",\"pid\":1,\"start_unix_ms\":0}\n")
        .1
        .unwrap_err();
    assert_eq!(
        err,
        "t.jsonl:1: unsupported trace format version 2; this lockgraph reads version 1"
    );
}

#[test]
fn a_malformed_line_in_the_middle_names_file_and_line() {
    let text =
        format!("{HEADER}{{\"thread\":1}}\n{{\"ev\":\"acquire\",\"t\":1\n{{\"thread\":2}}\n");
    let (back, err, _) = read_all(&text);
    assert_eq!(back.len(), 2, "records before the bad line are kept");
    let err = err.unwrap_err();
    assert!(
        err.starts_with("t.jsonl:3: not a JSON object record"),
        "{err}"
    );
}

#[test]
fn unknown_event_and_missing_fields_are_named() {
    let err = read_all(&format!("{HEADER}{{\"ev\":\"explode\",\"t\":1,\"o\":1}}\n"))
        .1
        .unwrap_err();
    assert_eq!(err, "t.jsonl:2: unknown event \"explode\"");
    let err = read_all(&format!("{HEADER}{{\"ev\":\"acquire\",\"t\":1,\"o\":1}}\n"))
        .1
        .unwrap_err();
    assert_eq!(err, "t.jsonl:2: event \"acquire\" is missing \"mode\"");
    let err = read_all(&format!("{HEADER}{{\"ev\":\"release\",\"o\":1}}\n"))
        .1
        .unwrap_err();
    assert_eq!(err, "t.jsonl:2: missing \"t\"");
    let err = read_all(&format!("{HEADER}{{\"colour\":\"red\"}}\n"))
        .1
        .unwrap_err();
    assert!(err.contains("no known record"), "{err}");
}

#[test]
fn a_truncated_last_line_is_a_warning_not_an_error() {
    let text = format!("{HEADER}{{\"thread\":1}}\n{{\"ev\":\"acq");
    let (back, err, warnings) = read_all(&text);
    assert_eq!(err, Ok(()));
    assert_eq!(back.len(), 2);
    assert_eq!(warnings, ["t.jsonl:3: last line is incomplete (the process probably died while writing it); ignored"]);
}

#[test]
fn a_complete_last_line_without_newline_is_fine() {
    let (back, err, warnings) = read_all(&format!("{HEADER}{{\"thread\":1}}"));
    assert_eq!(err, Ok(()));
    assert_eq!(back.len(), 2);
    assert!(warnings.is_empty());
}

#[test]
fn a_huge_line_is_refused_without_reading_it_all() {
    let text = format!(
        "{HEADER}{{\"thread\":1,\"name\":\"{}\"}}\n",
        "x".repeat(MAX_LINE + 10)
    );
    let err = read_all(&text).1.unwrap_err();
    assert_eq!(
        err,
        format!("t.jsonl:2: line longer than {MAX_LINE} bytes; is this a trace?")
    );
}

#[test]
fn a_second_header_is_an_error() {
    let err = read_all(&format!("{HEADER}{HEADER}")).1.unwrap_err();
    assert_eq!(err, "t.jsonl:2: a second header line");
}

#[test]
fn the_fast_path_and_the_general_path_agree() {
    let lines = [
        r#"{"ev":"acquire","t":1,"o":2,"s":3,"mode":"exclusive"}"#,
        r#" { "mode" : "shared_recursive" , "s":3, "o": 2, "t":1 ,"ev":"try" } "#,
        r#"{"ev":"notify","t":1,"o":4,"woken":2,"all":true}"#,
        r#"{"ev":"cv_woken","t":1,"o":4,"mutex":9,"how":"timeout"}"#,
        r#"{"ev":"spawn","t":1,"child":2}"#,
        r#"{"ev":"explode","t":1,"o":1}"#,
        r#"{"ev":"acquire","t":1,"o":1}"#,
        r#"{"ev":"acquire","t":1,"o":1,"mode":"sideways"}"#,
        r#"{"ev":"release","o":1}"#,
    ];
    for line in lines {
        let fast = parse_flat_event(line.as_bytes()).expect("takes the fast path");
        // The general path, forced: serde over the same fields.
        let f: Fields<'_> = serde_json::from_slice(line.as_bytes()).unwrap();
        let general = event_record(f.event_fields());
        assert_eq!(fast, general, "{line}");
    }
    // Escapes, floats and unknown keys leave the fast path.
    for line in [
        r#"{"ev":"cv_woken","t":1,"o":4,"how":"time\"out"}"#,
        r#"{"ev":"release","t":1.5,"o":1}"#,
        r#"{"ev":"release","t":1,"o":1,"extra":1}"#,
    ] {
        assert!(parse_flat_event(line.as_bytes()).is_none(), "{line}");
    }
}

/// An example of each kind of event, with every field set to something
/// other than its default. The match is exhaustive: a new kind does not
/// compile until it has an example here, and then the round trip below
/// covers it.
fn example(kind: EventKind) -> Vec<Event<u64>> {
    let (object, site) = (7, Some(3));
    match kind {
        EventKind::Attempt => vec![Event::Attempt {
            object,
            mode: Mode::Shared,
            site,
        }],
        EventKind::Acquire => vec![Event::Acquire {
            object,
            mode: Mode::Reentrant,
            site: None,
        }],
        EventKind::Upgrade => vec![Event::Upgrade {
            object,
            mode: Mode::Exclusive,
            site,
        }],
        EventKind::Try => vec![Event::Try {
            object,
            mode: Mode::Upgradable,
            site,
        }],
        EventKind::TryFail => vec![Event::TryFail {
            object,
            mode: Mode::SharedRecursive,
            site,
        }],
        EventKind::Wait => vec![Event::Wait {
            object,
            mode: Mode::Exclusive,
            site,
        }],
        EventKind::Release => vec![Event::Release { object }],
        EventKind::Remode => vec![Event::Remode {
            object,
            mode: Mode::Shared,
            site,
        }],
        EventKind::Drop => vec![Event::Drop { object }],
        EventKind::CvWait => vec![
            Event::CvWait {
                object,
                mutex: 8,
                timed: true,
                site,
            },
            Event::CvWait {
                object,
                mutex: 8,
                timed: false,
                site,
            },
        ],
        EventKind::CvWoken => vec![
            Event::CvWoken {
                object,
                mutex: 8,
                timed_out: true,
                site,
            },
            Event::CvWoken {
                object,
                mutex: 8,
                timed_out: false,
                site,
            },
        ],
        EventKind::Notify => vec![Event::Notify {
            object,
            woken: 2,
            all: true,
            site,
        }],
        EventKind::Spawn => vec![Event::Spawn { child: 4, site }],
        EventKind::Join => vec![Event::Join { child: 4, site }],
        EventKind::Exit => vec![Event::Exit, Event::ProcessExit],
        EventKind::Repeat => vec![Event::Repeat { k: 3, n: 9 }],
        EventKind::Block => vec![
            Event::Block {
                object,
                timed: true,
                site,
            },
            Event::BlockFor {
                object,
                by: 4,
                timed: false,
                site,
            },
        ],
        EventKind::Unblock => Outcome::ALL
            .into_iter()
            .map(|outcome| Event::Unblock {
                object,
                outcome,
                site,
            })
            .collect(),
        EventKind::Signal => SignalKind::ALL
            .into_iter()
            .map(|how| Event::Signal {
                object,
                how,
                woken: 5,
                site,
            })
            .collect(),
        EventKind::Take => vec![Event::Take { object, site }],
        EventKind::Give => vec![Event::Give { object, site }],
        EventKind::Sleep => vec![Event::Sleep { site }],
        EventKind::Progress => vec![Event::Progress { site: None }],
        EventKind::Missed => vec![Event::Missed {
            object,
            by: 4,
            site,
        }],
        EventKind::Span => vec![Event::Span { span: 3 }, Event::Span { span: 0 }],
    }
}

#[test]
fn a_span_record_round_trips_and_a_span_needs_its_id() {
    let r = Record::SpanName {
        id: 3,
        name: "request{id=7 user=\"<b>\"}".to_owned(),
    };
    let mut text = write::header("p", 1, 0);
    write::record(&mut text, &r);
    let (records, err, _) = read_all(&text);
    assert_eq!(err, Ok(()), "{text}");
    assert_eq!(records.last(), Some(&r));
    let mut text = write::header("p", 1, 0);
    text.push_str("{\"ev\":\"span\",\"t\":1}\n");
    let (_, err, _) = read_all(&text);
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("event \"span\" is missing \"span\"")),
        "{err:?}"
    );
}

#[test]
fn every_kind_of_event_round_trips_through_a_trace_line() {
    for kind in EventKind::ALL {
        assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        for event in example(kind) {
            assert_eq!(event.kind(), kind);
            let mut text = write::header("p", 1, 0);
            write::event(&mut text, 2, &event);
            let (records, err, _) = read_all(&text);
            assert_eq!(err, Ok(()), "{text}");
            assert_eq!(
                records.last(),
                Some(&Record::Event { thread: 2, event }),
                "{kind:?} through {text}"
            );
        }
    }
}

#[test]
fn a_bad_how_or_a_missing_field_names_the_event() {
    for (line, want) in [
        (
            r#"{"ev":"unblock","t":1,"o":2,"how":"maybe"}"#,
            "event \"unblock\" has an unknown \"how\": \"maybe\"",
        ),
        (
            r#"{"ev":"signal","t":1,"o":2}"#,
            "event \"signal\" is missing \"how\"",
        ),
        (
            r#"{"ev":"cv_wait","t":1,"o":2}"#,
            "event \"cv_wait\" is missing \"mutex\"",
        ),
        (
            r#"{"ev":"notify","t":1,"o":2}"#,
            "event \"notify\" is missing \"woken\"",
        ),
        (
            r#"{"ev":"missed","t":1,"o":2}"#,
            "event \"missed\" is missing \"child\"",
        ),
        (
            r#"{"ev":"exit","t":0,"how":"crash"}"#,
            "event \"exit\" has an unknown \"how\": \"crash\"",
        ),
    ] {
        let text = format!("{}{line}\n", write::header("p", 1, 0));
        let (_, err, _) = read_all(&text);
        let err = err.expect_err(line);
        assert!(err.ends_with(want), "{err}");
        assert!(err.contains("t.jsonl:2:"), "names file and line: {err}");
    }
}
