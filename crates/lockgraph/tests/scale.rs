//! The live runtime at scale: real mutexes in random pairwise orders and long chains cost the lock-order graph work per new order that stays flat as the locks grow, nothing for repeats, and the graph empties as the locks are dropped.
//!
//! One test in its own process, so the graph's counters
//! (`lockgraph::graph_stats`) are this test's alone. Work is counted, not
//! timed (see `lockgraph-detect`'s `tests/order_scale.rs` for the graph
//! alone, and `bench/peers` for the time per first-seen edge).

#![cfg(feature = "instrument")]

use lockgraph::{graph_stats, GraphStats, Mutex};

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// Takes `pairs` (lower index first) on `locks`, nested.
fn take_all(locks: &[Mutex<u32>], pairs: &[(usize, usize)]) {
    for &(a, b) in pairs {
        let mut outer = locks[a].lock();
        let mut inner = locks[b].lock();
        *outer += 1;
        *inner += 1;
    }
}

fn delta(after: GraphStats, before: GraphStats) -> (usize, u64) {
    (
        after.edges - before.edges,
        after.search_visits - before.search_visits,
    )
}

#[test]
fn random_pairwise_orders_and_long_chains_cost_flat_work_per_new_order() {
    lockgraph::set_enabled(true);
    let mut per_edge = Vec::new();
    for n in [5_000usize, 10_000, 20_000] {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
        let locks: Vec<Mutex<u32>> = (0..n).map(|_| Mutex::new(0)).collect();
        let pairs: Vec<(usize, usize)> = (0..8 * n)
            .map(|_| (rng.below(n), rng.below(n)))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        let before = graph_stats();
        take_all(&locks, &pairs);
        let learned = graph_stats();
        let (edges, visits) = delta(learned, before);
        assert!(
            edges > 6 * n,
            "{edges} orders learned from {} pairs",
            pairs.len()
        );
        // The same acquisitions again: nothing new, no search.
        take_all(&locks, &pairs);
        assert_eq!(graph_stats(), learned, "repeated orders changed the graph");
        per_edge.push(visits as f64 / edges as f64);
        eprintln!(
            "{n} locks, {edges} orders: {:.2} visits per order",
            per_edge.last().unwrap()
        );
        drop(locks);
        // Dropped locks leave the graph, their orders with them.
        let after = graph_stats();
        assert_eq!((after.locks, after.edges), (0, 0), "dropped locks stayed");
    }
    assert!(
        per_edge[2] <= 1.5 * per_edge[0] + 2.0,
        "work per new order grew with the locks: {per_edge:?}"
    );

    for reverse in [false, true] {
        let n = 10_000;
        let locks: Vec<Mutex<u32>> = (0..n).map(|_| Mutex::new(0)).collect();
        let before = graph_stats();
        for i in 0..n - 1 {
            let (a, b) = if reverse { (i + 1, i) } else { (i, i + 1) };
            take_all(&locks, &[(a, b)]);
        }
        let (edges, visits) = delta(graph_stats(), before);
        assert_eq!(edges, n - 1);
        assert_eq!(
            visits, 0,
            "a chain of fresh locks searched (reverse: {reverse})"
        );
    }
    assert!(
        lockgraph::findings().is_empty(),
        "one hierarchy has no cycle"
    );
}
