//! The parking_lot API, called the way people call it: it compiles, behaves
//! like parking_lot, and correct code produces no finding (a finding would
//! panic here, since the default reaction is to panic).
#![cfg(feature = "instrument")]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lockgraph::{
    Condvar, MappedMutexGuard, Mutex, MutexGuard, ReentrantMutex, RwLock, RwLockReadGuard,
    RwLockUpgradableReadGuard, RwLockWriteGuard,
};

static COUNTER: Mutex<u32> = Mutex::new(0);
static NAMED: RwLock<Vec<u8>> = RwLock::named("static table", Vec::new());
const NAMED_LINE: u32 = line!() - 1;
static REENTRANT: ReentrantMutex<()> = ReentrantMutex::new(());
static CV: Condvar = Condvar::new();

fn held_names() -> Vec<String> {
    lockgraph::held_locks()
        .iter()
        .map(|o| o.name.as_deref().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn statics_work_and_record_their_creation_site() {
    *COUNTER.lock() += 1;
    NAMED.write().push(1);
    assert_eq!(NAMED.read().len(), 1);
    let _g = REENTRANT.lock();
    let _h = REENTRANT.lock();
    let _ = &CV;
    let g = NAMED.read();
    let held = lockgraph::held_locks();
    assert_eq!(
        held.len(),
        2,
        "the reentrant mutex once, the table once: {held:?}"
    );
    let table = held
        .iter()
        .find(|o| o.name.as_deref() == Some("static table"))
        .expect("named static held");
    assert!(
        table.site.file.ends_with("api.rs"),
        "creation site is the static's: {}",
        table.site
    );
    assert_eq!(table.site.line, NAMED_LINE);
    drop(g);
}

#[test]
fn mutex_api() {
    let m = Mutex::named("m", vec![1, 2, 3]);
    assert!(!m.is_locked());
    {
        let g = m.lock();
        assert!(m.is_locked());
        assert!(
            m.try_lock().is_none(),
            "try_lock on a held mutex fails, and reports nothing"
        );
        assert!(m.try_lock_for(Duration::from_millis(1)).is_none());
        assert!(m
            .try_lock_until(Instant::now() + Duration::from_millis(1))
            .is_none());
        let mapped: MappedMutexGuard<'_, i32> = MutexGuard::map(g, |v| &mut v[0]);
        assert_eq!(*mapped, 1);
    }
    assert!(held_names().is_empty(), "mapped guard released the lock");
    let mut g = m.try_lock().expect("free");
    let r = MutexGuard::unlocked(&mut g, || {
        assert!(held_names().is_empty(), "unlocked() releases");
        7
    });
    assert_eq!(held_names(), ["m"]);
    assert_eq!(r, 7);
    let g = MutexGuard::try_map(g, |v| v.get_mut(9)).expect_err("no tenth element");
    drop(g);
    let mut m = m;
    m.get_mut().push(4);
    assert_eq!(m.into_inner(), vec![1, 2, 3, 4]);
    let d: Mutex<u8> = Mutex::default();
    assert_eq!(format!("{d:?}"), "Mutex { data: 0 }");
    let f = Mutex::from(5);
    assert_eq!(*f.lock(), 5);
    let dynamic = Mutex::with_name(format!("account {}", 7), 0);
    let _g = dynamic.lock();
    assert_eq!(held_names(), ["account 7"]);
}

#[test]
fn rwlock_api() {
    let l = RwLock::named("rw", 1);
    {
        let a: RwLockReadGuard<'_, i32> = l.read();
        let b = l.read_recursive();
        assert_eq!(*a + *b, 2);
        assert!(l.try_write().is_none());
        assert!(l.try_write_for(Duration::from_millis(1)).is_none());
        assert!(l.try_read().is_some());
    }
    {
        let u = l.upgradable_read();
        let r = l
            .try_read_for(Duration::from_millis(1))
            .expect("readers share with an upgradable");
        drop(r);
        let mut w: RwLockWriteGuard<'_, i32> = RwLockUpgradableReadGuard::upgrade(u);
        *w += 1;
        let r = RwLockWriteGuard::downgrade(w);
        assert_eq!(*r, 2);
        assert_eq!(held_names(), ["rw"]);
    }
    {
        let u = l.try_upgradable_read().expect("free");
        let w = RwLockUpgradableReadGuard::try_upgrade(u).expect("no readers");
        let u = RwLockWriteGuard::downgrade_to_upgradable(w);
        let r = RwLockUpgradableReadGuard::downgrade(u);
        drop(r);
    }
    assert!(held_names().is_empty());
    assert!(!l.is_locked());
    assert_eq!(l.into_inner(), 2);
}

#[test]
fn condvar_gives_the_mutex_back_while_waiting() {
    let pair = Arc::new((Mutex::named("ready", false), Condvar::named("ready cv")));
    let waiter = {
        let pair = pair.clone();
        thread::spawn(move || {
            let mut ready = pair.0.lock();
            pair.1.wait_while(&mut ready, |r| !*r);
            assert_eq!(held_names(), ["ready"], "held again after the wait");
            let timed = pair.1.wait_for(&mut ready, Duration::from_millis(5));
            assert!(timed.timed_out());
            let timed = pair
                .1
                .wait_while_for(&mut ready, |_| true, Duration::from_millis(5));
            assert!(timed.timed_out());
        })
    };
    // The waiter must be able to take the mutex back: take it here meanwhile.
    thread::sleep(Duration::from_millis(20));
    *pair.0.lock() = true;
    pair.1.notify_all();
    waiter.join().expect("waiter");
}

#[test]
fn try_lock_joins_the_held_set_but_adds_no_edge() {
    let a = Arc::new(Mutex::named("try A", ()));
    let b = Arc::new(Mutex::named("try B", ()));
    {
        let _ga = a.lock();
        let _gb = b.try_lock().expect("free");
        assert_eq!(held_names(), ["try A", "try B"]);
    }
    // The opposite nested order, blocking: no cycle, since A→B was only tried.
    let (a2, b2) = (a.clone(), b.clone());
    thread::spawn(move || {
        let _gb = b2.lock();
        let _ga = a2.lock();
    })
    .join()
    .expect("no lock_order_cycle panic");
}

#[test]
fn force_unlock_on_another_thread_leaves_no_phantom() {
    let a = Arc::new(Mutex::named("forced", ()));
    let other = Arc::new(Mutex::named("other", ()));
    std::mem::forget(a.lock());
    assert_eq!(held_names(), ["forced"]);
    {
        let a = a.clone();
        // Safety: the guard was forgotten above; this releases it.
        thread::spawn(move || unsafe { a.force_unlock() })
            .join()
            .expect("force_unlock");
    }
    assert!(
        held_names().is_empty(),
        "the release on the other thread reached this one"
    );
    // With a phantom "forced" still held, this would form forced→other...
    let o = other.lock();
    drop(o);
    // ...and this, the opposite order on another thread, would be a cycle.
    let (a2, o2) = (a.clone(), other.clone());
    thread::spawn(move || {
        let _o = o2.lock();
        let _a = a2.lock();
    })
    .join()
    .expect("no phantom edge, no cycle");
}

#[test]
fn arc_guards() {
    let m = Arc::new(Mutex::named("arc", 1));
    {
        let g = m.lock_arc();
        assert_eq!(*g, 1);
        assert_eq!(held_names(), ["arc"]);
        assert!(m.try_lock_arc().is_none());
    }
    assert!(held_names().is_empty());
    let l = Arc::new(RwLock::named("arc rw", 1));
    {
        let r = l.read_arc();
        assert_eq!(*r, 1);
    }
    *l.write_arc() += 1;
    assert_eq!(*l.upgradable_read_arc(), 2);
    assert!(held_names().is_empty());
}

#[test]
fn a_lock_destroyed_under_a_forgotten_guard_is_a_lock_leak_and_leaves_the_held_set() {
    let m = Box::new(Mutex::named("forgotten", ()));
    std::mem::forget(m.lock());
    drop(m);
    // The entry goes with the lock (it held no pointer into it).
    let other = Mutex::named("after", ());
    let _g = other.lock();
    assert_eq!(held_names(), ["after"]);
    let leak = lockgraph::findings()
        .into_iter()
        .find(|f| f.kind == lockgraph::Kind::LockLeak && f.summary.contains("\"forgotten\""))
        .expect("a lock_leak warning");
    assert_eq!(leak.severity, lockgraph::Severity::Warning);
    assert!(leak.summary.contains("destroyed while"), "{}", leak.summary);
    assert!(
        leak.evidence[0].site.file.ends_with("api.rs"),
        "the acquisition site"
    );
}

/// `MutexGuard::unlocked` (and the rwlock guards' `unlocked`) take the lock
/// back through lock_api while the guard still exists. When that re-lock
/// closes a lock-order cycle, the report must leave the lock held, since the
/// guard unlocks it as the panic unwinds: giving it back first meant a
/// double unlock, and a guard over an unlocked mutex where the panic was
/// caught.
#[test]
fn a_cycle_closed_by_a_guards_unlocked_relock_leaves_the_lock_held_for_the_guard() {
    let a = Arc::new(Mutex::named("unlocked a", 0));
    let b = Arc::new(Mutex::named("unlocked b", 0));
    {
        let (a, b) = (a.clone(), b.clone());
        thread::spawn(move || {
            let _b = b.lock();
            let _a = a.lock();
        })
        .join()
        .unwrap();
    }
    let mut gb = b.lock();
    let ga = a.lock();
    // Releases b, then takes it back while holding a: a→b closes b→a. The
    // panic is caught inside the guard's scope.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        MutexGuard::unlocked(&mut gb, || {});
    }));
    let message = caught.expect_err("the cycle is reported");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.starts_with("lockgraph: lock_order_cycle"),
        "{message}"
    );
    assert!(b.is_locked(), "the guard still holds b");
    assert_eq!(held_names(), ["unlocked a", "unlocked b"]);
    drop(ga);
    drop(gb);
    assert!(
        !a.is_locked() && !b.is_locked(),
        "both guards unlocked once"
    );
    assert!(held_names().is_empty(), "{:?}", held_names());
    // The locks still work.
    drop(b.lock());
    drop(a.lock());

    let c = Arc::new(RwLock::named("unlocked c", 0));
    let d = Arc::new(RwLock::named("unlocked d", 0));
    {
        let (c, d) = (c.clone(), d.clone());
        thread::spawn(move || {
            let _d = d.write();
            let _c = c.write();
        })
        .join()
        .unwrap();
    }
    let mut gd = d.write();
    let gc = c.write();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        RwLockWriteGuard::unlocked(&mut gd, || {});
    }));
    assert!(caught.is_err(), "the rwlock cycle is reported too");
    assert!(d.is_locked(), "the write guard still holds d");
    drop(gc);
    drop(gd);
    assert!(!c.is_locked() && !d.is_locked());
    assert!(held_names().is_empty(), "{:?}", held_names());
}

/// parking_lot queues a `read` behind a writer that waits. A sliced writer
/// must not lose that place between its slices (bug kernel F2): a reader
/// arriving long after the writer started waiting stays out until the
/// writer had its turn.
#[test]
fn a_read_waits_behind_a_writer_that_waits_as_under_parking_lot() {
    let l = Arc::new(RwLock::named("gate", 0u32));
    let first = l.read();
    let writer = {
        let l = l.clone();
        thread::spawn(move || {
            *l.write() += 1;
        })
    };
    // Several of the writer's 100 ms slices pass.
    thread::sleep(Duration::from_millis(350));
    // Many late readers over many of the writer's slices: between two
    // slices parking_lot wakes the readers behind the writer, and without
    // the gate one of them soon gets in.
    let got_in = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let late: Vec<_> = (0..8)
        .map(|_| {
            let (l, got_in) = (l.clone(), got_in.clone());
            thread::spawn(move || {
                let g = l.read();
                got_in.store(true, std::sync::atomic::Ordering::SeqCst);
                *g
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(1200));
    assert!(
        !got_in.load(std::sync::atomic::Ordering::SeqCst),
        "a read got in past the waiting writer"
    );
    assert!(
        l.try_read().is_none(),
        "try_read fails behind the writer too"
    );
    drop(first);
    writer.join().unwrap();
    for r in late {
        assert_eq!(
            r.join().unwrap(),
            1,
            "the writer had its turn, then the readers"
        );
    }
}
