//! Livelocks (scenario 8 of `../shared/SCENARIOS.md`) beside back-off loops that make progress and must stay silent.
//!
//! The livelocked pair is kept in lockstep by spinning on plain atomics
//! (not instrumented), so every run takes the same path; when the runtime
//! ends one thread's loop with the report, a stop flag releases the other.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lockgraph::thread;
use lockgraph::Mutex;
use lockgraph_detect::{Kind, Op, Severity};
use lockgraph_scenarios::{ms, named, scenario, Outcome};

/// Two threads meeting at each step; `false` once the other stopped.
struct Lockstep {
    arrived: AtomicUsize,
    stop: AtomicBool,
}

impl Lockstep {
    fn meet(&self, step: usize) -> bool {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        while self.arrived.load(Ordering::SeqCst) < 2 * step {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }
}

/// The polite back-off loop: take `first`, and if `second` is busy, let go,
/// sleep and retry. In lockstep with the other thread, forever (or until stopped).
fn polite(first: &Mutex<u32>, second: &Mutex<u32>, step: &Lockstep, poll_is_locked: bool) {
    let mut n = 0;
    loop {
        let g = first.lock();
        n += 1;
        // Both hold their first lock...
        if !step.meet(3 * n - 2) {
            return;
        }
        let busy = if poll_is_locked {
            second.is_locked()
        } else {
            second.try_lock().is_none()
        };
        if !busy {
            return;
        }
        // ...both saw the other's busy...
        if !step.meet(3 * n - 1) {
            return;
        }
        drop(g);
        // ...and both let go.
        if !step.meet(3 * n) {
            return;
        }
        thread::sleep(ms(2));
    }
}

fn pair(poll_is_locked: bool) {
    let a = Arc::new(Mutex::named("A", 0));
    let b = Arc::new(Mutex::named("B", 0));
    let step = Arc::new(Lockstep {
        arrived: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    let run = |first: Arc<Mutex<u32>>, second: Arc<Mutex<u32>>, step: Arc<Lockstep>| {
        move || {
            let r = catch_unwind(AssertUnwindSafe(|| {
                polite(&first, &second, &step, poll_is_locked)
            }));
            step.stop.store(true, Ordering::SeqCst);
            if let Err(p) = r {
                std::panic::resume_unwind(p);
            }
        }
    };
    let t1 = named("left", run(a.clone(), b.clone(), step.clone()));
    let t2 = named("right", run(b, a, step));
    let _ = t1.join();
    let _ = t2.join();
}

#[track_caller]
fn check_livelock(out: &Outcome) {
    let f = out.single(Kind::Livelock);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.threads.len(), 2, "both threads");
    assert!(f.summary.contains("thread \"left\""), "{}", f.summary);
    assert!(f.summary.contains("thread \"right\""), "{}", f.summary);
    assert!(
        f.summary
            .contains("holds Mutex \"A\" and keeps failing to get Mutex \"B\" ("),
        "{}",
        f.summary
    );
    assert!(
        f.summary
            .contains("holds Mutex \"B\" and keeps failing to get Mutex \"A\" ("),
        "{}",
        f.summary
    );
    assert!(
        f.summary.contains("failed attempts"),
        "the counts: {}",
        f.summary
    );
    assert!(f.evidence.iter().any(|e| e.op == Op::Holds));
    assert!(f.evidence.iter().any(|e| e.op == Op::Acquires));
    assert!(
        out.elapsed < Duration::from_secs(5),
        "reported soon after it starts: {:?}",
        out.elapsed
    );
}

// 8. Two threads hold one lock each, see the other lock busy, back off and retry, forever.
scenario! {
    fn s08_back_off_in_swapped_order_polling_is_locked_is_livelock() {
        pair(true);
    } => |out| { check_livelock(&out); }
}

scenario! {
    fn s08_back_off_in_swapped_order_with_try_lock_is_livelock() {
        pair(false);
    } => |out| { check_livelock(&out); }
}

scenario! {
    fn s08_twin_the_same_back_off_in_one_order_finishes_and_is_silent() {
        let a = Arc::new(Mutex::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let (a, b) = (a.clone(), b.clone());
                named(&format!("worker-{i}"), move || {
                    for _ in 0..200 {
                        loop {
                            let ga = a.lock();
                            match b.try_lock() {
                                Some(mut gb) => {
                                    *gb += 1;
                                    break;
                                }
                                None => {
                                    drop(ga);
                                    std::thread::yield_now();
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(*b.lock(), 400);
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s08_twin_polling_a_lock_a_busy_thread_holds_long_is_silent() {
        // Far more failed attempts than the threshold, but the holder is
        // working, not backing off: it lets go, and the poller wins.
        let m = Arc::new(Mutex::named("m", 0));
        let holding = Arc::new(AtomicBool::new(false));
        let worker = {
            let (m, holding) = (m.clone(), holding.clone());
            named("worker", move || {
                let mut g = m.lock();
                holding.store(true, Ordering::SeqCst);
                std::thread::sleep(ms(400));
                *g += 1;
            })
        };
        while !holding.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let mut fails = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(g) = m.try_lock() {
                assert_eq!(*g, 1);
                break;
            }
            fails += 1;
            assert!(Instant::now() < deadline);
            std::thread::sleep(ms(1));
        }
        assert!(fails > 100, "polled {fails} times");
        worker.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s08_twin_back_off_that_wins_after_a_few_tries_is_silent() {
        let a = Arc::new(Mutex::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        let t = {
            let (a, b) = (a.clone(), b.clone());
            named("other", move || {
                let _gb = b.lock();
                std::thread::sleep(ms(30));
                drop(_gb);
                let _ga = a.lock();
            })
        };
        std::thread::sleep(ms(5));
        let mut tries = 0;
        loop {
            let _ga = a.lock();
            tries += 1;
            if let Some(_gb) = b.try_lock() {
                break;
            }
            drop(_ga);
            std::thread::sleep(ms(3));
        }
        assert!(tries > 1);
        t.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s08_spinning_on_a_lock_whose_holder_ended_is_livelock() {
        let m = Arc::new(Mutex::named("m", 0));
        let worker = {
            let m = m.clone();
            named("worker", move || std::mem::forget(m.lock()))
        };
        worker.join().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while m.try_lock().is_none() {
            assert!(Instant::now() < deadline, "the runtime should have ended this loop");
            std::thread::sleep(ms(1));
        }
    } => |out| {
        out.expect_panic(Kind::Livelock);
        let mut kinds = out.kinds();
        kinds.sort();
        assert_eq!(kinds, [Kind::Livelock, Kind::LockLeak], "stderr:\n{}", out.stderr);
        let f = out.findings.iter().find(|f| f.kind == Kind::Livelock).unwrap();
        assert!(f.summary.contains("holder ended without releasing it"), "{}", f.summary);
    }
}

scenario! {
    fn s08_twin_an_explicit_progress_mark_ends_the_streak_and_is_silent() {
        // A thread that polls but does useful work between polls says so.
        let a = Arc::new(Mutex::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        let step = Arc::new(Lockstep { arrived: AtomicUsize::new(0), stop: AtomicBool::new(false) });
        let run = |first: Arc<Mutex<u32>>, second: Arc<Mutex<u32>>, step: Arc<Lockstep>| {
            move || {
                for n in 1..=80 {
                    let g = first.lock();
                    if !step.meet(2 * n - 1) {
                        return;
                    }
                    let _ = second.try_lock().is_none();
                    drop(g);
                    lockgraph::progress();
                    if !step.meet(2 * n) {
                        return;
                    }
                }
            }
        };
        let t1 = named("left", run(a.clone(), b.clone(), step.clone()));
        let t2 = named("right", run(b, a, step));
        t1.join().unwrap();
        t2.join().unwrap();
    } => |out| { out.assert_silent(); }
}
