//! The lock-order graph: which lock was held while which other was acquired,
//! and the incremental check that reports a cycle when an acquisition closes one.
//!
//! Nodes are lock *instances* (two accounts created at one site are two
//! nodes). An edge `A → B` says "some thread acquired B, blocking, while it
//! held A"; one edge stands for every time that happened and keeps what the
//! cycle verdict needs:
//!
//! - the threads that formed it (a cycle formed by one thread alone cannot
//!   deadlock by itself: it is reported as a warning), and at which
//!   fork-join epoch of theirs: a cycle two of whose edges were formed in
//!   orders spawn and join separate (every formation of one before every
//!   formation of the other) cannot deadlock in this program either, and is
//!   a warning too (`state::ForkJoin`);
//! - the *gates*: locks held exclusively every time the edge was formed. A
//!   cycle whose edges all share a gate is serialized by it and is silent;
//! - the modes the two ends were held in. A read acquisition only blocks if
//!   the lock is ever write-locked, so a cycle of read-read edges with no
//!   writer is silent (see `LockOrderGraph::cycle_verdict`).
//!
//! The graph may therefore contain silent cycles, which is why it is a plain
//! [`StableGraph`] rather than petgraph's `Acyclic`, which refuses any
//! cycle. It keeps its own incremental topological order of the edges that
//! close no cycle (see `Order`): while no edge closes one, the graph is
//! acyclic and a new fact needs no search; once one does, each new fact
//! runs a reachability search. Either way, work happens only when the
//! runtime learns something new (a first-seen edge, a new thread on an
//! edge, a shrunk gate set, a lock's first write), never on the steady path.

use std::collections::VecDeque;

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use rustc_hash::FxHashMap;
use smallvec::{smallvec, SmallVec};

use crate::finding::{Cast, Evidence, Finding, Fingerprint, Kind, Op, Severity};
use crate::model::{HeldLock, Mode, ObjectId, ObjectInfo, Site, StackRef, ThreadId, ThreadInfo};

/// One blocking acquisition, as the graph needs to know it.
#[derive(Clone, Debug)]
pub struct Acquisition<'a> {
    /// The acquiring thread.
    pub thread: &'a ThreadInfo,
    /// The lock being acquired.
    pub object: ObjectId,
    /// The mode it is acquired in.
    pub mode: Mode,
    /// Where it is acquired.
    pub site: Site,
    /// The locks the thread holds at that moment, oldest first.
    pub held: &'a [HeldLock],
    /// The call stack of this acquisition, if captured.
    pub stack: Option<StackRef>,
    /// The thread's fork-join epoch (`state::ForkJoin`): how many spawns and
    /// joins it made before this acquisition.
    pub epoch: u32,
}

/// The longest cycle checked for edges spawn and join separate.
const SEPARATION_CHECKED: usize = 8;

/// How many formations (thread and fork-join epoch) an edge keeps; beyond
/// that it is taken as formed at any time, never separated.
const STAMPS_KEPT: usize = 16;

/// How many distinct threads an edge remembers by name; beyond that it only counts.
const THREADS_KEPT: usize = 4;
/// How many path expansions the search for a better cycle may spend.
const SEARCH_BUDGET: usize = 4096;

#[derive(Debug)]
struct Node {
    info: ObjectInfo,
    /// Whether the lock was ever acquired for writing.
    written: bool,
}

#[derive(Clone, Debug)]
struct Sample {
    thread: ThreadInfo,
    held_site: Site,
    site: Site,
    stack: Option<StackRef>,
}

#[derive(Debug)]
struct Edge {
    first: Sample,
    /// The first threads that formed the edge (inline: no allocation per edge).
    threads: [ThreadId; THREADS_KEPT],
    n_threads: u8,
    more_threads: bool,
    /// Locks held exclusively (and not an end of this edge) every time; sorted.
    gates: Vec<ObjectId>,
    /// Every (thread, fork-join epoch) that formed it; empty once more
    /// than [`STAMPS_KEPT`] did (then it is never separated). The first is
    /// inline: an edge one thread formed once allocates nothing for it.
    stamps: SmallVec<[(u64, u32); 1]>,
    too_many_stamps: bool,
    held_modes: u8,
    acquire_modes: u8,
}

impl Edge {
    /// Adds a formation; whether it is new.
    fn add_stamp(&mut self, stamp: (u64, u32)) -> bool {
        if self.too_many_stamps || self.stamps.contains(&stamp) {
            return false;
        }
        if self.stamps.len() >= STAMPS_KEPT {
            self.stamps.clear();
            self.too_many_stamps = true;
        } else {
            self.stamps.push(stamp);
        }
        true
    }

    /// The threads kept, in the order they first formed the edge.
    fn threads(&self) -> &[ThreadId] {
        &self.threads[..usize::from(self.n_threads)]
    }

    fn add_thread(&mut self, t: ThreadId) -> bool {
        if self.threads().contains(&t) {
            return false;
        }
        if usize::from(self.n_threads) < THREADS_KEPT {
            self.threads[usize::from(self.n_threads)] = t;
            self.n_threads += 1;
            true
        } else {
            let first_extra = !self.more_threads;
            self.more_threads = true;
            first_extra
        }
    }
}

/// One edge of the graph as a report draws it: who first took `to` while
/// holding `from`, where, and how many threads did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderEdge {
    /// The lock held.
    pub from: ObjectInfo,
    /// The lock acquired under it.
    pub to: ObjectInfo,
    /// The first thread that did.
    pub thread: ThreadInfo,
    /// Where that thread had taken `from`.
    pub held_site: Site,
    /// Where it took `to`.
    pub site: Site,
    /// How many threads formed the edge (at least; counting stops at a few).
    pub threads: usize,
}

/// What the graph concluded about one cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A deadlock is possible: report at this severity.
    Report(Severity),
    /// Every edge was formed under a common exclusive lock.
    Gated(ObjectId),
    /// Two edges were formed in orders spawns and joins separate: the
    /// cycle cannot deadlock in this program (reported as a warning).
    Separated(EdgeIndex, EdgeIndex),
    /// Some edge's acquisition can never block (a read of a lock nobody writes).
    CannotBlock,
}

/// The lock-order graph. See the module documentation.
#[derive(Debug, Default)]
pub struct LockOrderGraph {
    g: StableGraph<Node, Edge>,
    index: FxHashMap<ObjectId, NodeIndex>,
    stamp: Vec<u32>,
    parent: Vec<Option<EdgeIndex>>,
    epoch: u32,
    queue: VecDeque<NodeIndex>,
    /// Scratch: the edges an acquisition changed (kept to avoid an allocation each time).
    changed: Vec<EdgeIndex>,
    /// One past the largest node index ever used. petgraph's `node_bound`
    /// scans back over vacant slots, which dropped locks leave many of.
    bound: usize,
    /// The run's spawns and joins, for cycles spawn and join order.
    fork_join: crate::state::ForkJoin,
    /// The incremental topological order (see [`LockOrderGraph::place`]).
    order: Order,
}

/// The next search's mark in `marks` (one slot per node index up to
/// `bound`): a slot holding it was visited by this search. Wrapping
/// around clears every slot, so an old mark never passes for a new one.
fn next_epoch(marks: &mut Vec<u32>, epoch: &mut u32, bound: usize) -> u32 {
    if marks.len() < bound {
        marks.resize(bound, 0);
    }
    *epoch = epoch.wrapping_add(1);
    if *epoch == 0 {
        marks.iter_mut().for_each(|m| *m = 0);
        *epoch = 1;
    }
    *epoch
}

/// An incremental topological order of the graph's edges that close no
/// cycle, in the manner of Pearce and Kelly: every such edge `a → b` has
/// `rank[a] < rank[b]`. While no edge closes a cycle (`back` is empty),
/// a new edge that agrees with the ranks cannot close one either, and
/// needs no search at all; one that disagrees re-ranks only the nodes
/// between its ends. A lock with no edges yet takes a rank past either
/// end, so chains of fresh locks never re-rank, in either direction.
#[derive(Debug, Default)]
struct Order {
    /// Each node's rank, by node index (`i64::MIN` for an unused slot).
    rank: Vec<i64>,
    /// The next rank above every rank given out, and the one below.
    hi: i64,
    lo: i64,
    /// Edges that closed a cycle: left out of the order. While any is
    /// live, a cycle may run through one, and new edges are searched.
    back: rustc_hash::FxHashSet<EdgeIndex>,
    /// Scratch for the re-ranking searches.
    forward: Vec<NodeIndex>,
    backward: Vec<NodeIndex>,
    stack: Vec<NodeIndex>,
    mark: Vec<u32>,
    mark_epoch: u32,
    /// Nodes visited by every search of the graph, re-ranking and cycle
    /// searches alike: the work the graph did, which tests hold linear.
    visits: u64,
}

impl LockOrderGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the graph has a node for this object.
    pub fn contains(&self, id: ObjectId) -> bool {
        self.index.contains_key(&id)
    }

    /// The object's description, if it has a node.
    pub fn object(&self, id: ObjectId) -> Option<&ObjectInfo> {
        self.index.get(&id).map(|&n| &self.g[n].info)
    }

    /// Number of objects with a node.
    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// Number of distinct ordered pairs seen.
    pub fn edge_count(&self) -> usize {
        self.g.edge_count()
    }

    /// Makes sure the object has a node; `info` is called only if it has none.
    pub fn ensure_object(&mut self, id: ObjectId, info: impl FnOnce() -> ObjectInfo) {
        if !self.index.contains_key(&id) {
            let n = self.g.add_node(Node {
                info: info(),
                written: false,
            });
            self.bound = self.bound.max(n.index() + 1);
            self.index.insert(id, n);
            let o = &mut self.order;
            if o.rank.len() <= n.index() {
                o.rank.resize(n.index() + 1, i64::MIN);
            }
            // No edges yet: any rank will do.
            o.rank[n.index()] = o.hi;
            o.hi += 1;
        }
    }

    /// Forgets an object that can never be acquired again (it was dropped).
    /// Cycles through it can no longer happen, so its edges go too; this is
    /// what keeps memory bounded by the live locks, not by all locks ever made.
    pub fn remove_object(&mut self, id: ObjectId) {
        if let Some(n) = self.index.remove(&id) {
            if !self.order.back.is_empty() {
                // Edge indices are reused: a removed back edge leaves the set.
                for dir in [Direction::Outgoing, Direction::Incoming] {
                    for e in self.g.edges_directed(n, dir) {
                        self.order.back.remove(&e.id());
                    }
                }
            }
            self.g.remove_node(n);
        }
    }

    /// Nodes visited by the graph's searches so far (re-ranking and cycle
    /// searches): the graph's work, for scale tests. Grows with new
    /// orders, never with acquisitions of orders already seen.
    pub fn search_visits(&self) -> u64 {
        self.order.visits
    }

    /// Whether every edge kept in the order goes from a lower rank to a
    /// higher one, and how many edges are left out (a test aid).
    #[cfg(test)]
    fn order_holds(&self) -> (bool, usize) {
        let o = &self.order;
        let holds = self.g.edge_indices().all(|e| {
            let (a, b) = self.g.edge_endpoints(e).expect("edge in graph");
            o.back.contains(&e) || o.rank[a.index()] < o.rank[b.index()]
        });
        (holds, o.back.len())
    }

    /// Places the new edge `e` (u → v) in the topological order: nothing
    /// to do if the ranks agree, or if either end has no other edge (it
    /// takes a rank past the other end's side). Otherwise, as Pearce and
    /// Kelly: search forward from v over ranks below u's (reaching u means
    /// the edge closes a cycle: it becomes a back edge, left out of the
    /// order) and backward from u over ranks above v's, then give the
    /// nodes found backward the lowest of the affected ranks, in order,
    /// and those found forward the rest.
    fn place(&mut self, e: EdgeIndex, u: NodeIndex, v: NodeIndex) {
        let o = &mut self.order;
        let (ru, rv) = (o.rank[u.index()], o.rank[v.index()]);
        if ru < rv {
            return;
        }
        let alone = |n: NodeIndex, dir: Direction| {
            let mut it = self.g.edges_directed(n, dir);
            it.all(|x| x.id() == e)
        };
        if alone(v, Direction::Outgoing) && alone(v, Direction::Incoming) {
            o.rank[v.index()] = o.hi;
            o.hi += 1;
            return;
        }
        if alone(u, Direction::Outgoing) && alone(u, Direction::Incoming) {
            o.lo -= 1;
            o.rank[u.index()] = o.lo;
            return;
        }
        if u == v {
            o.back.insert(e);
            return;
        }
        // Marks for this placement.
        let epoch = next_epoch(&mut o.mark, &mut o.mark_epoch, self.bound);
        // Forward from v, over kept edges, through ranks below u's.
        let mut forward = std::mem::take(&mut o.forward);
        let mut stack = std::mem::take(&mut o.stack);
        forward.clear();
        stack.clear();
        stack.push(v);
        o.mark[v.index()] = epoch;
        let mut closes = false;
        while let Some(n) = stack.pop() {
            o.visits += 1;
            forward.push(n);
            for x in self.g.edges_directed(n, Direction::Outgoing) {
                if x.id() == e || o.back.contains(&x.id()) {
                    continue;
                }
                let t = x.target();
                if t == u {
                    closes = true;
                    break;
                }
                if o.mark[t.index()] != epoch && o.rank[t.index()] < ru {
                    o.mark[t.index()] = epoch;
                    stack.push(t);
                }
            }
            if closes {
                break;
            }
        }
        if closes {
            o.back.insert(e);
            o.forward = forward;
            o.stack = stack;
            return;
        }
        // Backward from u, over kept edges, through ranks above v's.
        let mut backward = std::mem::take(&mut o.backward);
        backward.clear();
        stack.clear();
        stack.push(u);
        o.mark[u.index()] = epoch;
        while let Some(n) = stack.pop() {
            o.visits += 1;
            backward.push(n);
            for x in self.g.edges_directed(n, Direction::Incoming) {
                if x.id() == e || o.back.contains(&x.id()) {
                    continue;
                }
                let t = x.source();
                if o.mark[t.index()] != epoch && o.rank[t.index()] > rv {
                    o.mark[t.index()] = epoch;
                    stack.push(t);
                }
            }
        }
        // The affected ranks, reassigned: backward nodes first, each side
        // keeping its own relative order.
        let rank = &mut o.rank;
        backward.sort_unstable_by_key(|n| rank[n.index()]);
        forward.sort_unstable_by_key(|n| rank[n.index()]);
        let mut ranks: Vec<i64> = backward
            .iter()
            .chain(forward.iter())
            .map(|n| rank[n.index()])
            .collect();
        ranks.sort_unstable();
        for (n, r) in backward.iter().chain(forward.iter()).zip(ranks) {
            rank[n.index()] = r;
        }
        o.forward = forward;
        o.backward = backward;
        o.stack = stack;
    }

    /// Records a blocking acquisition and returns the lock-order cycles it closes.
    ///
    /// Every object in `acq.held` and `acq.object` must have a node
    /// ([`Self::ensure_object`]); objects without one are ignored.
    pub fn on_acquire(&mut self, acq: &Acquisition<'_>) -> Vec<Finding> {
        let Some(&target) = self.index.get(&acq.object) else {
            return Vec::new();
        };
        let mut changed = std::mem::take(&mut self.changed);
        changed.clear();
        if acq.mode == Mode::Exclusive && !self.g[target].written {
            self.g[target].written = true;
            // Read edges into this lock may now block: look at them again.
            changed.extend(
                self.g
                    .edges_directed(target, Direction::Incoming)
                    .map(|e| e.id()),
            );
        }
        for (i, h) in acq.held.iter().enumerate() {
            if h.object == acq.object || acq.held[..i].iter().any(|p| p.object == h.object) {
                continue;
            }
            let Some(&from) = self.index.get(&h.object) else {
                continue;
            };
            let mut gates: Vec<ObjectId> = acq
                .held
                .iter()
                .filter(|g| {
                    g.mode.excludes_other_threads()
                        && g.object != h.object
                        && g.object != acq.object
                })
                .map(|g| g.object)
                .collect();
            gates.sort_unstable();
            gates.dedup();
            match self.g.find_edge(from, target) {
                None => {
                    let e = self.g.add_edge(
                        from,
                        target,
                        Edge {
                            first: Sample {
                                thread: acq.thread.clone(),
                                held_site: h.site.clone(),
                                site: acq.site.clone(),
                                stack: acq.stack.clone(),
                            },
                            threads: [acq.thread.id; THREADS_KEPT],
                            n_threads: 1,
                            more_threads: false,
                            gates,
                            stamps: smallvec![(acq.thread.id.0, acq.epoch)],
                            too_many_stamps: false,
                            held_modes: h.mode.bit(),
                            acquire_modes: acq.mode.bit(),
                        },
                    );
                    self.place(e, from, target);
                    changed.push(e);
                }
                Some(e) => {
                    let edge = &mut self.g[e];
                    let mut news = edge.add_thread(acq.thread.id);
                    news |= edge.add_stamp((acq.thread.id.0, acq.epoch));
                    let before = edge.gates.len();
                    edge.gates.retain(|g| gates.binary_search(g).is_ok());
                    news |= edge.gates.len() != before;
                    let (hm, am) = (edge.held_modes, edge.acquire_modes);
                    edge.held_modes |= h.mode.bit();
                    edge.acquire_modes |= acq.mode.bit();
                    news |= hm != edge.held_modes || am != edge.acquire_modes;
                    if news {
                        changed.push(e);
                    }
                }
            }
        }
        let mut findings: Vec<Finding> = Vec::new();
        for &e in &changed {
            if let Some(f) = self.cycle_through(e, acq) {
                if !findings.iter().any(|x| x.fingerprint == f.fingerprint) {
                    findings.push(f);
                }
            }
        }
        self.changed = changed;
        findings
    }

    /// Judges a cycle given as its edges in order.
    fn cycle_verdict(&self, cycle: &[EdgeIndex]) -> Verdict {
        // Gate: a lock every edge was formed under serializes the whole cycle.
        let mut gates = self.g[cycle[0]].gates.clone();
        for &e in &cycle[1..] {
            gates.retain(|g| self.g[e].gates.binary_search(g).is_ok());
        }
        if let Some(&g) = gates.first() {
            return Verdict::Gated(g);
        }
        // Every edge must be able to block, or its thread always gets through.
        for (i, &e) in cycle.iter().enumerate() {
            let edge = &self.g[e];
            let (_, target) = self.g.edge_endpoints(e).expect("edge in graph");
            let next = &self.g[cycle[(i + 1) % cycle.len()]];
            let exclusive = Mode::Exclusive.bit() | Mode::Upgradable.bit() | Mode::Reentrant.bit();
            let blocks = edge.acquire_modes & exclusive != 0
                // `read` queues behind a writer, waiting or active: only if someone writes.
                || (edge.acquire_modes & Mode::Shared.bit() != 0 && self.g[target].written)
                // `read_recursive` waits only for an active writer; within this
                // cycle that is the thread of the next edge holding it exclusively.
                || (edge.acquire_modes & Mode::SharedRecursive.bit() != 0
                    && next.held_modes & exclusive != 0);
            if !blocks {
                return Verdict::CannotBlock;
            }
        }
        let mut threads: Vec<ThreadId> = Vec::new();
        let mut many = false;
        for &e in cycle {
            many |= self.g[e].more_threads;
            for t in self.g[e].threads() {
                if !threads.contains(t) {
                    threads.push(*t);
                }
            }
        }
        if !(many || threads.len() > 1) {
            return Verdict::Report(Severity::Warning);
        }
        // Two edges spawns and joins keep apart cannot be waited on at once.
        // Pairs are checked in cycles of up to `SEPARATION_CHECKED` edges
        // (a longer cycle stays an error), and only if anything was ever
        // spawned or joined.
        if cycle.len() > SEPARATION_CHECKED || self.fork_join.is_empty() {
            return Verdict::Report(Severity::Error);
        }
        for &a in cycle {
            for &b in cycle {
                if a != b && self.separated(a, b) {
                    return Verdict::Separated(a, b);
                }
            }
        }
        Verdict::Report(Severity::Error)
    }

    /// Whether every formation of edge `a` happens before every formation
    /// of edge `b` through spawns and joins.
    fn separated(&self, a: EdgeIndex, b: EdgeIndex) -> bool {
        let (ea, eb) = (&self.g[a], &self.g[b]);
        if ea.too_many_stamps || eb.too_many_stamps || ea.stamps.is_empty() || eb.stamps.is_empty()
        {
            return false;
        }
        ea.stamps.iter().all(|&x| {
            eb.stamps
                .iter()
                .all(|&y| x.0 != y.0 && self.fork_join.before(x, y))
        })
    }

    /// Every edge, for pictures of the graph, in a stable order (by the
    /// class keys of their ends).
    pub fn edges(&self) -> Vec<OrderEdge> {
        let mut out: Vec<OrderEdge> = self
            .g
            .edge_indices()
            .filter_map(|e| {
                let (s, t) = self.g.edge_endpoints(e)?;
                let edge = &self.g[e];
                Some(OrderEdge {
                    from: self.g[s].info.clone(),
                    to: self.g[t].info.clone(),
                    thread: edge.first.thread.clone(),
                    held_site: edge.first.held_site.clone(),
                    site: edge.first.site.clone(),
                    threads: usize::from(edge.n_threads) + usize::from(edge.more_threads),
                })
            })
            .collect();
        out.sort_by_cached_key(|e| (e.from.class_key(), e.to.class_key()));
        out
    }

    /// `parent`, at its fork-join epoch `k`, spawned `child`.
    pub fn spawned(&mut self, parent: ThreadId, k: u32, child: ThreadId) {
        self.fork_join.spawned(parent.0, k, child.0);
    }

    /// `parent`, at its fork-join epoch `k`, joined `child`.
    pub fn joined(&mut self, parent: ThreadId, k: u32, child: ThreadId) {
        self.fork_join.joined(parent.0, k, child.0);
    }

    /// Finds the most serious reportable cycle through edge `e` and builds its finding.
    fn cycle_through(&mut self, e: EdgeIndex, acq: &Acquisition<'_>) -> Option<Finding> {
        let (u, v) = self.g.edge_endpoints(e)?;
        // No edge closes a cycle: the graph is acyclic, and the ranks say so.
        if self.order.back.is_empty() {
            return None;
        }
        // A cycle through u → v needs a way out of v and a way into u. A
        // lock nothing was ever taken under (a sink), or one never taken
        // under another (a source), closes none: no search. This keeps
        // chains of fresh locks linear in both directions (m[i] then
        // m[i+1]: v is new, a sink; m[i+1] then m[i]: u is new, a source).
        if self
            .g
            .edges_directed(v, Direction::Outgoing)
            .next()
            .is_none()
            || self
                .g
                .edges_directed(u, Direction::Incoming)
                .next()
                .is_none()
        {
            return None;
        }
        // Shortest path v ⇝ u by breadth-first search; most graphs stop here.
        let path = self.shortest_path(v, u)?;
        let mut cycle = vec![e];
        cycle.extend(path);
        let mut best = match self.cycle_verdict(&cycle) {
            Verdict::Report(Severity::Error) => {
                return Some(self.finding(&cycle, Severity::Error, e, acq, None))
            }
            Verdict::Report(s) => Some((cycle, s, None)),
            Verdict::Separated(a, b) => Some((cycle, Severity::Warning, Some((a, b)))),
            _ => None,
        };
        // The shortest cycle was silent or only a warning: look, within a
        // budget, for another simple path that makes an error.
        let mut budget = SEARCH_BUDGET;
        let mut stack: Vec<(NodeIndex, Vec<EdgeIndex>)> = vec![(v, Vec::new())];
        while let Some((n, path)) = stack.pop() {
            if budget == 0 {
                break;
            }
            budget -= 1;
            self.order.visits += 1;
            for out in self.g.edges_directed(n, Direction::Outgoing) {
                let next = out.target();
                if next == u {
                    let mut cycle = vec![e];
                    cycle.extend(path.iter().copied());
                    cycle.push(out.id());
                    match self.cycle_verdict(&cycle) {
                        Verdict::Report(Severity::Error) => {
                            return Some(self.finding(&cycle, Severity::Error, e, acq, None))
                        }
                        Verdict::Report(s) if best.is_none() => best = Some((cycle, s, None)),
                        Verdict::Separated(a, b) if best.is_none() => {
                            best = Some((cycle, Severity::Warning, Some((a, b))))
                        }
                        _ => {}
                    }
                } else if next != v
                    && !path
                        .iter()
                        .any(|&p| self.g.edge_endpoints(p).map(|x| x.1) == Some(next))
                {
                    let mut longer = path.clone();
                    longer.push(out.id());
                    stack.push((next, longer));
                }
            }
        }
        best.map(|(cycle, s, apart)| self.finding(&cycle, s, e, acq, apart))
    }

    fn shortest_path(&mut self, from: NodeIndex, to: NodeIndex) -> Option<Vec<EdgeIndex>> {
        let bound = self.bound;
        if self.parent.len() < bound {
            self.parent.resize(bound, None);
        }
        let epoch = next_epoch(&mut self.stamp, &mut self.epoch, bound);
        let mut queue = std::mem::take(&mut self.queue);
        queue.clear();
        self.stamp[from.index()] = epoch;
        self.parent[from.index()] = None;
        queue.push_back(from);
        let mut found = None;
        while let Some(n) = queue.pop_front() {
            self.order.visits += 1;
            if n == to {
                let mut path = Vec::new();
                let mut cur = to;
                while let Some(pe) = self.parent[cur.index()] {
                    path.push(pe);
                    cur = self.g.edge_endpoints(pe).expect("edge in graph").0;
                }
                path.reverse();
                found = Some(path);
                break;
            }
            for out in self.g.edges_directed(n, Direction::Outgoing) {
                let t = out.target().index();
                if self.stamp[t] != epoch {
                    self.stamp[t] = epoch;
                    self.parent[t] = Some(out.id());
                    queue.push_back(out.target());
                }
            }
        }
        self.queue = queue;
        found
    }

    /// Builds the finding for a cycle (edges in order), in canonical rotation.
    fn finding(
        &self,
        cycle: &[EdgeIndex],
        severity: Severity,
        closing: EdgeIndex,
        acq: &Acquisition<'_>,
        apart: Option<(EdgeIndex, EdgeIndex)>,
    ) -> Finding {
        // Canonical rotation: start at the edge whose source has the smallest
        // class key (then id), so that the same cycle always reads the same.
        let key = |e: &EdgeIndex| {
            let (s, _) = self.g.edge_endpoints(*e).expect("edge in graph");
            (self.g[s].info.class_key(), self.g[s].info.id)
        };
        let start = (0..cycle.len())
            .min_by_key(|&i| key(&cycle[i]))
            .unwrap_or(0);
        let rotated: Vec<EdgeIndex> = cycle[start..]
            .iter()
            .chain(&cycle[..start])
            .copied()
            .collect();

        let mut cast = Cast::default();
        let mut evidence = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for &e in &rotated {
            let (s, t) = self.g.edge_endpoints(e).expect("edge in graph");
            let (from, to) = (&self.g[s].info, &self.g[t].info);
            parts.push(from.class_key());
            names.push(from.label());
            // The acquisition being made formed this edge: show it, not the first sample.
            let current = to.id == acq.object && acq.held.iter().any(|h| h.object == from.id);
            let sample = if current {
                Sample {
                    thread: acq.thread.clone(),
                    held_site: acq
                        .held
                        .iter()
                        .find(|h| h.object == from.id)
                        .map(|h| h.site.clone())
                        .unwrap_or_else(|| self.g[e].first.held_site.clone()),
                    site: acq.site.clone(),
                    stack: acq.stack.clone(),
                }
            } else {
                self.g[e].first.clone()
            };
            let thread = cast.thread(&sample.thread);
            cast.object(from);
            cast.object(to);
            evidence.push(Evidence::new(thread, from.id, Op::Holds, sample.held_site));
            let mut step = Evidence::new(thread, to.id, Op::Acquires, sample.site);
            step.note = Some(if current && e == closing {
                "this acquisition closes the cycle".to_owned()
            } else if current {
                "this acquisition".to_owned()
            } else if e == closing {
                "first time this order was seen; this edge closes the cycle".to_owned()
            } else {
                "first time this order was seen".to_owned()
            });
            step.stack = sample.stack;
            evidence.push(step);
        }
        if let Some(first) = names.first().cloned() {
            names.push(first);
        }
        let n_threads = {
            let mut ts: Vec<ThreadId> = Vec::new();
            for &e in &rotated {
                for t in self.g[e].threads() {
                    if !ts.contains(t) {
                        ts.push(*t);
                    }
                }
            }
            ts.len()
        };
        let summary = if let Some((a, b)) = apart {
            let label = |e: EdgeIndex| {
                let (s, t) = self.g.edge_endpoints(e).expect("edge in graph");
                format!("{} → {}", self.g[s].info.label(), self.g[t].info.label())
            };
            format!(
                "locks taken in inconsistent order ({}), but never at the same time: every {} happened before every {} (spawn and join order them)",
                names.join(" → "),
                label(a),
                label(b)
            )
        } else if severity == Severity::Error {
            format!(
                "possible deadlock: {} are taken in inconsistent order by {} threads ({})",
                if rotated.len() == 2 {
                    "two locks".to_owned()
                } else {
                    format!("{} locks", rotated.len())
                },
                n_threads.max(2),
                names.join(" → ")
            )
        } else {
            format!(
                "locks taken in inconsistent order by one thread only ({}); a deadlock needs another thread to run one of these paths concurrently",
                names.join(" → ")
            )
        };
        let mut notes = vec![
            "a thread holding each lock while it waits for the next would deadlock; nothing hung in this run".to_owned(),
        ];
        if apart.is_some() {
            notes.push("the threads that formed these orders were spawned and joined one after the other, so this program cannot deadlock on this cycle; a change that runs them concurrently would".to_owned());
        } else if severity == Severity::Warning {
            notes.push("every edge of this cycle was formed by the same thread, so this run could not have deadlocked".to_owned());
        }
        notes.push("fix: take these locks in one global order everywhere, or hold one common lock around every nested acquisition".to_owned());
        Finding {
            kind: Kind::LockOrderCycle,
            severity,
            summary,
            fingerprint: Fingerprint::of(Kind::LockOrderCycle, parts.iter().map(String::as_str)),
            threads: cast.threads,
            objects: cast.objects,
            evidence,
            notes,
        }
    }
}

#[cfg(test)]
mod tests;
