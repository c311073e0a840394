//! The classic failure modes of `../shared/SCENARIOS.md` (1–7, 17–19), each
//! beside its correct twin that must stay silent. Interleavings are forced
//! with std barriers (not instrumented), so every run takes the same path.

use std::sync::{Arc, Barrier};
use std::thread;

use lockgraph::{Mutex, ReentrantMutex, RwLock, RwLockUpgradableReadGuard};
use lockgraph_detect::{Kind, Op, Severity};
use lockgraph_scenarios::{scenario, steps};

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("spawn")
}

// 1. A thread takes a mutex, then takes the same mutex again.
scenario! {
    fn s01_relock_is_self_deadlock() {
        let m = Mutex::named("m", 0);
        let _first = m.lock();
        let _second = m.lock();
    } => |out| {
        out.expect_panic(Kind::SelfDeadlock);
        let f = out.single(Kind::SelfDeadlock);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.evidence.len(), 2, "both sites");
        assert_eq!(f.evidence[0].op, Op::Holds);
        assert_eq!(f.evidence[1].op, Op::Acquires);
        assert_ne!(f.evidence[0].site.line, f.evidence[1].site.line);
        assert!(f.evidence[0].site.file.ends_with("scenarios.rs"));
        assert!(out.stderr.contains("lockgraph: self_deadlock (error)"), "panic message is the report:\n{}", out.stderr);
        assert!(out.elapsed.as_secs() < 10, "fails fast, never hangs");
    }
}

scenario! {
    fn s01_twin_reentrant_relock_is_silent() {
        let m = ReentrantMutex::named("m", 0);
        let first = m.lock();
        let second = m.lock();
        assert_eq!(*first + *second, 0);
    } => |out| { out.assert_silent(); }
}

// 2. task1 locks a mutex and calls task2, which locks the same mutex.
struct Tasks {
    lock: Mutex<u32>,
}

impl Tasks {
    fn task1(&self) {
        let mut g = self.lock.lock();
        *g += 1;
        self.task2();
    }
    fn task2(&self) {
        *self.lock.lock() += 1;
    }
    fn task1_fixed(&self) {
        let mut g = self.lock.lock();
        *g += 1;
        Self::task2_with(&mut g);
    }
    fn task2_with(g: &mut u32) {
        *g += 1;
    }
}

scenario! {
    fn s02_nested_call_relock_is_self_deadlock() {
        let t = Tasks { lock: Mutex::named("tasks.lock", 0) };
        t.task1();
    } => |out| {
        out.expect_panic(Kind::SelfDeadlock);
        let f = out.single(Kind::SelfDeadlock);
        let s = steps(f);
        assert!(s[0].starts_with("holds tasks.lock@"), "{s:?}");
        assert!(s[1].starts_with("acquires tasks.lock@"), "{s:?}");
        assert!(f.summary.contains("Mutex \"tasks.lock\""), "{}", f.summary);
    }
}

scenario! {
    fn s02_twin_guard_passed_down_is_silent() {
        let t = Tasks { lock: Mutex::named("tasks.lock", 0) };
        t.task1_fixed();
        assert_eq!(*t.lock.lock(), 2);
    } => |out| { out.assert_silent(); }
}

// 3. Thread 1 locks A then B; thread 2 locks B then A, at the same time.
fn ab_ba_colliding(consistent: bool) {
    let a = Arc::new(Mutex::named("A", 0));
    let b = Arc::new(Mutex::named("B", 0));
    let both = Arc::new(Barrier::new(2));
    let t1 = {
        let (a, b, both) = (a.clone(), b.clone(), both.clone());
        spawn_named("t1", move || {
            let _ga = a.lock();
            both.wait();
            let _gb = b.lock();
        })
    };
    let t2 = spawn_named("t2", move || {
        if consistent {
            both.wait();
            let _ga = a.lock();
            let _gb = b.lock();
        } else {
            let _gb = b.lock();
            both.wait();
            let _ga = a.lock();
        }
    });
    let _ = t1.join();
    let _ = t2.join();
}

scenario! {
    fn s03_ab_ba_at_the_same_time_is_deadlock() {
        ab_ba_colliding(false);
    } => |out| {
        let f = out.single(Kind::Deadlock);
        assert_eq!(f.threads.len(), 2);
        let names: Vec<_> = f.threads.iter().filter_map(|t| t.name.as_deref()).collect();
        assert!(names.contains(&"t1") && names.contains(&"t2"), "{names:?}");
        let s = steps(f);
        assert_eq!(s.iter().filter(|x| x.starts_with("holds")).count(), 2, "{s:?}");
        assert_eq!(s.iter().filter(|x| x.starts_with("blocked_on")).count(), 2, "{s:?}");
        assert!(out.elapsed.as_secs() < 5, "within about a second, took {:?}", out.elapsed);
        assert!(out.stderr.contains("lockgraph: deadlock (error)"), "{}", out.stderr);
    }
}

scenario! {
    fn s03_twin_same_order_is_silent() {
        ab_ba_colliding(true);
    } => |out| { out.assert_silent(); }
}

// 4. AB then, a moment later, BA: nothing hangs, the order is still wrong.
fn ab_then_ba(second_takes_a_first: bool, gate: bool) {
    let g = Arc::new(Mutex::named("G", ()));
    let a = Arc::new(Mutex::named("A", 0));
    let b = Arc::new(Mutex::named("B", 0));
    let t1 = {
        let (g, a, b) = (g.clone(), a.clone(), b.clone());
        spawn_named("t1", move || {
            let _gate = gate.then(|| g.lock());
            let _ga = a.lock();
            let _gb = b.lock();
        })
    };
    t1.join().expect("phase 1");
    let t2 = spawn_named("t2", move || {
        let _gate = gate.then(|| g.lock());
        if second_takes_a_first {
            let _ga = a.lock();
            let _gb = b.lock();
        } else {
            let _gb = b.lock();
            let _ga = a.lock();
        }
    });
    let _ = t2.join();
}

scenario! {
    fn s04_ab_then_ba_is_lock_order_cycle() {
        ab_then_ba(false, false);
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert_eq!(f.severity, Severity::Error);
        let s = steps(f);
        assert_eq!(s.len(), 4, "two edges, holds + acquires each: {s:?}");
        assert!(s[0].starts_with("holds A@") && s[1].starts_with("acquires B@"), "{s:?}");
        assert!(s[2].starts_with("holds B@") && s[3].starts_with("acquires A@"), "{s:?}");
        assert_eq!(f.threads.len(), 2, "both threads named");
        // Both acquisitions carry the stack captured the first time each order was seen.
        assert!(f.evidence[1].backtrace.iter().any(|fr| fr.function.as_deref().is_some_and(|n| n.contains("ab_then_ba"))),
            "first-seen backtrace: {:?}", f.evidence[1].backtrace);
        assert!(f.evidence[3].backtrace.iter().any(|fr| fr.function.as_deref().is_some_and(|n| n.contains("ab_then_ba"))));
        assert!(out.stderr.contains("lockgraph: lock_order_cycle (error)"), "{}", out.stderr);
    }
}

scenario! {
    fn s04_twin_both_take_a_first_is_silent() {
        ab_then_ba(true, false);
    } => |out| { out.assert_silent(); }
}

// 5. As 4, but both phases hold gate lock G around their nested acquisitions.
scenario! {
    fn s05_gate_lock_makes_inversion_silent() {
        ab_then_ba(false, true);
    } => |out| { out.assert_silent(); }
}

// 6. Transfers between accounts, each with its own mutex.
struct Account {
    id: u32,
    balance: Mutex<i64>,
}

fn transfer(from: &Account, to: &Account, amount: i64, ordered: bool, meet: Option<&Barrier>) {
    let (first, second) = if ordered && to.id < from.id {
        (to, from)
    } else {
        (from, to)
    };
    // The buggy version meets its peer while holding the first lock (so the
    // two collide); the ordered one meets before locking anything, since
    // under a global order the peer may be blocked on that first lock.
    if let (Some(b), true) = (meet, ordered) {
        b.wait();
    }
    let mut g1 = first.balance.lock();
    if let (Some(b), false) = (meet, ordered) {
        b.wait();
    }
    let mut g2 = second.balance.lock();
    if std::ptr::eq(first, from) {
        *g1 -= amount;
        *g2 += amount;
    } else {
        *g2 -= amount;
        *g1 += amount;
    }
}

fn accounts() -> (Arc<Account>, Arc<Account>) {
    let mk = |id| {
        Arc::new(Account {
            id,
            balance: Mutex::with_name(format!("account {id}"), 100),
        })
    };
    (mk(1), mk(2))
}

fn transfers(ordered: bool, collide: bool) -> (i64, i64) {
    let (x, y) = accounts();
    let meet = Arc::new(Barrier::new(2));
    let t1 = {
        let (x, y, meet) = (x.clone(), y.clone(), meet.clone());
        spawn_named("a->b", move || {
            transfer(&x, &y, 10, ordered, collide.then_some(&*meet))
        })
    };
    let t1 = if collide {
        Some(t1)
    } else {
        let _ = t1.join();
        None
    };
    let t2 = {
        let (x, y, meet) = (x.clone(), y.clone(), meet.clone());
        spawn_named("b->a", move || {
            transfer(&y, &x, 5, ordered, collide.then_some(&*meet))
        })
    };
    if let Some(t1) = t1 {
        let _ = t1.join();
    }
    let _ = t2.join();
    let bx = *x.balance.lock();
    let by = *y.balance.lock();
    (bx, by)
}

scenario! {
    fn s06_transfers_colliding_is_deadlock() {
        transfers(false, true);
    } => |out| {
        let f = out.single(Kind::Deadlock);
        assert!(f.summary.contains("account 1") && f.summary.contains("account 2"), "{}", f.summary);
    }
}

scenario! {
    fn s06_transfers_apart_is_lock_order_cycle() {
        transfers(false, false);
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert!(f.summary.contains("account 1"), "{}", f.summary);
    }
}

scenario! {
    fn s06_twin_transfers_in_id_order_are_silent() {
        let (bx, by) = transfers(true, true);
        assert_eq!(bx + by, 200);
        transfers(true, false);
    } => |out| { out.assert_silent(); }
}

// 7. Dining philosophers: three threads, three forks in a ring.
fn philosophers(one_reversed: bool, collide: bool) {
    let forks: Vec<Arc<Mutex<()>>> = ["fork A", "fork B", "fork C"]
        .iter()
        .map(|n| Arc::new(Mutex::named(n, ())))
        .collect();
    let meet = Arc::new(Barrier::new(3));
    let mut handles = Vec::new();
    for i in 0..3 {
        let (mut left, mut right) = (forks[i].clone(), forks[(i + 1) % 3].clone());
        if one_reversed && i == 2 {
            std::mem::swap(&mut left, &mut right);
        }
        let meet = meet.clone();
        let h = spawn_named(&format!("philosopher {i}"), move || {
            // With one philosopher reversed, a neighbour may be blocked on the
            // first fork: meet before taking any.
            if collide && one_reversed {
                meet.wait();
            }
            let _l = left.lock();
            if collide && !one_reversed {
                meet.wait();
            }
            let _r = right.lock();
        });
        if collide {
            handles.push(h);
        } else {
            let _ = h.join();
        }
    }
    for h in handles {
        let _ = h.join();
    }
}

scenario! {
    fn s07_philosophers_apart_is_cycle_of_three() {
        philosophers(false, false);
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert_eq!(f.objects.len(), 3, "{}", f.summary);
        assert_eq!(f.evidence.len(), 6);
        assert_eq!(f.threads.len(), 3);
    }
}

scenario! {
    fn s07_philosophers_colliding_is_deadlock_of_three() {
        philosophers(false, true);
    } => |out| {
        let f = out.single(Kind::Deadlock);
        assert_eq!(f.threads.len(), 3, "{}", f.summary);
    }
}

scenario! {
    fn s07_twin_one_philosopher_reversed_is_silent() {
        philosophers(true, false);
        philosophers(true, true);
    } => |out| { out.assert_silent(); }
}

// 17. A thread holding a read guard asks for the write guard.
scenario! {
    fn s17_write_while_reading_is_self_deadlock() {
        let l = RwLock::named("config", 0);
        let _r = l.read();
        let _w = l.write();
    } => |out| {
        out.expect_panic(Kind::SelfDeadlock);
        let f = out.single(Kind::SelfDeadlock);
        assert!(f.summary.contains("write") && f.summary.contains("RwLock \"config\""), "{}", f.summary);
    }
}

scenario! {
    fn s17_twin_upgradable_then_upgrade_is_silent() {
        let l = RwLock::named("config", 0);
        let r = l.upgradable_read();
        let mut w = RwLockUpgradableReadGuard::upgrade(r);
        *w += 1;
    } => |out| { out.assert_silent(); }
}

// 18. Read locks in opposite orders by two threads.
fn read_read(write_a: bool, write_b: bool) {
    let a = Arc::new(RwLock::named("A", 0));
    let b = Arc::new(RwLock::named("B", 0));
    {
        let (a, b) = (a.clone(), b.clone());
        spawn_named("r1", move || {
            let _x = a.read();
            let _y = b.read();
        })
        .join()
        .expect("r1");
    }
    {
        let (a, b) = (a.clone(), b.clone());
        spawn_named("r2", move || {
            let _y = b.read();
            let _x = a.read();
        })
        .join()
        .expect("r2");
    }
    if write_a {
        *a.write() += 1;
    }
    if write_b {
        *b.write() += 1;
    }
}

scenario! {
    fn s18_read_read_inversion_without_writers_is_silent() {
        read_read(false, false);
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s18_read_read_inversion_with_one_writer_is_silent() {
        // One writer cannot deadlock it: the read of the unwritten lock never waits.
        read_read(true, false);
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn s18_read_read_inversion_with_writers_on_both_is_lock_order_cycle() {
        read_read(true, true);
    } => |out| {
        out.expect_panic(Kind::LockOrderCycle);
        let f = out.single(Kind::LockOrderCycle);
        assert_eq!(f.objects.len(), 2);
    }
}

// 19. read inside read of the same RwLock.
scenario! {
    fn s19_read_inside_read_is_self_deadlock_hazard() {
        let l = RwLock::named("table", 0);
        let _outer = l.read();
        let _inner = l.read();
    } => |out| {
        out.expect_panic(Kind::SelfDeadlock);
        let f = out.single(Kind::SelfDeadlock);
        assert!(f.summary.contains("as soon as a writer queues"), "{}", f.summary);
        assert!(f.notes.iter().any(|n| n.contains("read_recursive")), "{:?}", f.notes);
    }
}

scenario! {
    fn s19_twin_read_recursive_is_silent() {
        let l = RwLock::named("table", 0);
        let _outer = l.read();
        let _inner = l.read_recursive();
    } => |out| { out.assert_silent(); }
}

// Beyond the guide: the same failure modes through the other lock kinds.

scenario! {
    fn rwlock_writer_and_reader_blocked_on_each_other_is_deadlock() {
        let a = Arc::new(RwLock::named("A", 0));
        let b = Arc::new(RwLock::named("B", 0));
        let both = Arc::new(Barrier::new(2));
        let t1 = {
            let (a, b, both) = (a.clone(), b.clone(), both.clone());
            spawn_named("writer", move || {
                let _w = a.write();
                both.wait();
                let _w2 = b.write();
            })
        };
        let t2 = spawn_named("reader", move || {
            let _r = b.read();
            both.wait();
            let _r2 = a.read();
        });
        let _ = t1.join();
        let _ = t2.join();
    } => |out| {
        let f = out.single(Kind::Deadlock);
        assert_eq!(f.threads.len(), 2);
    }
}

scenario! {
    fn rwlock_readers_sharing_while_a_writer_waits_elsewhere_are_silent() {
        // Two readers of A at once (never a wait), one of them then writes B: no cycle, no wait.
        let a = Arc::new(RwLock::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        let both = Arc::new(Barrier::new(2));
        let t1 = {
            let (a, b, both) = (a.clone(), b.clone(), both.clone());
            spawn_named("r1", move || {
                let _r = a.read();
                both.wait();
                *b.lock() += 1;
            })
        };
        let t2 = spawn_named("r2", move || {
            let _r = a.read();
            both.wait();
            *b.lock() += 1;
        });
        t1.join().unwrap();
        t2.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn reentrant_mutex_in_an_inverted_order_is_lock_order_cycle() {
        let r = Arc::new(ReentrantMutex::named("R", ()));
        let m = Arc::new(Mutex::named("M", ()));
        {
            let (r, m) = (r.clone(), m.clone());
            spawn_named("t1", move || {
                let _r = r.lock();
                let _again = r.lock();
                let _m = m.lock();
            })
            .join()
            .unwrap();
        }
        let _ = spawn_named("t2", move || {
            let _m = m.lock();
            let _r = r.lock();
        })
        .join();
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert!(f.summary.contains("ReentrantMutex \"R\""), "{}", f.summary);
    }
}

scenario! {
    fn upgrade_while_another_reader_waits_on_our_lock_is_deadlock() {
        // t1 holds U(A) and B; t2 holds R(A) and waits for B; t1's upgrade waits for t2's read.
        let a = Arc::new(RwLock::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        let both = Arc::new(Barrier::new(2));
        let t1 = {
            let (a, b, both) = (a.clone(), b.clone(), both.clone());
            spawn_named("upgrader", move || {
                let u = a.upgradable_read();
                let _b = b.lock();
                both.wait();
                let _w = RwLockUpgradableReadGuard::upgrade(u);
            })
        };
        let t2 = spawn_named("reader", move || {
            let _r = a.read();
            both.wait();
            let _b = b.lock();
        });
        let _ = t1.join();
        let _ = t2.join();
    } => |out| {
        let f = out.single(Kind::Deadlock);
        assert!(f.evidence.iter().any(|e| e.note.as_deref() == Some("waits to lock here")), "{:?}", f.evidence);
    }
}

// Two halves of an inversion, each in its own process (like two tests in
// two test binaries): each is silent alone; their traces together are a
// lock_order_cycle across runs (checked on the fixtures by crates/cli/tests/fixtures.rs).
fn cross_run_locks() -> (Mutex<()>, Mutex<()>) {
    (Mutex::named("config", ()), Mutex::named("cache", ()))
}

scenario! {
    fn cross_run_half_config_then_cache_is_silent_alone() {
        let (config, cache) = cross_run_locks();
        let _a = config.lock();
        let _b = cache.lock();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn cross_run_half_cache_then_config_is_silent_alone() {
        let (config, cache) = cross_run_locks();
        let _b = cache.lock();
        let _a = config.lock();
    } => |out| { out.assert_silent(); }
}

// 10 (join). A thread joins itself.
scenario! {
    fn s10_joining_itself_is_self_deadlock() {
        let (tx, rx) = std::sync::mpsc::channel::<lockgraph::thread::JoinHandle<()>>();
        let worker = lockgraph::thread::Builder::new()
            .name("worker".into())
            .spawn(move || {
                let me = rx.recv().unwrap();
                let _ = me.join();
            })
            .unwrap();
        tx.send(worker).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
    } => |out| {
        let f = out.single(Kind::SelfDeadlock);
        assert!(f.summary.contains("thread \"worker\"") && f.summary.contains("joins itself"), "{}", f.summary);
        assert_eq!(f.evidence.len(), 1);
        assert!(f.evidence[0].site.file.ends_with("scenarios.rs"));
    }
}

scenario! {
    fn s10_twin_the_spawner_joins_is_silent() {
        let worker = lockgraph::thread::Builder::new().name("worker".into()).spawn(|| 42).unwrap();
        assert_eq!(worker.join().unwrap(), 42);
        assert_eq!(lockgraph::thread::spawn(|| 7).join().unwrap(), 7);
    } => |out| { out.assert_silent(); }
}

// Happens-before ranks lock-order cycles: orders that spawn and join keep
// apart cannot deadlock in this program.

fn take(first: &Mutex<u32>, second: &Mutex<u32>) {
    let _a = first.lock();
    let _b = second.lock();
}

scenario! {
    fn s20_inversion_separated_by_spawn_and_join_is_a_warning() {
        let a = Arc::new(Mutex::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        let t = {
            let (a, b) = (a.clone(), b.clone());
            lockgraph_scenarios::named("setup", move || take(&a, &b))
        };
        t.join().unwrap();
        // Only after the join: the opposite order.
        take(&b, &a);
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert_eq!(f.severity, Severity::Warning, "{}", f.summary);
        assert!(f.summary.contains("never at the same time"), "{}", f.summary);
        assert!(f.notes.iter().any(|n| n.contains("spawned and joined one after the other")), "{:?}", f.notes);
    }
}

scenario! {
    fn s20_twin_the_same_inversion_by_concurrent_threads_stays_an_error() {
        let a = Arc::new(Mutex::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        let (tx, rx) = std::sync::mpsc::channel();
        let t = {
            let (a, b) = (a.clone(), b.clone());
            lockgraph_scenarios::named("setup", move || {
                take(&a, &b);
                tx.send(()).unwrap();
            })
        };
        // Ordered by a std channel only: not a spawn or a join.
        rx.recv().unwrap();
        take(&b, &a);
        t.join().unwrap();
    } => |out| {
        out.expect_panic(Kind::LockOrderCycle);
        assert_eq!(out.single(Kind::LockOrderCycle).severity, Severity::Error);
    }
}

scenario! {
    fn s20_twin_std_threads_are_never_taken_as_ordered() {
        let a = Arc::new(Mutex::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        let t = {
            let (a, b) = (a.clone(), b.clone());
            spawn_named("plain", move || take(&a, &b))
        };
        t.join().unwrap();
        take(&b, &a);
    } => |out| {
        out.expect_panic(Kind::LockOrderCycle);
        assert_eq!(out.single(Kind::LockOrderCycle).severity, Severity::Error);
    }
}

scenario! {
    fn s20_twin_the_spawner_taking_the_order_again_after_the_spawn_stays_an_error() {
        let a = Arc::new(Mutex::named("A", 0));
        let b = Arc::new(Mutex::named("B", 0));
        // Before the spawn: ordered before the child.
        take(&a, &b);
        let (go, wait) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let t = {
            let (a, b, go, wait) = (a.clone(), b.clone(), go.clone(), wait.clone());
            lockgraph_scenarios::named("child", move || {
                go.wait();
                wait.wait();
                take(&b, &a);
            })
        };
        go.wait();
        // After the spawn, concurrent with the child: this can deadlock.
        take(&a, &b);
        wait.wait();
        // The child closes the cycle and leaves with the report.
        assert!(t.join().is_err());
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert_eq!(f.severity, Severity::Error, "{}", f.summary);
    }
}
