//! Trust: correct programs under heavy contention produce no finding at all.
//! Many threads, random subsets of locks always taken in one global order,
//! rwlocks in every mode, try-lock back-off, condvar handshakes, and long
//! waits behind busy holders (the wait-for detector runs on every one).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lockgraph::{Condvar, Mutex, RwLock};
use lockgraph_scenarios::{run_with, Options};

/// A tiny deterministic generator, so every run takes the same paths.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs a correct program recorded, asserts it found nothing (and that its
/// own assertions held), and that the replay of its trace finds nothing too.
fn silent(name: &str, body: impl FnOnce()) {
    let out = run_with(
        name,
        Options {
            timeout: Duration::from_secs(60),
            trace_dir: Some(
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                    .join("false-alarm-traces")
                    .join(name),
            ),
            ..Options::default()
        },
        body,
    );
    out.assert_silent();
    out.assert_replay_matches_live();
}

#[test]
fn random_subsets_in_one_global_order_under_contention() {
    silent(
        "random_subsets_in_one_global_order_under_contention",
        || {
            let locks: Arc<Vec<Mutex<u64>>> = Arc::new(
                (0..8)
                    .map(|i| Mutex::with_name(format!("L{i}"), 0))
                    .collect(),
            );
            let handles: Vec<_> = (0..6)
                .map(|t| {
                    let locks = locks.clone();
                    lockgraph::thread::spawn(move || {
                        let mut rng = Rng(0x9E37_79B9 + t);
                        for _ in 0..3000 {
                            let mask = rng.next() & 0xff;
                            // Always ascending: a consistent order, however random the subset.
                            let mut guards = Vec::new();
                            for (i, l) in locks.iter().enumerate() {
                                if mask & (1 << i) != 0 {
                                    guards.push(l.lock());
                                }
                            }
                            for g in &mut guards {
                                **g += 1;
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
        },
    );
}

#[test]
fn long_waits_behind_busy_holders_are_not_deadlocks() {
    // Holders keep the lock for longer than the detector's slices, while
    // holding other locks in a consistent order: waits, never cycles.
    silent("long_waits_behind_busy_holders_are_not_deadlocks", || {
        let a = Arc::new(Mutex::named("A", ()));
        let b = Arc::new(Mutex::named("B", ()));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (a, b) = (a.clone(), b.clone());
                lockgraph::thread::spawn(move || {
                    for _ in 0..3 {
                        let _a = a.lock();
                        let _b = b.lock();
                        std::thread::sleep(Duration::from_millis(150));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn rwlocks_in_every_mode_and_try_lock_back_off() {
    silent("rwlocks_in_every_mode_and_try_lock_back_off", || {
        let table = Arc::new(RwLock::named("table", 0u64));
        let index = Arc::new(Mutex::named("index", 0u64));
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let (table, index) = (table.clone(), index.clone());
                lockgraph::thread::spawn(move || {
                    let mut rng = Rng(0xDEAD_BEEF + t);
                    for _ in 0..2000 {
                        match rng.next() % 5 {
                            0 => *table.write() += 1,
                            1 => {
                                let r = table.read();
                                *index.lock() += *r;
                            }
                            2 => {
                                let u = table.upgradable_read();
                                if *u % 2 == 0 {
                                    *lockgraph::RwLockUpgradableReadGuard::upgrade(u) += 1;
                                }
                            }
                            3 => {
                                let _r = table.read();
                                let _again = table.read_recursive();
                            }
                            _ => {
                                // Opposite order, but only ever tried, and backing off
                                // (releasing index) between tries: it makes progress.
                                // (Keeping index while retrying would be a livelock with
                                // the readers of case 1: scenario 8, not a twin.)
                                loop {
                                    let i = index.lock();
                                    if let Some(mut w) =
                                        table.try_write_for(Duration::from_micros(50))
                                    {
                                        *w += 1;
                                        break;
                                    }
                                    drop(i);
                                    std::thread::yield_now();
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn condvar_handshakes_with_predicates() {
    silent("condvar_handshakes_with_predicates", || {
        let pair = Arc::new((
            Mutex::named("queue", Vec::<u64>::new()),
            Condvar::named("not empty"),
        ));
        let done = Arc::new(AtomicU64::new(0));
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let (pair, done) = (pair.clone(), done.clone());
                lockgraph::thread::spawn(move || loop {
                    let mut q = pair.0.lock();
                    pair.1
                        .wait_while(&mut q, |q| q.is_empty() && done.load(Ordering::SeqCst) == 0);
                    if q.pop().is_none() && done.load(Ordering::SeqCst) == 1 {
                        return;
                    }
                })
            })
            .collect();
        for i in 0..5000 {
            pair.0.lock().push(i);
            pair.1.notify_one();
        }
        loop {
            if pair.0.lock().is_empty() {
                break;
            }
            std::thread::yield_now();
        }
        {
            // Under the mutex: a consumer between its predicate check and its
            // wait would otherwise miss the notify_all (a missed notification,
            // issue 5's finding; this is the correct twin).
            let _q = pair.0.lock();
            done.store(1, Ordering::SeqCst);
        }
        pair.1.notify_all();
        for c in consumers {
            c.join().unwrap();
        }
    });
}

// The primitives of issue 4 and the heuristics of issue 5, in correct programs
// that exercise exactly what the heuristics look at: failed try-locks, lost
// notifications, set-and-clear, timeouts, early returns.

#[test]
fn try_lock_back_off_in_swapped_order_with_random_growing_delays_finishes() {
    silent(
        "try_lock_back_off_in_swapped_order_with_random_growing_delays_finishes",
        || {
            let a = Arc::new(Mutex::named("A", 0u64));
            let b = Arc::new(Mutex::named("B", 0u64));
            let handles: Vec<_> = (0..2u64)
                .map(|t| {
                    let (a, b) = (a.clone(), b.clone());
                    lockgraph::thread::spawn(move || {
                        let (first, second) = if t == 0 { (&a, &b) } else { (&b, &a) };
                        let mut rng = Rng(0xDEAD_BEEF + t);
                        for _ in 0..200 {
                            let mut delay = 1u64;
                            loop {
                                let mut g1 = first.lock();
                                if let Some(mut g2) = second.try_lock() {
                                    *g1 += 1;
                                    *g2 += 1;
                                    break;
                                }
                                drop(g1);
                                std::thread::sleep(Duration::from_micros(
                                    rng.next() % (delay * 50),
                                ));
                                delay = (delay * 2).min(64);
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(*a.lock(), 400);
        },
    );
}

#[test]
fn bounded_queue_with_two_condvars_and_predicates() {
    silent("bounded_queue_with_two_condvars_and_predicates", || {
        struct Queue {
            items: Mutex<(std::collections::VecDeque<u64>, usize)>,
            not_empty: Condvar,
            not_full: Condvar,
        }
        let q = Arc::new(Queue {
            items: Mutex::named("queue", (std::collections::VecDeque::new(), 0)),
            not_empty: Condvar::named("not_empty"),
            not_full: Condvar::named("not_full"),
        });
        let producers: Vec<_> = (0..2u64)
            .map(|p| {
                let q = q.clone();
                lockgraph::thread::spawn(move || {
                    for i in 0..200 {
                        let mut g = q.items.lock();
                        q.not_full.wait_while(&mut g, |(v, _)| v.len() >= 4);
                        g.0.push_back(p * 1000 + i);
                        drop(g);
                        // Often nobody waits: a lost notify is harmless here.
                        q.not_empty.notify_one();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                lockgraph::thread::spawn(move || {
                    let mut got = 0;
                    loop {
                        let mut g = q.items.lock();
                        q.not_empty
                            .wait_while(&mut g, |(v, taken)| v.is_empty() && *taken < 400);
                        if g.0.is_empty() {
                            return got;
                        }
                        g.0.pop_front();
                        g.1 += 1;
                        got += 1;
                        let done = g.1 == 400;
                        drop(g);
                        q.not_full.notify_one();
                        if done {
                            q.not_empty.notify_all();
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(total, 400);
    });
}

#[test]
fn an_event_set_and_cleared_each_round_with_waiters_that_see_it() {
    silent(
        "an_event_set_and_cleared_each_round_with_waiters_that_see_it",
        || {
            let go = Arc::new(lockgraph::Event::named("go"));
            let start = Arc::new(lockgraph::Barrier::new(4).with_name("start"));
            let done = Arc::new(lockgraph::Barrier::new(4).with_name("done"));
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let (go, start, done) = (go.clone(), start.clone(), done.clone());
                    lockgraph::thread::spawn(move || {
                        for _ in 0..200 {
                            start.wait().unwrap();
                            go.wait();
                            done.wait().unwrap();
                        }
                    })
                })
                .collect();
            for _ in 0..200 {
                start.wait().unwrap();
                go.set();
                done.wait().unwrap();
                go.clear();
            }
            for w in workers {
                w.join().unwrap();
            }
        },
    );
}

#[test]
fn timeouts_that_expire_while_a_producer_is_still_working() {
    silent(
        "timeouts_that_expire_while_a_producer_is_still_working",
        || {
            let pair = Arc::new((Mutex::named("slot", None::<u64>), Condvar::named("filled")));
            let ready = Arc::new(lockgraph::Event::named("ready"));
            let pool = Arc::new(lockgraph::Semaphore::named("pool", 0));
            let producer = {
                let (pair, ready, pool) = (pair.clone(), ready.clone(), pool.clone());
                lockgraph::thread::spawn(move || {
                    // A notify nobody waits for yet, then slow work.
                    pair.1.notify_all();
                    for i in 0..20 {
                        std::thread::sleep(Duration::from_millis(3));
                        *pair.0.lock() = Some(i);
                        pair.1.notify_one();
                    }
                    ready.set();
                    pool.release().unwrap();
                })
            };
            let mut timeouts = 0;
            loop {
                let mut g = pair.0.lock();
                if pair
                    .1
                    .wait_for(&mut g, Duration::from_millis(1))
                    .timed_out()
                {
                    timeouts += 1;
                }
                if *g == Some(19) {
                    break;
                }
            }
            while !ready.wait_timeout(Duration::from_millis(1)) {
                timeouts += 1;
            }
            while pool.acquire_timeout(Duration::from_millis(1)).is_none() {
                timeouts += 1;
            }
            producer.join().unwrap();
            assert!(timeouts > 0);
        },
    );
}

#[derive(Debug)]
struct Refused;

fn transfer(
    from: &Mutex<i64>,
    to: &Mutex<i64>,
    pool: &lockgraph::Semaphore,
    amount: i64,
) -> Result<(), Refused> {
    let _permit = pool.acquire();
    let mut f = from.lock();
    if *f < amount {
        return Err(Refused); // early return: guard and permit drop here
    }
    let mut t = to.lock();
    *f -= amount;
    *t += amount;
    Ok(())
}

#[test]
fn early_returns_under_raii_guards_and_permits() {
    silent("early_returns_under_raii_guards_and_permits", || {
        let accounts: Arc<Vec<Mutex<i64>>> = Arc::new(
            (0..4)
                .map(|i| Mutex::with_name(format!("acct{i}"), 100))
                .collect(),
        );
        let pool = Arc::new(lockgraph::Semaphore::bounded(2).with_name("tellers"));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let (accounts, pool) = (accounts.clone(), pool.clone());
                lockgraph::thread::spawn(move || {
                    let mut rng = Rng(0xF00D + t);
                    let mut refused = 0;
                    for _ in 0..200 {
                        let x = (rng.next() % 4) as usize;
                        let y = (rng.next() % 4) as usize;
                        if x == y {
                            continue;
                        }
                        // In id order, always: no inversion.
                        let (lo, hi) = (x.min(y), x.max(y));
                        let amount = (rng.next() % 150) as i64;
                        if transfer(&accounts[lo], &accounts[hi], &pool, amount).is_err() {
                            refused += 1;
                        }
                    }
                    refused
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(pool.available(), 2);
        let total: i64 = accounts.iter().map(|a| *a.lock()).sum();
        assert_eq!(total, 400);
    });
}

#[test]
fn barrier_rounds_with_an_action_and_a_latch_per_round() {
    silent(
        "barrier_rounds_with_an_action_and_a_latch_per_round",
        || {
            let rounds = Arc::new(AtomicU64::new(0));
            let phase = {
                let rounds = rounds.clone();
                Arc::new(lockgraph::Barrier::with_action(4, move || {
                    rounds.fetch_add(1, Ordering::SeqCst);
                }))
            };
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    let phase = phase.clone();
                    lockgraph::thread::spawn(move || {
                        let mut leaders = 0;
                        for _ in 0..200 {
                            let latch = lockgraph::Latch::new(1);
                            latch.count_down();
                            latch.wait();
                            if phase.wait().unwrap().is_leader() {
                                leaders += 1;
                            }
                        }
                        leaders
                    })
                })
                .collect();
            let leaders: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
            assert_eq!(leaders, 200);
            assert_eq!(rounds.load(Ordering::SeqCst), 200);
        },
    );
}

#[test]
fn many_onces_raced_by_many_threads() {
    silent("many_onces_raced_by_many_threads", || {
        let onces: Arc<Vec<lockgraph::Once>> =
            Arc::new((0..200).map(|_| lockgraph::Once::new()).collect());
        let runs = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (onces, runs) = (onces.clone(), runs.clone());
                lockgraph::thread::spawn(move || {
                    for o in onces.iter() {
                        o.call_once(|| {
                            runs.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 200);
    });
}

#[test]
fn a_semaphore_counting_items_between_threads() {
    silent("a_semaphore_counting_items_between_threads", || {
        let items = Arc::new(lockgraph::Semaphore::named("items", 0));
        let queue = Arc::new(Mutex::named("queue", Vec::new()));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (items, queue) = (items.clone(), queue.clone());
                lockgraph::thread::spawn(move || {
                    for _ in 0..100 {
                        items.acquire().forget();
                        queue.lock().pop().expect("an item per permit");
                    }
                })
            })
            .collect();
        for i in 0..200 {
            queue.lock().push(i);
            items.release().unwrap();
        }
        for c in consumers {
            c.join().unwrap();
        }
    });
}

// ---------------------------------------------------------------------------
// Races: correct programs over tracked locations, under contention, 200
// rounds each. Every access below is ordered by the primitive beside it.
// ---------------------------------------------------------------------------

/// Rounds of each race twin.
const ROUNDS: usize = 200;

#[test]
fn tracked_counters_under_locks_rwlocks_and_permits_race_with_nothing() {
    silent(
        "tracked_counters_under_locks_rwlocks_and_permits_race_with_nothing",
        || {
            let lock = Arc::new(Mutex::named("counter lock", ()));
            let rw = Arc::new(RwLock::named("table", ()));
            let sem = Arc::new(lockgraph::Semaphore::named("one permit", 1));
            let counters = Arc::new([
                lockgraph::Tracked::named("by mutex", 0u64),
                lockgraph::Tracked::named("by rwlock", 0u64),
                lockgraph::Tracked::named("by permit", 0u64),
            ]);
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let (lock, rw, sem, c) =
                        (lock.clone(), rw.clone(), sem.clone(), counters.clone());
                    lockgraph::thread::spawn(move || {
                        let mut rng = Rng(0x51_7C_C1 + t);
                        for _ in 0..ROUNDS {
                            {
                                let _g = lock.lock();
                                c[0].store(c[0].load() + 1);
                            }
                            if rng.next() % 3 == 0 {
                                let _w = rw.write();
                                c[1].store(c[1].load() + 1);
                            } else {
                                let _r = rw.read();
                                let _ = c[1].load();
                            }
                            let _p = sem.acquire();
                            c[2].store(c[2].load() + 1);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(counters[0].load(), 4 * ROUNDS as u64);
            assert_eq!(counters[2].load(), 4 * ROUNDS as u64);
        },
    );
}

#[test]
fn atomics_publish_with_release_acquire_and_update_in_one_step() {
    silent(
        "atomics_publish_with_release_acquire_and_update_in_one_step",
        || {
            use lockgraph::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
            use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
            let total = Arc::new(AtomicU64::new(0));
            let max = Arc::new(AtomicUsize::new(0));
            // One slot per round: written, then published by its flag.
            let slots: Arc<Vec<(lockgraph::Tracked<u64>, AtomicBool)>> = Arc::new(
                (0..ROUNDS)
                    .map(|_| (lockgraph::Tracked::new(0), AtomicBool::new(false)))
                    .collect(),
            );
            let producer = {
                let (slots, total, max) = (slots.clone(), total.clone(), max.clone());
                lockgraph::thread::spawn(move || {
                    for (i, (data, flag)) in slots.iter().enumerate() {
                        data.store(i as u64 * 3);
                        flag.store(true, Release);
                        total.fetch_add(1, AcqRel);
                        let mut seen = max.load(Relaxed);
                        while let Err(now) =
                            max.compare_exchange_weak(seen, seen.max(i), AcqRel, Relaxed)
                        {
                            seen = now;
                        }
                    }
                })
            };
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let (slots, total) = (slots.clone(), total.clone());
                    lockgraph::thread::spawn(move || {
                        for (i, (data, flag)) in slots.iter().enumerate() {
                            while !flag.load(Acquire) {
                                std::hint::spin_loop();
                            }
                            assert_eq!(data.load(), i as u64 * 3);
                            let _ = total.fetch_update(AcqRel, Acquire, |v| Some(v + 1));
                        }
                    })
                })
                .collect();
            producer.join().unwrap();
            for c in consumers {
                c.join().unwrap();
            }
            assert_eq!(total.load(Acquire), 3 * ROUNDS as u64);
        },
    );
}

#[test]
fn hand_offs_through_events_latches_barriers_condvars_and_joins_race_with_nothing() {
    silent(
        "hand_offs_through_events_latches_barriers_condvars_and_joins_race_with_nothing",
        || {
            let data = Arc::new(lockgraph::Tracked::named("handed over", 0u64));
            let barrier = Arc::new(lockgraph::Barrier::new(3));
            let pair = Arc::new((Mutex::named("turn", 0usize), Condvar::named("turn changed")));
            let handles: Vec<_> = (0..3usize)
                .map(|me| {
                    let (data, barrier, pair) = (data.clone(), barrier.clone(), pair.clone());
                    lockgraph::thread::spawn(move || {
                        for round in 0..ROUNDS {
                            // Turn-taking over a condvar: each writes on its turn.
                            let mut turn = pair.0.lock();
                            while *turn % 3 != me {
                                pair.1.wait(&mut turn);
                            }
                            data.store(data.load() + 1);
                            *turn += 1;
                            pair.1.notify_all();
                            drop(turn);
                            // Every few rounds, all meet and the leader writes alone.
                            if round % 20 == 0 {
                                if barrier.wait().unwrap().is_leader() {
                                    data.store(data.load() + 1000);
                                }
                                barrier.wait().unwrap();
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(data.load(), 3 * ROUNDS as u64 + 10 * 1000);
            for _ in 0..ROUNDS / 10 {
                let ev = Arc::new(lockgraph::Event::new());
                let latch = Arc::new(lockgraph::Latch::new(2));
                let (a, b) = (
                    Arc::new(lockgraph::Tracked::new(0u8)),
                    Arc::new(lockgraph::Tracked::new(0u8)),
                );
                let t1 = {
                    let (ev, latch, a) = (ev.clone(), latch.clone(), a.clone());
                    lockgraph::thread::spawn(move || {
                        a.store(1);
                        ev.set();
                        latch.count_down();
                    })
                };
                let t2 = {
                    let (ev, latch, a, b) = (ev.clone(), latch.clone(), a.clone(), b.clone());
                    lockgraph::thread::spawn(move || {
                        ev.wait();
                        assert_eq!(a.load(), 1);
                        b.store(2);
                        latch.count_down();
                    })
                };
                latch.wait();
                assert_eq!((a.load(), b.load()), (1, 2));
                t1.join().unwrap();
                t2.join().unwrap();
                a.store(3);
            }
        },
    );
}
