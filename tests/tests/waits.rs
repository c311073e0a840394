//! Deadlocks and stalls over every primitive (scenarios 10–12, 15 and 16 of `../shared/SCENARIOS.md`), each beside its silent twin.
//!
//! Each scenario runs in a child process with a kill timer; a scenario that
//! should end in a `deadlock` report ends because the runtime ended it.

use std::sync::Arc;
use std::time::Duration;

use lockgraph::thread;
use lockgraph::{Barrier, Condvar, Event, Latch, Mutex, Semaphore};
use lockgraph_detect::{Kind, Op};
use lockgraph_scenarios::{ms, named, scenario, steps};

// 10 (event). A thread waits for an event only it would set.
scenario! {
    fn s10_waiting_for_an_event_only_it_would_set_is_deadlock() {
        let done = Event::named("done");
        done.wait();
        done.set();
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        assert!(f.summary.starts_with("every live thread is blocked"), "{}", f.summary);
        assert!(f.summary.contains("waits for Event \"done\" to be set"), "{}", f.summary);
        assert_eq!(f.evidence.last().map(|e| e.op), Some(Op::BlockedOn));
        assert!(f.evidence[0].site.file.ends_with("waits.rs"), "{:?}", f.evidence[0].site);
        assert!(out.elapsed < Duration::from_secs(5), "ended within about a second: {:?}", out.elapsed);
    }
}

scenario! {
    fn s10_twin_another_thread_sets_the_event_is_silent() {
        let done = Arc::new(Event::named("done"));
        let setter = {
            let done = done.clone();
            named("setter", move || {
                thread::sleep(ms(800));
                done.set();
            })
        };
        done.wait();
        setter.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s10_twin_a_plain_std_thread_sets_the_event_late_is_silent() {
        // The setter never touches an instrumented primitive until it sets:
        // the runtime does not know it, but sees it sleeping in the kernel.
        let done = Arc::new(Event::named("done"));
        let setter = {
            let done = done.clone();
            std::thread::spawn(move || {
                std::thread::sleep(ms(1500));
                done.set();
            })
        };
        done.wait();
        setter.join().unwrap();
    } => |out| { out.assert_silent(); }
}

// 11 (deadlock part). A thread returns early holding a semaphore permit; others block on it.
fn fetch(pool: &Semaphore, fail: bool) -> Option<u32> {
    let permit = pool.acquire();
    if fail {
        // The bug: an early return that keeps the permit.
        permit.forget();
        return None;
    }
    drop(permit);
    Some(1)
}

scenario! {
    fn s11_permit_kept_by_an_early_return_then_waited_for_is_deadlock() {
        let pool = Arc::new(Semaphore::named("pool", 1));
        let worker = {
            let pool = pool.clone();
            named("worker", move || fetch(&pool, true))
        };
        assert_eq!(worker.join().unwrap(), None);
        let _p = pool.acquire();
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        let leak = out.exactly(&[Kind::LockLeak, Kind::Deadlock], Kind::LockLeak);
        assert!(leak.summary.contains("thread \"worker\" (#1) ended holding a permit of Semaphore \"pool\""), "{}", leak.summary);
        assert!(leak.evidence[0].site.file.ends_with("waits.rs"), "names the acquisition site");
        let f = out.exactly(&[Kind::LockLeak, Kind::Deadlock], Kind::Deadlock);
        assert!(f.summary.contains("waits for a permit of Semaphore \"pool\""), "{}", f.summary);
    }
}

scenario! {
    fn s11_twin_permit_released_on_every_path_is_silent() {
        let pool = Arc::new(Semaphore::named("pool", 1));
        let worker = {
            let pool = pool.clone();
            named("worker", move || fetch(&pool, false))
        };
        assert_eq!(worker.join().unwrap(), Some(1));
        let _p = pool.acquire();
    } => |out| { out.assert_silent(); }
}

// 12. A barrier of N+1 parties where only N threads arrive.
scenario! {
    fn s12_barrier_short_of_a_party_is_deadlock() {
        let start = Arc::new(Barrier::new(4).with_name("start"));
        let workers: Vec<_> = (0..3)
            .map(|i| {
                let start = start.clone();
                named(&format!("worker-{i}"), move || {
                    let _ = start.wait();
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        assert!(f.summary.starts_with("every live thread is blocked"), "{}", f.summary);
        let at_barrier = f.summary.matches("waits at Barrier \"start\"").count();
        assert_eq!(at_barrier, 3, "every party that arrived is listed: {}", f.summary);
        assert!(f.summary.contains("joins thread \"worker-"), "the joiner too: {}", f.summary);
        assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    }
}

scenario! {
    fn s12_twin_every_party_arrives_is_silent() {
        let start = Arc::new(Barrier::new(4).with_name("start"));
        let workers: Vec<_> = (0..3)
            .map(|i| {
                let start = start.clone();
                named(&format!("worker-{i}"), move || start.wait().is_ok())
            })
            .collect();
        thread::sleep(ms(300));
        assert!(start.wait().is_ok());
        for w in workers {
            assert!(w.join().unwrap());
        }
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s12_twin_a_barrier_timeout_breaks_it_cleanly_is_silent() {
        let start = Arc::new(Barrier::new(4).with_name("start").with_timeout(ms(300)));
        let workers: Vec<_> = (0..3)
            .map(|i| {
                let start = start.clone();
                named(&format!("worker-{i}"), move || start.wait().is_err())
            })
            .collect();
        for w in workers {
            assert!(w.join().unwrap(), "broken for every waiter");
        }
        assert!(start.is_broken());
    } => |out| { out.assert_silent(); }
}

// 15 (deadlock part). Waiting while holding an unrelated mutex the waker needs.
scenario! {
    fn s15_event_wait_holding_the_mutex_the_setter_needs_is_deadlock() {
        let state = Arc::new(Mutex::named("state", 0));
        let ready = Arc::new(Event::named("ready"));
        let setter = {
            let (state, ready) = (state.clone(), ready.clone());
            named("setter", move || {
                thread::sleep(ms(100));
                *state.lock() += 1;
                ready.set();
            })
        };
        let _g = state.lock();
        ready.wait();
        drop(_g);
        setter.join().unwrap();
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let w = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::BlockingWhileHolding);
        assert!(w.summary.contains(" while holding Mutex "), "{}", w.summary);
        let f = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::Deadlock);
        assert!(f.summary.contains("waits for Event \"ready\" to be set holding Mutex \"state\""), "{}", f.summary);
        assert!(f.summary.contains("waits to lock Mutex \"state\""), "{}", f.summary);
        let s = steps(f);
        assert!(s.iter().any(|x| x.starts_with("holds state@")), "{s:?}");
    }
}

scenario! {
    fn s15_twin_event_wait_after_releasing_the_mutex_is_silent() {
        let state = Arc::new(Mutex::named("state", 0));
        let ready = Arc::new(Event::named("ready"));
        let setter = {
            let (state, ready) = (state.clone(), ready.clone());
            named("setter", move || {
                thread::sleep(ms(100));
                *state.lock() += 1;
                ready.set();
            })
        };
        let g = state.lock();
        drop(g);
        ready.wait();
        setter.join().unwrap();
        assert_eq!(*state.lock(), 1);
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s15_condvar_wait_holding_the_mutex_the_notifier_needs_is_deadlock() {
        let other = Arc::new(Mutex::named("other", 0));
        let pair = Arc::new((Mutex::named("flag", false), Condvar::named("cv")));
        let notifier = {
            let (other, pair) = (other.clone(), pair.clone());
            named("notifier", move || {
                thread::sleep(ms(100));
                *other.lock() += 1;
                *pair.0.lock() = true;
                pair.1.notify_all();
            })
        };
        let _held = other.lock();
        let mut flag = pair.0.lock();
        pair.1.wait_while(&mut flag, |f| !*f);
        drop(flag);
        drop(_held);
        notifier.join().unwrap();
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let w = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::BlockingWhileHolding);
        assert!(w.summary.contains(" while holding Mutex "), "{}", w.summary);
        let f = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::Deadlock);
        assert!(f.summary.contains("waits on Condvar \"cv\" for a notification holding Mutex \"other\""), "{}", f.summary);
    }
}

scenario! {
    fn s15_twin_condvar_wait_with_only_its_own_mutex_is_silent() {
        let other = Arc::new(Mutex::named("other", 0));
        let pair = Arc::new((Mutex::named("flag", false), Condvar::named("cv")));
        let notifier = {
            let (other, pair) = (other.clone(), pair.clone());
            named("notifier", move || {
                thread::sleep(ms(100));
                *other.lock() += 1;
                *pair.0.lock() = true;
                pair.1.notify_all();
            })
        };
        let mut flag = pair.0.lock();
        pair.1.wait_while(&mut flag, |f| !*f);
        drop(flag);
        notifier.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s15_join_holding_the_lock_the_joined_thread_waits_for_is_deadlock() {
        let table = Arc::new(Mutex::named("table", 0));
        let g = table.lock();
        let worker = {
            let table = table.clone();
            named("worker", move || {
                *table.lock() += 1;
            })
        };
        let _ = worker.join();
        drop(g);
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let w = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::BlockingWhileHolding);
        assert!(w.summary.contains(" while holding Mutex "), "{}", w.summary);
        let f = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::Deadlock);
        assert!(f.summary.contains("joins thread \"worker\""), "{}", f.summary);
        assert!(f.summary.contains("holding Mutex \"table\""), "{}", f.summary);
        assert!(f.summary.contains("waits to lock Mutex \"table\""), "{}", f.summary);
    }
}

scenario! {
    fn s15_twin_join_after_releasing_the_lock_is_silent() {
        let table = Arc::new(Mutex::named("table", 0));
        let g = table.lock();
        let worker = {
            let table = table.clone();
            named("worker", move || {
                *table.lock() += 1;
            })
        };
        drop(g);
        worker.join().unwrap();
        assert_eq!(*table.lock(), 1);
    } => |out| { out.assert_silent(); }
}

// Deadlocks across primitives (issue 4): a barrier waiter holding the mutex the last party needs.
scenario! {
    fn barrier_waiter_holding_the_mutex_the_last_party_needs_is_deadlock() {
        let m = Arc::new(Mutex::named("m", 0));
        let meet = Arc::new(Barrier::new(2).with_name("meet"));
        let last = {
            let (m, meet) = (m.clone(), meet.clone());
            named("last", move || {
                thread::sleep(ms(100));
                *m.lock() += 1;
                let _ = meet.wait();
            })
        };
        {
            let _g = m.lock();
            let _ = meet.wait();
        }
        let _ = last.join();
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let w = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::BlockingWhileHolding);
        assert!(w.summary.contains(" while holding Mutex "), "{}", w.summary);
        let f = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::Deadlock);
        assert!(f.summary.contains("waits at Barrier \"meet\" holding Mutex \"m\""), "{}", f.summary);
        assert!(f.summary.contains("thread \"last\""), "{}", f.summary);
    }
}

scenario! {
    fn semaphore_permits_held_by_the_thread_waiting_on_the_waiter_is_deadlock() {
        let m = Arc::new(Mutex::named("m", 0));
        let pool = Arc::new(Semaphore::named("pool", 1));
        let holder = {
            let (m, pool) = (m.clone(), pool.clone());
            named("holder", move || {
                let _permit = pool.acquire();
                thread::sleep(ms(150));
                *m.lock() += 1;
            })
        };
        thread::sleep(ms(50));
        {
            let _g = m.lock();
            let _p = pool.acquire();
        }
        let _ = holder.join();
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        assert!(f.summary.contains("waits for a permit of Semaphore \"pool\" holding Mutex \"m\""), "{}", f.summary);
        assert!(f.summary.contains("holding Semaphore \"pool\""), "the permit holder is named: {}", f.summary);
    }
}

// 16. The guide's correct programs: silent.
scenario! {
    fn s16_semaphore_of_two_over_ten_workers_is_silent() {
        let pool = Arc::new(Semaphore::named("pool", 2));
        let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let workers: Vec<_> = (0..10)
            .map(|i| {
                let (pool, inside) = (pool.clone(), inside.clone());
                named(&format!("worker-{i}"), move || {
                    for _ in 0..20 {
                        let _p = pool.acquire();
                        let n = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        assert!(n <= 2);
                        thread::sleep(ms(1));
                        inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s16_event_releasing_five_waiting_workers_is_silent() {
        let go = Arc::new(Event::named("go"));
        let workers: Vec<_> = (0..5)
            .map(|i| {
                let go = go.clone();
                named(&format!("worker-{i}"), move || go.wait())
            })
            .collect();
        thread::sleep(ms(300));
        go.set();
        for w in workers {
            w.join().unwrap();
        }
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s16_barrier_of_five_workers_and_main_is_silent() {
        let phase = Arc::new(Barrier::new(6).with_name("phase"));
        let workers: Vec<_> = (0..5)
            .map(|i| {
                let phase = phase.clone();
                named(&format!("worker-{i}"), move || {
                    for round in 0..3 {
                        thread::sleep(ms(20 * (i + round) as u64));
                        phase.wait().unwrap();
                    }
                })
            })
            .collect();
        for _ in 0..3 {
            phase.wait().unwrap();
        }
        for w in workers {
            w.join().unwrap();
        }
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s16_latch_of_five_is_silent() {
        let ready = Arc::new(Latch::named("ready", 5));
        let workers: Vec<_> = (0..5)
            .map(|i| {
                let ready = ready.clone();
                named(&format!("worker-{i}"), move || {
                    thread::sleep(ms(150 * i as u64));
                    ready.count_down();
                })
            })
            .collect();
        ready.wait();
        assert_eq!(ready.count(), 0);
        for w in workers {
            w.join().unwrap();
        }
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn a_pending_timer_keeps_a_wait_alive_and_is_silent() {
        let rang = Arc::new(Event::named("rang"));
        let timer = {
            let rang = rang.clone();
            lockgraph::Timer::start(ms(1200), move || rang.set())
        };
        rang.wait();
        timer.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn latch_nobody_counts_down_is_deadlock() {
        let ready = Arc::new(Latch::named("ready", 2));
        let worker = {
            let ready = ready.clone();
            named("worker", move || ready.count_down())
        };
        worker.join().unwrap();
        ready.wait();
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        assert!(f.summary.contains("waits for Latch \"ready\" to count down"), "{}", f.summary);
    }
}

scenario! {
    fn once_reached_again_from_its_own_closure_is_self_deadlock() {
        static INIT: lockgraph::Once = lockgraph::Once::named("init");
        fn init() {
            INIT.call_once(init);
        }
        init();
    } => |out| {
        out.expect_panic(Kind::SelfDeadlock);
        let f = out.single(Kind::SelfDeadlock);
        assert!(f.summary.contains("Once \"init\" again from inside its own initialization"), "{}", f.summary);
    }
}

// A receive that waits for a sender blocked on a lock the receiver holds.

scenario! {
    fn w20_receiver_holding_the_lock_its_sender_needs_is_deadlock() {
        let config = Arc::new(Mutex::named("config", ()));
        let (tx, rx) = lockgraph::sync::mpsc::channel::<u32>();
        let _held = config.lock();
        let _sender = {
            let config = config.clone();
            named("sender", move || {
                let _g = config.lock();
                let _ = tx.send(1);
            })
        };
        // Waits for a value only `sender` can send, while `sender` waits
        // for `config`, which this thread holds.
        let _ = rx.recv();
    } => |out| {
        // Either thread may leave with the report: if the sender does, its
        // sender half goes with it and this receive ends without a value.
        out.allow_panic(Kind::Deadlock);
        let kinds = [Kind::BlockingWhileHolding, Kind::Deadlock];
        let hazard = out.exactly(&kinds, Kind::BlockingWhileHolding);
        assert!(hazard.summary.contains("waits to receive from Channel"), "{}", hazard.summary);
        let f = out.exactly(&kinds, Kind::Deadlock);
        let s = steps(f);
        assert!(s.iter().any(|x| x.starts_with("blocked_on config@")), "{s:?}");
        assert!(f.objects.iter().any(|o| o.kind == lockgraph_detect::ObjectKind::Channel), "{:?}", f.objects);
        assert!(out.elapsed < Duration::from_secs(10), "reported promptly: {:?}", out.elapsed);
    }
}

scenario! {
    fn w20_twin_the_receiver_lets_the_lock_go_before_it_waits_is_silent() {
        let config = Arc::new(Mutex::named("config", ()));
        let (tx, rx) = lockgraph::sync::mpsc::channel::<u32>();
        let held = config.lock();
        let sender = {
            let config = config.clone();
            named("sender", move || {
                let _g = config.lock();
                tx.send(1).unwrap();
            })
        };
        // The sender waits for `config` a while (a std sleep: lockgraph's
        // would be a sleep under a lock, which is a warning of its own).
        std::thread::sleep(ms(50));
        drop(held);
        assert_eq!(rx.recv(), Ok(1));
        sender.join().unwrap();
        // Every sender gone: the receive ends with an error, no report.
        assert!(rx.recv().is_err());
    } => |out| { out.assert_silent(); }
}
