//! Unit tests of the lock-order graph: cycle lengths, gates, modes, threads, scale.

use super::*;
use crate::model::ObjectKind;

struct World {
    g: LockOrderGraph,
    threads: Vec<ThreadInfo>,
    /// Each thread's fork-join epoch.
    epochs: Vec<u32>,
}

impl World {
    fn new(n_locks: u64) -> Self {
        let mut g = LockOrderGraph::new();
        for i in 0..n_locks {
            g.ensure_object(ObjectId(i), || ObjectInfo {
                api: None,
                id: ObjectId(i),
                kind: ObjectKind::Mutex,
                name: Some(format!("L{i}").into()),
                site: Site::new("locks.rs", i as u32 + 1, 5),
            });
        }
        let threads = (0..8)
            .map(|t| ThreadInfo {
                span: None,
                id: ThreadId(t),
                name: Some(format!("t{t}").into()),
            })
            .collect();
        World {
            g,
            threads,
            epochs: vec![0; 8],
        }
    }

    /// Thread `parent` spawns thread `child`.
    fn spawn(&mut self, parent: usize, child: usize) {
        let k = self.epochs[parent];
        self.g
            .spawned(ThreadId(parent as u64), k, ThreadId(child as u64));
        self.epochs[parent] += 1;
    }

    /// Thread `parent` joins thread `child`.
    fn join(&mut self, parent: usize, child: usize) {
        let k = self.epochs[parent];
        self.g
            .joined(ThreadId(parent as u64), k, ThreadId(child as u64));
        self.epochs[parent] += 1;
    }

    /// Thread `t` holds `held` (in order, with modes) and acquires `lock` in `mode`.
    fn acquire(&mut self, t: usize, held: &[(u64, Mode)], lock: u64, mode: Mode) -> Vec<Finding> {
        let held: Vec<HeldLock> = held
            .iter()
            .map(|&(o, m)| HeldLock {
                object: ObjectId(o),
                mode: m,
                site: Site::new("use.rs", o as u32, 9),
            })
            .collect();
        let acq = Acquisition {
            thread: &self.threads[t],
            object: ObjectId(lock),
            mode,
            site: Site::new("use.rs", 1000 + lock as u32, 9),
            held: &held,
            stack: None,
            epoch: self.epochs.get(t).copied().unwrap_or(0),
        };
        self.g.on_acquire(&acq)
    }

    /// Thread `t` takes `locks` nested, exclusively, in order.
    fn nest(&mut self, t: usize, locks: &[u64]) -> Vec<Finding> {
        let mut out = Vec::new();
        for i in 1..locks.len() {
            let held: Vec<(u64, Mode)> = locks[..i].iter().map(|&l| (l, Mode::Exclusive)).collect();
            out.extend(self.acquire(t, &held, locks[i], Mode::Exclusive));
        }
        out
    }
}

const X: Mode = Mode::Exclusive;
const R: Mode = Mode::Shared;

#[test]
fn consistent_order_is_silent() {
    let mut w = World::new(3);
    assert!(w.nest(0, &[0, 1, 2]).is_empty());
    assert!(w.nest(1, &[0, 1, 2]).is_empty());
    assert!(w.nest(2, &[0, 2]).is_empty());
}

#[test]
fn cycles_of_length_two_to_five_are_found_when_closed() {
    for len in 2..=5u64 {
        let mut w = World::new(len);
        for i in 0..len - 1 {
            assert!(
                w.nest(i as usize % 8, &[i, i + 1]).is_empty(),
                "no cycle before the ring closes"
            );
        }
        let found = w.nest((len - 1) as usize % 8, &[len - 1, 0]);
        assert_eq!(found.len(), 1, "ring of {len}");
        let f = &found[0];
        assert_eq!(f.kind, Kind::LockOrderCycle);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.objects.len() as u64, len);
        assert_eq!(
            f.evidence.len() as u64,
            2 * len,
            "a holds and an acquires step per edge"
        );
        // Canonical rotation starts at the smallest class key: L0.
        assert_eq!(f.evidence[0].object, ObjectId(0));
        assert!(f
            .evidence
            .iter()
            .any(|e| e.note.as_deref() == Some("this acquisition closes the cycle")));
    }
}

#[test]
fn fingerprint_does_not_depend_on_which_edge_closes() {
    let mut a = World::new(2);
    a.nest(0, &[0, 1]);
    let fa = a.nest(1, &[1, 0]);
    let mut b = World::new(2);
    b.nest(1, &[1, 0]);
    let fb = b.nest(0, &[0, 1]);
    assert_eq!(fa[0].fingerprint, fb[0].fingerprint);
}

#[test]
fn a_common_gate_silences_the_inversion() {
    let mut w = World::new(3);
    // Gate G = 2 around both nested pairs.
    assert!(w.nest(0, &[2, 0, 1]).is_empty());
    assert!(w.nest(1, &[2, 1, 0]).is_empty());
    // The same inversion once without the gate is a cycle.
    let f = w.nest(2, &[1, 0]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Error);
}

#[test]
fn a_read_held_gate_is_no_gate() {
    let mut w = World::new(3);
    w.acquire(0, &[(2, R)], 0, X);
    w.acquire(0, &[(2, R), (0, X)], 1, X);
    w.acquire(1, &[(2, R)], 1, X);
    let f = w.acquire(1, &[(2, R), (1, X)], 0, X);
    assert_eq!(f.len(), 1, "two readers can hold the gate at once");
}

#[test]
fn one_thread_alone_is_a_warning() {
    let mut w = World::new(2);
    w.nest(0, &[0, 1]);
    let f = w.nest(0, &[1, 0]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Warning);
    // A second thread on one of the edges makes it an error.
    let f = w.nest(1, &[0, 1]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Error);
}

#[test]
fn read_read_inversions_are_silent_until_both_locks_are_written() {
    let mut w = World::new(2);
    assert!(w.acquire(0, &[(0, R)], 1, R).is_empty());
    assert!(w.acquire(1, &[(1, R)], 0, R).is_empty());
    // A writer on one lock alone cannot deadlock them: the other read never blocks.
    assert!(w.acquire(2, &[], 0, X).is_empty());
    // Writers on both: each reader can queue behind a writer waiting on the other.
    let f = w.acquire(3, &[], 1, X);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Error);
}

#[test]
fn read_recursive_only_blocks_on_a_writer_in_the_cycle() {
    let mut w = World::new(2);
    w.acquire(2, &[], 0, X);
    w.acquire(2, &[], 1, X);
    // Both sides read_recursive under a read: never blocks in this cycle.
    assert!(w.acquire(0, &[(0, R)], 1, Mode::SharedRecursive).is_empty());
    assert!(w.acquire(1, &[(1, R)], 0, Mode::SharedRecursive).is_empty());
    // Thread 3 holds 1 for writing and wants 0: now thread 0's read_recursive of 1 can block.
    let f = w.acquire(3, &[(1, X)], 0, X);
    assert_eq!(f.len(), 1);
}

#[test]
fn dropped_locks_leave_the_graph() {
    let mut w = World::new(2);
    w.nest(0, &[0, 1]);
    assert_eq!(w.g.edge_count(), 1);
    w.g.remove_object(ObjectId(1));
    assert_eq!(w.g.node_count(), 1);
    assert_eq!(w.g.edge_count(), 0);
    assert!(!w.g.contains(ObjectId(1)));
}

#[test]
fn ten_thousand_locks_in_a_chain_then_the_closing_edge() {
    let n = 10_000u64;
    let mut w = World::new(n);
    let start = std::time::Instant::now();
    for i in 0..n - 1 {
        assert!(w.acquire((i % 2) as usize, &[(i, X)], i + 1, X).is_empty());
    }
    let f = w.acquire(2, &[(n - 1, X)], 0, X);
    let took = start.elapsed();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].objects.len() as u64, n);
    // Not a timing assertion on speed goals (those live in benchmarks): a
    // guard against a quadratic search, which would take minutes.
    assert!(took.as_secs() < 20, "chain of {n} took {took:?}");
}

#[test]
fn ten_thousand_locks_in_a_reverse_chain_then_the_closing_edge() {
    // m[i + 1] then m[i]: each new edge runs into the chain seen so far,
    // from a lock never taken under another, so no search is needed.
    let n = 10_000u64;
    let mut w = World::new(n);
    let start = std::time::Instant::now();
    for i in 0..n - 1 {
        assert!(w.acquire((i % 2) as usize, &[(i + 1, X)], i, X).is_empty());
    }
    let f = w.acquire(2, &[(0, X)], n - 1, X);
    let took = start.elapsed();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].objects.len() as u64, n);
    // A guard against a quadratic search (minutes), not a speed goal.
    assert!(took.as_secs() < 20, "reverse chain of {n} took {took:?}");
}

#[test]
fn orders_separated_by_spawn_and_join_are_a_warning_and_concurrent_ones_an_error() {
    // t0 spawns t1, t1 takes 0 then 1, t0 joins it, then takes 1 then 0.
    let mut w = World::new(2);
    w.spawn(0, 1);
    assert!(w.nest(1, &[0, 1]).is_empty());
    w.join(0, 1);
    let f = w.nest(0, &[1, 0]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Warning, "{}", f[0].summary);

    // Without the join, t0's order is concurrent with t1's.
    let mut w = World::new(2);
    w.spawn(0, 1);
    w.nest(1, &[0, 1]);
    let f = w.nest(0, &[1, 0]);
    assert_eq!(f[0].severity, Severity::Error);

    // A third thread forming one of the orders later, unordered: error again.
    let mut w = World::new(2);
    w.spawn(0, 1);
    w.nest(1, &[0, 1]);
    w.join(0, 1);
    assert_eq!(w.nest(0, &[1, 0])[0].severity, Severity::Warning);
    let f = w.nest(2, &[0, 1]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Error);
}

/// Random edges in both directions (cycles among them) and dropped locks,
/// against a brute-force oracle: a new edge u → v is reported exactly when
/// v already reached u, and every edge kept in the topological order goes
/// from a lower rank to a higher one, after every step.
#[test]
fn the_topological_order_agrees_with_brute_force_reachability() {
    use std::collections::BTreeSet;
    let n = 24u64;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let mut reported = 0;
    for round in 0..40 {
        let mut w = World::new(n);
        let mut edges: BTreeSet<(u64, u64)> = BTreeSet::new();
        let reaches = |edges: &BTreeSet<(u64, u64)>, from: u64, to: u64| {
            let mut seen = vec![from];
            let mut stack = vec![from];
            while let Some(x) = stack.pop() {
                if x == to {
                    return true;
                }
                for &(_, b) in edges.range((x, 0)..=(x, u64::MAX)) {
                    if !seen.contains(&b) {
                        seen.push(b);
                        stack.push(b);
                    }
                }
            }
            false
        };
        for step in 0..60 {
            if next(10) == 0 {
                // Drop a lock and make it anew: its edges go.
                let x = next(n);
                w.g.remove_object(ObjectId(x));
                edges.retain(|&(a, b)| a != x && b != x);
                w.g.ensure_object(ObjectId(x), || ObjectInfo {
                    api: None,
                    id: ObjectId(x),
                    kind: ObjectKind::Mutex,
                    name: None,
                    site: Site::new("locks.rs", 1, 1),
                });
            } else {
                let (a, b) = (next(n), next(n));
                if a == b || edges.contains(&(a, b)) {
                    continue;
                }
                let closes = reaches(&edges, b, a);
                let t = (step % 2) as usize;
                let found = w.acquire(t, &[(a, X)], b, X);
                edges.insert((a, b));
                assert_eq!(
                    !found.is_empty(),
                    closes,
                    "round {round} step {step}: {a} then {b}, closes a cycle: {closes}"
                );
                reported += usize::from(closes);
            }
            let (holds, _) = w.g.order_holds();
            assert!(
                holds,
                "round {round} step {step}: an edge against the ranks"
            );
        }
    }
    assert!(
        reported > 0,
        "the oracle never saw a cycle: the test proves nothing"
    );
}
