//! The race rules on small histories: each finding fires, and its correct twin stays silent.

use super::*;

/// A thread of the tests: its slot is its id, its clock its own.
struct T {
    id: u64,
    vc: VClock,
}

type Out = WriteOutcome<&'static str>;

impl T {
    fn new(id: u64) -> Self {
        let mut vc = VClock::new();
        vc.set(id as u32, 1);
        T { id, vc }
    }
    fn access(&self, kind: AccessKind, tag: &'static str) -> Access<&'static str> {
        Access {
            epoch: self.vc.epoch(self.id as u32),
            thread: self.id,
            kind,
            tag,
        }
    }
    fn read(&self, s: &mut Shadow<&'static str>, tag: &'static str) -> Option<&'static str> {
        s.read(self.access(AccessKind::Read, tag), &self.vc, true)
            .map(|r| r.earlier.tag)
    }
    fn write(&self, s: &mut Shadow<&'static str>, tag: &'static str) -> Out {
        s.write(self.access(AccessKind::Write, tag), &self.vc, true)
    }
    /// A release into `sync`, then the thread's next epoch.
    fn release(&mut self, sync: &mut VClock) {
        sync.join(&self.vc);
        self.vc.tick(self.id as u32);
    }
    fn acquire(&mut self, sync: &VClock) {
        self.vc.join(sync);
    }
}

#[test]
fn unordered_write_then_read_races_and_ordered_does_not() {
    let (a, mut b) = (T::new(0), T::new(1));
    let mut s = Shadow::new();
    assert!(a.write(&mut s, "a writes").race.is_none());
    assert_eq!(b.read(&mut s, "b reads"), Some("a writes"));

    // The twin: a releases a lock after its write, b acquires it first.
    let mut a = T::new(0);
    let mut s = Shadow::new();
    let mut lock = VClock::new();
    a.write(&mut s, "a writes");
    a.release(&mut lock);
    b.acquire(&lock);
    assert_eq!(b.read(&mut s, "b reads"), None);
    assert!(b.write(&mut s, "b writes").race.is_none());
}

#[test]
fn read_then_unordered_write_races_also_when_reads_are_shared() {
    let (a, b, c) = (T::new(0), T::new(1), T::new(2));
    let mut s = Shadow::new();
    assert_eq!(a.read(&mut s, "a reads"), None);
    assert_eq!(b.read(&mut s, "b reads"), None);
    let out = c.write(&mut s, "c writes");
    assert!(matches!(
        out.race.map(|r| r.earlier.tag),
        Some("a reads" | "b reads")
    ));
    // Reads by many threads never race with each other.
    let mut s = Shadow::new();
    for t in [&a, &b, &c] {
        assert_eq!(t.read(&mut s, "reads"), None);
    }
}

#[test]
fn same_thread_never_races_and_same_epoch_is_visible() {
    let a = T::new(3);
    let mut s = Shadow::new();
    a.write(&mut s, "w");
    assert_eq!(s.write_epoch(), a.vc.epoch(3));
    assert_eq!(a.read(&mut s, "r"), None);
    assert_eq!(s.read_epoch(), a.vc.epoch(3));
    assert!(a.write(&mut s, "w2").race.is_none());
}

#[test]
fn split_read_modify_write_with_a_write_inside_is_observed() {
    // Each access synchronized through a lock: no race, yet an update is lost.
    let (mut a, mut b) = (T::new(0), T::new(1));
    let mut s = Shadow::new();
    let mut lock = VClock::new();
    assert_eq!(a.read(&mut s, "a checks"), None);
    a.release(&mut lock);
    b.acquire(&lock);
    let inside = b.write(&mut s, "b writes");
    assert!(inside.race.is_none() && inside.violation.is_none());
    b.release(&mut lock);
    a.acquire(&lock);
    let out = a.write(&mut s, "a acts");
    assert!(out.race.is_none());
    let v = out.violation.expect("a split check-then-act");
    assert!(v.observed);
    assert_eq!(
        (v.read.tag, v.foreign.tag, v.write.tag),
        ("a checks", "b writes", "a acts")
    );
}

#[test]
fn one_step_update_or_a_fresh_read_closes_nothing() {
    let (a, b) = (T::new(0), T::new(1));
    let mut s = Shadow::new();
    a.read(&mut s, "a checks");
    s.update(b.access(AccessKind::Update, "b fetch_add"));
    // a reads again after b's write: the window starts over.
    a.read(&mut s, "a re-checks");
    assert!(a.write(&mut s, "a acts").violation.is_none());
    // A compare_exchange after a load is one step: no window to split.
    let mut s = Shadow::new();
    a.read(&mut s, "a loads");
    s.update(b.access(AccessKind::Update, "b fetch_add"));
    s.update(a.access(AccessKind::Update, "a compare_exchange"));
    assert!(a.write(&mut s, "a later store").violation.is_none());
}

#[test]
fn a_window_over_an_unordered_write_is_a_warning_and_an_acquired_one_is_not() {
    // Atomic accesses: no race check. b's read sees a's write with no
    // ordering (Relaxed): in another run a's write lands in b's window.
    let (a, b) = (T::new(0), T::new(1));
    let mut s = Shadow::new();
    s.write(a.access(AccessKind::Write, "a stores"), &a.vc, false);
    s.read(b.access(AccessKind::Read, "b loads"), &b.vc, false);
    let v = s
        .write(b.access(AccessKind::Write, "b stores"), &b.vc, false)
        .violation
        .expect("unordered window");
    assert!(!v.observed);
    assert_eq!(v.foreign.tag, "a stores");

    // The twin: b's load acquires a's release (Release/Acquire): ordered.
    let (mut a, mut b) = (T::new(0), T::new(1));
    let mut s = Shadow::new();
    let mut atomic = VClock::new();
    s.write(a.access(AccessKind::Write, "a stores"), &a.vc, false);
    a.release(&mut atomic);
    b.acquire(&atomic);
    s.read(b.access(AccessKind::Read, "b loads"), &b.vc, false);
    assert!(s
        .write(b.access(AccessKind::Write, "b stores"), &b.vc, false)
        .violation
        .is_none());
}

#[test]
fn a_race_is_reported_as_a_race_not_also_as_a_violation() {
    let (a, b) = (T::new(0), T::new(1));
    let mut s = Shadow::new();
    a.read(&mut s, "a reads");
    b.write(&mut s, "b writes");
    let out = a.write(&mut s, "a writes");
    assert!(out.race.is_some());
    assert!(out.violation.is_none());
}

#[test]
fn clocks_join_and_order() {
    let mut x = VClock::new();
    x.set(2, 5);
    let mut y = VClock::new();
    y.set(0, 1);
    assert!(!x.le(&y));
    y.join(&x);
    assert!(x.le(&y));
    assert_eq!(y.get(2), 5);
    assert_eq!(y.get(9), 0);
    let e = Epoch::new(2, 5);
    assert_eq!((e.slot(), e.clock()), (2, 5));
    assert!(e.before(&y));
    assert!(!Epoch::new(2, 6).before(&y));
    assert!(Epoch::NONE.before(&VClock::new()));
    assert_eq!(Epoch::from_bits(e.bits()), e);
}

fn report(thread: u64, kind: AccessKind, line: u32) -> AccessReport {
    AccessReport {
        thread: ThreadInfo {
            span: None,
            id: crate::ThreadId(thread),
            name: Some(format!("t{thread}").into()),
        },
        kind,
        site: Site::new("src/x.rs", line, 5),
        held: Vec::new(),
        last_sync: None,
        value: None,
        stack: None,
    }
}

#[test]
fn findings_name_the_accesses_and_fingerprints_ignore_who_came_first() {
    let loc = ObjectInfo {
        api: None,
        id: crate::ObjectId(7),
        kind: ObjectKind::Tracked,
        name: Some("counter".into()),
        site: Site::new("src/x.rs", 1, 1),
    };
    let w = report(1, AccessKind::Write, 10);
    let r = report(2, AccessKind::Read, 20);
    let f1 = data_race(&loc, &w, &r);
    let f2 = data_race(
        &loc,
        &report(5, AccessKind::Read, 20),
        &report(6, AccessKind::Write, 10),
    );
    assert_eq!(f1.fingerprint, f2.fingerprint);
    assert_eq!(f1.kind, Kind::DataRace);
    assert_eq!(f1.evidence.len(), 2);
    assert!(f1.summary.contains("\"counter\""), "{}", f1.summary);
    let av = atomicity_violation(
        &loc,
        &report(1, AccessKind::Read, 10),
        &report(2, AccessKind::Write, 30),
        &report(1, AccessKind::Write, 11),
        true,
        None,
    );
    assert_eq!(
        (av.kind, av.severity),
        (Kind::AtomicityViolation, Severity::Error)
    );
    assert_eq!(av.evidence.len(), 3);
}

#[test]
fn release_acquire_atomics_order_and_relaxed_ones_do_not() {
    let mut atomic = VClock::new();
    let mut a = ThreadClock::new(0, VClock::new());
    a.tick();
    let mut b = ThreadClock::new(1, VClock::new());
    b.tick();
    let written = a.epoch();
    assert!(a.atomic(AtomicKind::Store, Order::Release, &mut atomic, None));
    a.tick();
    b.atomic(AtomicKind::Load, Order::Acquire, &mut atomic, None);
    assert!(
        written.before(&b.vc),
        "Release store -> Acquire load orders"
    );

    // Relaxed store: no clock for the loader.
    let (mut atomic, mut a) = (VClock::new(), ThreadClock::new(0, VClock::new()));
    a.tick();
    let mut b = ThreadClock::new(1, VClock::new());
    let written = a.epoch();
    assert!(!a.atomic(AtomicKind::Store, Order::Relaxed, &mut atomic, None));
    b.atomic(AtomicKind::Load, Order::Acquire, &mut atomic, None);
    assert!(!written.before(&b.vc));
}

#[test]
fn a_read_modify_write_continues_a_release_sequence_and_a_relaxed_store_ends_it() {
    let (mut atomic, mut a, mut c) = (
        VClock::new(),
        ThreadClock::new(0, VClock::new()),
        ThreadClock::new(2, VClock::new()),
    );
    a.tick();
    let written = a.epoch();
    a.atomic(AtomicKind::Store, Order::Release, &mut atomic, None);
    // Another thread's relaxed fetch_add: the sequence goes on.
    let mut b = ThreadClock::new(1, VClock::new());
    b.atomic(AtomicKind::Update, Order::Relaxed, &mut atomic, None);
    c.atomic(AtomicKind::Load, Order::Acquire, &mut atomic, None);
    assert!(written.before(&c.vc));
    // A relaxed plain store by another thread ends it.
    b.atomic(AtomicKind::Store, Order::Relaxed, &mut atomic, None);
    let mut d = ThreadClock::new(3, VClock::new());
    d.atomic(AtomicKind::Load, Order::Acquire, &mut atomic, None);
    assert!(!written.before(&d.vc));
}

#[test]
fn fences_carry_relaxed_accesses_and_seq_cst_orders_everything() {
    let (mut atomic, mut a, mut b) = (
        VClock::new(),
        ThreadClock::new(0, VClock::new()),
        ThreadClock::new(1, VClock::new()),
    );
    a.tick();
    let written = a.epoch();
    a.fence(Order::Release, None);
    a.atomic(AtomicKind::Store, Order::Relaxed, &mut atomic, None);
    b.atomic(AtomicKind::Load, Order::Relaxed, &mut atomic, None);
    assert!(!written.before(&b.vc), "not before the acquire fence");
    b.fence(Order::Acquire, None);
    assert!(written.before(&b.vc), "release fence ... acquire fence");

    // SeqCst operations on two different atomics are ordered by the total order.
    let (mut x, mut y, mut sc) = (VClock::new(), VClock::new(), VClock::new());
    let (mut a, mut b) = (
        ThreadClock::new(0, VClock::new()),
        ThreadClock::new(1, VClock::new()),
    );
    a.tick();
    let written = a.epoch();
    a.atomic(AtomicKind::Store, Order::SeqCst, &mut x, Some(&mut sc));
    b.atomic(AtomicKind::Load, Order::SeqCst, &mut y, Some(&mut sc));
    assert!(written.before(&b.vc));
}

#[test]
fn rwlock_readers_publish_to_writers_only() {
    let mut lock = SyncClock::new();
    let (mut r1, mut r2, mut w) = (
        ThreadClock::new(0, VClock::new()),
        ThreadClock::new(1, VClock::new()),
        ThreadClock::new(2, VClock::new()),
    );
    r1.tick();
    let read = r1.epoch();
    r1.release(&mut lock, true);
    r2.acquire(&lock, false);
    assert!(
        !read.before(&r2.vc),
        "a reader does not order another reader"
    );
    w.acquire(&lock, true);
    assert!(read.before(&w.vc), "a writer comes after every reader");
}
