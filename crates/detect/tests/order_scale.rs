//! Scale of the lock-order graph: work and memory grow with locks and edges, linearly, never with acquisitions; history survives dropped locks.
//!
//! Linearity is checked by counting, not timing: the graph counts every
//! node its searches visit (`search_visits`), and a counting allocator
//! gives the bytes it holds. Both are the same on any machine, loaded or
//! not, in debug or release builds, so the sizes the issue names (100 000
//! locks in random pairwise orders, chains of 10 000 both ways) run in
//! full under `cargo test`. The time per size is `cargo bench -p
//! lockgraph-detect --bench order`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use lockgraph_detect::order::LockOrderGraph;
use lockgraph_detect::{ObjectId, ThreadInfo};

mod order_workload;
use order_workload::{chain, info, shuffled_locks, take, thread, Rng};

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; the
// counter is only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: as for `dealloc` and `alloc`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The byte count is the whole process's: one test at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// What one size of the random pairwise workload cost.
struct Cost {
    edges: usize,
    visits: u64,
    bytes: isize,
}

/// `n` locks, made in a random order (so their ranks say nothing of the
/// program's order), then `8n` random pairs taken lower id first, by four
/// threads: one consistent hierarchy, discovered in random order.
fn random_pairs(n: u64) -> (LockOrderGraph, Vec<(u64, u64, usize)>, Cost) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n);
    let mut g = shuffled_locks(n, &mut rng);
    let threads: Vec<ThreadInfo> = (0..4).map(thread).collect();
    let mut pairs = Vec::with_capacity(8 * n as usize);
    for k in 0..8 * n {
        let (a, b) = (rng.below(n), rng.below(n));
        if a == b {
            continue;
        }
        let (first, second) = (a.min(b), a.max(b));
        let t = (k % 4) as usize;
        let found = take(&mut g, &threads[t], first, second);
        assert_eq!(
            found, 0,
            "one hierarchy has no cycle ({first} then {second})"
        );
        pairs.push((first, second, t));
    }
    let cost = Cost {
        edges: g.edge_count(),
        visits: g.search_visits(),
        bytes: LIVE.load(Ordering::Relaxed) - before,
    };
    (g, pairs, cost)
}

#[test]
fn a_hundred_thousand_locks_in_random_pairwise_orders_cost_linear_work_and_memory() {
    let _one = serial();
    let sizes = [25_000u64, 50_000, 100_000];
    let costs: Vec<Cost> = sizes.iter().map(|&n| random_pairs(n).2).collect();
    for (n, c) in sizes.iter().zip(&costs) {
        eprintln!(
            "{n} locks, {} edges: {:.2} visits and {:.0} bytes per lock or edge",
            c.edges,
            c.visits as f64 / c.edges as f64,
            c.bytes as f64 / (*n as f64 + c.edges as f64)
        );
    }
    let per = |c: &Cost, n: u64| {
        (
            c.visits as f64 / c.edges as f64,
            c.bytes as f64 / (n as f64 + c.edges as f64),
        )
    };
    let (small_work, small_bytes) = per(&costs[0], sizes[0]);
    let (big_work, big_bytes) = per(&costs[2], sizes[2]);
    // Four times the locks and edges: the work per edge and the bytes per
    // lock or edge stay about the same. (A breadth-first search per new
    // edge, the graph's way before its topological order, did 198 visits
    // per edge at the small size and 382 at the large one, in 190 s.)
    assert!(
        big_work <= 1.5 * small_work + 2.0,
        "work per edge grew from {small_work:.2} to {big_work:.2}"
    );
    assert!(
        big_bytes <= 1.5 * small_bytes,
        "bytes per lock or edge grew from {small_bytes:.0} to {big_bytes:.0}"
    );
}

#[test]
fn acquisitions_of_orders_already_seen_add_no_work_and_no_memory() {
    let _one = serial();
    let (mut g, pairs, _) = random_pairs(20_000);
    let (edges, visits) = (g.edge_count(), g.search_visits());
    let threads: Vec<ThreadInfo> = (0..40).map(thread).collect();
    let before = LIVE.load(Ordering::Relaxed);
    for round in 0..5 {
        for &(a, b, t) in &pairs {
            assert_eq!(take(&mut g, &threads[t], a, b), 0, "round {round}");
        }
    }
    assert_eq!(g.edge_count(), edges);
    assert_eq!(g.search_visits(), visits, "a repeated order searched");
    let grown = LIVE.load(Ordering::Relaxed) - before;
    assert!(
        grown <= 0,
        "five more rounds of the same acquisitions kept {grown} more bytes"
    );
    // Other threads forming the same orders: an edge remembers a bounded
    // number of them, so memory stops growing however many there are.
    let mut grew = Vec::new();
    for (t, other) in threads.iter().enumerate().skip(4) {
        let before = LIVE.load(Ordering::Relaxed);
        for &(a, b, _) in &pairs {
            assert_eq!(take(&mut g, other, a, b), 0, "thread {t}");
        }
        grew.push(LIVE.load(Ordering::Relaxed) - before);
    }
    assert_eq!(g.edge_count(), edges);
    assert!(
        grew[20..].iter().all(|&b| b <= 0),
        "bytes kept per further thread: {grew:?}"
    );
}

#[test]
fn chains_of_ten_thousand_in_either_direction_take_no_search_until_closed() {
    let _one = serial();
    for reverse in [false, true] {
        let mut last = None;
        for n in [2_500u64, 5_000, 10_000] {
            let mut g = chain(n, reverse);
            // Each lock is fresh when first chained: it takes a rank at
            // the chain's end, and nothing is searched.
            assert_eq!(g.search_visits(), 0, "chain of {n}, reverse {reverse}");
            // The edge that closes the chain is found, by one search of it.
            let (a, b) = if reverse { (0, n - 1) } else { (n - 1, 0) };
            let t2 = thread(1);
            assert_eq!(take(&mut g, &t2, a, b), 1, "the closing edge of {n}");
            let visits = g.search_visits();
            assert!(visits <= 4 * n, "closing a chain of {n} visited {visits}");
            if let Some((m, v)) = last {
                // Twice the chain, about twice the search.
                assert!(
                    visits <= 3 * v * n / m,
                    "{visits} visits for {n}, {v} for {m}"
                );
            }
            last = Some((n, visits));
        }
    }
}

#[test]
fn the_order_of_locks_still_alive_survives_dropped_locks() {
    let _one = serial();
    let (mut g, pairs, _) = random_pairs(20_000);
    // Every other lock is dropped.
    for i in (0..20_000u64).step_by(2) {
        g.remove_object(ObjectId(i));
    }
    assert_eq!(g.node_count(), 10_000);
    let survivors: Vec<(u64, u64)> = pairs
        .iter()
        .map(|&(a, b, _)| (a, b))
        .filter(|&(a, b)| a % 2 == 1 && b % 2 == 1)
        .collect();
    assert!(!survivors.is_empty());
    // An order learned before the drops, taken the other way now, by
    // another thread: still a cycle.
    let (a, b) = survivors[0];
    let found = take(&mut g, &thread(9), b, a);
    assert_eq!(found, 1, "the order {a} then {b} was forgotten");
    // A dropped lock's orders are gone: taking one the other way finds nothing.
    let (a, b) = pairs
        .iter()
        .map(|&(a, b, _)| (a, b))
        .find(|&(a, b)| a % 2 == 0 && b % 2 == 1)
        .expect("a pair with a dropped lock");
    g.ensure_object(ObjectId(a), || info(a));
    assert_eq!(take(&mut g, &thread(9), b, a), 0);
}
