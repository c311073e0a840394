//! `Latch`: a count-down latch.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use super::core::{Core, Done, Kind, Signal, Waker};

/// A count-down latch: [`Latch::wait`] blocks until [`Latch::count_down`]
/// has been called `count` times. Counting down at zero does nothing.
///
/// A wait that nothing could end (the threads that should count down are
/// all blocked, or gone) is reported as a `deadlock` instead of hanging.
///
/// ```
/// use lockgraph::{thread, Latch};
/// use std::sync::Arc;
///
/// let ready = Arc::new(Latch::named("ready", 3));
/// let workers: Vec<_> = (0..3)
///     .map(|_| {
///         let ready = ready.clone();
///         thread::spawn(move || ready.count_down())
///     })
///     .collect();
/// ready.wait();
/// assert_eq!(ready.count(), 0);
/// for w in workers {
///     w.join().unwrap();
/// }
/// ```
pub struct Latch {
    core: Core<usize>,
}

impl Latch {
    /// A latch that opens after `count` count-downs.
    #[track_caller]
    pub const fn new(count: usize) -> Self {
        Latch {
            core: Core::new(count, Kind::Latch, None, Location::caller()),
        }
    }

    /// A named latch; reports use the name.
    #[track_caller]
    pub const fn named(name: &'static str, count: usize) -> Self {
        Latch {
            core: Core::new(count, Kind::Latch, Some(name), Location::caller()),
        }
    }

    /// Counts down by one; at zero, wakes every waiter.
    #[track_caller]
    pub fn count_down(&self) {
        let mut s = self.core.state.lock();
        let woken = if *s > 0 {
            self.core.publish();
            *s -= 1;
            if *s == 0 {
                self.core.wake_all()
            } else {
                0
            }
        } else {
            0
        };
        drop(s);
        self.core
            .signal(Signal::CountDown, woken as u64, Location::caller());
    }

    /// How many count-downs are still needed. The count-downs it reflects
    /// are ordered before what this thread does next.
    #[track_caller]
    pub fn count(&self) -> usize {
        let s = self.core.state.lock();
        self.core.synced(Location::caller());
        *s
    }

    /// Waits until the count reaches zero.
    #[track_caller]
    pub fn wait(&self) {
        self.wait_deadline(None);
    }

    /// Waits at most `timeout`; returns whether the count reached zero.
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline(Instant::now().checked_add(timeout))
    }

    #[track_caller]
    fn wait_deadline(&self, deadline: Option<Instant>) -> bool {
        let site = Location::caller();
        let mut s = self.core.state.lock();
        self.core
            .wait(&mut s, site, deadline, Waker::Anyone, |n| {
                (*n == 0).then_some(Done::Ok)
            })
            .is_some()
    }
}

impl fmt::Debug for Latch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latch")
            .field("count", &*self.core.state.lock())
            .finish()
    }
}
