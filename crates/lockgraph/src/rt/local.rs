//! Per-thread state: the stack of held locks and the cache of lock chains already learned.
//!
//! Nothing here is shared on the steady path: an acquisition whose chain (the
//! held locks in order plus the new one) is in the cache has nothing new to
//! tell the detector, in the spirit of lockdep's chain-key cache.

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use lockgraph_detect::analysis::Analysis;
use lockgraph_detect::state::{self, HeldStack};
use lockgraph_detect::{Event, HeldLock, Mode, ObjectId, ObjectKind, Site, ThreadInfo};

use super::global::{self, Shared, GLOBAL};
use super::meta::{describe, Desc, Meta};
use super::sink::{self, LiveEvent};

pub(crate) type Loc = &'static Location<'static>;

/// What the runtime keeps beside each held lock (detect's [`HeldStack`]
/// keeps the object, mode and chain). Holds no pointer into the lock, so a
/// guard that was forgotten and a lock that then moved or died cannot make
/// it dangle.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// Where it was acquired.
    pub(crate) site: Loc,
    /// Kind, creation site and name, interned: one word to store.
    pub(crate) desc: &'static Desc,
    /// Something was acquired under this lock, so it has a graph node.
    pub(crate) in_graph: bool,
}

impl Entry {
    /// The entry of an acquisition of `meta` at `site`.
    pub(crate) fn of(meta: &Meta, site: Loc) -> Self {
        Entry {
            site,
            desc: meta.desc(),
            in_graph: false,
        }
    }
}

/// One held lock (or semaphore permit).
pub(crate) type Held = state::Held<Entry>;

/// A held lock as the analyses take it.
pub(crate) fn to_detect(h: &Held) -> HeldLock {
    HeldLock {
        object: ObjectId(h.object),
        mode: h.mode,
        site: Site::from_location(h.extra.site),
    }
}

/// A held lock described.
pub(crate) fn info(h: &Held) -> lockgraph_detect::ObjectInfo {
    let d = h.extra.desc;
    describe(h.object, d.kind, d.created, d.name)
}

const CACHE_SLOTS: usize = 4096;
/// How many releases a thread remembers the acquisition site of.
const RELEASED: usize = 4;
const PROBES: usize = 4;

/// The state of one thread.
pub(crate) struct Local {
    /// [`Local::end`] ran.
    ended: bool,
    /// Failed attempts in a row, for livelock detection.
    pub(crate) streak: Option<Box<Streak>>,
    pub(crate) held: HeldStack<Entry>,
    /// Semaphore permits this thread took and has not given back: not
    /// locks (they add no order edges), but held, for reports.
    pub(crate) permits: Vec<Held>,
    cache: Vec<u64>,
    shared: Option<Arc<Shared>>,
    /// Pairs of sites (held, acquired) this thread already captured a backtrace for.
    pub(crate) stacked_pairs: Option<rustc_hash::FxHashSet<(usize, usize)>>,
    /// This thread's ring of recorded events, when recording.
    rec: Option<rtrb::Producer<LiveEvent>>,
    /// Recording was found off for this thread.
    rec_off: bool,
    /// Scratch space for the slow path's list of held locks.
    pub(crate) scratch: Vec<HeldLock>,
    /// Recent releases: (lock, where it had been acquired), in the slot
    /// of the lock's id modulo [`RELEASED`]. lock_api takes a lock back
    /// for a guard that still exists (`MutexGuard::unlocked`) without the
    /// caller's site; this names the guard's own acquisition site instead
    /// of lock_api's source. Slotted by id rather than a ring: a release
    /// stores two words and no index (stores before the unlock's atomic
    /// make it wait), and a lock released again overwrites its own slot.
    released: [(u64, Option<Loc>); RELEASED],
    /// Run-length compression of recorded events.
    comp: Compress,
    /// Spawns and joins this thread made (its fork-join epoch).
    pub(crate) fork_join: u32,
    /// The `tracing` spans this thread is in, innermost last: (id, text).
    spans: Vec<(u64, Arc<str>)>,
}

/// A streak of failed acquisition attempts with no progress in between
/// (detect's rules), and whether it is published.
pub(crate) struct Streak {
    pub(crate) fails: state::Streak<Loc>,
    /// The thread's entry in the shared table of spinners is there.
    pub(crate) published: bool,
}

/// The state of [`Local::compress`].
struct Compress {
    depth: i64,
    base: i64,
    /// The current block, while it is not a copy of `prev`.
    cur: Vec<LiveEvent>,
    prev: Vec<LiveEvent>,
    /// The current block is so far a copy of `prev[..at]`.
    matching: bool,
    at: usize,
    pending: u64,
}

/// The longest block compression considers.
const MAX_BLOCK: usize = 32;
/// Copies of a block counted before their number is published.
const PUBLISH_EVERY: u64 = 1024;

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local { ended: false, streak: None, held: HeldStack::new(), permits: Vec::new(), cache: Vec::new(), shared: None, stacked_pairs: None, rec: None, rec_off: false, scratch: Vec::new(), released: [(0, None); RELEASED], comp: Compress { depth: 0, base: 0, cur: Vec::new(), prev: Vec::new(), matching: false, at: 0, pending: 0 }, fork_join: 0, spans: Vec::new() })
    };
}

/// Runs `f` on this thread's state. `None` if the state is unavailable: the
/// thread is being torn down, or the runtime re-entered itself (for
/// example from a tracing subscriber that takes an instrumented lock).
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|cell| {
            let mut local = cell.try_borrow_mut().ok()?;
            Some(f(&mut local))
        })
        .ok()
        .flatten()
}

/// [`with`] for the steady paths, whose `f` calls nothing that could enter
/// the runtime again: no allocation (the caller checks there is room), no
/// recording (it bails out while this thread records), no callback beyond
/// a raw lock operation. The state is used in place when no enclosing call
/// on this thread is using it, without marking it in use: two stores
/// saved per call, each of which the lock's atomic would wait for. `None`
/// if it is in use or torn down (the caller takes the full path).
#[inline(always)]
pub(crate) fn with_steady<R>(f: impl FnOnce(&mut Local) -> Option<R>) -> Option<R> {
    LOCAL
        .try_with(|cell| {
            // SAFETY: the shared reference it returns is dropped at once;
            // it only tells that no `with` on this thread holds the state.
            let free = unsafe { cell.try_borrow_unguarded() }.is_ok();
            if !free {
                return None;
            }
            // SAFETY: no borrow of the cell is live (checked just above, on
            // this thread, which alone reaches it), and `f` cannot reach
            // `with` or `with_steady` again (see above), so this is the only
            // reference to the state until `f` returns.
            f(unsafe { &mut *cell.as_ptr() })
        })
        .ok()
        .flatten()
}

impl Local {
    /// Records an event, if recording. Not recording: one byte tested.
    #[inline(always)]
    pub(crate) fn record(&mut self, e: LiveEvent) {
        if !self.rec_off {
            self.record_on(e);
        }
    }

    /// [`Local::record`] for the hot path: the event is built only when
    /// recording, so a thread that does not record stores nothing for it
    /// (every store before a lock's atomic makes that atomic wait longer).
    #[inline(always)]
    pub(crate) fn record_with(&mut self, e: impl FnOnce() -> LiveEvent) {
        if !self.rec_off {
            self.record_on(e());
        }
    }

    /// One push into this thread's ring (the thread's first event decides
    /// whether it records at all).
    #[inline]
    fn record_on(&mut self, e: LiveEvent) {
        if self.rec.is_none() {
            return self.start_recording(e);
        }
        self.compress(e);
    }

    /// Run-length compression before the ring. A *block* is a run of lock
    /// events that returns the thread to the held depth it started at. An
    /// event that matches the previous block at its position is held back
    /// (it is a copy of events already in the ring); a complete copy only
    /// counts. A mismatch publishes the held-back prefix. Counts are
    /// published as a `repeat` event every [`PUBLISH_EVERY`] copies, before
    /// any other event, at thread exit and at process exit, so a killed
    /// process loses at most a bounded number of copies of a block its trace
    /// already shows.
    #[inline]
    fn compress(&mut self, e: LiveEvent) {
        let step: i64 = match e {
            Event::Acquire { .. } | Event::Try { .. } => 1,
            Event::Release { .. } => -1,
            Event::TryFail { .. } | Event::Remode { .. } => 0,
            _ => return self.barrier(e),
        };
        let c = &mut self.comp;
        c.depth += step;
        if c.matching {
            // While matching, the block so far is prev[..at]: nothing stored.
            if c.prev.get(c.at) == Some(&e) {
                c.at += 1;
            } else {
                // Not a copy after all: the held-back prefix goes out first.
                c.matching = false;
                let at = c.at;
                c.cur.clear();
                c.cur.extend_from_slice(&c.prev[..at]);
                c.cur.push(e);
                self.publish_pending();
                for i in 0..at {
                    let held_back = self.comp.prev[i];
                    self.push_ring(held_back);
                }
                self.push_ring(e);
            }
        } else {
            c.cur.push(e);
            self.push_ring(e);
        }
        let c = &mut self.comp;
        let len = if c.matching { c.at } else { c.cur.len() };
        if c.depth < c.base || len > MAX_BLOCK {
            // Released what was held before the block, or a block too long.
            self.release_held_back();
            let c = &mut self.comp;
            c.cur.clear();
            c.prev.clear();
            c.base = c.depth;
            c.matching = false;
            c.at = 0;
        } else if c.depth == c.base {
            if c.matching && c.at == c.prev.len() {
                c.pending += 1;
                c.at = 0;
                if c.pending >= PUBLISH_EVERY {
                    self.publish_pending();
                }
            } else {
                // A new block (or, defensively, a strict prefix of the last).
                self.release_held_back();
                let c = &mut self.comp;
                if c.matching {
                    c.prev.truncate(c.at);
                } else {
                    std::mem::swap(&mut c.prev, &mut c.cur);
                }
                c.cur.clear();
                c.matching = true;
                c.at = 0;
            }
        }
    }

    /// If the current block was being held back as a copy, its events go
    /// out now (after the count of the copies before them).
    fn release_held_back(&mut self) {
        if self.comp.matching && self.comp.at > 0 {
            self.publish_pending();
            for i in 0..self.comp.at {
                let held_back = self.comp.prev[i];
                self.push_ring(held_back);
            }
        }
    }

    /// Any other event: counts and held-back copies first, then it.
    fn barrier(&mut self, e: LiveEvent) {
        self.publish_pending();
        self.release_held_back();
        self.push_ring(e);
        let c = &mut self.comp;
        c.depth += match e {
            Event::CvWait { .. } => -1,
            Event::CvWoken { .. } => 1,
            _ => 0,
        };
        c.cur.clear();
        c.prev.clear();
        c.base = c.depth;
        c.matching = false;
        c.at = 0;
    }

    /// Publishes the count of complete copies of the previous block.
    pub(crate) fn publish_pending(&mut self) {
        let c = &mut self.comp;
        if c.pending == 0 {
            return;
        }
        let e = Event::Repeat {
            k: c.prev.len() as u64,
            n: c.pending,
        };
        c.pending = 0;
        self.push_ring(e);
    }

    #[inline]
    fn push_ring(&mut self, e: LiveEvent) {
        if let Some(ring) = &mut self.rec {
            if let Err(rtrb::PushError::Full(e)) = ring.push(e) {
                sink::ring_full();
                let _ = ring.push(e);
            }
        }
    }

    #[cold]
    fn start_recording(&mut self, e: LiveEvent) {
        if !sink::recording() {
            self.rec_off = true;
            return;
        }
        let thread = self.shared().thread.id.0;
        self.rec = sink::new_ring(thread);
        self.rec_off = self.rec.is_none();
        self.record(e);
    }

    /// This thread's shared part, registering the thread on first use.
    pub(crate) fn shared(&mut self) -> &Arc<Shared> {
        self.shared.get_or_insert_with(|| register(None))
    }

    /// Registers this (new) thread under the id its spawner chose.
    pub(crate) fn adopt(&mut self, id: u64) {
        if self.shared.is_none() {
            self.shared = Some(register(Some(id)));
        }
    }

    /// The thread, if it ever registered (without registering it now).
    pub(crate) fn thread_if_registered(&self) -> Option<ThreadInfo> {
        let span = self.spans.last().map(|s| s.1.clone());
        self.shared.as_ref().map(|s| ThreadInfo {
            span,
            ..s.thread.clone()
        })
    }

    /// The thread as findings describe it: id, name, the span it is in.
    pub(crate) fn thread(&mut self) -> ThreadInfo {
        let span = self.spans.last().map(|s| s.1.clone());
        ThreadInfo {
            span,
            ..self.shared().thread.clone()
        }
    }

    /// The text of the span the thread is in, if any.
    pub(crate) fn span_text(&self) -> Option<Arc<str>> {
        self.spans.last().map(|s| s.1.clone())
    }

    /// The thread enters `tracing` span `id` (see `rt::span`).
    pub(crate) fn span_enter(&mut self, id: u64, text: &Arc<str>) {
        self.spans.push((id, text.clone()));
        self.record(Event::Span { span: id });
    }

    /// The thread leaves span `id` (the innermost entry of it: spans may
    /// be left out of order).
    pub(crate) fn span_exit(&mut self, id: u64) {
        if let Some(i) = self.spans.iter().rposition(|s| s.0 == id) {
            self.spans.remove(i);
        }
        let now = self.spans.last().map_or(0, |s| s.0);
        self.record(Event::Span { span: now });
    }

    /// Applies releases of our guards made on other threads.
    #[inline]
    pub(crate) fn drain_pending(&mut self) {
        match &self.shared {
            Some(s) => {
                if s.pending.load(Ordering::Relaxed) {
                    self.claim_orphans();
                }
            }
            // Register on the first acquisition, so that a guard of this
            // thread released elsewhere can find its way back.
            None => {
                self.shared();
            }
        }
    }

    #[cold]
    fn claim_orphans(&mut self) {
        let Some(s) = self.shared.clone() else { return };
        s.pending.store(false, Ordering::Relaxed);
        GLOBAL
            .lock()
            .orphans
            .claim(&mut self.held, &mut self.permits, |p| p.object);
    }

    /// The chain hash the stack would have with `id` pushed, or `None` if the
    /// acquisition has something new to say (a self-wait, or a chain not yet
    /// learned). The steady-state fast path.
    #[inline]
    pub(crate) fn known_chain(&self, id: u64, mode: Mode) -> Option<u64> {
        self.held
            .known_chain(id, mode, |chain| self.cache_contains(chain))
    }

    /// The steady path of a blocking acquisition of `meta` in `mode`: the
    /// thread is registered with no released guard to claim and no failure
    /// streak, the object has its id, it is not an rwlock's first write,
    /// and the chain is known; then it is pushed and `try_now` takes the
    /// lock. The thread records nothing (a recording thread takes the full
    /// path), so that this runs under [`with_steady`]. `false` if any of that does not hold: nothing
    /// was taken or changed, and the full path decides.
    #[inline(always)]
    pub(crate) fn steady_acquire(
        &mut self,
        meta: &Meta,
        mode: Mode,
        site: Loc,
        try_now: impl FnOnce() -> bool,
    ) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        // Nothing to claim, no streak, not recording, room on the stack:
        // nothing below can allocate or call out (see `with_steady`).
        if shared.pending.load(Ordering::Relaxed)
            || self.streak.is_some()
            || !self.rec_off
            || !self.held.has_room()
        {
            return false;
        }
        let (Some(id), Some(desc)) = (meta.id_if_assigned(), meta.desc_if_made()) else {
            return false;
        };
        if mode == Mode::Exclusive && meta.kind() == ObjectKind::RwLock && !meta.written() {
            return false;
        }
        let Some(chain) = self.known_chain(id, mode) else {
            return false;
        };
        // The entry goes in before the lock is taken (and back out if it
        // was busy): under contention, the time the lock is held is the
        // program's own plus as little of ours as can be.
        let entry = Entry {
            site,
            desc,
            in_graph: false,
        };
        self.held.push_with_chain(id, mode, chain, entry);
        if !try_now() {
            self.held.remove(id);
            return false;
        }
        true
    }

    /// The steady path of a release of `id` by this thread: `None` while
    /// it records (the full path does), else what [`Local::remove`] says.
    #[inline(always)]
    pub(crate) fn steady_release(&mut self, id: u64) -> Option<Option<(bool, Mode)>> {
        if !self.rec_off {
            return None;
        }
        Some(self.remove(id))
    }

    /// The chain hash with `id` pushed, without consulting the cache.
    pub(crate) fn next_chain(&self, id: u64, mode: Mode) -> u64 {
        self.held.next_chain(id, mode)
    }

    /// The thread spawns or joins: returns the fork-join epoch it did so
    /// at, and starts the next. Its chains are learned again from here, so
    /// the lock-order graph knows at which epochs each order was formed.
    pub(crate) fn fork_join_step(&mut self) -> u32 {
        let k = self.fork_join;
        self.fork_join += 1;
        self.cache.iter_mut().for_each(|c| *c = 0);
        k
    }

    /// Whether this exact chain was learned already.
    #[inline]
    pub(crate) fn cache_contains_pub(&self, chain: u64) -> bool {
        self.cache_contains(chain)
    }

    #[inline]
    fn cache_contains(&self, chain: u64) -> bool {
        if self.cache.is_empty() {
            return false;
        }
        let start = (chain >> 52) as usize;
        (0..PROBES).any(|i| self.cache[(start + i) % CACHE_SLOTS] == chain)
    }

    pub(crate) fn cache_insert(&mut self, chain: u64) {
        if self.cache.is_empty() {
            self.cache = vec![0; CACHE_SLOTS];
        }
        let start = (chain >> 52) as usize;
        for i in 0..PROBES {
            let slot = &mut self.cache[(start + i) % CACHE_SLOTS];
            if *slot == 0 || *slot == chain {
                *slot = chain;
                return;
            }
        }
        // All probed slots taken: evict the first. Losing an entry only costs
        // one more trip to the slow path; the graph ignores repeats.
        self.cache[start % CACHE_SLOTS] = chain;
    }

    #[inline]
    pub(crate) fn push(&mut self, meta: &Meta, id: u64, chain: u64, mode: Mode, site: Loc) {
        if self.streak.is_some() {
            self.progress_on(id);
        }
        self.held
            .push_with_chain(id, mode, chain, Entry::of(meta, site));
    }

    /// A blocking acquisition succeeded: the entry, and its `acquire` event.
    #[inline]
    pub(crate) fn push_acquired(
        &mut self,
        meta: &Meta,
        id: u64,
        chain: u64,
        mode: Mode,
        site: Loc,
    ) {
        self.push(meta, id, chain, mode, site);
        self.record(Event::Acquire {
            object: id,
            mode,
            site: sink::at(site),
        });
    }

    /// Forgets the most recent entry for `id`. `Some((in_graph, mode))` if found.
    #[inline]
    pub(crate) fn remove(&mut self, id: u64) -> Option<(bool, Mode)> {
        let h = self.held.remove(id)?;
        self.released[id as usize % RELEASED] = (id, Some(h.extra.site));
        Some((h.extra.in_graph, h.mode))
    }

    /// Where lock `id` had been acquired, if this thread released it lately.
    pub(crate) fn released_site(&self, id: u64) -> Option<Loc> {
        match self.released[id as usize % RELEASED] {
            (o, site) if o == id => site,
            _ => None,
        }
    }

    /// Changes the mode of the most recent entry for `id` (upgrade, downgrade).
    pub(crate) fn remode(&mut self, id: u64, mode: Mode) {
        self.held.remode(id, mode);
    }

    /// Locks and permits held, for a waiter's report.
    pub(crate) fn held_for_detect(&self) -> Vec<HeldLock> {
        self.held
            .entries()
            .iter()
            .chain(&self.permits)
            .map(to_detect)
            .collect()
    }

    /// What [`Local::held_for_detect`] names, described.
    pub(crate) fn held_infos(&self) -> Vec<lockgraph_detect::ObjectInfo> {
        self.held
            .entries()
            .iter()
            .chain(&self.permits)
            .map(info)
            .collect()
    }
}

impl Local {
    /// An acquisition of `id` succeeded: if the streak failed on it, that
    /// is progress and the streak ends.
    #[cold]
    fn progress_on(&mut self, id: u64) {
        if let Some(s) = &self.streak {
            if s.fails.ended_by(id) {
                self.end_streak();
            }
        }
    }

    /// Ends the streak of failed attempts, if any.
    pub(crate) fn end_streak(&mut self) {
        if let Some(s) = self.streak.take() {
            if s.published {
                if let Some(shared) = &self.shared {
                    let me = shared.thread.id;
                    GLOBAL.lock().spinners.retain(|x| x.thread.id != me);
                }
            }
        }
    }

    /// The thread ends (or ends the process): records its exit and reports
    /// what it still holds. Runs once.
    pub(crate) fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.end_streak();
        // Its deferred edges go into the graph before it leaves the registry.
        if let Some(s) = &self.shared {
            let mut found = Vec::new();
            GLOBAL.lock().publish_thread(s, &mut found);
            // None by construction; a warning if one is, never a panic here.
            for f in found {
                let _ = super::react::handle(f, false);
            }
        }
        if self.shared.is_some() {
            self.claim_orphans();
        }
        if self.rec.is_some() {
            self.record(Event::Exit);
            self.publish_pending();
            if let Some(s) = &self.shared {
                sink::drain_thread(s.thread.id.0);
            }
        }
        self.report_leaks();
    }

    /// Reports `lock_leak` warnings for what the thread still holds as it
    /// ends (or ends the process), and forgets them.
    fn report_leaks(&mut self) {
        let Some(thread) = self.thread_if_registered() else {
            return;
        };
        let leaked: Vec<Held> = self
            .held
            .drain()
            .into_iter()
            .chain(self.permits.drain(..))
            .collect();
        let mut found = Vec::with_capacity(leaked.len());
        {
            let mut g = GLOBAL.lock();
            for h in &leaked {
                if h.extra.desc.kind != ObjectKind::Semaphore {
                    if g.leaked.len() >= 1024 {
                        g.leaked.remove(0);
                    }
                    g.leaked.push(ObjectId(h.object));
                }
                let mut out = Vec::with_capacity(1);
                g.analyses.on_leak(
                    &thread,
                    &info(h),
                    Site::from_location(h.extra.site),
                    lockgraph_detect::hazard::Leak::ThreadEnded,
                    &mut out,
                );
                found.extend(out.into_iter().map(|f| (h.object, h.extra.desc.kind, f)));
            }
        }
        for (object, kind, f) in found {
            if kind == ObjectKind::Semaphore {
                // A warning: reported, never a panic (the thread is ending).
                let _ = super::react::handle(f, false);
            } else {
                // Its guard may live on in another thread (`send_guard`):
                // reported unless that thread lets the lock go first.
                super::react::leak_pending(object, f);
            }
        }
    }
}

/// Registers the calling thread, and the step that ends the state of
/// whichever thread exits the process.
fn register(chosen: Option<u64>) -> Arc<Shared> {
    super::exit::register(super::exit::Stage::EndThread, end_exiting_thread);
    // Registered now: steps registered while the exit steps run do not run.
    super::exit::register(
        super::exit::Stage::Leaks,
        super::react::confirm_leaks_at_exit,
    );
    global::register_thread(chosen)
}

/// At process exit: the exiting thread ends (its leaks are reported, its
/// exit recorded). glibc runs the exiting thread's thread-local destructors
/// before the `atexit` handlers, so its state has usually ended already.
fn end_exiting_thread() {
    with(|l| {
        l.end();
        // The exiting thread's own counts live in its thread-local state.
        l.publish_pending();
    });
}

impl Drop for Local {
    fn drop(&mut self) {
        self.end();
        if let Some(s) = self.shared.take() {
            global::unregister_thread(&s);
        }
    }
}
