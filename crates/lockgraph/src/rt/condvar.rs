//! A condvar's instrumented side: its metadata, the ticket book that keeps sliced waits from missing a notification, the missed-notification mark, and its sliced wait.
//!
//! `src/condvar.rs` holds parking_lot's condvar and reaches this through
//! `backend.rs`; the mutex a wait releases is given as its parking_lot
//! mutex (a guard standing in for the caller's) and its metadata.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use lockgraph_detect::state::NotifyMark;
use lockgraph_detect::waitfor::WaitOn;
use lockgraph_detect::{Event, Mode, ObjectId, ObjectKind};

use super::config;
use super::hb;
use super::hooks::{self, Wait};
use super::local::Loc;
use super::meta::Meta;
use super::sink::at;

/// What the runtime keeps beside a condvar.
pub(crate) struct State {
    meta: Meta,
    slices: Slices,
    /// The last notification that woke nobody, while no later one woke
    /// someone: (site, runtime thread id).
    lost: parking_lot::Mutex<NotifyMark<Loc>>,
    /// Whether `lost` may hold a mark.
    has_lost: AtomicBool,
}

impl State {
    /// The state of a condvar made at `created`, optionally named.
    pub(crate) const fn new(created: Loc, name: Option<&'static str>) -> Self {
        State {
            meta: Meta::new(created, name, ObjectKind::Condvar),
            slices: Slices::new(),
            lost: parking_lot::const_mutex(NotifyMark::new()),
            has_lost: AtomicBool::new(false),
        }
    }

    /// A notification at `site`: `inner` is parking_lot's, returning how
    /// many parked waits it woke. Returns how many waits it reached, parked
    /// or between two slices (at most 1 unless `all`).
    pub(crate) fn notify(&self, all: bool, site: Loc, inner: impl FnOnce() -> usize) -> usize {
        hb::released(&self.meta, Mode::Exclusive);
        let woken = self.slices.notify(all, inner);
        self.noted(woken as u64, all, site);
        woken
    }

    /// Records a notification, and keeps the missed-notification mark.
    fn noted(&self, woken: u64, all: bool, site: Loc) {
        let e = Event::Notify {
            object: self.meta.id(),
            woken,
            all,
            site: at(site),
        };
        hooks::note(e);
        if config::enabled() {
            // The steady case (a notify that woke someone, no mark to
            // clear) reads one word and takes no lock.
            if woken == 0 || self.has_lost.load(Ordering::Acquire) {
                let by = if woken == 0 {
                    hooks::current_thread_id()
                } else {
                    0
                };
                let mut mark = self.lost.lock();
                mark.notified(woken, site, by);
                self.has_lost
                    .store(mark.mark().is_some(), Ordering::Release);
            }
        }
    }

    /// Waits on `inner` with `guard`, which stands for the caller's guard of
    /// the mutex `mutex` (this thread holds it), until notified or
    /// `deadline`; returns whether it timed out. The wait is in slices that
    /// take part in deadlock and stall detection; the mutex leaves the held
    /// set while it waits and comes back, at `site`, when it wakes.
    pub(crate) fn wait(
        &self,
        inner: &parking_lot::Condvar,
        guard: &mut parking_lot::MutexGuard<'_, ()>,
        mutex: &Meta,
        site: Loc,
        deadline: Option<Instant>,
    ) -> bool {
        if !config::enabled() {
            let timed_out = match deadline {
                Some(d) => inner.wait_until(guard, d).timed_out(),
                None => {
                    inner.wait(guard);
                    false
                }
            };
            return timed_out;
        }
        // Before anything changes: the caller's guard still holds the
        // mutex and its entry, and unlocks both as the panic unwinds.
        let Some(ticket) = self.slices.enter(mutex as *const Meta as usize, deadline) else {
            panic!("{TWO_MUTEXES}");
        };
        let mutex_id = mutex.id();
        let cv_id = self.meta.id();
        // The release is recorded before the wait, so that a trace that
        // ends inside this wait (the process was killed, or another thread
        // called `process::exit`) ends with the wait.
        hooks::release(mutex);
        let missed = if self.has_lost.load(Ordering::Acquire) {
            self.lost.lock().mark_for(hooks::current_thread_id())
        } else {
            None
        };
        hooks::note_missed(cv_id, missed);
        hooks::note(Event::CvWait {
            object: cv_id,
            mutex: mutex_id,
            timed: deadline.is_some(),
            site: at(site),
        });
        hooks::blocking(hooks::BlockingOn::Object(&|| self.meta.info()), site);
        let wait = Wait {
            object: ObjectId(cv_id),
            on: WaitOn::Anyone,
            mode: Mode::Exclusive,
            site,
            deadline,
            missed,
            victim: true,
        };
        /// Leaves the ticket book even if the wait ends by a deadlock
        /// panic, and then gives the mutex (held again) back to the held
        /// set, so that the caller's guard's unlock finds it.
        struct Leave<'a>(&'a Slices, u64, &'a Meta, Loc, &'a Cell<bool>);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.leave(self.1, self.4.get());
                if std::thread::panicking() {
                    hooks::held_again(self.2, Mode::Exclusive, self.3);
                }
            }
        }
        // Whether parking_lot woke this wait (rather than a token).
        let woken = Cell::new(false);
        let leave = Leave(&self.slices, ticket, mutex, site, &woken);
        let notified = hooks::wait_sliced(&wait, &|| self.meta.info(), |d| {
            let until = Instant::now() + d;
            let until = deadline.map_or(until, |dl| dl.min(until));
            if !inner.wait_until(guard, until).timed_out() {
                woken.set(true);
                return true;
            }
            self.slices.picked(ticket)
        });
        drop(leave);
        hooks::note(Event::CvWoken {
            object: cv_id,
            mutex: mutex_id,
            timed_out: !notified,
            site: at(site),
        });
        if notified {
            hb::saw(&self.meta, "was woken by a notify of", site);
        }
        hooks::reacquired(mutex, Mode::Exclusive, site);
        !notified
    }
}

/// What keeps a sliced wait from missing a notification, and from
/// forgetting which mutex the condvar is in use with.
///
/// An instrumented wait parks in slices so it can check for deadlocks;
/// between two slices the thread is not parked, and a `notify_one` made
/// then (by a thread that does not hold the mutex) would find nobody to
/// wake. So every wait takes a ticket when it starts, and a notification
/// that woke nobody while tickets are out leaves a token that a wait which
/// started before it picks up between slices: it returns as notified, just
/// as it would have unsliced. The steady path (no wait in progress) only
/// reads one counter.
///
/// Between slices parking_lot's condvar also forgets its mutex (it keeps
/// one while a thread is parked), so its "more than one mutex" panic would
/// come only by luck. The book keeps what parking_lot's state means: the
/// mutex of the waits neither notified nor timed out.
struct Slices {
    /// Waits in progress.
    waiting: AtomicUsize,
    book: parking_lot::Mutex<Book>,
}

struct Book {
    next: u64,
    /// The waits in progress.
    tickets: Vec<Ticket>,
    /// Waits in progress that parking_lot has woken and that have not left
    /// yet (signed: a wait woken by a notifier that did not take the book
    /// may leave before anyone counts it).
    woken: i64,
    /// Of those, the ones a `notify_one` woke: notified, though their
    /// tickets do not say so (which waits parking_lot woke is not known).
    woken_unmarked: i64,
    /// Notifications that woke nobody: (ticket count when made, notify_all).
    tokens: Vec<(u64, bool)>,
    /// The address of the mutex of the waits neither notified nor timed
    /// out, while there are any (parking_lot's `state`).
    mutex: usize,
}

/// One wait in progress.
struct Ticket {
    id: u64,
    /// When the wait gives up, if ever.
    deadline: Option<Instant>,
    /// A `notify_all` reached it, or it picked a token.
    notified: bool,
}

/// The panic parking_lot raises for a condvar waited on with two mutexes at once.
const TWO_MUTEXES: &str = "attempted to use a condition variable with more than one mutex";

impl Book {
    /// How many waits in progress are neither notified nor timed out: what
    /// would be parked on parking_lot's condvar, unsliced.
    fn queued(&self) -> i64 {
        let now = Instant::now();
        let open = self
            .tickets
            .iter()
            .filter(|t| !t.notified && t.deadline.map_or(true, |d| d > now))
            .count() as i64;
        let one_shot = self.tokens.iter().filter(|t| !t.1).count() as i64;
        open - self.woken_unmarked.max(0) - one_shot
    }
}

impl Slices {
    const fn new() -> Self {
        Slices {
            waiting: AtomicUsize::new(0),
            book: parking_lot::const_mutex(Book {
                next: 0,
                tickets: Vec::new(),
                woken: 0,
                woken_unmarked: 0,
                tokens: Vec::new(),
                mutex: 0,
            }),
        }
    }

    /// A wait on `mutex` starts (with the mutex held): its ticket. `None`,
    /// with nothing changed, if a wait on another mutex is still neither
    /// notified nor timed out: parking_lot panics then, and so must the caller.
    fn enter(&self, mutex: usize, deadline: Option<Instant>) -> Option<u64> {
        let mut b = self.book.lock();
        if b.mutex != mutex && b.queued() > 0 {
            return None;
        }
        b.mutex = mutex;
        let t = b.next;
        b.next += 1;
        b.tickets.push(Ticket {
            id: t,
            deadline,
            notified: false,
        });
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Some(t)
    }

    /// A wait ends; `woken_by_parking_lot` if a notification woke it while parked.
    fn leave(&self, ticket: u64, woken_by_parking_lot: bool) {
        let mut b = self.book.lock();
        let marked = match b.tickets.iter().position(|t| t.id == ticket) {
            Some(i) => b.tickets.swap_remove(i).notified,
            None => false,
        };
        if woken_by_parking_lot {
            b.woken -= 1;
            if !marked && b.woken_unmarked > 0 {
                b.woken_unmarked -= 1;
            }
        }
        if b.tickets.is_empty() {
            // Nothing in progress: nothing woken in progress either (this
            // also forgets wakes of waits that were not sliced).
            b.woken = 0;
            b.woken_unmarked = 0;
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let Book {
            tickets, tokens, ..
        } = &mut *b;
        tokens.retain(|&(at, _)| tickets.iter().any(|t| t.id < at));
    }

    /// A notification: `inner` is parking_lot's, returning how many parked
    /// waits it woke. With waits in progress it runs under the book, so a
    /// wait it wakes is counted before it can leave. The waits in progress
    /// that were neither parked nor already woken are between slices, and
    /// get a token. Returns how many waits the notification reached.
    fn notify(&self, all: bool, inner: impl FnOnce() -> usize) -> usize {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return inner();
        }
        let mut b = self.book.lock();
        let parked = inner();
        b.woken += parked as i64;
        if all {
            // Every wait in progress is reached: parked ones by parking_lot,
            // the others by the token below.
            for t in &mut b.tickets {
                t.notified = true;
            }
            b.woken_unmarked = 0;
        } else {
            b.woken_unmarked += parked as i64;
        }
        if b.tickets.is_empty() || (!all && parked > 0) {
            return parked;
        }
        let between = (b.tickets.len() as i64 - b.woken).max(0) as usize;
        if between == 0 {
            return parked;
        }
        let at = b.next;
        b.next += 1;
        b.tokens.push((at, all));
        parked + if all { between } else { 1 }
    }

    /// Between slices: whether a notification meant for this wait came.
    fn picked(&self, ticket: u64) -> bool {
        let mut b = self.book.lock();
        match b.tokens.iter().position(|&(at, _)| ticket < at) {
            Some(i) => {
                if !b.tokens[i].1 {
                    b.tokens.remove(i);
                }
                if let Some(t) = b.tickets.iter_mut().find(|t| t.id == ticket) {
                    t.notified = true;
                }
                true
            }
            None => false,
        }
    }
}
