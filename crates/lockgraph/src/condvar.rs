//! `Condvar`: parking_lot's condition variable, working with lockgraph's mutex guards.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::mutex::MutexGuard;

/// Whether a timed wait returned because its time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// `true` if the wait timed out rather than being notified.
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// A condition variable with the API of `parking_lot::Condvar`: no spurious
/// wakeups, notifications return whether (or how many) threads woke.
///
/// While a thread waits, the mutex it waits with is not held: the wait
/// takes it out of the thread's held set and puts it back, at the wait's
/// site, when the thread wakes.
///
/// ```
/// use std::sync::Arc;
/// use lockgraph::{Condvar, Mutex};
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let worker = {
///     let pair = pair.clone();
///     std::thread::spawn(move || {
///         *pair.0.lock() = true;
///         pair.1.notify_one();
///     })
/// };
/// let mut ready = pair.0.lock();
/// pair.1.wait_while(&mut ready, |ready| !*ready);
/// drop(ready);
/// worker.join().unwrap();
/// ```
pub struct Condvar {
    inner: parking_lot::Condvar,
    #[cfg(feature = "instrument")]
    meta: crate::rt::meta::Meta,
    #[cfg(feature = "instrument")]
    slices: Slices,
    /// The last notification that woke nobody, while no later one woke
    /// someone: (site, runtime thread id).
    #[cfg(feature = "instrument")]
    lost: parking_lot::Mutex<lockgraph_detect::state::NotifyMark<&'static Location<'static>>>,
    /// Whether `lost` may hold a mark.
    #[cfg(feature = "instrument")]
    has_lost: std::sync::atomic::AtomicBool,
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
#[cfg(feature = "instrument")]
struct Slices {
    /// Waits in progress.
    waiting: std::sync::atomic::AtomicUsize,
    book: parking_lot::Mutex<Book>,
}

#[cfg(feature = "instrument")]
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
#[cfg(feature = "instrument")]
struct Ticket {
    id: u64,
    /// When the wait gives up, if ever.
    deadline: Option<Instant>,
    /// A `notify_all` reached it, or it picked a token.
    notified: bool,
}

/// The panic parking_lot raises for a condvar waited on with two mutexes at once.
#[cfg(feature = "instrument")]
const TWO_MUTEXES: &str = "attempted to use a condition variable with more than one mutex";

#[cfg(feature = "instrument")]
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

#[cfg(feature = "instrument")]
impl Slices {
    const fn new() -> Self {
        Slices {
            waiting: std::sync::atomic::AtomicUsize::new(0),
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
        self.waiting
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
        self.waiting
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
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
        if self.waiting.load(std::sync::atomic::Ordering::SeqCst) == 0 {
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

impl Condvar {
    /// Creates a condition variable; usable in `static`s.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar {
            inner: parking_lot::Condvar::new(),
            #[cfg(feature = "instrument")]
            meta: crate::rt::meta::Meta::new(
                Location::caller(),
                None,
                lockgraph_detect::ObjectKind::Condvar,
            ),
            #[cfg(feature = "instrument")]
            slices: Slices::new(),
            #[cfg(feature = "instrument")]
            lost: parking_lot::const_mutex(lockgraph_detect::state::NotifyMark::new()),
            #[cfg(feature = "instrument")]
            has_lost: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Creates a condition variable that reports call `name`.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        let _ = name;
        Condvar {
            inner: parking_lot::Condvar::new(),
            #[cfg(feature = "instrument")]
            meta: crate::rt::meta::Meta::new(
                Location::caller(),
                Some(name),
                lockgraph_detect::ObjectKind::Condvar,
            ),
            #[cfg(feature = "instrument")]
            slices: Slices::new(),
            #[cfg(feature = "instrument")]
            lost: parking_lot::const_mutex(lockgraph_detect::state::NotifyMark::new()),
            #[cfg(feature = "instrument")]
            has_lost: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Wakes one waiting thread; returns whether one was woken.
    #[track_caller]
    pub fn notify_one(&self) -> bool {
        #[cfg(feature = "instrument")]
        let woken = self
            .slices
            .notify(false, || usize::from(self.inner.notify_one()))
            > 0;
        #[cfg(not(feature = "instrument"))]
        let woken = self.inner.notify_one();
        self.noted_notify(u64::from(woken), false, Location::caller());
        woken
    }

    /// Wakes every waiting thread; returns how many were woken.
    #[track_caller]
    pub fn notify_all(&self) -> usize {
        #[cfg(feature = "instrument")]
        let woken = self.slices.notify(true, || self.inner.notify_all());
        #[cfg(not(feature = "instrument"))]
        let woken = self.inner.notify_all();
        self.noted_notify(woken as u64, true, Location::caller());
        woken
    }

    #[cfg(feature = "instrument")]
    fn noted_notify(&self, woken: u64, all: bool, site: &'static Location<'static>) {
        let e = lockgraph_detect::Event::Notify {
            object: self.meta.id(),
            woken,
            all,
            site: crate::rt::sink::at(site),
        };
        crate::rt::hooks::note(e);
        if crate::rt::config::enabled() {
            // The steady case (a notify that woke someone, no mark to
            // clear) reads one word and takes no lock.
            if woken == 0 || self.has_lost.load(std::sync::atomic::Ordering::Acquire) {
                let by = if woken == 0 {
                    crate::rt::hooks::current_thread_id()
                } else {
                    0
                };
                let mut mark = self.lost.lock();
                mark.notified(woken, site, by);
                self.has_lost
                    .store(mark.mark().is_some(), std::sync::atomic::Ordering::Release);
            }
        }
    }

    #[cfg(not(feature = "instrument"))]
    #[inline(always)]
    fn noted_notify(&self, _: u64, _: bool, _: &'static Location<'static>) {}

    /// Waits on the mutex behind `guard` until notified or `deadline`
    /// (returns whether it timed out), in slices that take part in
    /// deadlock and stall detection.
    #[cfg(feature = "instrument")]
    fn around<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        site: &'static Location<'static>,
        deadline: Option<Instant>,
    ) -> bool {
        use crate::rt::hooks::{self, Wait};
        use crate::rt::sink::at;
        use lockgraph_detect::waitfor::WaitOn;
        use lockgraph_detect::Event;
        use lockgraph_detect::{Mode, ObjectId};

        let mutex = MutexGuard::mutex(guard);
        // Safety: we only read the raw lock's metadata and its parking_lot mutex.
        let raw = unsafe { mutex.raw() };
        let pl = raw.parking_lot_mutex();
        // Safety: this thread holds the lock (it has `guard`); the parking_lot
        // guard stands in for it during the wait and is forgotten after, so the
        // lock stays held by `guard`.
        // Never dropped: on every path, including a panic that ends a
        // deadlocked wait, `guard` stays the one that unlocks.
        let mut pl_guard = std::mem::ManuallyDrop::new(unsafe { pl.make_guard_unchecked() });
        if !crate::rt::config::enabled() {
            let timed_out = match deadline {
                Some(d) => self.inner.wait_until(&mut pl_guard, d).timed_out(),
                None => {
                    self.inner.wait(&mut pl_guard);
                    false
                }
            };
            return timed_out;
        }
        // Before anything changes: the caller's guard still holds the
        // mutex and its entry, and unlocks both as the panic unwinds.
        let Some(ticket) = self.slices.enter(raw as *const _ as usize, deadline) else {
            panic!("{TWO_MUTEXES}");
        };
        let mutex_id = raw.meta().id();
        let cv_id = self.meta.id();
        // The release is recorded before the wait, so that a trace that
        // ends inside this wait (the process was killed, or another thread
        // called `process::exit`) ends with the wait.
        hooks::release(raw.meta());
        let missed = if self.has_lost.load(std::sync::atomic::Ordering::Acquire) {
            self.lost
                .lock()
                .mark_for(crate::rt::hooks::current_thread_id())
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
        /// set, so that `guard`'s unlock finds it.
        struct Leave<'a>(
            &'a Slices,
            u64,
            &'a crate::rt::meta::Meta,
            &'static Location<'static>,
            &'a std::cell::Cell<bool>,
        );
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.leave(self.1, self.4.get());
                if std::thread::panicking() {
                    hooks::held_again(self.2, Mode::Exclusive, self.3);
                }
            }
        }
        // Whether parking_lot woke this wait (rather than a token).
        let woken = std::cell::Cell::new(false);
        let leave = Leave(&self.slices, ticket, raw.meta(), site, &woken);
        let notified = hooks::wait_sliced(&wait, &|| self.meta.info(), |d| {
            let until = Instant::now() + d;
            let until = deadline.map_or(until, |dl| dl.min(until));
            if !self.inner.wait_until(&mut pl_guard, until).timed_out() {
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
        hooks::reacquired(raw.meta(), Mode::Exclusive, site);
        !notified
    }

    #[cfg(not(feature = "instrument"))]
    fn around<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        _site: &'static Location<'static>,
        deadline: Option<Instant>,
    ) -> bool {
        match deadline {
            Some(d) => self.inner.wait_until(guard, d).timed_out(),
            None => {
                self.inner.wait(guard);
                false
            }
        }
    }

    /// Releases the mutex behind `guard`, waits for a notification, and takes it back.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.around(guard, Location::caller(), None);
    }

    /// Like [`Condvar::wait`], giving up at `timeout`.
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        WaitTimeoutResult(self.around(guard, Location::caller(), Some(timeout)))
    }

    /// Like [`Condvar::wait`], giving up after `timeout`.
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let deadline = Instant::now().checked_add(timeout);
        WaitTimeoutResult(self.around(guard, Location::caller(), deadline))
    }

    /// Waits while `condition` holds on the protected data: the predicate
    /// makes a notification sent before the wait impossible to miss.
    #[track_caller]
    pub fn wait_while<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: F,
    ) {
        let site = Location::caller();
        while condition(&mut **guard) {
            self.around(guard, site, None);
        }
    }

    /// Like [`Condvar::wait_while`], giving up at `timeout`.
    #[track_caller]
    pub fn wait_while_until<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: F,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        self.wait_while_deadline(guard, condition, Some(timeout), Location::caller())
    }

    /// Like [`Condvar::wait_while`], giving up after `timeout`.
    #[track_caller]
    pub fn wait_while_for<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: F,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let deadline = Instant::now().checked_add(timeout);
        self.wait_while_deadline(guard, condition, deadline, Location::caller())
    }

    fn wait_while_deadline<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: F,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> WaitTimeoutResult {
        while condition(&mut **guard) {
            if self.around(guard, site, deadline) {
                // Timed out: the result says whether the condition still holds.
                return WaitTimeoutResult(condition(&mut **guard));
            }
        }
        WaitTimeoutResult(false)
    }
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Condvar { .. }")
    }
}
