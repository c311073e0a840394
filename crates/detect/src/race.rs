//! Happens-before and races: vector clocks, the FastTrack shadow of one tracked location, atomicity windows, and the `data_race` and `atomicity_violation` findings.
//!
//! Both drivers use these rules: the live runtime keeps a [`Shadow`] inside
//! each tracked cell and a [`VClock`] per thread and per synchronization
//! object; the replay keeps the same in maps. What a driver knows about an
//! access beyond its epoch (thread, site, held locks, value) rides along as
//! the tag `A`, untouched here, and comes back in a [`Race`] or
//! [`Violation`] for the driver to describe ([`AccessReport`]) and turn into
//! a finding with [`data_race`] or [`atomicity_violation`].
//!
//! The race check is FastTrack's (Flanagan and Freund, PLDI 2009): a write
//! is one epoch; reads are one epoch until two unordered threads read, then
//! one epoch per thread. An access in the same epoch as the last one of its
//! kind by the same thread has nothing new to check, which is the driver's
//! fast path ([`Shadow::write_epoch`], [`Shadow::read_epoch`]).
//!
//! Atomicity follows AVIO's read–write–write pattern: a thread reads a
//! location (a *window* opens), another thread writes it, the first thread
//! writes it without reading again. Reads and writes here are each
//! synchronized (atomics, or accesses under one lock); splitting them is the
//! bug. An observed interleaving is an error. A window whose read saw
//! another thread's write that nothing ordered before it (a Relaxed load of
//! a Relaxed store, say) is a warning: that write could as well have landed
//! inside.

use crate::finding::{Cast, Evidence, Finding, Fingerprint, Kind, Op, Severity};
use crate::model::{ObjectInfo, ObjectKind, Site, StackRef, ThreadInfo};

/// A dense vector clock: entry `i` is how much of thread slot `i`'s history
/// this clock has seen. Missing entries are 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VClock(Vec<u32>);

impl VClock {
    /// The empty clock (sees nothing).
    pub const fn new() -> Self {
        VClock(Vec::new())
    }

    /// Entry `slot`.
    #[inline]
    pub fn get(&self, slot: u32) -> u32 {
        self.0.get(slot as usize).copied().unwrap_or(0)
    }

    /// Sets entry `slot` to `v`.
    pub fn set(&mut self, slot: u32, v: u32) {
        let i = slot as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] = v;
    }

    /// Advances entry `slot` by one; returns the new value.
    pub fn tick(&mut self, slot: u32) -> u32 {
        let v = self.get(slot).saturating_add(1);
        self.set(slot, v);
        v
    }

    /// Takes the entry-wise maximum with `other`.
    pub fn join(&mut self, other: &VClock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            if *b > *a {
                *a = *b;
            }
        }
    }

    /// Becomes a copy of `other`, reusing its own allocation.
    pub fn copy_from(&mut self, other: &VClock) {
        self.0.clear();
        self.0.extend_from_slice(&other.0);
    }

    /// Whether everything `self` saw, `other` saw too.
    pub fn le(&self, other: &VClock) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(i, v)| *v <= other.get(i as u32))
    }

    /// The epoch of slot `slot` in this clock.
    #[inline]
    pub fn epoch(&self, slot: u32) -> Epoch {
        Epoch::new(slot, self.get(slot))
    }

    /// Whether the clock has seen nothing.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    /// Forgets everything (keeps the allocation).
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The entries that differ from `older`, as `(slot, value)` pairs: what
    /// a trace records of a clock it recorded before.
    pub fn changes_since(&self, older: &VClock) -> Vec<(u32, u32)> {
        let n = self.0.len().max(older.0.len()) as u32;
        (0..n)
            .filter(|&i| self.get(i) != older.get(i))
            .map(|i| (i, self.get(i)))
            .collect()
    }
}

/// One moment of one thread: its slot and that slot's clock. FastTrack's
/// epoch, packed in a `u64` so a driver can keep it in an atomic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Epoch(u64);

impl Epoch {
    /// No access yet.
    pub const NONE: Epoch = Epoch(0);

    /// Slot `slot` at clock `clock`.
    #[inline]
    pub const fn new(slot: u32, clock: u32) -> Self {
        Epoch((((slot as u64) + 1) << 32) | clock as u64)
    }

    /// The packed form (0 for [`Epoch::NONE`]).
    #[inline]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// From [`Epoch::bits`].
    #[inline]
    pub const fn from_bits(b: u64) -> Self {
        Epoch(b)
    }

    /// Whether this is [`Epoch::NONE`].
    pub fn is_none(self) -> bool {
        self.0 == 0
    }

    /// The thread slot.
    pub fn slot(self) -> u32 {
        ((self.0 >> 32) as u32).wrapping_sub(1)
    }

    /// The slot's clock.
    pub fn clock(self) -> u32 {
        self.0 as u32
    }

    /// Whether the moment happens before a thread whose clock is `vc`
    /// (no access is before everything).
    #[inline]
    pub fn before(self, vc: &VClock) -> bool {
        self.is_none() || self.clock() <= vc.get(self.slot())
    }
}

/// The clocks a synchronization object carries: what releases in
/// exclusive mode published (every release of anything but an rwlock's
/// readers), and what readers released.
#[derive(Clone, Debug, Default)]
pub struct SyncClock {
    /// Published by exclusive releases, notifies, sets, permits given, ...
    pub write: VClock,
    /// Published by shared (read) releases.
    pub read: VClock,
}

impl SyncClock {
    /// Nothing published yet.
    pub const fn new() -> Self {
        SyncClock {
            write: VClock::new(),
            read: VClock::new(),
        }
    }
}

/// How an atomic operation or fence orders (`std::sync::atomic::Ordering`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// No ordering.
    Relaxed,
    /// Acquire.
    Acquire,
    /// Release.
    Release,
    /// Both.
    AcqRel,
    /// Both, and one total order with every other `SeqCst` operation.
    SeqCst,
}

impl Order {
    /// Whether it takes in what a release published.
    pub fn acquires(self) -> bool {
        matches!(self, Order::Acquire | Order::AcqRel | Order::SeqCst)
    }

    /// Whether it publishes.
    pub fn releases(self) -> bool {
        matches!(self, Order::Release | Order::AcqRel | Order::SeqCst)
    }
}

/// What an atomic operation does to its location's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicKind {
    /// A load (or a failed compare-exchange).
    Load,
    /// A plain store.
    Store,
    /// A read-modify-write.
    Update,
}

/// One thread's happens-before state: its slot in the clocks, its clock,
/// and what its fences keep. Every rule of how synchronization moves clocks
/// is a method here, the same for every driver.
#[derive(Clone, Debug, Default)]
pub struct ThreadClock {
    /// The thread's slot.
    pub slot: u32,
    /// The thread's clock.
    pub vc: VClock,
    /// The clock at the last release fence, which later relaxed stores carry.
    fence_release: Option<VClock>,
    /// Clocks relaxed loads read, which the next acquire fence takes in.
    fence_acquire: VClock,
}

impl ThreadClock {
    /// A thread in `slot` starting from `vc`.
    pub fn new(slot: u32, vc: VClock) -> Self {
        ThreadClock {
            slot,
            vc,
            fence_release: None,
            fence_acquire: VClock::new(),
        }
    }

    /// The thread's current epoch.
    pub fn epoch(&self) -> Epoch {
        self.vc.epoch(self.slot)
    }

    /// A new epoch: what the thread does next is not before what it published.
    pub fn tick(&mut self) {
        self.vc.tick(self.slot);
    }

    /// A release into `into` (a lock let go, in `shared` mode or not; a
    /// permit given, an event set, a notify...), then a new epoch.
    pub fn release(&mut self, into: &mut SyncClock, shared: bool) {
        if shared {
            into.read.join(&self.vc);
        } else {
            into.write.join(&self.vc);
        }
        self.tick();
    }

    /// An acquisition of what `from` published; `writer` takes in what
    /// readers released too (an rwlock's exclusive lock).
    pub fn acquire(&mut self, from: &SyncClock, writer: bool) {
        self.vc.join(&from.write);
        if writer {
            self.vc.join(&from.read);
        }
    }

    /// The clocks a message, a once's value or an annotation carries: this
    /// thread's, then a new epoch.
    pub fn publish(&mut self) -> VClock {
        let vc = self.vc.clone();
        self.tick();
        vc
    }

    /// Takes in a published clock.
    pub fn take_in(&mut self, vc: &VClock) {
        self.vc.join(vc);
    }

    /// The ordering side of an atomic operation of `kind` and `order` on an
    /// atomic whose release-sequence clock is `clock`, applied before its
    /// access goes to the shadow (C++20's rules: a store starts a release
    /// sequence, a read-modify-write continues it, a relaxed operation
    /// carries the last release fence's clock, a relaxed load's clock waits
    /// for an acquire fence). `seq_cst` is the clock of the `SeqCst` total
    /// order; a `SeqCst` operation acquires and releases it (pass it for
    /// those). Returns whether the operation released: the caller then
    /// ticks, after the access.
    pub fn atomic(
        &mut self,
        kind: AtomicKind,
        order: Order,
        clock: &mut VClock,
        seq_cst: Option<&mut VClock>,
    ) -> bool {
        if kind != AtomicKind::Store {
            if order.acquires() {
                self.vc.join(clock);
            } else {
                self.fence_acquire.join(clock);
            }
        }
        if let (Order::SeqCst, Some(sc)) = (order, seq_cst) {
            self.vc.join(sc);
            if kind != AtomicKind::Load {
                sc.join(&self.vc);
            }
        }
        match kind {
            AtomicKind::Load => false,
            AtomicKind::Store => {
                if order.releases() {
                    clock.copy_from(&self.vc);
                } else if let Some(f) = &self.fence_release {
                    clock.copy_from(f);
                } else {
                    clock.clear();
                }
                order.releases()
            }
            AtomicKind::Update => {
                if order.releases() {
                    clock.join(&self.vc);
                } else if let Some(f) = &self.fence_release {
                    clock.join(f);
                }
                order.releases()
            }
        }
    }

    /// A fence of `order`; `seq_cst` as for [`ThreadClock::atomic`].
    pub fn fence(&mut self, order: Order, seq_cst: Option<&mut VClock>) {
        if order.acquires() {
            let pending = std::mem::take(&mut self.fence_acquire);
            self.vc.join(&pending);
        }
        if let (Order::SeqCst, Some(sc)) = (order, seq_cst) {
            self.vc.join(sc);
            sc.join(&self.vc);
        }
        if order.releases() {
            self.fence_release = Some(self.vc.clone());
            self.tick();
        }
    }
}

/// Whether an access reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// A read (a load, `with`, `Tracked::load`).
    Read,
    /// A write (a store, `with_mut`, `Tracked::store`).
    Write,
    /// An atomic read-modify-write (`fetch_add`, `swap`, a successful
    /// `compare_exchange`): one indivisible step.
    Update,
}

impl AccessKind {
    /// The verb a report uses.
    pub fn verb(self) -> &'static str {
        match self {
            AccessKind::Read => "reads",
            AccessKind::Write => "writes",
            AccessKind::Update => "updates",
        }
    }
}

/// One access as the shadow keeps it: when, and the driver's tag.
#[derive(Clone, Debug)]
pub struct Access<A> {
    /// The accessing thread's epoch.
    pub epoch: Epoch,
    /// The runtime id of the thread.
    pub thread: u64,
    /// Read or write.
    pub kind: AccessKind,
    /// What the driver keeps about it.
    pub tag: A,
}

/// Two accesses to one location, at least one a write, that no
/// synchronization orders: `earlier` was made first.
#[derive(Clone, Debug)]
pub struct Race<A> {
    /// The access the shadow remembered.
    pub earlier: Access<A>,
    /// The access being made.
    pub later: Access<A>,
}

/// A window split by another thread's write.
#[derive(Clone, Debug)]
pub struct Violation<A> {
    /// The read that opened the window.
    pub read: Access<A>,
    /// The other thread's write: inside the window (observed), or the
    /// write the read saw with nothing ordering it before the read (merely
    /// unordered: it could as well have come inside).
    pub foreign: Access<A>,
    /// The write that closed the window.
    pub write: Access<A>,
    /// The foreign write came between the read and the write in this run.
    pub observed: bool,
}

/// A read waiting for the same thread's write, the window a check-then-act
/// leaves open.
#[derive(Clone, Debug)]
struct Window<A> {
    read: Access<A>,
    /// The first other thread's write inside the window.
    interrupted: Option<Access<A>>,
    /// The other thread's write the read saw, when nothing (not even the
    /// location itself) ordered it before the read.
    concurrent: Option<Access<A>>,
    /// The read was itself a race: the race is the report.
    raced: bool,
}

/// The reads the shadow remembers: one epoch, or one per thread slot.
#[derive(Clone, Debug)]
enum Reads<A> {
    None,
    One(Access<A>),
    Many(Vec<Access<A>>),
}

/// The shadow state of one tracked location.
#[derive(Clone, Debug)]
pub struct Shadow<A> {
    write: Option<Access<A>>,
    reads: Reads<A>,
    windows: Vec<Window<A>>,
    /// Operations applied so far: the order a trace replays them in.
    seq: u64,
}

impl<A> Default for Shadow<A> {
    fn default() -> Self {
        Shadow {
            write: None,
            reads: Reads::None,
            windows: Vec::new(),
            seq: 0,
        }
    }
}

/// One operation on a tracked location, as both drivers apply it
/// ([`Shadow::apply`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocOp {
    /// A read; `check`: whether it can race (not for an atomic).
    Read {
        /// Check for a race.
        check: bool,
    },
    /// A write; `check` as for a read.
    Write {
        /// Check for a race.
        check: bool,
    },
    /// An atomic read-modify-write.
    Update,
    /// An exclusive access (`&mut`): history restarts.
    Reset,
}

impl LocOp {
    /// The operation's code in a trace: `r`, `w`, `u`, `x` (a read or
    /// write of an atomic is checked by nobody: its kind says so).
    pub fn code(self) -> &'static str {
        match self {
            LocOp::Read { .. } => "r",
            LocOp::Write { .. } => "w",
            LocOp::Update => "u",
            LocOp::Reset => "x",
        }
    }

    /// From [`LocOp::code`], for a location whose accesses race (`check`)
    /// or not (an atomic).
    pub fn from_code(code: &str, check: bool) -> Option<LocOp> {
        Some(match code {
            "r" => LocOp::Read { check },
            "w" => LocOp::Write { check },
            "u" => LocOp::Update,
            "x" => LocOp::Reset,
            _ => return None,
        })
    }

    /// The access kind of the operation (a reset has none: `None`).
    pub fn kind(self) -> Option<AccessKind> {
        match self {
            LocOp::Read { .. } => Some(AccessKind::Read),
            LocOp::Write { .. } => Some(AccessKind::Write),
            LocOp::Update => Some(AccessKind::Update),
            LocOp::Reset => None,
        }
    }
}

/// What one write found. Boxed: an outcome is returned on every access,
/// and a race or violation (large: up to three accesses) almost never.
#[derive(Clone, Debug)]
pub struct WriteOutcome<A> {
    /// The race this write is part of, if any.
    pub race: Option<Box<Race<A>>>,
    /// The window this write closed was split, if it was.
    pub violation: Option<Box<Violation<A>>>,
}

/// At most this many open windows per location; the oldest goes first.
const MAX_WINDOWS: usize = 16;

impl<A: Clone> Shadow<A> {
    /// A location nobody accessed (construction is not a write).
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies operation `op` (its access made by a thread whose clock is
    /// `clock`), returning what it found, and the operation's place in this
    /// location's order (0 for the first). The one step both the live
    /// runtime and the replay of a trace take.
    pub fn apply(
        &mut self,
        op: LocOp,
        access: Option<Access<A>>,
        clock: &VClock,
    ) -> (u64, WriteOutcome<A>) {
        let n = self.seq;
        self.seq += 1;
        let none = WriteOutcome {
            race: None,
            violation: None,
        };
        let out = match (op, access) {
            (LocOp::Read { check }, Some(a)) => WriteOutcome {
                race: self.read(a, clock, check).map(Box::new),
                violation: None,
            },
            (LocOp::Write { check }, Some(a)) => self.write(a, clock, check),
            (LocOp::Update, Some(a)) => {
                self.update(a);
                none
            }
            _ => {
                self.reset();
                none
            }
        };
        (n, out)
    }

    /// The epoch of the last write, for a driver's same-epoch fast path.
    pub fn write_epoch(&self) -> Epoch {
        self.write.as_ref().map_or(Epoch::NONE, |w| w.epoch)
    }

    /// The epoch of the only read remembered, if reads are one epoch.
    pub fn read_epoch(&self) -> Epoch {
        match &self.reads {
            Reads::One(r) => r.epoch,
            _ => Epoch::NONE,
        }
    }

    /// A read by `access.thread` whose clock is `clock` (for an atomic
    /// load, after the load's own synchronization). `check` says whether a
    /// race is possible at all (atomic accesses never race).
    pub fn read(&mut self, access: Access<A>, clock: &VClock, check: bool) -> Option<Race<A>> {
        let mut race = None;
        if check {
            if let Some(w) = &self.write {
                if w.thread != access.thread && !w.epoch.before(clock) {
                    race = Some(Race {
                        earlier: w.clone(),
                        later: access.clone(),
                    });
                }
            }
        }
        // Remember the read (FastTrack's read rules).
        let slot = access.epoch.slot();
        match &mut self.reads {
            Reads::None => self.reads = Reads::One(access.clone()),
            Reads::One(r) if r.epoch.slot() == slot || r.epoch.before(clock) => {
                *r = access.clone();
            }
            Reads::One(r) => {
                let first = r.clone();
                self.reads = Reads::Many(vec![first, access.clone()]);
            }
            Reads::Many(v) => match v.iter_mut().find(|r| r.epoch.slot() == slot) {
                Some(r) => *r = access.clone(),
                None => v.push(access.clone()),
            },
        }
        self.open_window(access, clock, race.is_some());
        race
    }

    fn open_window(&mut self, read: Access<A>, clock: &VClock, raced: bool) {
        let concurrent = self
            .write
            .as_ref()
            .filter(|w| w.thread != read.thread && !w.epoch.before(clock))
            .cloned();
        self.windows.retain(|w| w.read.thread != read.thread);
        if self.windows.len() >= MAX_WINDOWS {
            self.windows.remove(0);
        }
        self.windows.push(Window {
            read,
            interrupted: None,
            concurrent,
            raced,
        });
    }

    /// A plain write by `access.thread` whose clock is `clock`: the race it
    /// makes, and the atomicity violation it completes. `check` as for
    /// [`Shadow::read`].
    pub fn write(&mut self, access: Access<A>, clock: &VClock, check: bool) -> WriteOutcome<A> {
        let race = if check {
            self.write_race(&access, clock)
        } else {
            None
        };
        let violation = self.close_window(&access, race.is_none());
        self.interrupt_others(&access);
        self.write = Some(access);
        self.reads = Reads::None;
        WriteOutcome {
            race: race.map(Box::new),
            violation: violation.map(Box::new),
        }
    }

    /// An atomic read-modify-write: it cannot split a window of its own
    /// thread, and it is a write inside everyone else's.
    pub fn update(&mut self, access: Access<A>) {
        self.windows.retain(|w| w.read.thread != access.thread);
        self.interrupt_others(&access);
        self.write = Some(access);
        self.reads = Reads::None;
    }

    /// An exclusive access (`&mut`, `into_inner`): nothing can race with
    /// it, and it forgets what came before.
    pub fn reset(&mut self) {
        let seq = self.seq;
        *self = Shadow::new();
        self.seq = seq;
    }

    fn write_race(&self, access: &Access<A>, clock: &VClock) -> Option<Race<A>> {
        let unordered = |a: &Access<A>| a.thread != access.thread && !a.epoch.before(clock);
        let earlier = match (&self.write, &self.reads) {
            (Some(w), _) if unordered(w) => Some(w),
            (_, Reads::One(r)) if unordered(r) => Some(r),
            (_, Reads::Many(v)) => v.iter().find(|r| unordered(r)),
            _ => None,
        }?;
        Some(Race {
            earlier: earlier.clone(),
            later: access.clone(),
        })
    }

    fn close_window(&mut self, write: &Access<A>, judge: bool) -> Option<Violation<A>> {
        let i = self
            .windows
            .iter()
            .position(|w| w.read.thread == write.thread)?;
        let w = self.windows.remove(i);
        if !judge || w.raced {
            return None;
        }
        let (foreign, observed) = match (w.interrupted, w.concurrent) {
            (Some(f), _) => (f, true),
            (None, Some(c)) => (c, false),
            (None, None) => return None,
        };
        Some(Violation {
            read: w.read,
            foreign,
            write: write.clone(),
            observed,
        })
    }

    fn interrupt_others(&mut self, write: &Access<A>) {
        for w in &mut self.windows {
            if w.read.thread != write.thread && w.interrupted.is_none() {
                w.interrupted = Some(write.clone());
            }
        }
    }
}

/// An access described for a report.
#[derive(Clone, Debug)]
pub struct AccessReport {
    /// Who.
    pub thread: ThreadInfo,
    /// Read, write or update.
    pub kind: AccessKind,
    /// Where.
    pub site: Site,
    /// The locks the thread held, with where each was taken.
    pub held: Vec<(ObjectInfo, Site)>,
    /// The thread's last synchronization before the access, in words
    /// (`acquired "m" at src/lib.rs:3:9`), if it had any.
    pub last_sync: Option<String>,
    /// The value read or written, when known (atomics).
    pub value: Option<String>,
    /// The captured stack of the access, when one was.
    pub stack: Option<StackRef>,
}

impl AccessReport {
    fn op(&self) -> Op {
        match self.kind {
            AccessKind::Read => Op::Reads,
            AccessKind::Write | AccessKind::Update => Op::Writes,
        }
    }

    fn held_words(&self) -> String {
        if self.held.is_empty() {
            return "holding no lock".to_owned();
        }
        let list: Vec<String> = self
            .held
            .iter()
            .map(|(o, s)| format!("{} (taken at {s})", o.label()))
            .collect();
        format!("holding {}", list.join(", "))
    }

    fn step(&self, t: crate::model::ThreadId, location: &ObjectInfo, what: &str) -> Evidence {
        let mut e = Evidence::new(t, location.id, self.op(), self.site.clone());
        let value = self
            .value
            .as_ref()
            .map(|v| format!(" (value {v})"))
            .unwrap_or_default();
        let sync = self
            .last_sync
            .as_ref()
            .map(|s| format!("; its last synchronization before: {s}"))
            .unwrap_or_else(|| "; no synchronization before it".to_owned());
        e.note = Some(format!("{what}{value}, {}{sync}", self.held_words()));
        e.stack = self.stack.clone();
        e
    }

    fn phrase(&self) -> String {
        format!(
            "{} {} at {}",
            self.thread.label(),
            self.kind.verb(),
            self.site
        )
    }
}

/// The lock held exclusively at both accesses of a window, if any: the
/// check and the act were two critical sections of it.
pub fn common_exclusive(read: &[(u64, crate::Mode)], write: &[(u64, crate::Mode)]) -> Option<u64> {
    read.iter()
        .find(|(o, m)| !m.is_shared() && write.iter().any(|(p, _)| p == o))
        .map(|(o, _)| *o)
}

/// A thread's last synchronization in a report's words: `verb`, what it
/// synchronized through (if an object), where.
pub fn sync_words(verb: &str, object: Option<&ObjectInfo>, site: &Site) -> String {
    match object {
        Some(o) => format!("{verb} {} at {site}", o.label()),
        None => format!("{verb} at {site}"),
    }
}

/// What a location is, in a sentence's words.
fn location_words(location: &ObjectInfo) -> &'static str {
    match location.kind {
        ObjectKind::Atomic => "atomic",
        ObjectKind::Cell => "cell",
        _ => "tracked value",
    }
}

/// A `data_race` error on `location`: `earlier` and `later` are unordered.
pub fn data_race(location: &ObjectInfo, earlier: &AccessReport, later: &AccessReport) -> Finding {
    let mut cast = Cast::default();
    cast.object(location);
    let t1 = cast.thread(&earlier.thread);
    let t2 = cast.thread(&later.thread);
    for (o, _) in earlier.held.iter().chain(&later.held) {
        cast.object(o);
    }
    let evidence = vec![
        earlier.step(t1, location, "first access"),
        later.step(t2, location, "second access, unordered with the first"),
    ];
    let common: Vec<&ObjectInfo> = earlier
        .held
        .iter()
        .filter(|(o, _)| later.held.iter().any(|(p, _)| p.id == o.id))
        .map(|(o, _)| o)
        .collect();
    let missing = if common.is_empty() {
        format!(
            "missing edge: no lock is held at both accesses, and {} did not synchronize with {} between them (no lock release then acquire, notify then wake, set then wait, spawn, join or Release/Acquire atomic pair connects them)",
            later.thread.label(),
            earlier.thread.label()
        )
    } else {
        format!(
            "missing edge: both hold {}, yet in shared mode, which does not order accesses",
            common[0].label()
        )
    };
    // Canonical: the pair, sorted, so which thread came first does not matter.
    let mut pair = [
        format!("{}@{}", earlier.kind.verb(), earlier.site),
        format!("{}@{}", later.kind.verb(), later.site),
    ];
    pair.sort();
    let key = location.class_key();
    Finding {
        kind: Kind::DataRace,
        severity: Severity::Error,
        summary: format!(
            "data race on {} {}: {} and {}, and nothing orders the two",
            location_words(location),
            location.label(),
            earlier.phrase(),
            later.phrase()
        ),
        fingerprint: Fingerprint::of(
            Kind::DataRace,
            [key.as_str(), pair[0].as_str(), pair[1].as_str()],
        ),
        threads: cast.threads,
        objects: cast.objects,
        evidence,
        notes: vec![
            missing,
            "fix: guard every access with one lock, make the location atomic, or publish it with a Release store and read it after an Acquire load of the same flag".to_owned(),
        ],
    }
}

/// An `atomicity_violation` on `location`: `read` then `write` by one
/// thread, split by `foreign`. `common_lock` is a lock held at both the read
/// and the write, when there was one (two critical sections of it).
pub fn atomicity_violation(
    location: &ObjectInfo,
    read: &AccessReport,
    foreign: &AccessReport,
    write: &AccessReport,
    observed: bool,
    common_lock: Option<&ObjectInfo>,
) -> Finding {
    let mut cast = Cast::default();
    cast.object(location);
    let t = cast.thread(&read.thread);
    let u = cast.thread(&foreign.thread);
    if let Some(l) = common_lock {
        cast.object(l);
    }
    let evidence = if observed {
        vec![
            read.step(t, location, "checks"),
            foreign.step(u, location, "another thread writes in between"),
            write.step(t, location, "acts on what it read, overwriting that write"),
        ]
    } else {
        vec![
            foreign.step(
                u,
                location,
                "another thread writes; nothing orders this write before the check that sees it",
            ),
            read.step(t, location, "checks"),
            write.step(t, location, "acts on what it read"),
        ]
    };
    let fix = match (location.kind, common_lock) {
        (_, Some(l)) => format!(
            "fix: do the check and the act in one critical section of {} (hold one guard across both)",
            l.label()
        ),
        (ObjectKind::Atomic, None) => "fix: make the read-modify-write one atomic step: `fetch_add`/`fetch_sub`, `fetch_update`, or a `compare_exchange` loop that retries when the value changed".to_owned(),
        _ => "fix: hold one lock across the read and the write, or make the location atomic and update it with `fetch_update` or a `compare_exchange` loop".to_owned(),
    };
    let what = if observed {
        format!(
            "{}'s write came between them and is lost",
            foreign.thread.label()
        )
    } else {
        format!(
            "{}'s write at {} is unordered with that window, so in another run it lands inside and is lost",
            foreign.thread.label(),
            foreign.site
        )
    };
    let key = location.class_key();
    let (r, w, f) = (
        format!("r@{}", read.site),
        format!("w@{}", write.site),
        format!("f@{}", foreign.site),
    );
    let mut parts = vec![key.as_str(), r.as_str(), w.as_str()];
    if observed {
        parts.push(f.as_str());
    }
    Finding {
        kind: Kind::AtomicityViolation,
        severity: if observed {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: format!(
            "atomicity violation on {} {}: {} reads it at {} and writes it back at {}; {what}",
            location_words(location),
            location.label(),
            read.thread.label(),
            read.site,
            write.site
        ),
        fingerprint: Fingerprint::of(Kind::AtomicityViolation, parts),
        threads: cast.threads,
        objects: cast.objects,
        evidence,
        notes: vec![fix],
    }
}

#[cfg(test)]
mod tests;
