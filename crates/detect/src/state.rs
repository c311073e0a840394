//! The per-thread and per-object state both drivers keep, with the rules that change it: held stacks and chain hashes, when an acquisition teaches the graph, failure streaks, notification marks, and who owns a release made elsewhere.
//!
//! The live runtime keeps these in a thread-local (held stacks, streaks),
//! inside each primitive (marks) and in its shared state (orphans); the
//! replay keeps them in maps. Where they live is the driver's business;
//! what an event does to them is decided here, once. A type is generic
//! over what the driver keeps beside each entry (`X`) or how it names a
//! site (`S`): a `Location` live, an interned id in a trace.

use crate::livelock::FAILS;
use crate::model::{chain_hash, Mode};

/// One held lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held<X> {
    /// The lock.
    pub object: u64,
    /// The mode it is held in.
    pub mode: Mode,
    /// Hash of the held stack up to and including this entry.
    pub chain: u64,
    /// What the driver keeps beside it (the acquisition site, at least).
    pub extra: X,
}

/// A thread's held locks, oldest first, each with the chain hash of the
/// stack up to it. Two stacks with the same locks in the same order and
/// modes have the same top chain: that is what the chain caches key on.
#[derive(Clone, Debug, Default)]
pub struct HeldStack<X> {
    entries: Vec<Held<X>>,
}

impl<X> HeldStack<X> {
    /// An empty stack; usable in a `const` thread-local.
    pub const fn new() -> Self {
        HeldStack {
            entries: Vec::new(),
        }
    }

    /// The entries, oldest first.
    #[inline]
    pub fn entries(&self) -> &[Held<X>] {
        &self.entries
    }

    /// Whether one more entry fits without growing the stack (so without
    /// allocating).
    #[inline]
    pub fn has_room(&self) -> bool {
        self.entries.len() < self.entries.capacity()
    }

    /// Whether nothing is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most recent entry.
    #[inline]
    pub fn last(&self) -> Option<&Held<X>> {
        self.entries.last()
    }

    /// The mode of the most recent entry for `object`, if it is held.
    #[inline]
    pub fn mode_of(&self, object: u64) -> Option<Mode> {
        self.entries
            .iter()
            .rev()
            .find(|h| h.object == object)
            .map(|h| h.mode)
    }

    /// The most recent entry for `object`.
    pub fn entry(&self, object: u64) -> Option<&Held<X>> {
        self.entries.iter().rev().find(|h| h.object == object)
    }

    /// Whether a lock other than `object` is held: an acquisition of
    /// `object` now is nested and adds order edges.
    #[inline]
    pub fn nested(&self, object: u64) -> bool {
        self.entries.iter().any(|h| h.object != object)
    }

    /// The chain hash the stack would have with `object` pushed in `mode`.
    #[inline]
    pub fn next_chain(&self, object: u64, mode: Mode) -> u64 {
        chain_hash(self.entries.last().map_or(0, |h| h.chain), object, mode)
    }

    /// The steady-state rule: the chain hash with `object` pushed if the
    /// acquisition has nothing new to say, `None` if it must be judged (the
    /// thread already holds `object`: a possible self-wait; or `known`
    /// says the chain was not learned yet). Holding nothing, every
    /// acquisition is known: it adds no edge.
    #[inline]
    pub fn known_chain(&self, object: u64, mode: Mode, known: impl Fn(u64) -> bool) -> Option<u64> {
        let Some(top) = self.entries.last() else {
            return Some(chain_hash(0, object, mode));
        };
        if self.entries.iter().any(|h| h.object == object) {
            return None;
        }
        let chain = chain_hash(top.chain, object, mode);
        known(chain).then_some(chain)
    }

    /// The learn rule: the chain of an acquisition of `object` in `mode`
    /// if it has something to teach the lock-order graph, that is if it is
    /// an rwlock's first write (`first_write`: read-read inversions through
    /// it may now block), or nested in a chain `known` does not have yet.
    /// The driver then feeds the graph and remembers the chain.
    pub fn teaches(
        &self,
        object: u64,
        mode: Mode,
        first_write: bool,
        known: impl Fn(u64) -> bool,
    ) -> Option<u64> {
        let chain = self.next_chain(object, mode);
        (first_write || (self.nested(object) && !known(chain))).then_some(chain)
    }

    /// Pushes `object`, held in `mode`, with the chain hash it gets on top
    /// (from [`HeldStack::next_chain`] or [`HeldStack::known_chain`]).
    #[inline]
    pub fn push_with_chain(&mut self, object: u64, mode: Mode, chain: u64, extra: X) {
        self.entries.push(Held {
            object,
            mode,
            chain,
            extra,
        });
    }

    /// Pushes `object`, held in `mode`.
    pub fn push(&mut self, object: u64, mode: Mode, extra: X) {
        let chain = self.next_chain(object, mode);
        self.push_with_chain(object, mode, chain, extra);
    }

    /// Forgets the most recent entry for `object` (the top one, usually),
    /// rebuilding the chains above it.
    #[inline]
    pub fn remove(&mut self, object: u64) -> Option<Held<X>> {
        match self.entries.last() {
            Some(top) if top.object == object => self.entries.pop(),
            _ => {
                let i = self.entries.iter().rposition(|h| h.object == object)?;
                let h = self.entries.remove(i);
                self.rechain(i);
                Some(h)
            }
        }
    }

    /// The most recent entry for `object` is now held in `mode` (an
    /// upgrade, a downgrade).
    pub fn remode(&mut self, object: u64, mode: Mode) {
        if let Some(i) = self.entries.iter().rposition(|h| h.object == object) {
            self.entries[i].mode = mode;
            self.rechain(i);
        }
    }

    /// Removes and returns every entry (the thread ended).
    pub fn drain(&mut self) -> Vec<Held<X>> {
        std::mem::take(&mut self.entries)
    }

    /// What the driver keeps beside each entry, mutably (flags it updates).
    pub fn extras_mut(&mut self) -> impl Iterator<Item = &mut X> {
        self.entries.iter_mut().map(|h| &mut h.extra)
    }

    /// Recomputes the chain hashes from entry `from` up, after a change
    /// below the top.
    fn rechain(&mut self, from: usize) {
        for i in from..self.entries.len() {
            let prev = if i == 0 { 0 } else { self.entries[i - 1].chain };
            let h = &mut self.entries[i];
            h.chain = chain_hash(prev, h.object, h.mode);
        }
    }
}

/// A streak of failed acquisition attempts with no progress in between: the
/// raw material of a `livelock`.
///
/// A failure is a failed `try_lock`, a timed-out acquisition, or an
/// `is_locked()` that answered yes. Progress ends the streak: acquiring a
/// lock the streak failed on, or `lockgraph::progress()`.
#[derive(Clone, Debug, Default)]
pub struct Streak<S> {
    /// Each lock failed on: its id, the latest failure's site, the count.
    pub fails: Vec<(u64, S, u64)>,
}

impl<S> Streak<S> {
    /// An empty streak.
    pub const fn new() -> Self {
        Streak { fails: Vec::new() }
    }

    /// One more failure on `object` at `site`. Returns whether the thread
    /// has just become a spinner ([`FAILS`] failures since its last
    /// progress), or is one and must look again.
    pub fn fail(&mut self, object: u64, site: S) -> bool {
        match self.fails.iter_mut().find(|f| f.0 == object) {
            Some(f) => {
                f.1 = site;
                f.2 = f.2.saturating_add(1);
            }
            None => self.fails.push((object, site, 1)),
        }
        self.total() >= FAILS
    }

    /// Failures in all.
    pub fn total(&self) -> u64 {
        self.fails.iter().map(|f| f.2).sum()
    }

    /// Whether acquiring `object` is progress: the streak failed on it.
    pub fn ended_by(&self, object: u64) -> bool {
        self.fails.iter().any(|f| f.0 == object)
    }

    /// Whether there is no streak.
    pub fn is_empty(&self) -> bool {
        self.fails.is_empty()
    }

    /// Ends the streak.
    pub fn clear(&mut self) {
        self.fails.clear();
    }
}

/// A condvar's mark: the last notification that woke nobody, if no
/// notification has woken anyone since. A wait that begins under the mark
/// carries it, and if nothing can end that wait it is a
/// `missed_notification` rather than a `deadlock`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifyMark<S> {
    lost: Option<(S, u64)>,
}

impl<S: Copy> NotifyMark<S> {
    /// No mark.
    pub const fn new() -> Self {
        NotifyMark { lost: None }
    }

    /// A notification at `site` by thread `by` woke `woken` waits.
    pub fn notified(&mut self, woken: u64, site: S, by: u64) {
        self.lost = if woken == 0 { Some((site, by)) } else { None };
    }

    /// The mark a wait beginning now carries: (site, thread) of the
    /// notification it missed.
    pub fn mark(&self) -> Option<(S, u64)> {
        self.lost
    }

    /// The mark a wait of thread `waiter` beginning now carries. A thread's
    /// own notification was never meant for its own later wait (a queue on
    /// one condvar whose sender then waits for room): it marks nothing.
    pub fn mark_for(&self, waiter: u64) -> Option<(S, u64)> {
        self.lost.filter(|&(_, by)| by != waiter)
    }
}

/// An event's mark: a `set` that was cleared before any waiter saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetMark<S> {
    /// The last `set`: site, thread, and whether a waiter saw it.
    set: Option<(S, u64, bool)>,
    lost: Option<(S, u64)>,
}

impl<S: Copy> SetMark<S> {
    /// No mark.
    pub const fn new() -> Self {
        SetMark {
            set: None,
            lost: None,
        }
    }

    /// A `set` at `site` by thread `by`; `seen` if a waiter was there to see it.
    pub fn set(&mut self, site: S, by: u64, seen: bool) {
        self.set = Some((site, by, seen));
        self.lost = None;
    }

    /// A waiter saw the event set (its wait returned).
    pub fn saw(&mut self) {
        if let Some(s) = &mut self.set {
            s.2 = true;
        }
    }

    /// A `clear`: a `set` nobody saw is now lost.
    pub fn cleared(&mut self) {
        if let Some((site, by, false)) = self.set.take() {
            self.lost = Some((site, by));
        }
    }

    /// The mark a wait beginning now carries.
    pub fn mark(&self) -> Option<(S, u64)> {
        self.lost
    }

    /// The mark a wait of thread `waiter` beginning now carries: none for
    /// its own set and clear.
    pub fn mark_for(&self, waiter: u64) -> Option<(S, u64)> {
        self.lost.filter(|&(_, by)| by != waiter)
    }
}

/// Releases made by a thread that did not hold what it released (a guard
/// sent to another thread, `force_unlock`, a permit given back by a thread
/// that took none), waiting for the thread whose entry they end.
///
/// The rule: the owner claims it. A thread holding the object removes its
/// most recent entry for it (a lock first, else a permit). Live, each
/// thread claims on its next acquisition; the replay offers an orphan to
/// the threads in ascending id order as soon as it is made.
#[derive(Clone, Debug, Default)]
pub struct Orphans {
    objects: Vec<u64>,
}

impl Orphans {
    /// How many unclaimed orphans are kept before the oldest are dropped.
    pub const MAX: usize = 1024;

    /// No orphans.
    pub const fn new() -> Self {
        Orphans {
            objects: Vec::new(),
        }
    }

    /// `object` was released by a thread that did not hold it.
    pub fn post(&mut self, object: u64) {
        if self.objects.len() >= Self::MAX {
            self.objects.remove(0);
        }
        self.objects.push(object);
    }

    /// Whether `object` has an unclaimed release.
    pub fn contains(&self, object: u64) -> bool {
        self.objects.contains(&object)
    }

    /// One thread claims what is its own: each orphan it holds (as a lock,
    /// else as a permit) ends that entry. Returns whether a lock entry went.
    pub fn claim<X, P>(
        &mut self,
        held: &mut HeldStack<X>,
        permits: &mut Vec<P>,
        permit_object: impl Fn(&P) -> u64,
    ) -> bool {
        let mut locks = false;
        self.objects.retain(|&o| {
            if held.remove(o).is_some() {
                locks = true;
                false
            } else if let Some(i) = permits.iter().rposition(|p| permit_object(p) == o) {
                permits.remove(i);
                false
            } else {
                true
            }
        });
        locks
    }

    /// One thread is offered the orphan of `object` alone: if it holds
    /// `object` (as a lock, else as a permit), its entry ends and the
    /// orphan is claimed. Returns whether it was.
    pub fn claim_one<X, P>(
        &mut self,
        object: u64,
        held: &mut HeldStack<X>,
        permits: &mut Vec<P>,
        permit_object: impl Fn(&P) -> u64,
    ) -> bool {
        let Some(i) = self.objects.iter().rposition(|&o| o == object) else {
            return false;
        };
        let claimed = held.remove(object).is_some()
            || match permits.iter().rposition(|p| permit_object(p) == object) {
                Some(j) => {
                    permits.remove(j);
                    true
                }
                None => false,
            };
        if claimed {
            self.objects.remove(i);
        }
        claimed
    }

    /// A permit of `object` is being taken: if a give nobody claimed is
    /// waiting for it (the give came first: a semaphore used as a signal,
    /// or a trace whose threads' events are not in time order), the two
    /// cancel and the permit is not held. Returns whether they did.
    pub fn take_matches(&mut self, object: u64) -> bool {
        match self.objects.iter().position(|&o| o == object) {
            Some(i) => {
                self.objects.remove(i);
                true
            }
            None => false,
        }
    }
}

/// The spawn and join structure of a run: the happens-before that
/// `lock_order_cycle` severity may rely on. Lock releases and acquisitions
/// never enter it (they could come from the cycle's own locks), and threads
/// nobody spawned are related to nothing but through explicit spawns and
/// joins, so two test threads of a harness are never taken as ordered.
///
/// A thread's *fork-join epoch* counts the spawns and joins it made: events
/// at epoch `k` come after its spawns and joins made at epochs below `k`.
#[derive(Clone, Debug, Default)]
pub struct ForkJoin {
    /// Child → (parent, the parent's epoch at the spawn).
    spawned: rustc_hash::FxHashMap<u64, (u64, u32)>,
    /// Parent → (the parent's epoch at the join, child), in order.
    joins: rustc_hash::FxHashMap<u64, Vec<(u32, u64)>>,
}

impl ForkJoin {
    /// Whether nothing was spawned or joined.
    pub fn is_empty(&self) -> bool {
        self.spawned.is_empty() && self.joins.is_empty()
    }

    /// `parent`, at its epoch `k`, spawned `child`.
    pub fn spawned(&mut self, parent: u64, k: u32, child: u64) {
        self.spawned.insert(child, (parent, k));
    }

    /// `parent`, at its epoch `k`, joined `child`: everything the child
    /// did is before the parent's events at epochs above `k`.
    pub fn joined(&mut self, parent: u64, k: u32, child: u64) {
        self.joins.entry(parent).or_default().push((k, child));
    }

    /// Whether thread `a.0` at epoch `a.1` happens before thread `b.0` at
    /// epoch `b.1` through spawns and joins (`u32::MAX`: any epoch).
    pub fn before(&self, a: (u64, u32), b: (u64, u32)) -> bool {
        // Backwards from b, through spawners and joined children; a list,
        // not recursion: a trace may nest spawns arbitrarily deep.
        let mut seen = rustc_hash::FxHashSet::default();
        let mut todo = vec![b];
        while let Some(b) = todo.pop() {
            if a.0 == b.0 {
                if a.1 < b.1 || (a.1 == b.1 && a.1 != u32::MAX) {
                    return true;
                }
                continue;
            }
            if !seen.insert(b) {
                continue;
            }
            // What is before b's thread's start: its spawner, up to the spawn.
            if let Some(&(parent, k)) = self.spawned.get(&b.0) {
                todo.push((parent, k));
            }
            // What b's thread joined before epoch b.1: the whole child.
            if let Some(joins) = self.joins.get(&b.0) {
                todo.extend(
                    joins
                        .iter()
                        .filter(|&&(k, _)| k < b.1)
                        .map(|&(_, child)| (child, u32::MAX)),
                );
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_depend_on_order_and_mode_and_are_rebuilt_after_a_removal() {
        let mut a: HeldStack<()> = HeldStack::new();
        a.push(1, Mode::Exclusive, ());
        a.push(2, Mode::Exclusive, ());
        let mut b: HeldStack<()> = HeldStack::new();
        b.push(2, Mode::Exclusive, ());
        b.push(1, Mode::Exclusive, ());
        assert_ne!(a.last().unwrap().chain, b.last().unwrap().chain);
        a.push(3, Mode::Shared, ());
        a.remove(2);
        let mut c: HeldStack<()> = HeldStack::new();
        c.push(1, Mode::Exclusive, ());
        c.push(3, Mode::Shared, ());
        assert_eq!(a.last().unwrap().chain, c.last().unwrap().chain);
        c.remode(3, Mode::Exclusive);
        assert_ne!(a.last().unwrap().chain, c.last().unwrap().chain);
    }

    #[test]
    fn the_learn_rule() {
        let mut s: HeldStack<()> = HeldStack::new();
        assert_eq!(
            s.teaches(1, Mode::Exclusive, false, |_| false),
            None,
            "not nested"
        );
        assert!(
            s.teaches(1, Mode::Exclusive, true, |_| true).is_some(),
            "a first write"
        );
        s.push(1, Mode::Exclusive, ());
        let chain = s.next_chain(2, Mode::Exclusive);
        assert_eq!(s.teaches(2, Mode::Exclusive, false, |_| false), Some(chain));
        assert_eq!(
            s.teaches(2, Mode::Exclusive, false, |c| c == chain),
            None,
            "known"
        );
        assert_eq!(
            s.known_chain(2, Mode::Exclusive, |c| c == chain),
            Some(chain)
        );
        assert_eq!(
            s.known_chain(1, Mode::Exclusive, |_| true),
            None,
            "a possible self-wait"
        );
    }

    #[test]
    fn streaks_count_to_a_spinner_and_end_on_progress() {
        let mut s: Streak<u32> = Streak::new();
        for i in 0..FAILS - 1 {
            assert!(!s.fail(1 + i % 2, 7));
        }
        assert!(s.fail(1, 8));
        assert_eq!(s.total(), FAILS);
        assert!(s.ended_by(2) && !s.ended_by(3));
    }

    #[test]
    fn marks() {
        let mut n: NotifyMark<u32> = NotifyMark::new();
        n.notified(0, 5, 1);
        assert_eq!(n.mark(), Some((5, 1)));
        assert_eq!(n.mark_for(1), None, "not a thread's own notification");
        assert_eq!(n.mark_for(3), Some((5, 1)));
        n.notified(1, 6, 2);
        assert_eq!(n.mark(), None, "a notification that woke someone clears it");
        let mut e: SetMark<u32> = SetMark::new();
        e.set(5, 1, false);
        e.saw();
        e.cleared();
        assert_eq!(e.mark(), None, "seen before the clear");
        e.set(6, 2, false);
        e.cleared();
        assert_eq!(e.mark(), Some((6, 2)));
    }

    #[test]
    fn the_owner_claims_an_orphan() {
        let mut o = Orphans::new();
        let mut held: HeldStack<()> = HeldStack::new();
        held.push(1, Mode::Exclusive, ());
        let mut permits = vec![9u64];
        o.post(1);
        o.post(9);
        o.post(4);
        assert!(o.claim(&mut held, &mut permits, |&p| p));
        assert!(held.is_empty() && permits.is_empty());
        assert!(o.contains(4));
        assert!(o.take_matches(4) && !o.contains(4));
    }
}

#[cfg(test)]
mod fork_join_tests {
    use super::ForkJoin;

    #[test]
    fn spawn_and_join_order_and_nothing_else_does() {
        // main (1) at epoch 0 spawns a (2); joins it at epoch 1; spawns b (3) at 2.
        let mut fj = ForkJoin::default();
        fj.spawned(1, 0, 2);
        fj.joined(1, 1, 2);
        fj.spawned(1, 2, 3);
        assert!(
            fj.before((1, 0), (2, 0)),
            "before the spawn, before the child"
        );
        assert!(!fj.before((1, 1), (2, 0)), "after the spawn: concurrent");
        assert!(
            fj.before((2, 0), (1, 2)),
            "the child, before what follows its join"
        );
        assert!(!fj.before((2, 0), (1, 1)), "not before the join itself");
        assert!(
            fj.before((2, 5), (3, 0)),
            "joined, then the next child spawned"
        );
        assert!(!fj.before((3, 0), (2, 0)));
        // Two threads nobody spawned are never ordered.
        assert!(!fj.before((7, 0), (8, 0)) && !fj.before((8, 0), (7, 0)));
    }

    #[test]
    fn a_chain_of_a_million_spawns_is_walked_without_recursion() {
        let mut fj = ForkJoin::default();
        let n = 1_000_000u64;
        for t in 1..n {
            fj.spawned(t, 0, t + 1);
        }
        assert!(fj.before((1, 0), (n, 0)));
        assert!(!fj.before((n, 0), (1, 0)));
    }
}
