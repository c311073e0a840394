//! Data races and atomicity violations: each buggy program beside its correct twin, which must stay silent.
//!
//! Interleavings are forced with std's barriers and channels, which
//! lockgraph does not see: they fix the order of a run without adding a
//! happens-before edge, so the buggy programs race in every run, and a twin
//! is silent only because of the synchronization it is about.
//!
//! Every run is recorded, and `lockgraph analyze` of its trace must find the
//! same races with the same fingerprints (`scenario!` checks it).

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::mpsc;
use std::sync::Arc;
use std::sync::Barrier as Gate;

use lockgraph::cell::UnsafeCell;
use lockgraph::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};
use lockgraph::{Event, Latch, Mutex, Once, RwLock, Semaphore, Tracked};
use lockgraph_detect::{Kind, Op, Severity};
use lockgraph_scenarios::{ms, named, plain, scenario, steps};

// ---------------------------------------------------------------------------
// 1. A counter two threads increment: unsynchronized, and under a mutex.
// ---------------------------------------------------------------------------

scenario! {
    fn r01_unsynchronized_counter_is_a_data_race() {
        let counter = Arc::new(Tracked::named("counter", 0u64));
        let (tx, rx) = mpsc::channel();
        let t = {
            let counter = counter.clone();
            named("incrementer", move || {
                counter.store(counter.load() + 1);
                tx.send(()).unwrap();
            })
        };
        rx.recv().unwrap();
        // The other thread's write is not ordered before this read.
        counter.store(counter.load() + 1);
        t.join().unwrap();
    } => |out| {
        out.expect_panic(Kind::DataRace);
        let f = out.single(Kind::DataRace);
        assert_eq!(f.severity, Severity::Error);
        let s = steps(f);
        assert!(s[0].starts_with("writes counter@"), "{s:?}");
        assert!(s[1].starts_with("reads counter@"), "{s:?}");
        assert!(f.summary.contains("data race on tracked value Tracked \"counter\""), "{}", f.summary);
        assert!(f.summary.contains("thread \"incrementer\""), "{}", f.summary);
        assert!(f.notes[0].starts_with("missing edge"), "{:?}", f.notes);
        assert!(f.evidence.iter().all(|e| e.site.file.ends_with("races.rs")));
    }
}

scenario! {
    fn r01_twin_counter_under_a_mutex_is_silent() {
        let lock = Arc::new(Mutex::named("lock", ()));
        let counter = Arc::new(Tracked::named("counter", 0u64));
        let (tx, rx) = mpsc::channel();
        let t = {
            let (lock, counter) = (lock.clone(), counter.clone());
            named("incrementer", move || {
                let _g = lock.lock();
                counter.store(counter.load() + 1);
                drop(_g);
                tx.send(()).unwrap();
            })
        };
        rx.recv().unwrap();
        {
            let _g = lock.lock();
            counter.store(counter.load() + 1);
        }
        t.join().unwrap();
        assert_eq!(counter.load(), 2);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// 2. Reading what a thread wrote: after joining it, and before.
// ---------------------------------------------------------------------------

scenario! {
    fn r02_read_before_join_is_a_data_race() {
        let result = Arc::new(Tracked::named("result", 0u32));
        let (tx, rx) = mpsc::channel();
        let t = {
            let result = result.clone();
            named("worker", move || {
                result.store(42);
                tx.send(()).unwrap();
            })
        };
        rx.recv().unwrap();
        let seen = result.load();
        t.join().unwrap();
        assert_eq!(seen, 42);
    } => |out| {
        out.expect_panic(Kind::DataRace);
        let s = steps(out.single(Kind::DataRace));
        assert!(s[0].starts_with("writes result@") && s[1].starts_with("reads result@"), "{s:?}");
    }
}

scenario! {
    fn r02_twin_read_after_join_is_silent() {
        let result = Arc::new(Tracked::named("result", 0u32));
        let t = {
            let result = result.clone();
            named("worker", move || result.store(42))
        };
        t.join().unwrap();
        assert_eq!(result.load(), 42);
        result.store(0);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// 3. A hand-off: through an Event, and through a sleep.
// ---------------------------------------------------------------------------

scenario! {
    fn r03_hand_off_through_a_sleep_is_a_data_race() {
        let data = Arc::new(Tracked::named("data", 0u32));
        let t = {
            let data = data.clone();
            named("producer", move || data.store(7))
        };
        lockgraph::thread::sleep(ms(100));
        let seen = data.load();
        t.join().unwrap();
        assert_eq!(seen, 7);
    } => |out| {
        out.expect_panic(Kind::DataRace);
        out.single(Kind::DataRace);
    }
}

scenario! {
    fn r03_twin_hand_off_through_an_event_is_silent() {
        let data = Arc::new(Tracked::named("data", 0u32));
        let ready = Arc::new(Event::named("ready"));
        let t = {
            let (data, ready) = (data.clone(), ready.clone());
            named("producer", move || {
                data.store(7);
                ready.set();
            })
        };
        ready.wait();
        assert_eq!(data.load(), 7);
        data.store(8);
        t.join().unwrap();
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// 4. Publishing data through a flag: Release/Acquire, and Relaxed.
// ---------------------------------------------------------------------------

fn publish(store: std::sync::atomic::Ordering, load: std::sync::atomic::Ordering) -> u64 {
    let data = Arc::new(Tracked::named("payload", 0u64));
    let flag = Arc::new(AtomicBool::new(false));
    let t = {
        let (data, flag) = (data.clone(), flag.clone());
        named("publisher", move || {
            data.store(99);
            flag.store(true, store);
        })
    };
    while !flag.load(load) {
        std::hint::spin_loop();
    }
    let v = data.load();
    t.join().unwrap();
    v
}

scenario! {
    fn r04_relaxed_flag_publication_is_a_data_race() {
        assert_eq!(publish(Relaxed, Relaxed), 99);
    } => |out| {
        out.expect_panic(Kind::DataRace);
        let f = out.single(Kind::DataRace);
        let s = steps(f);
        assert!(s[0].starts_with("writes payload@") && s[1].starts_with("reads payload@"), "{s:?}");
    }
}

scenario! {
    fn r04_twin_release_acquire_flag_publication_is_silent() {
        assert_eq!(publish(Release, Acquire), 99);
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn r04_twin_fences_around_relaxed_accesses_are_silent() {
        let data = Arc::new(Tracked::named("payload", 0u64));
        let flag = Arc::new(AtomicBool::new(false));
        let t = {
            let (data, flag) = (data.clone(), flag.clone());
            named("publisher", move || {
                data.store(5);
                fence(Release);
                flag.store(true, Relaxed);
            })
        };
        while !flag.load(Relaxed) {
            std::hint::spin_loop();
        }
        fence(Acquire);
        assert_eq!(data.load(), 5);
        t.join().unwrap();
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// 5. Atomic check-then-act: load then store, and compare_exchange.
// ---------------------------------------------------------------------------

scenario! {
    fn r05_atomic_load_then_store_with_a_write_between_is_an_atomicity_violation() {
        let x = Arc::new(AtomicU64::new(0));
        let (gate_a, gate_b) = (Arc::new(Gate::new(2)), Arc::new(Gate::new(2)));
        let t = {
            let (x, gate_a, gate_b) = (x.clone(), gate_a.clone(), gate_b.clone());
            named("depositor", move || {
                gate_a.wait();
                x.store(x.load(SeqCst) + 10, SeqCst);
                gate_b.wait();
            })
        };
        let v = x.load(SeqCst);
        gate_a.wait();
        gate_b.wait();
        // The depositor's update lands between this load and this store.
        x.store(v + 1, SeqCst);
        t.join().unwrap();
        assert_eq!(x.load(SeqCst), 1, "the deposit is lost");
    } => |out| {
        out.expect_panic(Kind::AtomicityViolation);
        let f = out.single(Kind::AtomicityViolation);
        assert_eq!(f.severity, Severity::Error);
        let ops: Vec<Op> = f.evidence.iter().map(|e| e.op).collect();
        assert_eq!(ops, [Op::Reads, Op::Writes, Op::Writes]);
        assert!(f.evidence[0].note.as_deref().unwrap_or("").contains("(value 0)"), "{:?}", f.evidence[0].note);
        assert!(f.evidence[1].note.as_deref().unwrap_or("").contains("(value 10)"), "{:?}", f.evidence[1].note);
        assert!(f.evidence[2].note.as_deref().unwrap_or("").contains("(value 1)"), "{:?}", f.evidence[2].note);
        assert!(f.notes.iter().any(|n| n.contains("compare_exchange")), "{:?}", f.notes);
        assert!(f.summary.contains("thread \"depositor\""), "{}", f.summary);
    }
}

scenario! {
    fn r05_twin_compare_exchange_loop_is_silent() {
        let x = Arc::new(AtomicU64::new(0));
        let (gate_a, gate_b) = (Arc::new(Gate::new(2)), Arc::new(Gate::new(2)));
        let t = {
            let (x, gate_a, gate_b) = (x.clone(), gate_a.clone(), gate_b.clone());
            named("depositor", move || {
                gate_a.wait();
                x.fetch_add(10, SeqCst);
                gate_b.wait();
            })
        };
        let mut v = x.load(SeqCst);
        gate_a.wait();
        gate_b.wait();
        while let Err(now) = x.compare_exchange(v, v + 1, SeqCst, SeqCst) {
            v = now;
        }
        t.join().unwrap();
        assert_eq!(x.load(SeqCst), 11);
        assert_eq!(x.fetch_update(SeqCst, SeqCst, |v| Some(v * 2)), Ok(11));
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn r05_relaxed_load_then_store_over_an_unordered_write_is_a_warning() {
        let x = Arc::new(AtomicUsize::new(0));
        let t = {
            let x = x.clone();
            named("writer", move || x.store(5, Relaxed))
        };
        while x.load(Relaxed) != 5 {
            std::hint::spin_loop();
        }
        let v = x.load(Relaxed);
        x.store(v + 1, Relaxed);
        t.join().unwrap();
    } => |out| {
        let f = out.single(Kind::AtomicityViolation);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.evidence[0].op, Op::Writes, "the unordered write comes first");
    }
}

// ---------------------------------------------------------------------------
// 6. Check-then-act with a lock: two critical sections, and one.
// ---------------------------------------------------------------------------

fn withdraw(split: bool) {
    let lock = Arc::new(Mutex::named("account", ()));
    let balance = Arc::new(Tracked::named("balance", 100i64));
    let (gate_a, gate_b) = (Arc::new(Gate::new(2)), Arc::new(Gate::new(2)));
    let t = {
        let (lock, balance, gate_a, gate_b) = (
            lock.clone(),
            balance.clone(),
            gate_a.clone(),
            gate_b.clone(),
        );
        named("other teller", move || {
            gate_a.wait();
            {
                let _g = lock.lock();
                balance.store(balance.load() - 30);
            }
            gate_b.wait();
        })
    };
    if split {
        let seen = {
            let _g = lock.lock();
            balance.load()
        };
        gate_a.wait();
        gate_b.wait();
        let _g = lock.lock();
        balance.store(seen - 50);
    } else {
        gate_a.wait();
        gate_b.wait();
        let _g = lock.lock();
        let seen = balance.load();
        balance.store(seen - 50);
    }
    t.join().unwrap();
}

scenario! {
    fn r06_check_and_act_in_two_critical_sections_is_an_atomicity_violation() {
        withdraw(true);
    } => |out| {
        out.expect_panic(Kind::AtomicityViolation);
        let f = out.single(Kind::AtomicityViolation);
        assert_eq!(f.severity, Severity::Error);
        assert!(f.notes.iter().any(|n| n.contains("one critical section of Mutex \"account\"")), "{:?}", f.notes);
        let s = steps(f);
        assert!(s[0].starts_with("reads balance@") && s[2].starts_with("writes balance@"), "{s:?}");
    }
}

scenario! {
    fn r06_twin_check_and_act_in_one_critical_section_is_silent() {
        withdraw(false);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// 7. Threads lockgraph does not know: hand-offs it cannot see stay silent.
// ---------------------------------------------------------------------------

scenario! {
    fn r07_hand_off_to_an_unknown_thread_through_a_std_channel_is_silent() {
        let data = Arc::new(Tracked::named("job", 0u32));
        let (tx, rx) = mpsc::channel::<()>();
        let worker = {
            let data = data.clone();
            plain("pool worker", move || {
                rx.recv().unwrap();
                // Its first event: it starts from everyone's history.
                assert_eq!(data.load(), 3);
            })
        };
        lockgraph::thread::sleep(ms(20));
        data.store(3);
        tx.send(()).unwrap();
        worker.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn r07_twin_std_spawn_then_join_then_read_is_silent() {
        let data = Arc::new(Tracked::named("out", 0u32));
        data.store(1);
        let child = {
            let data = data.clone();
            std::thread::spawn(move || data.store(data.load() + 1))
        };
        child.join().unwrap();
        assert_eq!(data.load(), 2);
        data.store(3);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// 8. loom's UnsafeCell API: unguarded writes race, guarded ones do not.
// ---------------------------------------------------------------------------

struct Shared {
    cell: UnsafeCell<u64>,
    lock: Mutex<()>,
}
// Safety: the test's own claim, which lockgraph checks.
unsafe impl Sync for Shared {}

fn cell_writes(guarded: bool) -> u64 {
    let s = Arc::new(Shared {
        cell: UnsafeCell::named("slot", 0),
        lock: Mutex::named("slot lock", ()),
    });
    let (tx, rx) = mpsc::channel();
    let t = {
        let s = s.clone();
        named("writer", move || {
            let _g = guarded.then(|| s.lock.lock());
            // Safety: the std channel below orders this write before the
            // main thread's accesses (lockgraph does not see that order).
            s.cell.with_mut(|p| unsafe { *p += 1 });
            drop(_g);
            tx.send(()).unwrap();
        })
    };
    rx.recv().unwrap();
    let _g = guarded.then(|| s.lock.lock());
    // Safety: after the channel's receive, the writer is done with the cell.
    s.cell.get_mut().with(|p| unsafe { *p += 1 });
    // Safety: as above.
    let v = s.cell.with(|p| unsafe { *p });
    drop(_g);
    t.join().unwrap();
    v
}

scenario! {
    fn r08_unguarded_cell_writes_are_a_data_race() {
        cell_writes(false);
    } => |out| {
        out.expect_panic(Kind::DataRace);
        let f = out.single(Kind::DataRace);
        assert!(f.summary.contains("cell UnsafeCell \"slot\""), "{}", f.summary);
        let s = steps(f);
        assert!(s[0].starts_with("writes slot@") && s[1].starts_with("writes slot@"), "{s:?}");
    }
}

scenario! {
    fn r08_twin_guarded_cell_writes_are_silent() {
        assert_eq!(cell_writes(true), 2);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// 9. Every primitive orders: rwlock, semaphore, latch, once, condvar, annotations.
// ---------------------------------------------------------------------------

scenario! {
    fn r09_writes_under_a_read_lock_are_a_data_race() {
        let rw = Arc::new(RwLock::named("table", ()));
        let x = Arc::new(Tracked::named("cell", 0u32));
        let (tx, rx) = mpsc::channel();
        let t = {
            let (rw, x) = (rw.clone(), x.clone());
            named("reader-writer", move || {
                let _r = rw.read();
                x.store(1);
                tx.send(()).unwrap();
                std::thread::sleep(ms(50));
            })
        };
        rx.recv().unwrap();
        let _r = rw.read();
        x.store(2);
        drop(_r);
        t.join().unwrap();
    } => |out| {
        out.expect_panic(Kind::DataRace);
        let f = out.single(Kind::DataRace);
        assert!(f.notes[0].contains("shared mode"), "{:?}", f.notes);
    }
}

scenario! {
    fn r09_twin_every_primitive_orders_its_hand_off() {
        let x = Arc::new(Tracked::named("x", 0u32));
        // RwLock: a write lock, then a read lock.
        let rw = Arc::new(RwLock::named("rw", ()));
        let t = { let (x, rw) = (x.clone(), rw.clone()); named("rw writer", move || { let _w = rw.write(); x.store(1); }) };
        while { let _r = rw.read(); x.load() } != 1 { std::thread::yield_now(); }
        t.join().unwrap();
        // Semaphore: a permit given back, then taken.
        let sem = Arc::new(Semaphore::named("sem", 0));
        let t = { let (x, sem) = (x.clone(), sem.clone()); named("sem giver", move || { x.store(2); sem.release().unwrap(); }) };
        sem.acquire().forget();
        assert_eq!(x.load(), 2);
        t.join().unwrap();
        // Latch: a count-down, then a wait.
        let latch = Arc::new(Latch::named("latch", 1));
        let t = { let (x, latch) = (x.clone(), latch.clone()); named("latch counter", move || { x.store(3); latch.count_down(); }) };
        latch.wait();
        assert_eq!(x.load(), 3);
        t.join().unwrap();
        // Once: whoever runs it, everyone after sees its writes.
        let once = Arc::new(Once::new());
        let (tx, rx) = mpsc::channel();
        let t = { let (x, once) = (x.clone(), once.clone()); named("once runner", move || { once.call_once(|| x.store(4)); tx.send(()).unwrap(); }) };
        rx.recv().unwrap();
        once.call_once(|| unreachable!());
        assert_eq!(x.load(), 4);
        t.join().unwrap();
        // Condvar: set under the mutex, notified, seen after the wait.
        let pair = Arc::new((Mutex::named("m", false), lockgraph::Condvar::named("cv")));
        let t = { let (x, pair) = (x.clone(), pair.clone()); named("notifier", move || { x.store(5); *pair.0.lock() = true; pair.1.notify_all(); }) };
        let mut g = pair.0.lock();
        while !*g { pair.1.wait(&mut g); }
        drop(g);
        assert_eq!(x.load(), 5);
        t.join().unwrap();
        // An annotation over a std channel lockgraph cannot see.
        let (tx, rx) = mpsc::channel::<u8>();
        let t = { let x = x.clone(); named("annotated sender", move || { x.store(6); lockgraph::hb::release(&*x); tx.send(0).unwrap(); }) };
        rx.recv().unwrap();
        lockgraph::hb::acquire(&*x);
        assert_eq!(x.load(), 6);
        t.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn r09_a_std_channel_without_the_annotation_is_a_data_race() {
        let x = Arc::new(Tracked::named("x", 0u32));
        let (tx, rx) = mpsc::channel::<u8>();
        let t = { let x = x.clone(); named("sender", move || { x.store(6); tx.send(0).unwrap(); }) };
        rx.recv().unwrap();
        assert_eq!(x.load(), 6);
        t.join().unwrap();
    } => |out| {
        out.expect_panic(Kind::DataRace);
        out.single(Kind::DataRace);
    }
}

scenario! {
    fn r10_exclusive_access_and_construction_are_never_races() {
        let mut x = Tracked::named("owned", 1u32);
        *x.get_mut() += 1;
        let x = Arc::new(x);
        let t = { let x = x.clone(); named("reader", move || x.load()) };
        assert_eq!(t.join().unwrap(), 2);
        let mut a = AtomicU64::new(3);
        *a.get_mut() += 1;
        assert_eq!(a.into_inner(), 4);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// 11. lockgraph's channels carry the sender's history; std's do not.
// ---------------------------------------------------------------------------

scenario! {
    fn r11_twin_hand_off_through_lockgraph_channels_is_silent() {
        use lockgraph::sync::mpsc;
        let x = Arc::new(Tracked::named("x", 0u32));
        let (tx, rx) = mpsc::channel::<u32>();
        let (stx, srx) = mpsc::sync_channel::<u32>(1);
        let t = {
            let x = x.clone();
            named("sender", move || {
                x.store(1);
                tx.send(1).unwrap();
                stx.send(2).unwrap();
            })
        };
        assert_eq!(rx.recv().unwrap(), 1);
        assert_eq!(x.load(), 1);
        x.store(2);
        assert_eq!(srx.recv().unwrap(), 2);
        t.join().unwrap();
        assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn r12_twin_once_lock_and_lazy_lock_publish_their_initializer() {
        use lockgraph::sync::{LazyLock, OnceLock};
        static CONFIG: Tracked<u32> = Tracked::new(0);
        static READY: OnceLock<u32> = OnceLock::new();
        static LAZY: LazyLock<u32> = LazyLock::new(|| {
            CONFIG.store(CONFIG.load() + 10);
            7
        });
        let (tx, rx) = mpsc::channel();
        // Spawned first: ordered after the initializer only by the cells.
        let reader = named("reader", move || {
            rx.recv().unwrap();
            assert_eq!(READY.get(), Some(&5));
            assert_eq!(*LAZY, 7);
            CONFIG.load()
        });
        let init = named("initializer", move || {
            let v = *READY.get_or_init(|| {
                CONFIG.store(1);
                5
            }) + *LAZY;
            tx.send(()).unwrap();
            v
        });
        assert_eq!(init.join().unwrap(), 12);
        assert_eq!(reader.join().unwrap(), 11);
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn r13_twin_waits_that_find_their_condition_met_still_synchronize() {
        let x = Arc::new(Tracked::named("x", 0u32));
        let (latch, ev) = (Arc::new(Latch::named("done", 1)), Arc::new(Event::named("ready")));
        let (tx, rx) = mpsc::channel();
        let t = {
            let (x, latch, ev) = (x.clone(), latch.clone(), ev.clone());
            named("finisher", move || {
                x.store(1);
                latch.count_down();
                ev.set();
                tx.send(()).unwrap();
            })
        };
        // The std channel makes sure both are done before the waits begin.
        rx.recv().unwrap();
        latch.wait();
        assert_eq!(x.load(), 1);
        ev.wait();
        x.store(2);
        t.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn r14_twin_a_downgraded_write_lock_publishes_to_the_readers_after_it() {
        use lockgraph::RwLockWriteGuard;
        let rw = Arc::new(RwLock::named("table", ()));
        let x = Arc::new(Tracked::named("x", 0u32));
        let (tx, rx) = mpsc::channel();
        let t = {
            let (rw, x) = (rw.clone(), x.clone());
            named("writer", move || {
                let w = rw.write();
                x.store(1);
                let r = RwLockWriteGuard::downgrade(w);
                drop(r);
                tx.send(()).unwrap();
            })
        };
        rx.recv().unwrap();
        let r = rw.read();
        assert_eq!(x.load(), 1);
        drop(r);
        t.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn r15_twin_a_guard_released_by_another_thread_invents_no_race() {
        let x = Arc::new(Tracked::named("x", 0u32));
        // Through a std channel lockgraph does not see; a 'static lock, so
        // its guard can travel.
        let (tx, rx) = mpsc::channel::<lockgraph::MutexGuard<'static, ()>>();
        let m: &'static Mutex<()> = Box::leak(Box::new(Mutex::named("m", ())));
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let taker = {
            let x = x.clone();
            named("taker", move || {
                let g = m.lock();
                x.store(1);
                tx.send(g).unwrap();
                // Ends after the guard is gone, so it leaks nothing.
                dropped_rx.recv().unwrap();
            })
        };
        let dropper = named("dropper", move || {
            drop(rx.recv().unwrap());
            dropped_tx.send(()).unwrap();
        });
        taker.join().unwrap();
        dropper.join().unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let later = {
            let x = x.clone();
            named("later", move || {
                let _g = m.lock();
                done_tx.send(x.load()).unwrap();
            })
        };
        assert_eq!(done_rx.recv().unwrap(), 1);
        later.join().unwrap();
    } => |out| { out.assert_silent(); }
}
