//! `lockgraph::spans::SpanLayer`: a finding names the `tracing` span each thread was in, live and offline; without the layer, or after a span was left, it names none.

use std::sync::{Arc, Barrier};
use std::thread;

use lockgraph::Mutex;
use lockgraph_detect::{Finding, Kind, Severity};
use lockgraph_scenarios::{analyze, scenario, traces_in};
use tracing_subscriber::prelude::*;

/// Two threads take `a` and `b` in opposite orders, one after the other
/// (no hang), each inside a span of its own; `alice` first enters and
/// leaves a `setup` span.
fn inversion_in_spans() {
    let a = Arc::new(Mutex::named("a", 0));
    let b = Arc::new(Mutex::named("b", 0));
    let turn = Arc::new(Barrier::new(2));
    let (a2, b2, turn2) = (a.clone(), b.clone(), turn.clone());
    let alice = thread::Builder::new()
        .name("alice".into())
        .spawn(move || {
            tracing::info_span!("setup").in_scope(|| ());
            let _t = tracing::info_span!("transfer", from = "a", to = "b").entered();
            {
                let _a = a2.lock();
                let _b = b2.lock();
            }
            turn2.wait();
        })
        .expect("spawn");
    let bob = thread::Builder::new()
        .name("bob".into())
        .spawn(move || {
            turn.wait();
            let _t = tracing::info_span!("transfer", from = "b", to = "a").entered();
            let _b = b.lock();
            let _a = a.lock();
        })
        .expect("spawn");
    alice.join().expect("alice");
    // The cycle's report ends bob (the default reaction panics).
    let _ = bob.join();
}

/// The spans the cycle's threads are named with, by thread name.
fn spans(f: &Finding) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = f
        .threads
        .iter()
        .map(|t| {
            (
                t.name.as_deref().unwrap_or("").to_owned(),
                t.span.as_deref().map(str::to_owned),
            )
        })
        .collect();
    v.sort();
    v
}

scenario! {
    fn a_cycle_names_the_span_each_thread_formed_its_order_in() {
        tracing_subscriber::registry()
            .with(lockgraph::spans::SpanLayer::new())
            .init();
        inversion_in_spans();
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert_eq!(f.severity, Severity::Error);
        let want = vec![
            ("alice".to_owned(), Some("transfer{from=\"a\" to=\"b\"}".to_owned())),
            ("bob".to_owned(), Some("transfer{from=\"b\" to=\"a\"}".to_owned())),
        ];
        assert_eq!(spans(f), want, "live");
        // The report names them too.
        assert!(
            out.stderr.contains("thread \"alice\" (#") && out.stderr.contains(") in span \"transfer{from=\\\"a\\\" to=\\\"b\\\"}\""),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("setup"), "a span left is not named: {}", out.stderr);
        // Offline, from the recording's `span` events, the same spans.
        let offline = analyze(&traces_in(out.trace_dir.as_ref().expect("recorded")));
        let g = offline
            .iter()
            .find(|g| g.kind == Kind::LockOrderCycle)
            .expect("the cycle offline");
        assert_eq!(spans(g), want, "offline");
    }
}

scenario! {
    fn twin_without_the_layer_no_span_is_named() {
        inversion_in_spans();
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert!(f.threads.iter().all(|t| t.span.is_none()), "{:?}", f.threads);
        assert!(!out.stderr.contains("in span"), "{}", out.stderr);
    }
}

scenario! {
    fn a_deadlock_names_the_spans_its_threads_wait_in() {
        tracing_subscriber::registry()
            .with(lockgraph::spans::SpanLayer::new())
            .init();
        let a = Arc::new(Mutex::named("a", 0));
        let b = Arc::new(Mutex::named("b", 0));
        let both = Arc::new(Barrier::new(2));
        let (a2, b2, both2) = (a.clone(), b.clone(), both.clone());
        let t = thread::Builder::new()
            .name("worker".into())
            .spawn(move || {
                let _s = tracing::info_span!("job", id = 7).entered();
                let _b = b2.lock();
                both2.wait();
                let _a = a2.lock();
            })
            .expect("spawn");
        let _s = tracing::info_span!("main_test").entered();
        let _a = a.lock();
        both.wait();
        let _b = b.lock();
        drop(_b);
        drop(_a);
        let _ = t.join();
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        let named: Vec<Option<&str>> = f.threads.iter().map(|t| t.span.as_deref()).collect();
        assert!(named.contains(&Some("job{id=7}")), "{:?}", f.threads);
        assert!(named.contains(&Some("main_test")), "{:?}", f.threads);
    }
}
