//! `Once`: one-time initialization whose waiters take part in deadlock detection.

use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, Ordering};

pub use parking_lot::OnceState;

use super::core::{Core, Done, Kind, Loc, Signal, Waker};
use crate::backend;

const NEW: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const POISONED: u8 = 3;

/// The state behind a [`Once`].
struct Run {
    state: u8,
    /// The thread running the closure.
    owner: Option<std::thread::ThreadId>,
    /// Its runtime id (0 when not instrumented).
    owner_id: u64,
}

/// A one-time initialization with the API of `parking_lot::Once`.
///
/// Threads that call [`Once::call_once`] while another runs the closure
/// wait for it, and take part in deadlock detection (only the running
/// thread can end their wait). A thread that reaches the same once again
/// from inside its own closure gets a `self_deadlock` report instead of
/// hanging.
///
/// ```
/// use lockgraph::Once;
///
/// static INIT: Once = Once::new();
/// let mut runs = 0;
/// INIT.call_once(|| runs += 1);
/// INIT.call_once(|| runs += 1);
/// assert_eq!(runs, 1);
/// ```
pub struct Once {
    done: AtomicBool,
    core: Core<Run>,
}

impl Once {
    /// A once that has not run.
    #[track_caller]
    pub const fn new() -> Self {
        Once {
            done: AtomicBool::new(false),
            core: Core::new(
                Run {
                    state: NEW,
                    owner: None,
                    owner_id: 0,
                },
                Kind::Once,
                None,
                Location::caller(),
            ),
        }
    }

    /// A named once; reports use the name.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Once {
            done: AtomicBool::new(false),
            core: Core::new(
                Run {
                    state: NEW,
                    owner: None,
                    owner_id: 0,
                },
                Kind::Once,
                Some(name),
                Location::caller(),
            ),
        }
    }

    /// Runs `f` if no call has completed yet; waits for a call in progress.
    /// Panics if an earlier call panicked (the once is poisoned).
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.done.load(Ordering::Acquire) {
            self.core.synced(Location::caller());
            return;
        }
        self.run(Location::caller(), false, |_| f());
    }

    /// Like [`Once::call_once`], but runs `f` even if an earlier call
    /// panicked; `f` is told the state it found.
    #[track_caller]
    pub fn call_once_force<F: FnOnce(OnceState)>(&self, f: F) {
        if self.done.load(Ordering::Acquire) {
            self.core.synced(Location::caller());
            return;
        }
        self.run(Location::caller(), true, f);
    }

    /// Where the once stands.
    #[track_caller]
    pub fn state(&self) -> OnceState {
        match self.core.state.lock().state {
            NEW => OnceState::New,
            RUNNING => OnceState::InProgress,
            DONE => {
                self.core.synced(Location::caller());
                OnceState::Done
            }
            _ => OnceState::Poisoned,
        }
    }

    /// Whether a call completed.
    #[track_caller]
    pub fn is_completed(&self) -> bool {
        let done = self.done.load(Ordering::Acquire);
        if done {
            self.core.synced(Location::caller());
        }
        done
    }

    fn run(&self, site: Loc, force: bool, f: impl FnOnce(OnceState)) {
        let me = std::thread::current().id();
        let mut s = self.core.state.lock();
        loop {
            match s.state {
                DONE => {
                    self.core.synced(site);
                    return;
                }
                POISONED if !force => {
                    panic!("Once instance has previously been poisoned")
                }
                NEW | POISONED => break,
                _ if s.owner == Some(me) => {
                    let owner = s.owner_id;
                    drop(s);
                    backend::once_self(&self.core.meta, owner, site);
                    s = self.core.state.lock();
                    // Reaction `off`: hang, as the program would have.
                    self.core
                        .wait(&mut s, site, None, Waker::Thread(owner), |r| {
                            (r.state != RUNNING).then_some(Done::Ok)
                        });
                }
                _ => {
                    let owner = s.owner_id;
                    self.core
                        .wait(&mut s, site, None, Waker::Thread(owner), |r| {
                            (r.state != RUNNING).then_some(Done::Ok)
                        });
                }
            }
        }
        let found = if s.state == POISONED {
            OnceState::Poisoned
        } else {
            OnceState::New
        };
        s.state = RUNNING;
        s.owner = Some(me);
        s.owner_id = backend::current_thread_id();
        drop(s);
        let result = panic::catch_unwind(AssertUnwindSafe(|| f(found)));
        let mut s = self.core.state.lock();
        if result.is_ok() {
            self.core.publish();
        }
        s.owner = None;
        s.state = if result.is_ok() { DONE } else { POISONED };
        if result.is_ok() {
            self.done.store(true, Ordering::Release);
        }
        let woken = self.core.wake_all();
        drop(s);
        self.core.signal(Signal::Done, woken as u64, site);
        if let Err(p) = result {
            panic::resume_unwind(p);
        }
    }
}

impl Default for Once {
    #[track_caller]
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("state", &self.state())
            .finish()
    }
}
