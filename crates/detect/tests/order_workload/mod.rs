//! The lock-order graph workloads the scale test and the `order` bench share: locks made in a random order, random pairs, chains.

use lockgraph_detect::order::{Acquisition, LockOrderGraph};
use lockgraph_detect::{
    HeldLock, Mode, ObjectId, ObjectInfo, ObjectKind, Site, ThreadId, ThreadInfo,
};

/// A deterministic generator (xorshift64*), so every run asks the same.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next number, below `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Lock `i`, described.
pub(crate) fn info(i: u64) -> ObjectInfo {
    ObjectInfo {
        api: None,
        id: ObjectId(i),
        kind: ObjectKind::Mutex,
        name: None,
        site: Site::new("locks.rs", 1, 1),
    }
}

/// One thread's acquisition of `lock` while holding `held`.
pub(crate) fn take(g: &mut LockOrderGraph, thread: &ThreadInfo, held: u64, lock: u64) -> usize {
    let held = [HeldLock {
        object: ObjectId(held),
        mode: Mode::Exclusive,
        site: Site::new("use.rs", 1, 1),
    }];
    g.on_acquire(&Acquisition {
        thread,
        object: ObjectId(lock),
        mode: Mode::Exclusive,
        site: Site::new("use.rs", 2, 1),
        held: &held,
        stack: None,
        epoch: 0,
    })
    .len()
}

/// Thread `t`, described.
pub(crate) fn thread(t: u64) -> ThreadInfo {
    ThreadInfo {
        span: None,
        id: ThreadId(t),
        name: None,
    }
}

/// A graph of `n` locks (ids `0..n`) made in a random order, so that the
/// order they are made in says nothing of the order they are taken in.
pub(crate) fn shuffled_locks(n: u64, rng: &mut Rng) -> LockOrderGraph {
    let mut g = LockOrderGraph::new();
    let mut ids: Vec<u64> = (0..n).collect();
    for i in (1..ids.len()).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for &i in &ids {
        g.ensure_object(ObjectId(i), || info(i));
    }
    g
}

/// One thread's chain of `n` locks made in order: `m[i]` then `m[i + 1]`
/// for every `i`, or `m[i + 1]` then `m[i]` if `reverse`.
pub(crate) fn chain(n: u64, reverse: bool) -> LockOrderGraph {
    let mut g = LockOrderGraph::new();
    let t = thread(0);
    for i in 0..n {
        g.ensure_object(ObjectId(i), || info(i));
    }
    for i in 0..n - 1 {
        let (a, b) = if reverse { (i + 1, i) } else { (i, i + 1) };
        assert_eq!(take(&mut g, &t, a, b), 0, "a chain closes no cycle");
    }
    g
}
