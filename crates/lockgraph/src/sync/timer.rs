//! `Timer`: a closure run on its own thread after a delay, unless cancelled first.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::event::Event;
use crate::thread::{self, JoinHandle};

const PENDING: u8 = 0;
const CANCELLED: u8 = 1;
const FIRED: u8 = 2;

/// A timer like Python's `threading.Timer`: runs a closure on a thread of
/// its own (named `lockgraph-timer`, or the name given) after a delay,
/// unless [`Timer::cancel`] comes first.
///
/// While it waits, the timer thread counts as a live thread that may still
/// act: a stall is never reported while a timer is pending.
///
/// ```
/// use lockgraph::{Event, Timer};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let rang = Arc::new(Event::new());
/// let timer = {
///     let rang = rang.clone();
///     Timer::start(Duration::from_millis(10), move || rang.set())
/// };
/// assert!(rang.wait_timeout(Duration::from_secs(5)));
/// assert!(!timer.cancel()); // too late: it fired
/// timer.join().unwrap();
/// ```
pub struct Timer {
    state: Arc<AtomicU8>,
    cancel: Arc<Event>,
    handle: JoinHandle<()>,
}

impl Timer {
    /// Starts a timer that runs `f` after `delay`.
    #[track_caller]
    pub fn start(delay: Duration, f: impl FnOnce() + Send + 'static) -> Timer {
        Timer::named("lockgraph-timer", delay, f)
    }

    /// Starts a timer whose thread has `name`.
    #[track_caller]
    pub fn named(name: &str, delay: Duration, f: impl FnOnce() + Send + 'static) -> Timer {
        let state = Arc::new(AtomicU8::new(PENDING));
        let cancel = Arc::new(Event::named("timer cancel"));
        let handle = {
            let (state, cancel) = (state.clone(), cancel.clone());
            thread::Builder::new()
                .name(name.to_owned())
                .spawn_at(Location::caller(), move || {
                    if cancel.wait_timeout(delay) {
                        return;
                    }
                    if state
                        .compare_exchange(PENDING, FIRED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        f();
                    }
                })
                .expect("failed to spawn the timer thread")
        };
        Timer {
            state,
            cancel,
            handle,
        }
    }

    /// Stops the timer if it has not fired yet; returns whether it was
    /// stopped in time (`false`: the closure ran or is running).
    #[track_caller]
    pub fn cancel(&self) -> bool {
        let stopped = self
            .state
            .compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if stopped {
            self.cancel.set();
        }
        stopped
    }

    /// Whether the closure was started.
    pub fn fired(&self) -> bool {
        self.state.load(Ordering::Acquire) == FIRED
    }

    /// Whether the timer thread has ended (fired and returned, or cancelled).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the timer thread to end; the error is the closure's panic.
    #[track_caller]
    pub fn join(self) -> std::thread::Result<()> {
        self.handle.join()
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.load(Ordering::Acquire) {
            PENDING => "pending",
            CANCELLED => "cancelled",
            _ => "fired",
        };
        f.debug_struct("Timer").field("state", &state).finish()
    }
}
