//! `Event`: a flag threads wait to see set.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use super::core::{signal, Core, Done, Kind, Waker};

/// The state behind an [`Event`].
struct Flag {
    set: bool,
    /// Advances on every `set`: a waiter woken by a `set` returns even if a
    /// `clear` came right after.
    sets: u64,
}

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
            core: Core::new(
                Flag {
                    set: false,
                    sets: 0,
                },
                Kind::Event,
                None,
                Location::caller(),
            ),
        }
    }

    /// A new named event; reports use the name.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Event {
            core: Core::new(
                Flag {
                    set: false,
                    sets: 0,
                },
                Kind::Event,
                Some(name),
                Location::caller(),
            ),
        }
    }

    /// Sets the flag and wakes every waiter.
    #[track_caller]
    pub fn set(&self) {
        let mut s = self.core.state.lock();
        s.set = true;
        s.sets += 1;
        let woken = self.core.wake_all();
        drop(s);
        signal!(self.core, Set, woken, Location::caller());
    }

    /// Clears the flag: later waits block until the next [`Event::set`].
    #[track_caller]
    pub fn clear(&self) {
        self.core.state.lock().set = false;
        signal!(self.core, Clear, 0, Location::caller());
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.core.state.lock().set
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
        let seen = s.sets;
        self.core
            .wait(&mut s, site, deadline, Waker::Anyone, |f| {
                (f.set || f.sets != seen).then_some(Done::Ok)
            })
            .is_some()
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
            .field("set", &self.is_set())
            .finish()
    }
}
