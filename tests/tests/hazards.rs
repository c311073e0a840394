//! Missed notifications, lock leaks and blocking while holding (scenarios 9, 11 and 15 of `../shared/SCENARIOS.md`), each beside its silent twin.

use std::sync::Arc;
use std::time::Duration;

use lockgraph::thread::{self, JoinHandle};
use lockgraph::{Condvar, Event, Mutex, Semaphore};
use lockgraph_detect::{Kind, Op, Severity};
use lockgraph_scenarios::{ms, named, scenario};

type Results = Arc<(Mutex<Vec<u32>>, Condvar)>;

fn results() -> Results {
    Arc::new((Mutex::named("results", Vec::new()), Condvar::named("done")))
}

fn worker(r: &Results) -> JoinHandle<()> {
    let r = r.clone();
    named("worker", move || {
        r.0.lock().push(42);
        r.1.notify_one();
    })
}

// 9. The worker notifies before main has started waiting; main then waits forever.
scenario! {
    fn s09_notify_before_wait_is_missed_notification() {
        let r = results();
        let w = worker(&r);
        w.join().unwrap();
        let mut g = r.0.lock();
        r.1.wait(&mut g);
    } => |out| {
        out.expect_panic(Kind::MissedNotification);
        let f = out.single(Kind::MissedNotification);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.evidence.len(), 2);
        assert_eq!(f.evidence[0].op, Op::Signals, "the notify site");
        assert_eq!(f.evidence[1].op, Op::BlockedOn, "the wait site");
        assert!(f.evidence.iter().all(|e| e.site.file.ends_with("hazards.rs")));
        assert!(f.summary.contains("thread \"worker\" (#1) notified Condvar \"done\""), "{}", f.summary);
        assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    }
}

scenario! {
    fn s09_a_timed_wait_after_the_notify_is_missed_notification() {
        let r = results();
        let w = worker(&r);
        w.join().unwrap();
        let mut g = r.0.lock();
        let timed_out = r.1.wait_for(&mut g, ms(400)).timed_out();
        assert!(timed_out);
    } => |out| {
        out.expect_panic(Kind::MissedNotification);
        out.single(Kind::MissedNotification);
    }
}

scenario! {
    fn s09_twin_waiting_with_a_predicate_is_silent() {
        let r = results();
        let w = worker(&r);
        w.join().unwrap();
        let mut g = r.0.lock();
        r.1.wait_while(&mut g, |v| v.is_empty());
        assert_eq!(*g, [42]);
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s09_twin_holding_the_mutex_before_starting_the_worker_is_silent() {
        let r = results();
        let mut g = r.0.lock();
        let w = worker(&r);
        r.1.wait(&mut g);
        assert_eq!(*g, [42]);
        drop(g);
        w.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s09_an_event_set_and_cleared_before_the_waiter_saw_it_is_missed_notification() {
        let ready = Arc::new(Event::named("ready"));
        let w = {
            let ready = ready.clone();
            named("worker", move || {
                ready.set();
                ready.clear();
            })
        };
        w.join().unwrap();
        ready.wait();
    } => |out| {
        out.expect_panic(Kind::MissedNotification);
        let f = out.single(Kind::MissedNotification);
        assert!(f.summary.contains("Event \"ready\" was set at"), "{}", f.summary);
        assert!(f.summary.contains("cleared before any waiter saw it"), "{}", f.summary);
    }
}

scenario! {
    fn s09_twin_an_event_set_and_left_set_is_silent() {
        let ready = Arc::new(Event::named("ready"));
        let w = {
            let ready = ready.clone();
            named("worker", move || ready.set())
        };
        w.join().unwrap();
        ready.wait();
        ready.clear();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s09_twin_a_lost_notify_then_a_later_one_that_arrives_is_silent() {
        // A producer notifies while the consumer is busy (nobody waits), then
        // again once the consumer waits: the first loss is harmless.
        let r = results();
        r.1.notify_one();
        let producer = {
            let r = r.clone();
            named("producer", move || {
                thread::sleep(ms(300));
                r.0.lock().push(1);
                r.1.notify_one();
            })
        };
        let mut g = r.0.lock();
        r.1.wait_while(&mut g, |v| v.is_empty());
        drop(g);
        producer.join().unwrap();
    } => |out| { out.assert_silent(); }
}

// 11. A thread returns early holding a permit, or forgets a guard.
fn fetch(pool: &Semaphore, fail: bool) -> Option<u32> {
    let permit = pool.acquire();
    if fail {
        permit.forget();
        return None;
    }
    drop(permit);
    Some(1)
}

scenario! {
    fn s11_a_thread_ending_with_a_permit_is_lock_leak() {
        let pool = Arc::new(Semaphore::named("pool", 2));
        let w = {
            let pool = pool.clone();
            named("worker", move || fetch(&pool, true))
        };
        assert_eq!(w.join().unwrap(), None);
        assert_eq!(pool.available(), 1);
    } => |out| {
        let f = out.single(Kind::LockLeak);
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.summary.contains("thread \"worker\" (#1) ended holding a permit of Semaphore \"pool\""), "{}", f.summary);
        assert!(f.evidence[0].site.file.ends_with("hazards.rs"), "the acquisition site");
        assert!(out.status.success(), "a warning does not fail the run");
    }
}

scenario! {
    fn s11_twin_permit_released_on_every_path_is_silent() {
        let pool = Arc::new(Semaphore::named("pool", 2));
        let w = {
            let pool = pool.clone();
            named("worker", move || fetch(&pool, false))
        };
        assert_eq!(w.join().unwrap(), Some(1));
        assert_eq!(pool.available(), 2);
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s11_a_forgotten_guard_then_waited_for_is_lock_leak_and_deadlock() {
        let m = Arc::new(Mutex::named("m", 0));
        let w = {
            let m = m.clone();
            named("worker", move || std::mem::forget(m.lock()))
        };
        w.join().unwrap();
        *m.lock() += 1;
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        let leak = out.exactly(&[Kind::LockLeak, Kind::Deadlock], Kind::LockLeak);
        assert!(leak.summary.contains("ended holding Mutex \"m\""), "{}", leak.summary);
        let d = out.exactly(&[Kind::LockLeak, Kind::Deadlock], Kind::Deadlock);
        assert!(d.summary.contains("waits to lock Mutex \"m\""), "{}", d.summary);
    }
}

scenario! {
    fn s11_a_thread_semaphore_used_as_a_signal_is_silent() {
        // One thread takes, another gives back: no permit is leaked.
        let items = Arc::new(Semaphore::named("items", 0));
        let consumer = {
            let items = items.clone();
            named("consumer", move || {
                for _ in 0..3 {
                    items.acquire().forget();
                }
            })
        };
        for _ in 0..3 {
            thread::sleep(ms(20));
            items.release().unwrap();
        }
        consumer.join().unwrap();
    } => |out| { out.assert_silent(); }
}

// 15 (warning part). Waiting while holding an unrelated lock, even when nothing hangs.
scenario! {
    fn s15_waiting_on_an_event_holding_a_lock_is_blocking_while_holding() {
        let config = Arc::new(Mutex::named("config", 0));
        let ready = Arc::new(Event::named("ready"));
        let setter = {
            let ready = ready.clone();
            named("setter", move || {
                thread::sleep(ms(100));
                ready.set();
            })
        };
        let g = config.lock();
        ready.wait();
        drop(g);
        setter.join().unwrap();
    } => |out| {
        let f = out.single(Kind::BlockingWhileHolding);
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.summary.contains("waits for Event \"ready\" to be set while holding Mutex \"config\" (taken at tests/tests/hazards.rs:"), "{}", f.summary);
        assert!(out.status.success());
    }
}

scenario! {
    fn s15_joining_and_sleeping_holding_a_lock_are_blocking_while_holding() {
        let config = Mutex::named("config", 0);
        let g = config.lock();
        named("quick", || ()).join().unwrap();
        thread::sleep(ms(10));
        drop(g);
    } => |out| {
        assert_eq!(out.kinds(), [Kind::BlockingWhileHolding, Kind::BlockingWhileHolding]);
        assert!(out.findings[0].summary.contains("joins thread \"quick\""), "{}", out.findings[0].summary);
        assert!(out.findings[1].summary.contains("sleeps while holding Mutex \"config\""), "{}", out.findings[1].summary);
    }
}

scenario! {
    fn s15_twin_waiting_after_releasing_and_condvar_with_its_own_mutex_is_silent() {
        let config = Arc::new(Mutex::named("config", 0));
        let ready = Arc::new(Event::named("ready"));
        let r = results();
        let setter = {
            let (ready, r) = (ready.clone(), r.clone());
            named("setter", move || {
                thread::sleep(ms(100));
                ready.set();
                r.0.lock().push(1);
                r.1.notify_all();
            })
        };
        let g = config.lock();
        drop(g);
        ready.wait();
        let mut v = r.0.lock();
        r.1.wait_while(&mut v, |v| v.is_empty());
        drop(v);
        setter.join().unwrap();
    } => |out| { out.assert_silent(); }
}

// Reporting never perturbs the run: the first warning of a process used to
// symbolize its backtrace on the thread that triggered it (445 ms in a debug
// build), long enough for a second thread started 150 ms later to meet the
// first one still holding its lock: the possible deadlock became a real one.
scenario! {
    fn a_warning_does_not_slow_its_thread_into_a_real_deadlock() {
        let a = Arc::new(Mutex::named("A", ()));
        let b = Arc::new(Mutex::named("B", ()));
        let first = {
            let (a, b) = (a.clone(), b.clone());
            named("first", move || {
                let _a = a.lock();
                thread::sleep(ms(5)); // blocking_while_holding: the first warning
                let _b = b.lock();
            })
        };
        let second = {
            let (a, b) = (a.clone(), b.clone());
            named("second", move || {
                thread::sleep(ms(150));
                let _b = b.lock();
                let _a = a.lock(); // closes the cycle: a report, not a hang
            })
        };
        first.join().unwrap();
        assert!(second.join().is_err(), "the cycle is reported on the second thread");
    } => |out| {
        let mut kinds = out.kinds();
        kinds.sort();
        assert_eq!(kinds, [Kind::LockOrderCycle, Kind::BlockingWhileHolding], "{}", out.stderr);
    }
}

scenario! {
    fn s11_twin_a_guard_sent_away_before_its_thread_ends_is_no_leak() {
        // `send_guard`: the guard travels; its first thread ends first.
        let m: &'static Mutex<u32> = Box::leak(Box::new(Mutex::named("m", 0)));
        let (tx, rx) = std::sync::mpsc::channel::<lockgraph::MutexGuard<'static, u32>>();
        let (ended_tx, ended_rx) = std::sync::mpsc::channel::<()>();
        let taker = named("taker", move || {
            let mut g = m.lock();
            *g += 1;
            tx.send(g).unwrap();
        });
        let holder = named("holder", move || {
            let mut g = rx.recv().unwrap();
            // The taker has ended by now.
            ended_rx.recv().unwrap();
            *g += 1;
        });
        taker.join().unwrap();
        ended_tx.send(()).unwrap();
        holder.join().unwrap();
        assert_eq!(*m.lock(), 2);
    } => |out| { out.assert_silent(); }
}
