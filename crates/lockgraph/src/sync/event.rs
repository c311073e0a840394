//! `Event`: a flag threads wait to see set.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use super::core::{me, Core, Done, Kind, Signal, Waker};
use crate::backend::SetMark;

/// The state behind an [`Event`].
struct Flag {
    set: bool,
    /// Advances on every `set`: a waiter woken by a `set` returns even if a
    /// `clear` came right after.
    sets: u64,
    /// Threads inside `wait` right now.
    waiting: usize,
    /// The last `set`, whether a waiter saw it, and a `set` cleared before
    /// any waiter saw it (detect's rule; nothing when not instrumented).
    mark: SetMark,
}

const FLAG: Flag = Flag {
    set: false,
    sets: 0,
    waiting: 0,
    mark: SetMark::new(),
};

/// An event flag, like Python's `threading.Event`: [`Event::set`] wakes
/// every thread in [`Event::wait`] and lets later waits through until
/// [`Event::clear`].
///
/// A wait that nothing could end (every thread that might set the event is
/// itself blocked) is reported as a `deadlock` instead of hanging.
///
/// ```
/// use lockgraph::{thread, Event};
/// use std::sync::Arc;
///
/// let go = Arc::new(Event::named("go"));
/// let worker = {
///     let go = go.clone();
///     thread::spawn(move || go.wait())
/// };
/// go.set();
/// worker.join().unwrap();
/// assert!(go.is_set());
/// ```
pub struct Event {
    core: Core<Flag>,
}

impl Event {
    /// A new event, not set.
    #[track_caller]
    pub const fn new() -> Self {
        Event {
            core: Core::new(FLAG, Kind::Event, None, Location::caller()),
        }
    }

    /// A new named event; reports use the name.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Event {
            core: Core::new(FLAG, Kind::Event, Some(name), Location::caller()),
        }
    }

    /// Sets the flag and wakes every waiter.
    #[track_caller]
    pub fn set(&self) {
        let site = Location::caller();
        let mut s = self.core.state.lock();
        self.core.publish();
        s.set = true;
        s.sets += 1;
        // Waiters between two slices of their wait see it too.
        let waiting = s.waiting;
        s.mark.set(site, me(), waiting > 0);
        self.core.wake_all();
        drop(s);
        self.core.signal(Signal::Set, waiting as u64, site);
    }

    /// Clears the flag: later waits block until the next [`Event::set`].
    #[track_caller]
    pub fn clear(&self) {
        let mut s = self.core.state.lock();
        if s.set {
            s.mark.cleared();
        }
        s.set = false;
        drop(s);
        self.core.signal(Signal::Clear, 0, Location::caller());
    }

    /// Whether the flag is set. Seeing it set orders what the setter did
    /// before as a wait would.
    #[track_caller]
    pub fn is_set(&self) -> bool {
        let set = self.core.state.lock().set;
        if set {
            self.core.synced(Location::caller());
        }
        set
    }

    /// Waits until the flag is set (returns at once if it is).
    #[track_caller]
    pub fn wait(&self) {
        self.wait_deadline(None);
    }

    /// Waits at most `timeout` for the flag; returns whether it was set.
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline(Instant::now().checked_add(timeout))
    }

    #[track_caller]
    fn wait_deadline(&self, deadline: Option<Instant>) -> bool {
        let site = Location::caller();
        let mut s = self.core.state.lock();
        if s.set {
            s.mark.saw();
            drop(s);
            self.core.passed(site);
            return true;
        }
        let sets = s.sets;
        s.waiting += 1;
        let missed = s.mark.mark_for(me());
        let done = self
            .core
            .wait_missing(&mut s, site, deadline, Waker::Anyone, missed, |f| {
                if f.set || f.sets != sets {
                    f.mark.saw();
                    Some(Done::Ok)
                } else {
                    None
                }
            });
        s.waiting -= 1;
        done.is_some()
    }
}

impl Default for Event {
    #[track_caller]
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.core.state.lock().set)
            .finish()
    }
}
