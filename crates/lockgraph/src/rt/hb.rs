//! Happens-before at run time: each thread's vector clock, the clocks synchronization objects carry, and the checks of tracked locations.
//!
//! Off until the first access to a tracked location (a lockgraph atomic,
//! `cell::UnsafeCell`, `Tracked`): until then every hook here is one relaxed
//! load of [`ON`], so programs that only lock pay nothing measurable.
//!
//! The rules are `lockgraph_detect::race`'s; this module keeps their state
//! where the live run needs it: a thread's clock in a thread-local, a
//! primitive's in its `Meta`, a location's shadow in the location.
//!
//! Threads lockgraph did not spawn (the test harness's, plain
//! `std::thread`s) start from the join of every thread's clock at their
//! first event, and their exit is a release every later access acquires:
//! this may hide a race, it never invents one. A thread lockgraph spawned
//! starts from its spawner's clock and is acquired by whoever joins it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use lockgraph_detect::race::{
    self, Access, AccessKind, AccessReport, AtomicKind, LocOp, Order, Shadow, SyncClock,
    ThreadClock, VClock, WriteOutcome,
};
use lockgraph_detect::{Mode, ObjectInfo, ObjectKind, Site, ThreadId, ThreadInfo};
use rustc_hash::FxHashSet;

use super::local::{self, Loc};
use super::meta::{describe, intern, Meta};
use super::{config, react, stack};

/// Whether any tracked location was ever accessed.
static ON: AtomicBool = AtomicBool::new(false);

/// Bumped when a thread lockgraph did not spawn starts or ends: every
/// thread then starts a new epoch and takes in the clocks of ended threads
/// before its next access.
static GEN: AtomicU64 = AtomicU64::new(1);

/// Live thread slots; more threads at once than this are not tracked.
const MAX_SLOTS: usize = 4096;

/// Each slot's current clock entry, for threads that join every clock.
static EPOCHS: [AtomicU32; MAX_SLOTS] = [const { AtomicU32::new(0) }; MAX_SLOTS];

/// The slot table, the clocks waiting for a spawned thread or a joiner, and
/// the clocks of ended unknown threads.
struct Table {
    free: Vec<u32>,
    next: u32,
    spawned: HashMap<u64, VClock>,
    finished: HashMap<u64, VClock>,
    exited: VClock,
    /// Clocks released through `lockgraph::hb::release`, by address.
    annotated: HashMap<usize, VClock>,
    /// The clock of the SeqCst total order.
    seq_cst: VClock,
    /// Races and violations already reported: (location, site, site).
    reported: FxHashSet<(u64, usize, usize)>,
}

impl Table {
    /// The join of every thread's history so far: every live slot's
    /// current epoch and every ended unknown thread's clock.
    fn everyone(&self) -> VClock {
        let mut all = self.exited.clone();
        for s in 0..self.next {
            let e = EPOCHS[s as usize].load(Ordering::Relaxed);
            if e > all.get(s) {
                all.set(s, e);
            }
        }
        all
    }
}

static TABLE: parking_lot::Mutex<Option<Table>> = parking_lot::const_mutex(None);

fn table<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    let mut g = TABLE.lock();
    let t = g.get_or_insert_with(|| Table {
        free: Vec::new(),
        next: 0,
        spawned: HashMap::new(),
        finished: HashMap::new(),
        exited: VClock::new(),
        annotated: HashMap::new(),
        seq_cst: VClock::new(),
        reported: FxHashSet::default(),
    });
    f(t)
}

/// Whether happens-before is tracked (a tracked location was accessed).
#[inline(always)]
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A tracked location is accessed: tracking starts, if detection is on.
#[inline]
pub(crate) fn switch_on() -> bool {
    if ON.load(Ordering::Relaxed) {
        return true;
    }
    if !config::enabled() {
        return false;
    }
    ON.store(true, Ordering::Relaxed);
    true
}

/// What the thread last synchronized with, for reports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SyncNote {
    verb: &'static str,
    what: Option<(u64, ObjectKind, Loc, Option<&'static str>)>,
    site: Loc,
}

impl SyncNote {
    fn words(&self) -> String {
        race::sync_words(
            self.verb,
            self.what
                .map(|(id, kind, created, name)| describe(id, kind, created, name))
                .as_ref(),
            &Site::from_location(self.site),
        )
    }
}

/// One thread's happens-before state.
struct HbThread {
    /// Slot, clock and fences, with detect's rules.
    c: ThreadClock,
    gen: u64,
    /// The runtime id and name of the thread.
    id: u64,
    name: Option<&'static str>,
    /// Spawned by lockgraph: a joiner acquires its exit.
    spawned: bool,
    /// Its clock went to the joiner already ([`finish`]).
    finished: bool,
    last_sync: Option<SyncNote>,
    /// The clock as of this thread's latest access record (traces record
    /// only what changed).
    recorded: VClock,
}

thread_local! {
    static HB: RefCell<Option<HbThread>> = const { RefCell::new(None) };
    /// This thread's current epoch and the generation it saw (0: none yet):
    /// the same-epoch fast path reads only these.
    static EPOCH: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// The id lockgraph's spawn chose for this thread, set before its first event.
    static ADOPTED: Cell<u64> = const { Cell::new(0) };
}

impl HbThread {
    /// The thread's first event: a slot, and a clock from its spawner or
    /// from everyone.
    fn start() -> Option<HbThread> {
        let thread = local::with(|l| l.thread())?;
        let adopted = ADOPTED.with(Cell::get);
        let spawned = adopted != 0 && adopted == thread.id.0;
        let (slot, vc) = table(|t| {
            let slot = match t.free.pop() {
                Some(s) => s,
                None if (t.next as usize) < MAX_SLOTS => {
                    t.next += 1;
                    t.next - 1
                }
                None => return None,
            };
            let mut vc = match t.spawned.remove(&thread.id.0) {
                Some(vc) if spawned => vc,
                _ => t.everyone(),
            };
            // A reused slot continues from where its last thread stopped.
            let own = EPOCHS[slot as usize].load(Ordering::Relaxed) + 1;
            vc.set(slot, own.max(vc.get(slot) + 1));
            EPOCHS[slot as usize].store(vc.get(slot), Ordering::Relaxed);
            Some((slot, vc))
        })?;
        if !spawned {
            // Everyone starts a new epoch: what they do from now on is not
            // before this thread.
            GEN.fetch_add(1, Ordering::Release);
        }
        Some(HbThread {
            c: ThreadClock::new(slot, vc),
            gen: GEN.load(Ordering::Acquire),
            id: thread.id.0,
            name: thread.name.as_deref().map(intern),
            spawned,
            finished: false,
            last_sync: None,
            recorded: VClock::new(),
        })
    }

    /// Makes the thread's epoch known: to threads that will join every
    /// clock, and to this thread's fast path.
    fn announce(&self) {
        let slot = self.c.slot;
        EPOCHS[slot as usize].store(self.c.vc.get(slot), Ordering::Relaxed);
        EPOCH.with(|e| e.set((self.c.epoch().bits(), self.gen)));
    }

    /// A new epoch: what this thread does next is not before what it released.
    fn tick(&mut self) {
        self.c.tick();
        self.announce();
    }

    /// Catches up with threads that started or ended since the last look.
    #[inline]
    fn sync_gen(&mut self) {
        let g = GEN.load(Ordering::Acquire);
        if g != self.gen {
            self.gen = g;
            table(|t| self.c.take_in(&t.exited));
            self.tick();
        }
    }
}

impl Drop for HbThread {
    fn drop(&mut self) {
        let (slot, vc) = (self.c.slot, std::mem::take(&mut self.c.vc));
        let (spawned, finished) = (self.spawned, self.finished);
        let id = self.id;
        table(|t| {
            if spawned {
                if !finished {
                    t.finished.insert(id, vc);
                }
            } else {
                t.exited.join(&vc);
            }
            t.free.push(slot);
        });
        if !spawned {
            GEN.fetch_add(1, Ordering::Release);
        }
    }
}

/// Runs `f` on this thread's state, starting it if need be. `None` when
/// tracking is off or the thread is being torn down.
fn with<R>(f: impl FnOnce(&mut HbThread) -> R) -> Option<R> {
    HB.try_with(|cell| {
        let mut b = cell.try_borrow_mut().ok()?;
        if b.is_none() {
            *b = Some(HbThread::start()?);
            b.as_ref()?.announce();
        }
        let t = b.as_mut()?;
        t.sync_gen();
        Some(f(t))
    })
    .ok()
    .flatten()
}

/// The calling thread's epoch if it has nothing to catch up on: what the
/// same-epoch fast path compares a location's last access with.
#[inline]
pub(crate) fn current_epoch() -> u64 {
    let (e, g) = EPOCH.try_with(Cell::get).unwrap_or((0, 0));
    if g == GEN.load(Ordering::Relaxed) {
        e
    } else {
        0
    }
}

// ---- Synchronization: releases and acquires -------------------------------

fn note(meta: &Meta, verb: &'static str, site: Loc) -> SyncNote {
    SyncNote {
        verb,
        what: meta
            .id_if_assigned()
            .map(|id| (id, meta.kind(), meta.created, meta.name)),
        site,
    }
}

/// The thread acquired `meta` in `mode` (a lock), or saw what a release of
/// it published (a permit taken, an event seen set, a barrier left, a once
/// found done).
#[inline(always)]
pub(crate) fn acquired(meta: &Meta, mode: Mode, site: Loc) {
    if on() {
        acquired_on(meta, mode, site, "acquired");
    }
}

/// [`acquired`] for a wait that ended: the verb says which.
#[inline(always)]
pub(crate) fn saw(meta: &Meta, verb: &'static str, site: Loc) {
    if on() {
        acquired_on(meta, Mode::Shared, site, verb);
    }
}

#[cold]
fn acquired_on(meta: &Meta, mode: Mode, site: Loc, verb: &'static str) {
    with(|t| {
        let writer = mode == Mode::Exclusive && meta.kind() == ObjectKind::RwLock;
        with_clock(meta, mode, |c| t.c.acquire(c, writer));
        t.last_sync = Some(note(meta, verb, site));
    });
}

/// Runs `f` on the clocks of `meta`. A mutex's clocks are only touched by
/// the thread that holds it (an acquisition once the lock is taken, a
/// release before it is let go, whichever thread lets a sent guard go), so
/// the mutex itself keeps the others out: no second lock on its steady
/// path. Everything else (rwlock readers, semaphores, events...) takes the
/// clocks' own lock.
#[inline]
fn with_clock<R>(meta: &Meta, mode: Mode, f: impl FnOnce(&mut SyncClock) -> R) -> R {
    if matches!(meta.kind(), ObjectKind::Mutex | ObjectKind::ReentrantMutex) && !mode.is_shared() {
        // Safety: the caller holds the mutex `meta` describes (see above),
        // so no other thread reads or writes these clocks meanwhile, and the
        // mutex's own acquire/release orders this access with theirs.
        f(unsafe { &mut *meta.hb().data_ptr() })
    } else {
        f(&mut meta.hb().lock())
    }
}

/// The thread releases `meta` (held in `mode`), or publishes through it (a
/// permit given back, an event set, a latch counted down, a barrier
/// arrived at, a once done, a condvar notified).
#[inline(always)]
pub(crate) fn released(meta: &Meta, mode: Mode) {
    if on() {
        released_on(meta, mode);
    }
}

#[cold]
fn released_on(meta: &Meta, mode: Mode) {
    with(|t| {
        with_clock(meta, mode, |c| t.c.release(c, mode.is_shared()));
        t.announce();
    });
}

/// A release of a lock this thread did not take (a guard sent here from
/// the thread that took it, `force_unlock`). What was done under the lock
/// was done by a thread this one may not be ordered after, so the release
/// publishes everyone's history as of now: the next holder may miss a race,
/// never see one that is not there.
pub(crate) fn released_for_another(meta: &Meta) {
    if !on() {
        return;
    }
    let everyone = table(|t| t.everyone());
    meta.hb().lock().write.join(&everyone);
    released(meta, Mode::Exclusive);
}

/// A thread is about to be spawned with runtime id `child`: it starts from
/// this thread's clock.
///
/// Done even before tracking is on (once per spawn): the spawner's clock
/// starts here, so what a child does later is never taken as before it.
pub(crate) fn spawning(child: u64) {
    if child == 0 {
        return;
    }
    with(|t| {
        let vc = t.c.publish();
        t.announce();
        table(|tb| tb.spawned.insert(child, vc));
    });
}

/// First thing in a thread lockgraph spawned: its id, so its first event
/// takes its spawner's clock.
pub(crate) fn adopt(id: u64) {
    let _ = ADOPTED.try_with(|a| a.set(id));
    // Its clock starts now, from the spawner's.
    with(|_| ());
}

/// A thread lockgraph spawned returns from its closure (or unwinds out of
/// it): what it did is before whatever joins it.
pub(crate) fn finish() {
    with(|t| {
        if t.spawned && !t.finished {
            let vc = t.c.publish();
            t.announce();
            table(|tb| tb.finished.insert(t.id, vc));
            t.finished = true;
        }
    });
}

/// The thread joined thread `child`: what the child did is before now.
pub(crate) fn joined(child: u64, site: Loc) {
    if child == 0 {
        return;
    }
    with(|t| {
        if let Some(vc) = table(|tb| tb.finished.remove(&child)) {
            t.c.take_in(&vc);
        }
        table(|tb| tb.spawned.remove(&child));
        t.last_sync = Some(SyncNote {
            verb: "joined a thread",
            what: None,
            site,
        });
    });
}

/// `lockgraph::hb::release(addr)`: publishes this thread's clock at `addr`.
pub(crate) fn annotate_release(addr: usize) {
    if !switch_on() {
        return;
    }
    with(|t| {
        let vc = t.c.publish();
        t.announce();
        table(|tb| tb.annotated.entry(addr).or_default().join(&vc));
    });
}

/// `lockgraph::hb::acquire(addr)`: takes in what releases at `addr` published.
pub(crate) fn annotate_acquire(addr: usize, site: Loc) {
    if !switch_on() {
        return;
    }
    with(|t| {
        if let Some(vc) = table(|tb| tb.annotated.get(&addr).cloned()) {
            t.c.take_in(&vc);
        }
        t.last_sync = Some(SyncNote {
            verb: "acquired an annotation",
            what: None,
            site,
        });
    });
}

/// A message is sent: this thread's clock, for the receiver to take in
/// (`None` while tracking is off).
pub(crate) fn snapshot() -> Option<Box<VClock>> {
    if !on() {
        return None;
    }
    with(|t| {
        let vc = Box::new(t.c.publish());
        t.announce();
        vc
    })
}

/// A message sent with clock `vc` was received at `site`.
pub(crate) fn take_in(vc: Option<&VClock>, site: Loc) {
    let Some(vc) = vc else { return };
    with(|t| {
        t.c.take_in(vc);
        t.last_sync = Some(SyncNote {
            verb: "received what another thread published",
            what: None,
            site,
        });
    });
}

// ---- Tracked locations ------------------------------------------------------

/// A value as a report prints it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    Unsigned(u64),
    Signed(i64),
    Bool(bool),
    Ptr(usize),
}

impl Value {
    fn words(self) -> String {
        match self {
            Value::Unsigned(v) => v.to_string(),
            Value::Signed(v) => v.to_string(),
            Value::Bool(v) => v.to_string(),
            Value::Ptr(v) => format!("{v:#x}"),
        }
    }
}

/// Up to this many held locks are named in a report of an access.
const HELD: usize = 3;

/// A held lock as an access remembers it: id, kind, creation site, name,
/// where it was taken, and in which mode.
type HeldRef = (u64, ObjectKind, Loc, Option<&'static str>, Loc, Mode);

/// What the runtime keeps about one access beside its epoch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tag {
    name: Option<&'static str>,
    site: Loc,
    held: [Option<HeldRef>; HELD],
    sync: Option<SyncNote>,
    value: Option<Value>,
}

/// The shadow of one tracked location, with the epochs of its last write
/// and read mirrored for the same-epoch fast path.
#[derive(Debug)]
pub(crate) struct LocState {
    shadow: parking_lot::Mutex<Option<Box<Shadow<Tag>>>>,
    write: AtomicU64,
    read: AtomicU64,
}

impl LocState {
    pub(crate) const fn new() -> Self {
        LocState {
            shadow: parking_lot::const_mutex(None),
            write: AtomicU64::new(0),
            read: AtomicU64::new(0),
        }
    }
}

/// What an atomic keeps: its shadow and the clock of its release sequence.
#[derive(Debug)]
pub(crate) struct AtomicState {
    inner: parking_lot::Mutex<AtomicInner>,
}

#[derive(Debug)]
struct AtomicInner {
    shadow: Option<Box<Shadow<Tag>>>,
    clock: VClock,
}

impl AtomicState {
    pub(crate) const fn new() -> Self {
        AtomicState {
            inner: parking_lot::const_mutex(AtomicInner {
                shadow: None,
                clock: VClock::new(),
            }),
        }
    }
}

fn tag(t: &HbThread, site: Loc, value: Option<Value>) -> Tag {
    let mut held = [None; HELD];
    local::with(|l| {
        for (slot, h) in held.iter_mut().zip(l.held.entries().iter()) {
            *slot = Some((
                h.object,
                h.extra.desc.kind,
                h.extra.desc.created,
                h.extra.desc.name,
                h.extra.site,
                h.mode,
            ));
        }
    });
    Tag {
        name: t.name,
        site,
        held,
        sync: t.last_sync,
        value,
    }
}

fn access(t: &HbThread, kind: AccessKind, site: Loc, value: Option<Value>) -> Access<Tag> {
    Access {
        epoch: t.c.epoch(),
        thread: t.id,
        kind,
        tag: tag(t, site, value),
    }
}

/// A plain read of `loc` (`meta` describes it) at `site`.
#[inline]
pub(crate) fn read(meta: &Meta, loc: &LocState, site: Loc) {
    if !switch_on() {
        return;
    }
    let e = current_epoch();
    if e != 0 && (loc.read.load(Ordering::Relaxed) == e || loc.write.load(Ordering::Relaxed) == e) {
        return;
    }
    read_slow(meta, loc, site);
}

#[cold]
fn read_slow(meta: &Meta, loc: &LocState, site: Loc) {
    let found = with(|t| {
        let mut g = loc.shadow.lock();
        let s = g.get_or_insert_with(Default::default);
        let out = apply(meta, s, t, LocOp::Read { check: true }, site, None);
        loc.read.store(s.read_epoch().bits(), Ordering::Relaxed);
        out
    });
    if let Some(out) = found {
        report(meta, out);
    }
}

/// Applies `op` at `site` to the shadow `s` of `meta` for thread `t`, with
/// detect's one rule (`Shadow::apply`), and records it when recording.
fn apply(
    meta: &Meta,
    s: &mut Shadow<Tag>,
    t: &mut HbThread,
    op: LocOp,
    site: Loc,
    value: Option<Value>,
) -> WriteOutcome<Tag> {
    let a = op.kind().map(|kind| access(t, kind, site, value));
    let recording = super::sink::recording();
    // Kept for the record only: a tag is a few hundred bytes.
    let tag = if recording {
        a.as_ref().map(|a| a.tag)
    } else {
        None
    };
    let (n, out) = s.apply(op, a, &t.c.vc);
    if recording {
        let delta = t.c.vc.changes_since(&t.recorded);
        t.recorded.copy_from(&t.c.vc);
        let tag = tag.expect("an access has a tag");
        let held: Vec<(u64, Loc, Mode)> = tag
            .held
            .iter()
            .flatten()
            .map(|&(o, _, _, _, site, mode)| (o, site, mode))
            .collect();
        super::sink::access_record(
            t.id,
            meta.id(),
            n,
            op.code(),
            t.c.slot,
            delta,
            Some(site),
            &held,
            tag.sync.map(|s| (s.verb, s.what.map(|w| w.0), s.site)),
            value.map(Value::words),
        );
    }
    out
}

/// An exclusive reset of a shadow, recorded.
fn reset(meta: &Meta, s: &mut Shadow<Tag>) {
    let (n, _) = s.apply(LocOp::Reset, None, &VClock::new());
    if super::sink::recording() {
        super::sink::access_record(0, meta.id(), n, "x", 0, Vec::new(), None, &[], None, None);
    }
}

/// A plain write of `loc` at `site`.
#[inline]
pub(crate) fn write(meta: &Meta, loc: &LocState, site: Loc) {
    if !switch_on() {
        return;
    }
    let e = current_epoch();
    if e != 0 && loc.write.load(Ordering::Relaxed) == e {
        return;
    }
    write_slow(meta, loc, site);
}

#[cold]
fn write_slow(meta: &Meta, loc: &LocState, site: Loc) {
    let found = with(|t| {
        let mut g = loc.shadow.lock();
        let s = g.get_or_insert_with(Default::default);
        let out = apply(meta, s, t, LocOp::Write { check: true }, site, None);
        loc.write.store(s.write_epoch().bits(), Ordering::Relaxed);
        loc.read.store(0, Ordering::Relaxed);
        out
    });
    if let Some(out) = found {
        report(meta, out);
    }
}

/// An exclusive access (`&mut`): nothing races with it; history restarts.
pub(crate) fn exclusive(meta: &Meta, loc: &mut LocState) {
    if let Some(s) = loc.shadow.get_mut() {
        reset(meta, s);
    }
    *loc.write.get_mut() = 0;
    *loc.read.get_mut() = 0;
}

/// An exclusive access to an atomic.
pub(crate) fn exclusive_atomic(meta: &Meta, state: &mut AtomicState) {
    if let Some(s) = &mut state.inner.get_mut().shadow {
        reset(meta, s);
    }
}

/// What an atomic operation did: its kind (detect's) and its ordering.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AtomicOp(pub(crate) AtomicKind, pub(crate) Order);

/// Runs the atomic operation `op` (which returns its result and the value
/// a report names) on the atomic `meta`/`state` at `site`, with its
/// happens-before effects applied in the same indivisible step.
#[inline]
pub(crate) fn atomic<R>(
    meta: &Meta,
    state: &AtomicState,
    site: Loc,
    op: impl FnOnce() -> (R, AtomicOp, Value),
) -> R {
    if !switch_on() {
        return op().0;
    }
    atomic_slow(meta, state, site, op)
}

#[cold]
fn atomic_slow<R>(
    meta: &Meta,
    state: &AtomicState,
    site: Loc,
    op: impl FnOnce() -> (R, AtomicOp, Value),
) -> R {
    let mut op = Some(op);
    let mut result = None;
    let out = with(|t| {
        let mut g = state.inner.lock();
        let (r, AtomicOp(kind, order), value) = (op.take().expect("once"))();
        result = Some(r);
        let inner = &mut *g;
        let released = if order == Order::SeqCst {
            table(|tb| {
                t.c.atomic(kind, order, &mut inner.clock, Some(&mut tb.seq_cst))
            })
        } else {
            t.c.atomic(kind, order, &mut inner.clock, None)
        };
        if kind != AtomicKind::Store && order.acquires() {
            t.last_sync = Some(note(meta, "loaded with Acquire", site));
        }
        let loc_op = match kind {
            AtomicKind::Load => LocOp::Read { check: false },
            AtomicKind::Store => LocOp::Write { check: false },
            AtomicKind::Update => LocOp::Update,
        };
        let s = inner.shadow.get_or_insert_with(Default::default);
        let out = apply(meta, s, t, loc_op, site, Some(value));
        if released {
            // The access was in the epoch it released; what follows is not.
            t.tick();
        }
        drop(g);
        out
    });
    let r = match result {
        Some(r) => r,
        // Not tracked (the thread is being torn down): just the operation.
        None => (op.take().expect("not run"))().0,
    };
    if let Some(out) = out {
        report(meta, out);
    }
    r
}

/// A fence.
pub(crate) fn fence(order: Order, site: Loc) {
    if !switch_on() {
        return;
    }
    with(|t| {
        let before = t.c.epoch();
        if order == Order::SeqCst {
            table(|tb| t.c.fence(order, Some(&mut tb.seq_cst)));
        } else {
            t.c.fence(order, None);
        }
        if t.c.epoch() != before {
            t.announce();
        }
        if order.acquires() {
            t.last_sync = Some(SyncNote {
                verb: "passed an Acquire fence",
                what: None,
                site,
            });
        }
    });
}

// ---- Reports ----------------------------------------------------------------

fn described(a: &Access<Tag>, stack: Option<lockgraph_detect::StackRef>) -> AccessReport {
    AccessReport {
        thread: ThreadInfo {
            span: None,
            id: ThreadId(a.thread),
            name: a.tag.name.map(Into::into),
        },
        kind: a.kind,
        site: Site::from_location(a.tag.site),
        held: a
            .tag
            .held
            .iter()
            .flatten()
            .map(|&(id, kind, created, name, site, _)| {
                (describe(id, kind, created, name), Site::from_location(site))
            })
            .collect(),
        last_sync: a.tag.sync.map(|s| s.words()),
        value: a.tag.value.map(Value::words),
        stack,
    }
}

/// Whether this pair of sites on this location was reported already.
fn first_report(location: u64, a: Loc, b: Loc) -> bool {
    let (a, b) = (a as *const _ as usize, b as *const _ as usize);
    let key = (location, a.min(b), a.max(b));
    table(|t| t.reported.insert(key))
}

fn react_to(f: lockgraph_detect::Finding) {
    if let Some(message) = react::handle(f, false) {
        panic!("{message}");
    }
}

fn report(meta: &Meta, out: WriteOutcome<Tag>) {
    if let Some(r) = out.race {
        report_race(meta, *r);
    }
    if let Some(v) = out.violation {
        report_violation(meta, *v);
    }
}

fn report_race(meta: &Meta, r: race::Race<Tag>) {
    if !first_report(meta.id(), r.earlier.tag.site, r.later.tag.site) {
        return;
    }
    let location = meta.info();
    let f = race::data_race(
        &location,
        &described(&r.earlier, None),
        &described(&r.later, stack::capture()),
    );
    react_to(f);
}

fn report_violation(meta: &Meta, v: race::Violation<Tag>) {
    if !first_report(meta.id(), v.read.tag.site, v.write.tag.site) {
        return;
    }
    let location: ObjectInfo = meta.info();
    // A lock held exclusively at both the check and the act, released in
    // between: two critical sections of it.
    let modes =
        |tag: &Tag| -> Vec<(u64, Mode)> { tag.held.iter().flatten().map(|h| (h.0, h.5)).collect() };
    let common = race::common_exclusive(&modes(&v.read.tag), &modes(&v.write.tag)).and_then(|id| {
        v.read
            .tag
            .held
            .iter()
            .flatten()
            .find(|h| h.0 == id)
            .map(|&(id, kind, created, name, _, _)| describe(id, kind, created, name))
    });
    let f = race::atomicity_violation(
        &location,
        &described(&v.read, None),
        &described(&v.foreign, None),
        &described(&v.write, stack::capture()),
        v.observed,
        common.as_ref(),
    );
    react_to(f);
}
