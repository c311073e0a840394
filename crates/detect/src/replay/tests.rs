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

/// A deterministic pseudo-random sequence (xorshift64), for mutations.
fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// Replays whatever the reader accepts of `text`, up to its first error.
fn replay_what_reads(text: &str) {
    let mut a = Analyzer::new();
    let mut r = a.trace("fuzz");
    for rec in TraceReader::new(text.as_bytes(), "fuzz") {
        match rec {
            Ok(rec) => r.record(rec),
            Err(_) => break,
        }
    }
    r.finish();
    let _ = a.finish();
}

#[test]
fn garbled_input_never_panics_the_reader_or_the_replay() {
    // Deterministic mutations of a valid trace: every line cut, doubled,
    // renumbered or given hostile values; whatever the reader accepts is replayed.
    let base = format!(
        "{HEAD}{}{}{{\"ev\":\"wait\",\"t\":2,\"o\":10,\"s\":2,\"mode\":\"exclusive\"}}\n{{\"ev\":\"repeat\",\"t\":1,\"k\":9,\"n\":18446744073709551615}}\n{{\"deadlock\":[{{\"t\":1,\"o\":99,\"s\":7,\"mode\":\"shared\",\"held\":[[99,1,\"exclusive\"]]}}]}}\n{}{}",
        acq(1, 10),
        acq(1, 20),
        rel(1, 20),
        rel(9, 77)
    );
    let lines: Vec<&str> = base.lines().collect();
    let hostile = [
        "0",
        "18446744073709551615",
        "-1",
        "\"x\"",
        "null",
        "[]",
        "{}",
        "1e400",
        "\"\\u0000\"",
    ];
    let mut next = xorshift(0x2545_F491_4F6C_DD1Du64);
    for _ in 0..3000 {
        let mut text = String::from(lines[0]);
        text.push('\n');
        for line in &lines[1..] {
            let mut l = line.to_string();
            match next() % 6 {
                0 => l.truncate((next() as usize) % (l.len() + 1)),
                1 => l = format!("{l}{l}"),
                2 => {
                    if let Some(i) = l.find(':') {
                        let v = hostile[(next() as usize) % hostile.len()];
                        let end = l[i + 1..].find([',', '}']).map_or(l.len(), |e| i + 1 + e);
                        l.replace_range(i + 1..end, v);
                    }
                }
                3 => l = l.replace("\"t\":1", "\"t\":4294967297"),
                _ => {}
            }
            text.push_str(&l);
            text.push('\n');
        }
        replay_what_reads(&text);
    }
}

#[test]
fn garbled_traces_of_every_primitive_never_panic_the_reader_or_the_replay() {
    // Recorded traces with every event and record kind of the primitives
    // (block, unblock, signal, take, give, sleep, progress, joins, deadlock
    // snapshots with `on`/`by`/`missed`, livelock snapshots), mutated at a
    // random value of each line, cut, doubled or left alone.
    let bases = [
        include_str!("../../../../fixtures/scenarios/s08_back_off_in_swapped_order_with_try_lock_is_livelock.jsonl"),
        include_str!("../../../../fixtures/scenarios/s09_notify_before_wait_is_missed_notification.jsonl"),
        include_str!("../../../../fixtures/scenarios/s09_an_event_set_and_cleared_before_the_waiter_saw_it_is_missed_notification.jsonl"),
        include_str!("../../../../fixtures/scenarios/s11_a_forgotten_guard_then_waited_for_is_lock_leak_and_deadlock.jsonl"),
        include_str!("../../../../fixtures/scenarios/s12_barrier_short_of_a_party_is_deadlock.jsonl"),
        include_str!("../../../../fixtures/scenarios/s15_join_holding_the_lock_the_joined_thread_waits_for_is_deadlock.jsonl"),
        include_str!("../../../../fixtures/scenarios/semaphore_permits_held_by_the_thread_waiting_on_the_waiter_is_deadlock.jsonl"),
        include_str!("../../../../fixtures/scenarios/once_reached_again_from_its_own_closure_is_self_deadlock.jsonl"),
    ];
    let hostile = [
        "0",
        "18446744073709551615",
        "4611686018427387905",
        "-1",
        "\"x\"",
        "null",
        "[]",
        "[[1,2,3]]",
        "{}",
        "\"thread\"",
    ];
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15u64);
    for base in bases {
        let lines: Vec<&str> = base.lines().collect();
        for _ in 0..300 {
            let mut text = String::from(lines[0]);
            text.push('\n');
            for line in &lines[1..] {
                let mut l = line.to_string();
                match next() % 5 {
                    0 => l.truncate((next() as usize) % (l.len() + 1)),
                    1 => l = format!("{l}{l}"),
                    2 | 3 => {
                        let colons: Vec<usize> = l.match_indices(':').map(|(i, _)| i).collect();
                        if !colons.is_empty() {
                            let i = colons[(next() as usize) % colons.len()];
                            let v = hostile[(next() as usize) % hostile.len()];
                            let end = l[i + 1..]
                                .find([',', '}', ']'])
                                .map_or(l.len(), |e| i + 1 + e);
                            l.replace_range(i + 1..end, v);
                        }
                    }
                    _ => {}
                }
                text.push_str(&l);
                text.push('\n');
            }
            replay_what_reads(&text);
        }
    }
}

/// A trace cut inside a condvar wait that began after a notify that woke
/// nobody: thread 2 notified and ended, thread 1 then waited forever.
fn cut_in_a_condvar_wait(release_first: bool) -> String {
    let cv = "{\"object\":30,\"kind\":\"condvar\",\"name\":\"ready\",\"site\":2}\n";
    let notify = "{\"ev\":\"notify\",\"t\":2,\"o\":30,\"s\":2,\"woken\":0,\"all\":false}\n{\"ev\":\"exit\",\"t\":2}\n";
    let wait = "{\"ev\":\"cv_wait\",\"t\":1,\"o\":30,\"s\":1,\"mutex\":10}\n";
    let (a, b) = if release_first {
        (rel(1, 10), wait.to_owned())
    } else {
        (wait.to_owned(), rel(1, 10))
    };
    format!("{HEAD}{cv}{notify}{}{a}{b}", acq(1, 10))
}

#[test]
fn a_trace_cut_inside_a_condvar_wait_after_a_lost_notify_is_missed_notification() {
    // Both orders: the release recorded before the wait (since the fix) and
    // after it (older traces). The wait is what the thread ends in, either way.
    for release_first in [true, false] {
        let f = analyze(&[&cut_in_a_condvar_wait(release_first)]);
        let kinds: Vec<Kind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [Kind::MissedNotification],
            "release first: {release_first}: {f:#?}"
        );
    }
}

#[test]
fn the_release_of_a_condvar_wait_releases_nothing_of_another_thread() {
    // Old order: cv_wait (releases 10), then release 10. Thread 3 holds 10
    // in the file meanwhile (events of threads are not in time order): the
    // second release must not take it from thread 3, whose wait on 20 held
    // by thread 4 waiting on 10 is a real cycle.
    let cv = "{\"object\":30,\"kind\":\"condvar\",\"name\":\"ready\",\"site\":2}\n";
    let trace = format!(
        "{HEAD}{cv}{}{}{}{}{}{}{}{}",
        acq(1, 10),
        "{\"ev\":\"cv_wait\",\"t\":1,\"o\":30,\"s\":1,\"mutex\":10,\"how\":\"timed\"}\n",
        acq(3, 10),
        rel(1, 10),
        acq(4, 20),
        "{\"ev\":\"wait\",\"t\":3,\"o\":20,\"s\":1,\"mode\":\"exclusive\"}\n",
        "{\"ev\":\"wait\",\"t\":4,\"o\":10,\"s\":2,\"mode\":\"exclusive\"}\n",
        "{\"ev\":\"block\",\"t\":5,\"o\":30,\"s\":2,\"how\":\"timed\"}\n",
    );
    let kinds: Vec<Kind> = analyze(&[&trace]).iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&Kind::Deadlock), "{kinds:?}");
}

const TRACKED: &str = "{\"object\":30,\"kind\":\"tracked\",\"name\":\"x\",\"site\":1}\n";

fn access(t: u64, n: u64, k: &str, slot: u32, vc: &str, site: u64) -> String {
    format!("{{\"access\":{{\"t\":{t},\"o\":30,\"n\":{n},\"k\":\"{k}\",\"slot\":{slot},\"vc\":{vc},\"s\":{site}}}}}\n")
}

#[test]
fn accesses_apply_in_each_location_order_whatever_the_file_order() {
    // Thread 2's read (n = 1) is in the file before thread 1's write (n = 0):
    // applied in order, the read sees a write it was not ordered after.
    let trace = format!(
        "{HEAD}{TRACKED}{}{}",
        access(2, 1, "r", 1, "[[1,1]]", 2),
        access(1, 0, "w", 0, "[[0,1]]", 1),
    );
    let f = analyze(&[&trace]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, Kind::DataRace);
    assert_eq!(
        f[0].evidence[0].op,
        crate::Op::Writes,
        "the write came first"
    );

    // The twin: the reader's clock has seen the writer's epoch.
    let trace = format!(
        "{HEAD}{TRACKED}{}{}",
        access(2, 1, "r", 1, "[[0,1],[1,1]]", 2),
        access(1, 0, "w", 0, "[[0,1]]", 1),
    );
    assert!(analyze(&[&trace]).is_empty());
}

#[test]
fn after_a_gap_the_waiting_accesses_apply_at_the_end() {
    // n = 0 never came (lost in a crash): 1 and 2 still apply, in order.
    let trace = format!(
        "{HEAD}{TRACKED}{}{}",
        access(2, 2, "w", 1, "[[1,1]]", 2),
        access(1, 1, "w", 0, "[[0,1]]", 1),
    );
    let f = analyze(&[&trace]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, Kind::DataRace);
}
