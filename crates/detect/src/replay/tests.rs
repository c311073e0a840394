//! Replay tests on hand-written traces: parity with the live rules, cross-trace cycles, end-of-trace deadlocks.

use super::*;
use crate::trace::TraceReader;

fn analyze(traces: &[&str]) -> Vec<Finding> {
    let mut a = Analyzer::new();
    for (i, text) in traces.iter().enumerate() {
        let mut r = a.trace(format!("trace{}", i + 1));
        for rec in TraceReader::new(text.as_bytes(), "t") {
            r.record(rec.expect("valid"));
        }
        r.finish();
    }
    a.finish().0
}

const HEAD: &str = "{\"lockgraph_trace\":1,\"program\":\"t\",\"pid\":1,\"start_unix_ms\":0}\n\
{\"site\":1,\"file\":\"a.rs\",\"line\":1,\"col\":1}\n{\"site\":2,\"file\":\"a.rs\",\"line\":2,\"col\":1}\n\
{\"object\":10,\"kind\":\"mutex\",\"name\":\"A\",\"site\":1}\n{\"object\":20,\"kind\":\"mutex\",\"name\":\"B\",\"site\":2}\n";

fn acq(t: u64, o: u64) -> String {
    format!("{{\"ev\":\"acquire\",\"t\":{t},\"o\":{o},\"s\":1,\"mode\":\"exclusive\"}}\n")
}
fn rel(t: u64, o: u64) -> String {
    format!("{{\"ev\":\"release\",\"t\":{t},\"o\":{o}}}\n")
}

#[test]
fn ab_then_ba_in_one_trace_is_a_cycle() {
    let trace = format!(
        "{HEAD}{}{}{}{}{}{}{}{}",
        acq(1, 10),
        acq(1, 20),
        rel(1, 20),
        rel(1, 10),
        acq(2, 20),
        acq(2, 10),
        rel(2, 10),
        rel(2, 20)
    );
    let f = analyze(&[&trace]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, Kind::LockOrderCycle);
    assert_eq!(f[0].severity, Severity::Error);
}

#[test]
fn consistent_order_is_silent() {
    let trace = format!(
        "{HEAD}{}{}{}{}{}{}{}{}",
        acq(1, 10),
        acq(1, 20),
        rel(1, 20),
        rel(1, 10),
        acq(2, 10),
        acq(2, 20),
        rel(2, 20),
        rel(2, 10)
    );
    assert!(analyze(&[&trace]).is_empty());
}

#[test]
fn halves_of_an_inversion_in_two_traces_are_a_cross_run_cycle() {
    let one = format!(
        "{HEAD}{}{}{}{}",
        acq(1, 10),
        acq(1, 20),
        rel(1, 20),
        rel(1, 10)
    );
    let two = format!(
        "{HEAD}{}{}{}{}",
        acq(1, 20),
        acq(1, 10),
        rel(1, 10),
        rel(1, 20)
    );
    let f = analyze(&[&one, &two]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, Kind::LockOrderCycle);
    assert!(
        f[0].notes[0].contains("spans 2 traces (trace1, trace2)"),
        "{:?}",
        f[0].notes
    );
    // Each trace alone is silent.
    assert!(analyze(&[&one]).is_empty());
    assert!(analyze(&[&two]).is_empty());
}

#[test]
fn same_class_nesting_is_not_merged_across_traces() {
    // Two accounts from one site: id order in one run, the other order in
    // another run, are different instances; classes cannot order them.
    let head = "{\"lockgraph_trace\":1,\"program\":\"t\",\"pid\":1,\"start_unix_ms\":0}\n{\"site\":1,\"file\":\"a.rs\",\"line\":1,\"col\":1}\n\
{\"object\":1,\"kind\":\"mutex\",\"site\":1}\n{\"object\":2,\"kind\":\"mutex\",\"site\":1}\n";
    let one = format!("{head}{}{}", acq(1, 1), acq(1, 2));
    let two = format!("{head}{}{}", acq(1, 2), acq(1, 1));
    assert!(analyze(&[&one, &two]).is_empty());
}

#[test]
fn a_thread_still_waiting_at_the_end_in_a_cycle_is_a_deadlock() {
    let wait = |t: u64, o: u64| {
        format!("{{\"ev\":\"wait\",\"t\":{t},\"o\":{o},\"s\":2,\"mode\":\"exclusive\"}}\n")
    };
    let trace = format!(
        "{HEAD}{}{}{}{}",
        acq(1, 10),
        acq(2, 20),
        wait(1, 20),
        wait(2, 10)
    );
    let f = analyze(&[&trace]);
    assert_eq!(
        f.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [Kind::Deadlock],
        "the cycle behind it is the same bug"
    );
    assert_eq!(f[0].threads.len(), 2);
}

#[test]
fn a_relock_is_a_self_deadlock() {
    let trace = format!(
        "{HEAD}{}{{\"ev\":\"attempt\",\"t\":1,\"o\":10,\"s\":2,\"mode\":\"exclusive\"}}\n",
        acq(1, 10)
    );
    let f = analyze(&[&trace]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, Kind::SelfDeadlock);
}
