//! Stalls in programs that also run threads lockgraph does not know (plain
//! `std::thread`s: a heartbeat, a watchdog, a metrics flusher): every stall
//! is reported in bounded time, naming those threads; each beside its twin
//! where the unknown thread really ends the wait, which stays silent.
//!
//! The grace is set to 1 s in the bodies to keep the suite fast; one test
//! runs with the default.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lockgraph::{Barrier, Condvar, Event, Mutex};
use lockgraph_detect::Kind;
use lockgraph_scenarios::{ms, named, plain, scenario, set_flag_under, waiter_holding_config};

/// A plain std thread that sleeps in a loop for the rest of the process.
fn heartbeat(name: &str, every: Duration) {
    plain(name, move || loop {
        std::thread::sleep(every);
    });
}

/// A plain std thread that waits on a channel with a timeout, in a loop
/// (a timed futex wait, as a metrics flusher's `recv_timeout`).
fn flusher(name: &str) {
    plain(name, || {
        let (_tx, rx) = std::sync::mpsc::channel::<()>();
        loop {
            let _ = rx.recv_timeout(ms(200));
        }
    });
}

scenario! {
    fn an_event_nobody_sets_with_a_heartbeat_asleep_is_deadlock_after_the_grace() {
        lockgraph::set_stall_grace(Duration::from_secs(1));
        heartbeat("heartbeat", ms(50));
        Event::named("done").wait();
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        assert!(f.summary.contains("waits for Event \"done\" to be set"), "{}", f.summary);
        let note = f.notes.iter().find(|n| n.contains("lockgraph does not know")).expect("names the unknown thread");
        assert!(note.contains("\"heartbeat\" (tid "), "{note}");
        assert!(note.contains("asleep in clock_nanosleep"), "{note}");
        assert!(out.elapsed < Duration::from_secs(6), "bounded: {:?}", out.elapsed);
    }
}

scenario! {
    fn a_barrier_short_of_a_party_with_a_watchdog_asleep_is_deadlock_after_the_grace() {
        lockgraph::set_stall_grace(Duration::from_secs(1));
        heartbeat("watchdog", Duration::from_secs(60));
        let start = Arc::new(Barrier::new(3).with_name("start"));
        let worker = {
            let start = start.clone();
            named("worker", move || {
                let _ = start.wait();
            })
        };
        let _ = start.wait();
        let _ = worker.join();
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        assert_eq!(f.summary.matches("waits at Barrier \"start\"").count(), 2, "{}", f.summary);
        assert!(f.notes.iter().any(|n| n.contains("\"watchdog\"")), "{:?}", f.notes);
        assert!(out.elapsed < Duration::from_secs(6), "bounded: {:?}", out.elapsed);
    }
}

scenario! {
    fn a_condvar_wait_after_a_lost_notify_with_a_flusher_in_a_timed_wait_is_missed_notification() {
        lockgraph::set_stall_grace(Duration::from_secs(1));
        flusher("metrics");
        let pair = Arc::new((Mutex::named("results", 0), Condvar::named("ready")));
        let worker = {
            let pair = pair.clone();
            named("worker", move || {
                *pair.0.lock() += 1;
                pair.1.notify_one();
            })
        };
        worker.join().unwrap();
        let mut g = pair.0.lock();
        pair.1.wait(&mut g);
    } => |out| {
        out.expect_panic(Kind::MissedNotification);
        let f = out.single(Kind::MissedNotification);
        let note = f.notes.iter().find(|n| n.contains("lockgraph does not know")).expect("names the unknown thread");
        assert!(note.contains("\"metrics\"") && note.contains("a timed futex wait"), "{note}");
    }
}

scenario! {
    fn threads_blocked_through_a_condvar_and_a_lock_with_a_heartbeat_is_deadlock() {
        lockgraph::set_stall_grace(Duration::from_secs(1));
        heartbeat("heartbeat", ms(100));
        let (config, flag, waiter) = waiter_holding_config();
        std::thread::sleep(ms(50));
        set_flag_under(&config, &flag);
        let _ = waiter.join();
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        let f = out.exactly(&[Kind::BlockingWhileHolding, Kind::Deadlock], Kind::Deadlock);
        assert!(f.summary.contains("Condvar \"flag set\"") && f.summary.contains("Mutex \"config\""), "{}", f.summary);
        assert!(f.notes.iter().any(|n| n.contains("\"heartbeat\"")), "{:?}", f.notes);
    }
}

scenario! {
    fn with_the_default_grace_a_sleeping_helper_delays_the_report_by_about_three_seconds() {
        heartbeat("heartbeat", ms(50));
        Event::named("done").wait();
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        out.single(Kind::Deadlock);
        assert!(
            out.elapsed > Duration::from_secs(3) && out.elapsed < Duration::from_secs(8),
            "the default grace is 3 s after the stall is confirmed: {:?}",
            out.elapsed
        );
    }
}

scenario! {
    fn twin_a_sleeping_helper_that_sets_the_event_within_the_grace_is_silent() {
        lockgraph::set_stall_grace(Duration::from_secs(2));
        heartbeat("heartbeat", ms(50));
        let done = Arc::new(Event::named("done"));
        let setter = {
            let done = done.clone();
            plain("late setter", move || {
                std::thread::sleep(ms(1500));
                done.set();
            })
        };
        done.wait();
        setter.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn twin_a_helper_in_a_timed_wait_that_then_sets_the_event_is_silent() {
        lockgraph::set_stall_grace(Duration::from_secs(2));
        let done = Arc::new(Event::named("done"));
        let setter = {
            let done = done.clone();
            plain("timed setter", move || {
                let (_tx, rx) = std::sync::mpsc::channel::<()>();
                let _ = rx.recv_timeout(ms(1500));
                done.set();
            })
        };
        done.wait();
        setter.join().unwrap();
    } => |out| { out.assert_silent(); }
}

scenario! {
    fn twin_a_running_helper_holds_the_report_back_past_the_grace_until_it_sets_the_event() {
        lockgraph::set_stall_grace(ms(300));
        let done = Arc::new(Event::named("done"));
        let setter = {
            let done = done.clone();
            plain("busy setter", move || {
                let start = Instant::now();
                let mut x = 0u64;
                while start.elapsed() < Duration::from_millis(2000) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                done.set();
            })
        };
        done.wait();
        setter.join().unwrap();
    } => |out| { out.assert_silent(); }
}
