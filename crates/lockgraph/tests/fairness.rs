//! `FairMutex` and the guards' `unlock_fair` and `bump`: instrumented like
//! every other acquisition and release. `bump` is a release and a
//! re-acquisition, so it learns order edges and can be part of a deadlock,
//! and on every way out (a report's panic included) its guard still holds
//! the lock.
#![cfg(feature = "instrument")]

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lockgraph::{
    const_fair_mutex, ArcMutexGuard, FairMutex, FairMutexGuard, MappedFairMutexGuard, Mutex,
    MutexGuard, RawFairMutex, ReentrantMutex, ReentrantMutexGuard, RwLock, RwLockReadGuard,
    RwLockUpgradableReadGuard, RwLockWriteGuard,
};

static STATIC_FAIR: FairMutex<u32> = const_fair_mutex(0);

fn held_names() -> Vec<String> {
    lockgraph::held_locks()
        .iter()
        .map(|o| o.name.as_deref().unwrap_or("?").to_owned())
        .collect()
}

fn spawn<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("spawn")
}

/// Joins `h`, failing instead of hanging after 10 s.
fn join<T>(h: JoinHandle<T>) -> thread::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.is_finished() {
        assert!(
            Instant::now() < deadline,
            "thread {:?} still running after 10 s",
            h.thread().name()
        );
        thread::sleep(Duration::from_millis(1));
    }
    h.join()
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn fair_mutex_has_mutexs_api_and_instrumentation() {
    *STATIC_FAIR.lock() += 1;
    let f = Arc::new(FairMutex::named("fair", vec![1, 2]));
    assert!(!f.is_locked());
    {
        let g = f.lock();
        assert!(f.is_locked());
        assert_eq!(held_names(), ["fair"]);
        assert!(f.try_lock().is_none());
        assert!(f.try_lock_for(Duration::from_millis(1)).is_none());
        let mapped: MappedFairMutexGuard<'_, i32> = FairMutexGuard::map(g, |v| &mut v[0]);
        assert_eq!(*mapped, 1);
    }
    assert!(held_names().is_empty());
    let arc = f.lock_arc();
    assert_eq!(held_names(), ["fair"]);
    ArcMutexGuard::unlock_fair(arc);
    assert!(held_names().is_empty() && !f.is_locked());
    let dynamic = FairMutex::with_name(format!("fair {}", 7), ());
    drop(dynamic.lock());
    // The raw type has parking_lot's raw traits, fair ones included.
    fn raw_is_fair<R: lock_api::RawMutexFair + lock_api::RawMutexTimed>() {}
    raw_is_fair::<RawFairMutex>();
}

#[test]
fn relocking_a_fair_mutex_is_a_self_deadlock_and_leaves_it_consistent() {
    let f = FairMutex::named("fair relocked", 0);
    let g = f.lock();
    let r = panic::catch_unwind(AssertUnwindSafe(|| drop(f.lock())));
    let msg = panic_message(&*r.expect_err("the relock is reported, not hung"));
    assert!(msg.contains("self_deadlock (error)"), "{msg}");
    assert_eq!(
        held_names(),
        ["fair relocked"],
        "the first guard still holds it"
    );
    drop(g);
    assert!(held_names().is_empty() && !f.is_locked());
}

#[test]
fn fair_and_plain_mutexes_in_opposite_orders_are_a_lock_order_cycle() {
    let fair = Arc::new(FairMutex::named("fair first", ()));
    let plain = Arc::new(Mutex::named("plain second", ()));
    let (f2, p2) = (fair.clone(), plain.clone());
    join(spawn("fair then plain", move || {
        let _f = f2.lock();
        let _p = p2.lock();
    }))
    .expect("first order is fine");
    let r = join(spawn("plain then fair", move || {
        let _p = plain.lock();
        let _f = fair.lock();
    }));
    let msg = panic_message(&*r.expect_err("the inversion is reported"));
    assert!(msg.contains("lock_order_cycle (error)"), "{msg}");
    assert!(
        msg.contains("fair first") && msg.contains("plain second"),
        "{msg}"
    );
}

#[test]
fn unlock_fair_releases_every_kind_of_guard() {
    let m = Mutex::named("m fair", 0);
    MutexGuard::unlock_fair(m.lock());
    let f = FairMutex::named("f fair", 0);
    FairMutexGuard::unlock_fair(f.lock());
    let r = ReentrantMutex::named("r fair", 0);
    ReentrantMutexGuard::unlock_fair(r.lock());
    let l = RwLock::named("l fair", 0);
    RwLockWriteGuard::unlock_fair(l.write());
    RwLockReadGuard::unlock_fair(l.read());
    RwLockUpgradableReadGuard::unlock_fair(l.upgradable_read());
    assert!(held_names().is_empty(), "{:?}", held_names());
    assert!(!m.is_locked() && !f.is_locked() && !r.is_locked() && !l.is_locked());
    let mut g = f.lock();
    let v = FairMutexGuard::unlocked_fair(&mut g, || held_names().len());
    assert_eq!(v, 0, "unlocked_fair releases while the closure runs");
    assert_eq!(held_names(), ["f fair"]);
}

#[test]
fn bump_yields_to_a_waiter_and_takes_the_lock_back_on_top_of_the_held_stack() {
    let m = Arc::new(FairMutex::named("bumped", 0));
    let outer = Mutex::named("outer", ());
    let _o = outer.lock();
    let mut g = m.lock();
    let m2 = m.clone();
    let waiter = spawn("waiter", move || *m2.lock() += 1);
    while *g == 0 {
        // The waiter asks while this thread holds the lock: bump lets it in.
        thread::sleep(Duration::from_millis(5));
        FairMutexGuard::bump(&mut g);
    }
    assert_eq!(*g, 1);
    join(waiter).expect("waiter");
    assert_eq!(held_names(), ["outer", "bumped"]);
    let inner = Mutex::named("inner", ());
    let _i = inner.lock();
    // Bumping a lock under a later one puts it back on top: the thread
    // really waits for it while holding the later one.
    FairMutexGuard::bump(&mut g);
    assert_eq!(held_names(), ["outer", "inner", "bumped"]);
}

#[test]
fn bump_under_a_later_lock_closes_a_cycle_and_its_guard_still_unlocks() {
    let m = Arc::new(Mutex::named("bump first", 0));
    let l = Arc::new(Mutex::named("bump later", 0));
    let (m2, l2) = (m.clone(), l.clone());
    join(spawn("first then later", move || {
        let _m = m2.lock();
        let _l = l2.lock();
    }))
    .expect("one order");
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut gm = m.lock();
        let _gl = l.lock();
        // Held: first, later. The bump takes `first` back under `later`.
        MutexGuard::bump(&mut gm);
    }));
    let msg = panic_message(&*r.expect_err("the bump closes the cycle"));
    assert!(msg.contains("lock_order_cycle (error)"), "{msg}");
    assert!(!m.is_locked() && !l.is_locked(), "both guards unlocked");
    assert!(held_names().is_empty(), "{:?}", held_names());
    drop(m.lock()); // no self_deadlock: the bumped entry left with its guard
}

#[test]
fn a_deadlock_through_a_bump_ends_the_other_thread_and_the_bump_gets_its_lock() {
    let m = Arc::new(FairMutex::named("handed over", 0));
    let l = Arc::new(Mutex::named("kept", 0));
    let (m2, l2) = (m.clone(), l.clone());
    let (holding, asked) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(std::sync::atomic::AtomicI32::new(0)),
    );
    let (holding2, asked2) = (holding.clone(), asked.clone());
    // The bumper holds `m` then `l`, and bumps `m` once the other thread
    // waits for it: the other thread gets `m`, then waits for `l`, which
    // the bumper holds while it waits for `m` again. A deadlock.
    let bumper = spawn("bumper", move || {
        let mut gm = m2.lock();
        let gl = l2.lock();
        holding2.store(true, Ordering::SeqCst);
        // Bump only once the other thread is parked waiting for `m` (a
        // fixed sleep is not enough on a loaded machine: the bump would
        // find nobody to hand `m` to).
        let tid = loop {
            match asked2.load(Ordering::SeqCst) {
                0 => thread::yield_now(),
                tid => break tid,
            }
        };
        wait_until_asleep(tid);
        // The bump never panics (its guard must keep its lock): the other
        // thread is the deadlock's victim, and its unwinding frees `m`.
        FairMutexGuard::bump(&mut gm);
        let held = held_names();
        drop(gl);
        drop(gm);
        (held, held_names())
    });
    while !holding.load(Ordering::SeqCst) {
        thread::yield_now();
    }
    let other = spawn("takes m then l", move || {
        // Safety: gettid has no preconditions.
        asked.store(unsafe { libc::gettid() }, Ordering::SeqCst);
        let _m = m.lock();
        let _l = l.lock();
    });
    let msg = panic_message(&*join(other).expect_err("the other thread leaves by the report"));
    assert!(msg.contains("lockgraph: deadlock (error)"), "{msg}");
    let (during, after) = join(bumper).expect("the bumper never panics");
    assert_eq!(during, ["kept", "handed over"], "it holds both again");
    assert!(after.is_empty());
}

#[test]
fn rwlock_guards_bump_in_every_mode() {
    let l = Arc::new(RwLock::named("bumped rw", 0));
    let mut w = l.write();
    let l2 = l.clone();
    let reader = spawn("reader", move || *l2.read());
    thread::sleep(Duration::from_millis(50));
    *w = 5;
    RwLockWriteGuard::bump(&mut w);
    assert_eq!(
        join(reader).expect("reader"),
        5,
        "the reader got in during the bump"
    );
    drop(w);
    let mut r = l.read();
    RwLockReadGuard::bump(&mut r);
    assert_eq!(*r, 5);
    drop(r);
    let mut u = l.upgradable_read();
    RwLockUpgradableReadGuard::bump(&mut u);
    let w = RwLockUpgradableReadGuard::upgrade(u);
    assert_eq!(held_names(), ["bumped rw"]);
    drop(w);
    let re = ReentrantMutex::named("bumped re", ());
    let mut g = re.lock();
    ReentrantMutexGuard::bump(&mut g);
    assert_eq!(held_names(), ["bumped re"]);
    drop(g);
    assert!(held_names().is_empty());
}

/// Waits until thread `tid` of this process sleeps in the kernel (for the
/// thread that asked for a lock held elsewhere: parked in its wait), and
/// a little longer, so the wait is under way.
fn wait_until_asleep(tid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
        // The state follows the command name in parentheses.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.trim_start().chars().next());
        if state == Some('S') {
            thread::sleep(Duration::from_millis(50));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "thread {tid} never parked: {stat}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}
