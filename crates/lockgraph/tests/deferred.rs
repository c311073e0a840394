//! Deferred lock-order edges: an acquisition of a lock nothing was ever acquired under waits in its thread's buffer, yet every cycle through it is found where it closes, gates still silence, and a lock made, nested once and dropped never reaches the shared graph.
//!
//! Findings are recorded (`OnFinding::Off`) and read back; each test
//! names its own locks, and the graph counters are compared only where
//! no other test of this file can move them (`serial`).

#![cfg(feature = "instrument")]

use std::sync::Arc;

use lockgraph::{graph_stats, Kind, Mutex, OnFinding};

/// Tests that read the graph's counters run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn setup() {
    lockgraph::set_enabled(true);
    lockgraph::set_on_finding(OnFinding::Off);
}

/// The lock-order cycles recorded so far that name every one of `names`.
fn cycles_naming(names: &[&str]) -> usize {
    lockgraph::findings()
        .iter()
        .filter(|f| f.kind == Kind::LockOrderCycle)
        .filter(|f| {
            names
                .iter()
                .all(|n| f.objects.iter().any(|o| o.name.as_deref() == Some(*n)))
        })
        .count()
}

#[test]
fn an_order_deferred_by_one_thread_closes_a_cycle_taken_the_other_way_by_another() {
    let _one = serial();
    setup();
    let a = Arc::new(Mutex::named("deferred_a", 0u32));
    let b = Arc::new(Mutex::named("deferred_b", 0u32));
    let (a2, b2) = (a.clone(), b.clone());
    // b is fresh: the edge a -> b is deferred in the spawned thread's
    // buffer, and the thread ends (its buffer is published then).
    std::thread::spawn(move || {
        let _ga = a2.lock();
        let _gb = b2.lock();
    })
    .join()
    .expect("first thread");
    assert_eq!(cycles_naming(&["deferred_a", "deferred_b"]), 0);
    {
        let _gb = b.lock();
        let _ga = a.lock();
    }
    assert_eq!(
        cycles_naming(&["deferred_a", "deferred_b"]),
        1,
        "the inversion through a deferred order was missed"
    );
}

#[test]
fn an_order_still_deferred_in_a_live_thread_is_published_before_the_closing_edge() {
    let _one = serial();
    setup();
    let a = Arc::new(Mutex::named("live_a", 0u32));
    let b = Arc::new(Mutex::named("live_b", 0u32));
    let (a2, b2) = (a.clone(), b.clone());
    let (took, wait) = std::sync::mpsc::channel();
    let (done, finish) = std::sync::mpsc::channel::<()>();
    // The thread stays alive with its deferred a -> b in its buffer.
    let t = std::thread::spawn(move || {
        {
            let _ga = a2.lock();
            let _gb = b2.lock();
        }
        took.send(()).expect("main waits");
        finish.recv().expect("main ends it");
    });
    wait.recv().expect("first thread took a then b");
    {
        let _gb = b.lock();
        let _ga = a.lock();
    }
    let found = cycles_naming(&["live_a", "live_b"]);
    done.send(()).expect("thread waits");
    t.join().expect("first thread");
    assert_eq!(
        found, 1,
        "a deferred order in a live thread was not published in time"
    );
}

#[test]
fn a_gate_held_around_a_deferred_order_still_silences_the_cycle() {
    let _one = serial();
    setup();
    let gate = Arc::new(Mutex::named("gate_g", 0u32));
    let a = Arc::new(Mutex::named("gated_a", 0u32));
    let b = Arc::new(Mutex::named("gated_b", 0u32));
    let (g2, a2, b2) = (gate.clone(), a.clone(), b.clone());
    std::thread::spawn(move || {
        let _g = g2.lock();
        let _ga = a2.lock();
        let _gb = b2.lock();
    })
    .join()
    .expect("first thread");
    {
        let _g = gate.lock();
        let _gb = b.lock();
        let _ga = a.lock();
    }
    assert_eq!(
        cycles_naming(&["gated_a", "gated_b"]),
        0,
        "a gated cycle was reported"
    );

    // The twin without the gate on the second side is a cycle.
    let c = Arc::new(Mutex::named("ungated_c", 0u32));
    let d = Arc::new(Mutex::named("ungated_d", 0u32));
    let (g3, c3, d3) = (gate.clone(), c.clone(), d.clone());
    std::thread::spawn(move || {
        let _g = g3.lock();
        let _gc = c3.lock();
        let _gd = d3.lock();
    })
    .join()
    .expect("third thread");
    {
        let _gd = d.lock();
        let _gc = c.lock();
    }
    assert_eq!(cycles_naming(&["ungated_c", "ungated_d"]), 1);
}

#[test]
fn locks_made_nested_once_and_dropped_never_reach_the_graph() {
    let _one = serial();
    setup();
    let before = graph_stats();
    let outer = Mutex::named("long_lived", 0u32);
    for _ in 0..10_000 {
        let fresh = Mutex::new(0u32);
        let _o = outer.lock();
        let _f = fresh.lock();
    }
    let after = graph_stats();
    // No order is left, and no node but (when a full buffer was published
    // while the last fresh lock lived) the long-lived lock's own.
    assert_eq!(
        after.edges, before.edges,
        "per-iteration orders were left behind"
    );
    assert!(
        after.locks <= before.locks + 1,
        "per-iteration locks left {} nodes behind",
        after.locks - before.locks
    );
    assert_eq!(after.search_visits, before.search_visits);
    // The same with a lock that lives on: its order is published.
    let kept = Mutex::new(0u32);
    {
        let _o = outer.lock();
        let _k = kept.lock();
    }
    let now = graph_stats();
    assert_eq!(now.edges, before.edges + 1);
    assert_eq!(now.locks, before.locks + 2);
}

/// Names made at run time (test locks need `&'static str`).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn concurrent_threads_report_every_inversion_through_deferred_orders_and_nothing_else() {
    let _one = serial();
    setup();
    const PAIRS: usize = 2;
    const ROUNDS: usize = 60;
    type Job = (Arc<Mutex<u32>>, Arc<Mutex<u32>>, bool, usize);
    let mut ps = Vec::new();
    let mut qs = Vec::new();
    for k in 0..PAIRS {
        let (send, recv) = std::sync::mpsc::channel::<Job>();
        let (finished, wait_q) = std::sync::mpsc::channel::<()>();
        // P takes a then b (b is fresh: deferred) and hands both on at
        // once, going on with its next round, and stays alive (its buffer
        // unpublished by its end) until Q is done. Q takes them again, the
        // other way round every third round, and checks at once that the
        // cycle was reported there. Both pairs run at once, so deferrals,
        // publications and drops of the four threads interleave.
        ps.push(std::thread::spawn(move || {
            for r in 0..ROUNDS {
                let a = Arc::new(Mutex::named(leak(format!("p{k}a{r}")), 0u32));
                let b = Arc::new(Mutex::named(leak(format!("p{k}b{r}")), 0u32));
                {
                    let _ga = a.lock();
                    let _gb = b.lock();
                }
                send.send((a, b, r % 3 == 0, r)).expect("Q receives");
            }
            drop(send);
            let _ = wait_q.recv();
        }));
        qs.push(std::thread::spawn(move || {
            let mut late = Vec::new();
            for (a, b, invert, r) in recv {
                if invert {
                    {
                        let _gb = b.lock();
                        let _ga = a.lock();
                    }
                    let names = [format!("p{k}a{r}"), format!("p{k}b{r}")];
                    if cycles_naming(&[&names[0], &names[1]]) != 1 {
                        late.push(format!(
                            "{}/{} not reported where it closed",
                            names[0], names[1]
                        ));
                    }
                } else {
                    let _ga = a.lock();
                    let _gb = b.lock();
                }
            }
            let _ = finished.send(());
            late
        }));
    }
    let late: Vec<String> = qs.into_iter().flat_map(|q| q.join().expect("Q")).collect();
    for p in ps {
        p.join().expect("P");
    }
    assert!(late.is_empty(), "{}", late.join("\n"));
    let mut wrong = Vec::new();
    for k in 0..PAIRS {
        for r in 0..ROUNDS {
            let (a, b) = (format!("p{k}a{r}"), format!("p{k}b{r}"));
            let found = cycles_naming(&[&a, &b]);
            let expected = usize::from(r % 3 == 0);
            if found != expected {
                wrong.push(format!("{a}/{b}: {found} cycles, expected {expected}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
