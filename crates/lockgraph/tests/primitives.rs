//! Semantics of the primitives beyond locks (`Semaphore`, `Event`, `Barrier`,
//! `Latch`, `Once`, `Timer`) and of `Condvar`'s sliced waits: they behave as
//! documented under real threads, lose no wakeup, and correct use of them
//! produces no finding (a finding would panic here, the default reaction).
//!
//! Every wait that a bug could turn into a hang is bounded: threads are
//! joined through [`join`], which fails the test if a thread is still
//! running after a while, and the waits made on the test's own thread have
//! timeouts of a few seconds.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lockgraph::thread::{self, JoinHandle};
use lockgraph::{
    Barrier, BarrierWaitResult, BrokenBarrier, Condvar, Event, Latch, Mutex, Once, OnceState,
    OverRelease, Semaphore, Timer,
};

/// Long enough that a wait this long means a lost wakeup, not a slow machine.
const PATIENCE: Duration = Duration::from_secs(5);

/// Spawns a named thread (names make a report readable, should one come).
fn spawn<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("failed to spawn a test thread")
}

/// Joins `h`, failing the test instead of hanging if the thread does not
/// finish within 10 seconds; a panic in the thread goes on here.
fn join<T>(h: JoinHandle<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.is_finished() {
        assert!(
            Instant::now() < deadline,
            "thread {:?} still running after 10s: a wait never ended",
            h.thread().name()
        );
        thread::sleep(Duration::from_millis(1));
    }
    match h.join() {
        Ok(v) => v,
        Err(p) => panic::resume_unwind(p),
    }
}

/// Polls `cond` until it holds, failing the test after [`PATIENCE`].
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Asserts that a timed wait that was meant to time out lasted at least
/// `timeout`, and not absurdly longer.
fn assert_timed_out_after(elapsed: Duration, timeout: Duration) {
    assert!(
        elapsed >= timeout,
        "returned after {elapsed:?}, before the timeout {timeout:?}"
    );
    assert!(
        elapsed < PATIENCE,
        "returned after {elapsed:?}, long after the timeout {timeout:?}"
    );
}

/// The message of a panic payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- Semaphore

#[test]
fn semaphore_permits_limit_concurrency_under_contention() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 200;
    let sem = Arc::new(Semaphore::named("three", 3));
    let current = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|i| {
            let (sem, current, max) = (sem.clone(), current.clone(), max.clone());
            spawn(&format!("sem worker {i}"), move || {
                for _ in 0..ROUNDS {
                    // Half the threads wait untimed, half with a timeout.
                    let permit = if i % 2 == 0 {
                        sem.acquire()
                    } else {
                        sem.acquire_timeout(PATIENCE)
                            .expect("a permit within 5s under contention")
                    };
                    let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(Duration::from_micros(50));
                    current.fetch_sub(1, Ordering::SeqCst);
                    drop(permit);
                }
            })
        })
        .collect();
    for w in workers {
        join(w);
    }
    let max = max.load(Ordering::SeqCst);
    assert!(max <= 3, "{max} holders at once on a semaphore of 3");
    assert!(
        max > 1,
        "the permits never overlapped (max {max}): the test proves nothing"
    );
    assert_eq!(sem.available(), 3, "every permit came back");
}

#[test]
fn semaphore_try_acquire_fails_when_exhausted() {
    let sem = Semaphore::new(2);
    assert_eq!(sem.max(), None);
    let a = sem.try_acquire().expect("first of two");
    let b = sem.try_acquire().expect("second of two");
    assert_eq!(sem.available(), 0);
    assert!(sem.try_acquire().is_none(), "no third permit");
    drop(a);
    let c = sem.try_acquire().expect("a permit came back");
    assert!(sem.try_acquire().is_none());
    drop((b, c));
    assert_eq!(sem.available(), 2);
}

#[test]
fn semaphore_acquire_timeout_returns_none_after_the_timeout() {
    let sem = Semaphore::new(1).with_name("busy");
    let _held = sem.acquire();
    let timeout = Duration::from_millis(150);
    let start = Instant::now();
    assert!(sem.acquire_timeout(timeout).is_none(), "no permit was free");
    assert_timed_out_after(start.elapsed(), timeout);
    assert_eq!(sem.available(), 0, "a failed acquire takes nothing");
}

#[test]
fn semaphore_acquire_timeout_gets_a_permit_released_by_another_thread() {
    let sem = Arc::new(Semaphore::new(1));
    sem.acquire().forget();
    let releaser = {
        let sem = sem.clone();
        spawn("releaser", move || {
            thread::sleep(Duration::from_millis(50));
            sem.release()
                .expect("an unbounded semaphore takes any release");
        })
    };
    let start = Instant::now();
    let permit = sem.acquire_timeout(PATIENCE);
    let elapsed = start.elapsed();
    assert!(permit.is_some(), "the released permit was not handed over");
    assert!(
        elapsed < Duration::from_secs(4),
        "took {elapsed:?}: woken late"
    );
    join(releaser);
    assert_eq!(sem.available(), 0);
    drop(permit);
    assert_eq!(sem.available(), 1);
}

#[test]
fn semaphore_acquire_blocks_until_another_thread_drops_its_permit() {
    let sem = Arc::new(Semaphore::new(1));
    let taken = Arc::new(Event::new());
    let holder = {
        let (sem, taken) = (sem.clone(), taken.clone());
        spawn("holder", move || {
            let _p = sem.acquire();
            taken.set();
            thread::sleep(Duration::from_millis(100));
        })
    };
    assert!(taken.wait_timeout(PATIENCE));
    let start = Instant::now();
    let waiter = {
        let sem = sem.clone();
        spawn("waiter", move || {
            let _p = sem.acquire();
        })
    };
    join(waiter);
    assert!(start.elapsed() < Duration::from_secs(4));
    join(holder);
    assert_eq!(sem.available(), 1);
}

#[test]
fn semaphore_permit_drop_returns_the_permit() {
    let sem = Semaphore::new(3);
    {
        let _a = sem.acquire();
        let _b = sem.acquire();
        assert_eq!(sem.available(), 1);
    }
    assert_eq!(sem.available(), 3);
    let p = sem.try_acquire().expect("free");
    assert_eq!(sem.available(), 2);
    drop(p);
    assert_eq!(sem.available(), 3);
}

#[test]
fn semaphore_forgotten_permit_stays_taken_until_release() {
    let sem = Semaphore::bounded(2);
    sem.acquire().forget();
    assert_eq!(sem.available(), 1, "a forgotten permit is still taken");
    let other = sem.acquire();
    assert!(sem.try_acquire().is_none());
    drop(other);
    assert_eq!(sem.available(), 1, "the forgotten one is still out");
    assert_eq!(sem.release(), Ok(()), "giving back the forgotten permit");
    assert_eq!(sem.available(), 2);
}

#[test]
fn bounded_semaphore_over_release_is_an_error_and_changes_nothing() {
    let sem = Semaphore::bounded(2);
    assert_eq!(sem.max(), Some(2));
    assert_eq!(sem.release(), Err(OverRelease { max: 2 }));
    assert_eq!(sem.available(), 2, "an over-release adds nothing");
    let p = sem.acquire();
    assert_eq!(sem.available(), 1);
    drop(p);
    assert_eq!(sem.release(), Err(OverRelease { max: 2 }));
    assert_eq!(sem.available(), 2);
    let err = sem.release().unwrap_err();
    assert!(
        err.to_string().contains('2'),
        "the message names the capacity: {err}"
    );
}

#[test]
fn unbounded_semaphore_release_grows_available() {
    let sem = Semaphore::new(1);
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.available(), 3);
    let permits: Vec<_> = (0..3).map(|_| sem.try_acquire().expect("grown")).collect();
    assert!(sem.try_acquire().is_none());
    drop(permits);
    assert_eq!(sem.available(), 3);
    let empty = Semaphore::new(0);
    assert!(empty.try_acquire().is_none());
    assert_eq!(empty.release(), Ok(()));
    assert!(empty.try_acquire().is_some());
}

// -------------------------------------------------------------------- Event

#[test]
fn event_wait_returns_at_once_when_set() {
    let ev = Event::named("ready");
    assert!(!ev.is_set());
    ev.set();
    assert!(ev.is_set());
    let start = Instant::now();
    ev.wait();
    assert!(
        ev.wait_timeout(Duration::ZERO),
        "a set event passes a zero timeout"
    );
    assert!(ev.wait_timeout(Duration::from_secs(1)));
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "a set event does not block"
    );
    assert!(ev.is_set(), "waiting does not clear the flag");
}

#[test]
fn event_wait_timeout_is_false_on_timeout() {
    let ev = Event::new();
    let timeout = Duration::from_millis(150);
    let start = Instant::now();
    assert!(!ev.wait_timeout(timeout));
    assert_timed_out_after(start.elapsed(), timeout);
    assert!(!ev.is_set());
}

#[test]
fn event_wait_timeout_is_true_when_set_by_another_thread() {
    let ev = Arc::new(Event::new());
    let setter = {
        let ev = ev.clone();
        spawn("setter", move || {
            thread::sleep(Duration::from_millis(50));
            ev.set();
        })
    };
    let start = Instant::now();
    assert!(ev.wait_timeout(PATIENCE), "the set was missed");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "woken late: {:?}",
        start.elapsed()
    );
    join(setter);
}

#[test]
fn event_clear_makes_later_waits_block() {
    let ev = Event::default();
    ev.set();
    ev.clear();
    assert!(!ev.is_set());
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert!(!ev.wait_timeout(timeout), "a cleared event blocks");
    assert_timed_out_after(start.elapsed(), timeout);
    ev.set();
    assert!(ev.wait_timeout(Duration::ZERO));
}

#[test]
fn event_set_wakes_all_waiters() {
    const WAITERS: usize = 4;
    let ev = Arc::new(Event::named("go"));
    let arrived = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..WAITERS)
        .map(|i| {
            let (ev, arrived) = (ev.clone(), arrived.clone());
            spawn(&format!("event waiter {i}"), move || {
                arrived.fetch_add(1, Ordering::SeqCst);
                ev.wait();
            })
        })
        .collect();
    eventually("every waiter arrived", || {
        arrived.load(Ordering::SeqCst) == WAITERS
    });
    thread::sleep(Duration::from_millis(50));
    ev.set();
    for w in waiters {
        join(w);
    }
}

#[test]
fn event_waiter_woken_by_set_returns_even_if_cleared_right_after() {
    const WAITERS: usize = 3;
    let ev = Arc::new(Event::new());
    let arrived = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..WAITERS)
        .map(|i| {
            let (ev, arrived) = (ev.clone(), arrived.clone());
            spawn(&format!("pulse waiter {i}"), move || {
                arrived.fetch_add(1, Ordering::SeqCst);
                ev.wait_timeout(PATIENCE)
            })
        })
        .collect();
    eventually("every waiter arrived", || {
        arrived.load(Ordering::SeqCst) == WAITERS
    });
    // No API tells that a thread is blocked: give them time to get there.
    thread::sleep(Duration::from_millis(150));
    ev.set();
    ev.clear();
    assert!(!ev.is_set());
    for w in waiters {
        assert!(
            join(w),
            "a waiter woken by set() missed it because clear() came next"
        );
    }
}

// ------------------------------------------------------------------ Barrier

/// One full round of `b`: `b.parties() - 1` threads and this one wait.
/// Every party must pass, and exactly one of them leads.
fn full_round(b: &Arc<Barrier>) -> Vec<BarrierWaitResult> {
    let others: Vec<_> = (1..b.parties())
        .map(|i| {
            let b = b.clone();
            spawn(&format!("round party {i}"), move || {
                b.wait_timeout(PATIENCE)
            })
        })
        .collect();
    let mut results = vec![b.wait_timeout(PATIENCE)];
    results.extend(others.into_iter().map(join));
    let results: Vec<_> = results
        .into_iter()
        .map(|r| r.expect("a full round passes"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_leader()).count(),
        1,
        "{results:?}"
    );
    results
}

#[test]
fn barrier_has_exactly_one_leader_per_round() {
    const PARTIES: usize = 4;
    const ROUNDS: usize = 5;
    let b = Arc::new(Barrier::new(PARTIES).with_name("rounds"));
    assert_eq!(b.parties(), PARTIES);
    let parties: Vec<_> = (0..PARTIES)
        .map(|i| {
            let b = b.clone();
            spawn(&format!("party {i}"), move || {
                (0..ROUNDS)
                    .map(|_| b.wait().expect("nothing breaks this barrier"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<Vec<BarrierWaitResult>> = parties.into_iter().map(join).collect();
    for round in 0..ROUNDS {
        let this: Vec<_> = results.iter().map(|r| r[round]).collect();
        let leaders: Vec<_> = this.iter().filter(|r| r.is_leader()).collect();
        assert_eq!(leaders.len(), 1, "round {round}: {this:?}");
        assert_eq!(leaders[0].index(), PARTIES - 1, "the leader arrives last");
        let mut indices: Vec<_> = this.iter().map(|r| r.index()).collect();
        indices.sort_unstable();
        assert_eq!(indices, (0..PARTIES).collect::<Vec<_>>(), "round {round}");
    }
    assert!(!b.is_broken());
}

#[test]
fn barrier_action_runs_once_per_round_before_anyone_is_released() {
    const PARTIES: usize = 4;
    const ROUNDS: usize = 5;
    let runs = Arc::new(AtomicUsize::new(0));
    let b = Arc::new({
        let runs = runs.clone();
        Barrier::with_action(PARTIES, move || {
            // Slow, so that a party released early would see the old count.
            thread::sleep(Duration::from_millis(10));
            runs.fetch_add(1, Ordering::SeqCst);
        })
    });
    let parties: Vec<_> = (0..PARTIES)
        .map(|i| {
            let (b, runs) = (b.clone(), runs.clone());
            spawn(&format!("party {i}"), move || {
                for round in 1..=ROUNDS {
                    b.wait().expect("nothing breaks this barrier");
                    assert_eq!(
                        runs.load(Ordering::SeqCst),
                        round,
                        "party {i} released in round {round} before the action ran (or it ran twice)"
                    );
                }
            })
        })
        .collect();
    for p in parties {
        join(p);
    }
    assert_eq!(runs.load(Ordering::SeqCst), ROUNDS);
}

#[test]
fn barrier_wait_timeout_breaks_the_barrier_for_every_party_until_reset() {
    let b = Arc::new(Barrier::new(3));
    let other = {
        let b = b.clone();
        spawn("untimed party", move || b.wait())
    };
    eventually("the other party waits", || b.n_waiting() == 1);
    let timeout = Duration::from_millis(200);
    let start = Instant::now();
    assert_eq!(
        b.wait_timeout(timeout),
        Err(BrokenBarrier),
        "the third party never came"
    );
    assert_timed_out_after(start.elapsed(), timeout);
    assert_eq!(
        join(other),
        Err(BrokenBarrier),
        "the other waiter is released, broken"
    );
    assert!(b.is_broken());
    assert_eq!(b.n_waiting(), 0);

    let start = Instant::now();
    assert_eq!(
        b.wait(),
        Err(BrokenBarrier),
        "a broken barrier fails later waits"
    );
    assert_eq!(b.wait_timeout(PATIENCE), Err(BrokenBarrier));
    assert!(start.elapsed() < Duration::from_secs(1), "and at once");
    assert!(b.is_broken());

    b.reset();
    assert!(!b.is_broken());
    full_round(&b);
    assert!(!b.is_broken());
}

#[test]
fn barrier_abort_breaks_current_waiters() {
    let b = Arc::new(Barrier::new(3).with_name("aborted"));
    let waiters: Vec<_> = (0..2)
        .map(|i| {
            let b = b.clone();
            spawn(&format!("waiter {i}"), move || {
                let start = Instant::now();
                (b.wait_timeout(PATIENCE), start.elapsed())
            })
        })
        .collect();
    eventually("both parties wait", || b.n_waiting() == 2);
    b.abort();
    for w in waiters {
        let (result, elapsed) = join(w);
        assert_eq!(result, Err(BrokenBarrier));
        assert!(
            elapsed < Duration::from_secs(4),
            "released by abort, not by its timeout"
        );
    }
    assert!(b.is_broken());
    assert_eq!(b.wait(), Err(BrokenBarrier));
    b.reset();
    full_round(&b);
}

#[test]
fn barrier_reset_fails_current_waiters_and_leaves_it_usable() {
    let b = Arc::new(Barrier::new(3));
    let waiters: Vec<_> = (0..2)
        .map(|i| {
            let b = b.clone();
            spawn(&format!("waiter {i}"), move || {
                let start = Instant::now();
                (b.wait_timeout(PATIENCE), start.elapsed())
            })
        })
        .collect();
    eventually("both parties wait", || b.n_waiting() == 2);
    b.reset();
    for w in waiters {
        let (result, elapsed) = join(w);
        assert_eq!(
            result,
            Err(BrokenBarrier),
            "a reset fails the parties waiting"
        );
        assert!(
            elapsed < Duration::from_secs(4),
            "released by reset, not by its timeout"
        );
    }
    assert!(!b.is_broken(), "a reset barrier is not broken");
    assert_eq!(b.n_waiting(), 0);
    // The arrivals before the reset do not count: a full round is needed.
    for _ in 0..2 {
        let results = full_round(&b);
        let mut indices: Vec<_> = results.iter().map(|r| r.index()).collect();
        indices.sort_unstable();
        assert_eq!(indices, vec![0, 1, 2]);
    }
}

#[test]
fn barrier_n_waiting_counts_arrivals() {
    let b = Arc::new(Barrier::new(3));
    assert_eq!(b.n_waiting(), 0);
    let first = {
        let b = b.clone();
        spawn("first", move || b.wait_timeout(PATIENCE))
    };
    eventually("one party waits", || b.n_waiting() == 1);
    let second = {
        let b = b.clone();
        spawn("second", move || b.wait_timeout(PATIENCE))
    };
    eventually("two parties wait", || b.n_waiting() == 2);
    let last = b.wait_timeout(PATIENCE).expect("the round completes");
    assert!(last.is_leader());
    assert_eq!(last.index(), 2);
    let first = join(first).expect("passes");
    let second = join(second).expect("passes");
    assert_eq!((first.index(), first.is_leader()), (0, false));
    assert_eq!((second.index(), second.is_leader()), (1, false));
    assert_eq!(b.n_waiting(), 0, "a new round starts empty");
}

#[test]
fn barrier_of_one_party_passes_at_once_as_leader() {
    let b = Barrier::new(1);
    for _ in 0..3 {
        let r = b.wait().expect("one party is a full round");
        assert!(r.is_leader());
        assert_eq!(r.index(), 0);
    }
    assert_eq!(Barrier::new(0).parties(), 1, "at least one party");
}

#[test]
fn barrier_default_timeout_from_with_timeout_applies() {
    let timeout = Duration::from_millis(150);
    let b = Arc::new(Barrier::new(2).with_timeout(timeout));
    let start = Instant::now();
    assert_eq!(b.wait(), Err(BrokenBarrier), "the other party never came");
    assert_timed_out_after(start.elapsed(), timeout);
    assert!(b.is_broken());
    b.reset();
    // Parties that meet within the default timeout pass.
    full_round(&b);
    let other = {
        let b = b.clone();
        spawn("in time", move || b.wait())
    };
    let me = b.wait();
    let other = join(other);
    assert!(me.is_ok() && other.is_ok(), "{me:?} {other:?}");
}

#[test]
fn barrier_action_panic_breaks_it_and_reaches_the_leader() {
    let b = Arc::new(Barrier::with_action(2, || panic!("the action failed")));
    let first = {
        let b = b.clone();
        spawn("first", move || b.wait_timeout(PATIENCE))
    };
    eventually("the first party waits", || b.n_waiting() == 1);
    // This thread arrives last: it leads, runs the action, and gets its panic.
    let caught = panic::catch_unwind(AssertUnwindSafe(|| b.wait()));
    let payload = caught.expect_err("the action's panic goes on in the leader");
    assert_eq!(panic_message(&*payload), "the action failed");
    assert_eq!(
        join(first),
        Err(BrokenBarrier),
        "the other party is released, broken"
    );
    assert!(b.is_broken());
    assert_eq!(b.wait(), Err(BrokenBarrier));
}

// -------------------------------------------------------------------- Latch

#[test]
fn latch_wait_returns_after_count_downs_from_other_threads() {
    let latch = Arc::new(Latch::named("started", 3));
    assert_eq!(latch.count(), 3);
    let untimed = {
        let latch = latch.clone();
        spawn("untimed latch waiter", move || latch.wait())
    };
    let counters: Vec<_> = (0..3)
        .map(|i| {
            let latch = latch.clone();
            spawn(&format!("counter {i}"), move || {
                thread::sleep(Duration::from_millis(20 * (i + 1)));
                latch.count_down();
            })
        })
        .collect();
    assert!(latch.wait_timeout(PATIENCE), "the latch never opened");
    assert_eq!(latch.count(), 0);
    join(untimed);
    for c in counters {
        join(c);
    }
}

#[test]
fn latch_count_down_at_zero_stays_zero() {
    let latch = Latch::new(1);
    latch.count_down();
    assert_eq!(latch.count(), 0);
    latch.count_down();
    latch.count_down();
    assert_eq!(latch.count(), 0);
    latch.wait();
    assert!(latch.wait_timeout(Duration::ZERO));
    let open = Latch::new(0);
    open.wait();
    open.count_down();
    assert_eq!(open.count(), 0);
}

#[test]
fn latch_wait_timeout_is_false_when_not_reached() {
    let latch = Latch::new(2);
    latch.count_down();
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert!(!latch.wait_timeout(timeout));
    assert_timed_out_after(start.elapsed(), timeout);
    assert_eq!(latch.count(), 1);
    latch.count_down();
    assert!(latch.wait_timeout(Duration::ZERO));
}

// --------------------------------------------------------------------- Once

#[test]
fn once_runs_exactly_once_and_every_caller_returns_after_it_completed() {
    const CALLERS: usize = 8;
    let once = Arc::new(Once::named("init"));
    let runs = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Event::new());
    let callers: Vec<_> = (0..CALLERS)
        .map(|i| {
            let (once, runs, done, go) = (once.clone(), runs.clone(), done.clone(), go.clone());
            spawn(&format!("caller {i}"), move || {
                assert!(go.wait_timeout(PATIENCE));
                once.call_once(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(50));
                    done.store(true, Ordering::SeqCst);
                });
                done.load(Ordering::SeqCst)
            })
        })
        .collect();
    go.set();
    for c in callers {
        assert!(join(c), "call_once returned before the closure completed");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(once.is_completed());
    assert_eq!(once.state(), OnceState::Done);
    once.call_once(|| panic!("a completed once does not run again"));
}

#[test]
fn once_panic_poisons_and_call_once_force_recovers() {
    let once = Once::new();
    let first = panic::catch_unwind(AssertUnwindSafe(|| {
        once.call_once(|| panic!("init failed"));
    }));
    assert_eq!(
        panic_message(&*first.expect_err("the panic goes on")),
        "init failed"
    );
    assert_eq!(once.state(), OnceState::Poisoned);
    assert!(!once.is_completed());

    let ran = AtomicBool::new(false);
    let again = panic::catch_unwind(AssertUnwindSafe(|| {
        once.call_once(|| ran.store(true, Ordering::SeqCst));
    }));
    assert!(again.is_err(), "call_once on a poisoned once panics");
    assert!(!ran.load(Ordering::SeqCst), "and does not run its closure");
    assert_eq!(once.state(), OnceState::Poisoned);

    let mut found = None;
    once.call_once_force(|state| found = Some(state));
    assert_eq!(
        found,
        Some(OnceState::Poisoned),
        "the forced closure is told"
    );
    assert_eq!(once.state(), OnceState::Done);
    assert!(once.is_completed());

    let mut ran_again = false;
    once.call_once_force(|_| ran_again = true);
    once.call_once(|| ran_again = true);
    assert!(!ran_again, "completed: nothing runs any more");
}

#[test]
fn once_state_goes_from_new_to_in_progress_to_done() {
    let once = Arc::new(Once::default());
    assert_eq!(once.state(), OnceState::New);
    assert!(!once.is_completed());
    let running = Arc::new(Event::new());
    let finish = Arc::new(Event::new());
    let runner = {
        let (once, running, finish) = (once.clone(), running.clone(), finish.clone());
        spawn("runner", move || {
            let mut seen = None;
            once.call_once_force(|state| {
                seen = Some((state, once.state()));
                running.set();
                assert!(finish.wait_timeout(PATIENCE));
            });
            seen
        })
    };
    assert!(running.wait_timeout(PATIENCE));
    assert_eq!(
        once.state(),
        OnceState::InProgress,
        "seen from another thread"
    );
    assert!(!once.is_completed());
    finish.set();
    assert_eq!(join(runner), Some((OnceState::New, OnceState::InProgress)));
    assert_eq!(once.state(), OnceState::Done);
    assert!(once.is_completed());
}

// -------------------------------------------------------------------- Timer

#[test]
fn timer_fires_after_the_delay_not_before() {
    let delay = Duration::from_millis(150);
    let fired_at = Arc::new(Mutex::new(None));
    let rang = Arc::new(Event::new());
    let start = Instant::now();
    let timer = {
        let (fired_at, rang) = (fired_at.clone(), rang.clone());
        Timer::start(delay, move || {
            *fired_at.lock() = Some(Instant::now());
            rang.set();
        })
    };
    let early = timer.fired();
    if start.elapsed() < delay {
        assert!(!early, "fired before its delay");
    }
    assert!(rang.wait_timeout(PATIENCE), "the timer never fired");
    let at = fired_at.lock().expect("the closure ran");
    assert!(
        at - start >= delay,
        "fired after {:?}, delay {delay:?}",
        at - start
    );
    assert!(timer.fired());
    timer.join().expect("the closure did not panic");
}

#[test]
fn timer_cancelled_before_the_delay_never_runs() {
    let delay = Duration::from_secs(2);
    let ran = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let timer = {
        let ran = ran.clone();
        Timer::named("cancelled timer", delay, move || {
            ran.store(true, Ordering::SeqCst)
        })
    };
    assert!(timer.cancel(), "cancelled in time");
    assert!(!timer.cancel(), "a second cancel has nothing to stop");
    assert!(!timer.fired());
    eventually("the cancelled timer's thread ends", || timer.is_finished());
    timer.join().expect("a cancelled timer ends cleanly");
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "cancel woke the timer thread: it did not sit out its delay"
    );
    assert!(
        !ran.load(Ordering::SeqCst),
        "a cancelled timer's closure never runs"
    );
}

#[test]
fn timer_cancel_after_firing_returns_false() {
    let rang = Arc::new(Event::new());
    let timer = {
        let rang = rang.clone();
        Timer::start(Duration::from_millis(10), move || rang.set())
    };
    assert!(rang.wait_timeout(PATIENCE));
    assert!(!timer.cancel(), "too late: it fired");
    assert!(timer.fired());
    eventually("the timer's thread ends", || timer.is_finished());
    timer.join().expect("the closure did not panic");
}

#[test]
fn timer_join_returns_the_closure_panic() {
    let timer = Timer::start(Duration::ZERO, || panic!("timer closure failed"));
    let deadline = Instant::now() + PATIENCE;
    while !timer.is_finished() {
        assert!(Instant::now() < deadline, "the timer never ended");
        thread::sleep(Duration::from_millis(1));
    }
    let err = timer.join().expect_err("the closure panicked");
    assert_eq!(panic_message(&*err), "timer closure failed");
}

// ------------------------------------------------------------------ Condvar

/// The main thread waits (one bare timed wait, 5s) while another thread,
/// which does not hold the mutex, notifies once `delay` after the wait
/// began. The slice is 100ms: delays around it land between slices.
fn notify_one_without_the_lock_after(delay: Duration) {
    let pair = Arc::new((Mutex::new(false), Condvar::named("sliced")));
    let notifier = {
        let pair = pair.clone();
        spawn("notifier", move || {
            let (m, cv) = &*pair;
            // The flag is set under the mutex right before the wait, which
            // gives the mutex up only once it parks: seeing the flag means
            // the waiter is waiting.
            loop {
                let waiting = *m.lock();
                if waiting {
                    break;
                }
                thread::sleep(Duration::from_millis(1));
            }
            thread::sleep(delay);
            cv.notify_one()
        })
    };
    let (m, cv) = &*pair;
    let mut waiting = m.lock();
    *waiting = true;
    let start = Instant::now();
    let result = cv.wait_for(&mut waiting, PATIENCE);
    let elapsed = start.elapsed();
    drop(waiting);
    let woke_someone = join(notifier);
    assert!(
        !result.timed_out(),
        "notify_one {delay:?} into the wait was lost (waited {elapsed:?})"
    );
    assert!(
        woke_someone,
        "notify_one says it woke nobody, {delay:?} into the wait"
    );
}

#[test]
fn condvar_notify_one_without_the_lock_at_once_wakes_the_waiter() {
    notify_one_without_the_lock_after(Duration::ZERO);
}

#[test]
fn condvar_notify_one_without_the_lock_after_50ms_wakes_the_waiter() {
    notify_one_without_the_lock_after(Duration::from_millis(50));
}

#[test]
fn condvar_notify_one_without_the_lock_after_99ms_wakes_the_waiter() {
    notify_one_without_the_lock_after(Duration::from_millis(99));
}

#[test]
fn condvar_notify_one_without_the_lock_after_100ms_wakes_the_waiter() {
    notify_one_without_the_lock_after(Duration::from_millis(100));
}

#[test]
fn condvar_notify_one_without_the_lock_after_101ms_wakes_the_waiter() {
    notify_one_without_the_lock_after(Duration::from_millis(101));
}

#[test]
fn condvar_notify_one_without_the_lock_after_150ms_wakes_the_waiter() {
    notify_one_without_the_lock_after(Duration::from_millis(150));
}

#[test]
fn condvar_notify_one_without_the_lock_after_250ms_wakes_the_waiter() {
    notify_one_without_the_lock_after(Duration::from_millis(250));
}

#[test]
fn condvar_notify_one_while_the_waiter_is_between_slices_wakes_it() {
    // Between two slices a sliced wait holds its mutex again: a notifier
    // that sees the mutex locked after the wait began notifies right then,
    // when nobody is parked. (Unsliced, the mutex stays free until the
    // waiter wakes; the notifier then notifies after a second.)
    for round in 0..3 {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let notifier = {
            let pair = pair.clone();
            spawn("between-slices notifier", move || {
                let (m, cv) = &*pair;
                loop {
                    let waiting = *m.lock();
                    if waiting {
                        break;
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                let start = Instant::now();
                while !m.is_locked() && start.elapsed() < Duration::from_secs(1) {
                    std::hint::spin_loop();
                }
                cv.notify_one()
            })
        };
        let (m, cv) = &*pair;
        let mut waiting = m.lock();
        *waiting = true;
        let result = cv.wait_for(&mut waiting, PATIENCE);
        drop(waiting);
        let woke_someone = join(notifier);
        assert!(
            !result.timed_out(),
            "round {round}: a notify_one between slices was lost"
        );
        assert!(
            woke_someone,
            "round {round}: notify_one says it woke nobody"
        );
    }
}

#[test]
fn condvar_notify_all_without_the_lock_reaches_four_waiters_between_slices() {
    const WAITERS: usize = 4;
    // A delay after every waiter waits, or `None`: as soon as one of them
    // is between two slices (holding the mutex again, not parked).
    for delay in [Some(0), Some(99), Some(100), Some(101), Some(150), None] {
        let pair = Arc::new((Mutex::new(0usize), Condvar::new()));
        let waiters: Vec<_> = (0..WAITERS)
            .map(|i| {
                let pair = pair.clone();
                spawn(&format!("cv waiter {i}"), move || {
                    let (m, cv) = &*pair;
                    let mut waiting = m.lock();
                    *waiting += 1;
                    cv.wait_for(&mut waiting, PATIENCE).timed_out()
                })
            })
            .collect();
        let (m, cv) = &*pair;
        eventually("every waiter waits", || *m.lock() == WAITERS);
        match delay {
            Some(ms) => thread::sleep(Duration::from_millis(ms)),
            None => {
                let start = Instant::now();
                while !m.is_locked() && start.elapsed() < Duration::from_secs(1) {
                    std::hint::spin_loop();
                }
            }
        }
        let woken = cv.notify_all();
        let when = match delay {
            Some(ms) => format!("{ms}ms after every waiter waits"),
            None => "while a waiter is between slices".to_owned(),
        };
        for w in waiters {
            assert!(!join(w), "a notify_all {when} missed a waiter");
        }
        // Not `== WAITERS`: when one wait is between slices, the count
        // (parked threads woken, or else the waits still in progress once
        // those are counted) can come out short if the woken ones have
        // already left. What this test owns is that nobody is missed.
        assert!(
            (1..=WAITERS).contains(&woken),
            "a notify_all {when} says it woke {woken}"
        );
    }
}

#[test]
fn condvar_wait_for_times_out_after_the_timeout() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    let timeout = Duration::from_millis(200);
    let mut guard = m.lock();
    let start = Instant::now();
    let result = cv.wait_for(&mut guard, timeout);
    assert!(result.timed_out(), "nobody notified");
    assert_timed_out_after(start.elapsed(), timeout);
    let start = Instant::now();
    let result = cv.wait_until(&mut guard, Instant::now() + timeout);
    assert!(result.timed_out());
    assert_timed_out_after(start.elapsed(), timeout);
}

// Regressions for bugs this file found (a barrier round overfilled while
// its action ran, a deadline overflow, condvar wake counts).

#[test]
fn semaphore_acquire_timeout_too_long_to_represent_waits_without_a_deadline() {
    let sem = Semaphore::new(1);
    // Event, Latch, Barrier and Condvar treat an unrepresentable deadline as "no deadline".
    assert!(sem.acquire_timeout(Duration::MAX).is_some());
}

#[test]
fn barrier_party_arriving_while_the_action_runs_waits_for_the_next_round() {
    let b = std::sync::Arc::new(Barrier::with_action(2, || {
        std::thread::sleep(Duration::from_millis(300))
    }));
    let parties: Vec<_> = (0..2)
        .map(|_| {
            let b = b.clone();
            lockgraph::thread::spawn(move || b.wait_timeout(Duration::from_secs(5)))
        })
        .collect();
    while b.n_waiting() < 2 {
        std::thread::sleep(Duration::from_millis(1));
    }
    // Both parties are in: the leader is running the 300ms action.
    let third = {
        let b = b.clone();
        lockgraph::thread::spawn(move || b.wait_timeout(Duration::from_secs(1)))
    };
    for p in parties {
        p.join().unwrap().expect("the full round passes");
    }
    let third = third.join().unwrap();
    // Alone in round 2, it should time out (Err); it passes with round 1 instead,
    // with index 2 on a 2-party barrier.
    assert!(
        third.is_err(),
        "a third party passed a 2-party round: {third:?}"
    );
}

#[test]
fn condvar_second_notify_one_reports_no_wake_when_the_only_waiter_is_already_woken() {
    let pair = std::sync::Arc::new((Mutex::new(false), Condvar::new()));
    let waiter = {
        let pair = pair.clone();
        lockgraph::thread::spawn(move || {
            let (m, cv) = &*pair;
            let mut g = m.lock();
            *g = true;
            cv.wait_for(&mut g, Duration::from_secs(5)).timed_out()
        })
    };
    let (m, cv) = &*pair;
    while !*m.lock() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let g = m.lock(); // the woken waiter cannot leave its wait until this is dropped
    let first = cv.notify_one();
    let second = cv.notify_one();
    let all = cv.notify_all();
    drop(g);
    assert!(!waiter.join().unwrap());
    assert!(first);
    // parking_lot (and LOCKGRAPH=off): false and 0. Instrumented: true and 1.
    assert_eq!((second, all), (false, 0), "nobody was left to wake");
}

#[test]
fn condvar_notify_all_counts_a_wait_between_slices_under_stress() {
    // Fails about 1 run in 40 under CPU load (two `yes > /dev/null`).
    for _ in 0..20 {
        let pair = std::sync::Arc::new((Mutex::new(0usize), Condvar::new()));
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let pair = pair.clone();
                lockgraph::thread::spawn(move || {
                    let (m, cv) = &*pair;
                    let mut n = m.lock();
                    *n += 1;
                    cv.wait_for(&mut n, Duration::from_secs(5)).timed_out()
                })
            })
            .collect();
        let (m, cv) = &*pair;
        while *m.lock() != 4 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let start = std::time::Instant::now();
        while !m.is_locked() && start.elapsed() < Duration::from_secs(1) {
            std::hint::spin_loop();
        }
        let woken = cv.notify_all();
        for w in waiters {
            assert!(!w.join().unwrap());
        }
        assert_eq!(woken, 4, "all four were waiting and all four woke");
    }
}

// ------------------------------------------------- Condvar with two mutexes

/// parking_lot's panic for a condvar waited on with two mutexes at once.
const TWO_MUTEXES: &str = "attempted to use a condition variable with more than one mutex";

/// Spawns a thread that waits on `cv` with `m` (untimed, or for
/// `timeout`), and returns once it is waiting (it released `m`).
fn waiting_on(
    name: &str,
    m: &Arc<Mutex<bool>>,
    cv: &Arc<Condvar>,
    timeout: Option<Duration>,
) -> JoinHandle<bool> {
    let (m2, cv2) = (m.clone(), cv.clone());
    let started = Arc::new(AtomicBool::new(false));
    let s2 = started.clone();
    let h = spawn(name, move || {
        let mut g = m2.lock();
        s2.store(true, Ordering::SeqCst);
        match timeout {
            Some(t) => !cv2.wait_for(&mut g, t).timed_out(),
            None => {
                cv2.wait(&mut g);
                true
            }
        }
    });
    eventually("the waiter has started", || started.load(Ordering::SeqCst));
    // It holds `m` until its wait releases it.
    drop(m.lock());
    h
}

#[test]
fn condvar_waited_on_with_a_second_mutex_panics_before_anything_changes() {
    let (a, b) = (
        Arc::new(Mutex::named("first", false)),
        Mutex::named("second", false),
    );
    let cv = Arc::new(Condvar::named("shared"));
    let waiter = waiting_on("waits with first", &a, &cv, None);
    let mut gb = b.lock();
    // Timed, so that a missing check fails the test instead of hanging it.
    let r = panic::catch_unwind(AssertUnwindSafe(|| cv.wait_for(&mut gb, PATIENCE)));
    assert_eq!(panic_message(&*r.expect_err("two mutexes")), TWO_MUTEXES);
    // Nothing half done: the guard still holds `second`, and only it.
    assert!(b.is_locked());
    #[cfg(feature = "instrument")]
    assert_eq!(
        lockgraph::held_locks()
            .iter()
            .map(|o| o.name.as_deref().unwrap_or("?"))
            .collect::<Vec<_>>(),
        ["second"]
    );
    drop(gb);
    #[cfg(feature = "instrument")]
    assert!(lockgraph::held_locks().is_empty());
    assert!(!b.is_locked());
    // The first wait is untouched: a notification ends it.
    assert!(cv.notify_one());
    assert!(join(waiter));
    // With no wait in progress, the condvar may change mutex.
    assert!(cv
        .wait_for(&mut b.lock(), Duration::from_millis(1))
        .timed_out());
}

#[test]
fn condvar_second_mutex_panics_while_the_first_wait_is_between_slices() {
    // parking_lot's `two_mutexes`: the first waiter's slice ends while its
    // mutex is held elsewhere, so it is parked on nothing, yet still waiting.
    let (a, b) = (Arc::new(Mutex::new(false)), Mutex::new(false));
    let cv = Arc::new(Condvar::new());
    let waiter = waiting_on("sliced waiter", &a, &cv, None);
    let ga = a.lock();
    thread::sleep(Duration::from_millis(250));
    let r = panic::catch_unwind(AssertUnwindSafe(|| cv.wait_for(&mut b.lock(), PATIENCE)));
    assert_eq!(panic_message(&*r.expect_err("two mutexes")), TWO_MUTEXES);
    assert!(cv.notify_one());
    drop(ga);
    assert!(join(waiter));
}

#[test]
fn condvar_may_change_mutex_once_earlier_waits_timed_out_or_were_notified() {
    let (a, b) = (Arc::new(Mutex::new(false)), Mutex::new(false));
    let cv = Arc::new(Condvar::new());
    // Timed out, but still taking its mutex back (held here): not waiting
    // any more, as far as parking_lot is concerned.
    let timed = waiting_on("times out", &a, &cv, Some(Duration::from_millis(20)));
    let ga = a.lock();
    thread::sleep(Duration::from_millis(150));
    assert!(cv
        .wait_for(&mut b.lock(), Duration::from_millis(1))
        .timed_out());
    drop(ga);
    assert!(!join(timed), "it timed out");
    // Notified, but still taking its mutex back: not waiting either.
    let notified = waiting_on("notified", &a, &cv, None);
    let ga = a.lock();
    assert!(cv.notify_one());
    assert!(cv
        .wait_for(&mut b.lock(), Duration::from_millis(1))
        .timed_out());
    drop(ga);
    assert!(join(notified));
}
