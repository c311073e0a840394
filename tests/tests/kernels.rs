//! Bug kernels from public concurrency-bug studies, rewritten in Rust over lockgraph's primitives, each beside its fixed version that must stay silent.
//!
//! These are programs whose bugs someone else found: each kernel keeps the
//! shape of a documented real bug (the structures, the lock and wait
//! pattern, the interleaving that hangs) and drops the rest. Sources:
//!
//! - Qin et al., "Understanding Memory and Thread Safety Practices and
//!   Issues in Real-World Rust Programs", PLDI 2020. Commit hashes are the
//!   ones the study lists in its artifact (`system-pclub/rust-study`,
//!   `section-6-thread-safety-issues`); issue numbers are the ones its
//!   reproduced bugs are filed under.
//! - GoBench/GoKer (Yuan et al., CGO 2021): the blocking kernels under
//!   `goker/blocking/<project>/<id>`, named `<project>#<id>` after the pull
//!   request or issue each one comes from. Go's channels become a mutex and condvar
//!   rendezvous, `sync.WaitGroup` a `Latch`, `sync.Cond` a `Condvar`.
//! - JaConTeBe (Lin et al., ASE 2015): Java bugs by the tracker id its test
//!   classes are named after. Java monitors become `ReentrantMutex`es.
//!
//! Where the header says "pattern after", the pattern is the study's but the
//! details are this file's. Interleavings are forced with std barriers and
//! channels (not instrumented), so every run takes the same path; each buggy
//! kernel ends because lockgraph reports it and ends the waits, never by the
//! harness's kill timer.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::sync::Barrier as Gate;
use std::time::Duration;

use lockgraph::{Condvar, Latch, Mutex, MutexGuard, ReentrantMutex, RwLock};
use lockgraph_detect::{Finding, Kind, Op, Severity};
use lockgraph_scenarios::{ms, named, scenario, steps, Outcome};

/// Every buggy kernel is reported within this long (a deadlock within
/// about a second; the rest at once), far below the harness's 20 s kill.
const PROMPT: Duration = Duration::from_secs(5);

#[track_caller]
fn reported_promptly(out: &Outcome) {
    assert!(
        out.elapsed < PROMPT,
        "reported within {PROMPT:?}, took {:?}",
        out.elapsed
    );
}

/// Every step of the finding happened in this file.
#[track_caller]
fn sites_here(f: &Finding) {
    assert!(
        f.evidence
            .iter()
            .all(|e| e.site.file.ends_with("kernels.rs")),
        "{:?}",
        f.evidence.iter().map(|e| &e.site).collect::<Vec<_>>()
    );
}

/// The names of the threads a finding names.
fn thread_names(f: &Finding) -> Vec<&str> {
    f.threads.iter().filter_map(|t| t.name.as_deref()).collect()
}

// ---------------------------------------------------------------------------
// K01. Rust study: TiKV, commit bcb7745e, in the PD client.
// `do_request` reconnects to the PD leader with
// `match try_connect_leader(&client.inner.rl().members) { Ok(..) => { let mut
// inner = client.inner.wl(); .. } }`: the read guard is a temporary of the
// match scrutinee and lives to the end of the match, so the write in the arm
// waits for the thread's own read lock. The fix binds the result first.
// lockgraph must report: self_deadlock (a write asked for under the
// thread's own read), before the thread blocks, naming both sites.
// ---------------------------------------------------------------------------

struct Leader {
    members: Vec<u32>,
    client: u32,
}

struct LeaderClient {
    inner: RwLock<Leader>,
    failed_reconnects: AtomicU32,
}

impl LeaderClient {
    fn new() -> Self {
        LeaderClient {
            inner: RwLock::named(
                "leader_client.inner",
                Leader {
                    members: vec![1, 2, 3],
                    client: 0,
                },
            ),
            failed_reconnects: AtomicU32::new(0),
        }
    }
}

fn try_connect_leader(members: &[u32]) -> Result<(u32, Vec<u32>), ()> {
    match members.first() {
        Some(&m) => Ok((100 + m, members.to_vec())),
        None => Err(()),
    }
}

fn reconnect_in_scrutinee(c: &LeaderClient) {
    match try_connect_leader(&c.inner.read().members) {
        Ok((cli, mbrs)) => {
            let mut inner = c.inner.write();
            inner.client = cli;
            inner.members = mbrs;
        }
        Err(()) => {
            c.failed_reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn reconnect_result_bound_first(c: &LeaderClient) {
    let result = try_connect_leader(&c.inner.read().members);
    match result {
        Ok((cli, mbrs)) => {
            let mut inner = c.inner.write();
            inner.client = cli;
            inner.members = mbrs;
        }
        Err(()) => {
            c.failed_reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }
}

scenario! {
    fn k01_tikv_read_guard_in_match_scrutinee_then_write_is_self_deadlock() {
        reconnect_in_scrutinee(&LeaderClient::new());
    } => |out| {
        out.expect_panic(Kind::SelfDeadlock);
        let f = out.single(Kind::SelfDeadlock);
        assert_eq!(f.severity, Severity::Error);
        assert!(
            f.summary.contains("asks to lock RwLock \"leader_client.inner\" that it already holds (read)"),
            "{}", f.summary
        );
        let s = steps(f);
        assert!(s[0].starts_with("holds leader_client.inner@"), "the scrutinee's read: {s:?}");
        assert!(s[1].starts_with("acquires leader_client.inner@"), "the arm's write: {s:?}");
        assert!(f.evidence[0].site.line < f.evidence[1].site.line, "{s:?}");
        sites_here(f);
        reported_promptly(&out);
    }
}

scenario! {
    fn k01_twin_result_bound_before_the_match_is_silent() {
        let c = LeaderClient::new();
        reconnect_result_bound_first(&c);
        assert_eq!(c.inner.read().client, 101);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K02. Rust study: Parity Ethereum (OpenEthereum), commit 8b692e6d, in the
// network host's I/O handler: `if let Some(node_changes) =
// self.discovery.lock().unwrap().readable() { .. }` keeps the discovery
// guard, a temporary of the `if let` scrutinee, alive through the body;
// the fix binds `{ self.discovery.lock().readable() }` first. Pattern after:
// here the body calls `update_nodes`, which locks discovery again.
// lockgraph must report: self_deadlock on Mutex "host.discovery", naming the
// scrutinee's acquisition and the nested one.
// ---------------------------------------------------------------------------

struct Discovery {
    pending: Vec<u32>,
    table: Vec<u32>,
}

impl Discovery {
    fn readable(&mut self) -> Option<Vec<u32>> {
        if self.pending.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.pending))
        }
    }
}

struct Host {
    discovery: Mutex<Discovery>,
    nodes: Mutex<Vec<u32>>,
}

impl Host {
    fn new() -> Self {
        Host {
            discovery: Mutex::named(
                "host.discovery",
                Discovery {
                    pending: vec![7, 8],
                    table: Vec::new(),
                },
            ),
            nodes: Mutex::named("host.nodes", Vec::new()),
        }
    }

    fn update_nodes(&self, changes: Vec<u32>) {
        self.nodes.lock().extend(&changes);
        self.discovery.lock().table.extend(changes);
    }

    fn on_readable_in_scrutinee(&self) {
        if let Some(changes) = self.discovery.lock().readable() {
            self.update_nodes(changes);
        }
    }

    fn on_readable_bound_first(&self) {
        let changes = { self.discovery.lock().readable() };
        if let Some(changes) = changes {
            self.update_nodes(changes);
        }
    }
}

scenario! {
    fn k02_parity_guard_in_if_let_scrutinee_then_nested_lock_is_self_deadlock() {
        Host::new().on_readable_in_scrutinee();
    } => |out| {
        out.expect_panic(Kind::SelfDeadlock);
        let f = out.single(Kind::SelfDeadlock);
        assert!(f.summary.contains("Mutex \"host.discovery\""), "{}", f.summary);
        let s = steps(f);
        assert!(s[0].starts_with("holds host.discovery@"), "{s:?}");
        assert!(s[1].starts_with("acquires host.discovery@"), "{s:?}");
        sites_here(f);
        reported_promptly(&out);
    }
}

scenario! {
    fn k02_twin_changes_bound_in_a_block_first_is_silent() {
        let host = Host::new();
        host.on_readable_bound_first();
        assert_eq!(host.discovery.lock().table, [7, 8]);
        assert_eq!(*host.nodes.lock(), [7, 8]);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K03. Rust study: Parity Ethereum #8977 (reproduced by the study as
// ethereum-blocking-4). A thread holding a parking_lot read lock reads the
// same RwLock again while a writer has queued in between: parking_lot's
// task-fair RwLock parks the second read behind the writer, which waits for
// the first read. lockgraph must report: self_deadlock (the hazard of a read
// inside a read), before the second read blocks, whether or not the writer
// has queued yet; the reporting thread's unwinding frees the writer.
// ---------------------------------------------------------------------------

fn best_block_number(chain: &RwLock<u64>) -> u64 {
    *chain.read()
}

fn chain_status(chain: &RwLock<u64>, writer_queued: &Gate, nested_read: bool) -> u64 {
    let outer = chain.read();
    writer_queued.wait();
    // Give the importer time to park on `write`, as in the reproduction.
    std::thread::sleep(ms(150));
    if nested_read {
        *outer + best_block_number(chain)
    } else {
        *outer + *outer
    }
}

fn rpc_and_importer(nested_read: bool) -> (std::thread::Result<u64>, u64) {
    let chain = Arc::new(RwLock::named("chain.best_block", 1u64));
    let writer_queued = Arc::new(Gate::new(2));
    let rpc = {
        let (chain, gate) = (chain.clone(), writer_queued.clone());
        named("rpc", move || chain_status(&chain, &gate, nested_read))
    };
    let importer = {
        let (chain, gate) = (chain.clone(), writer_queued.clone());
        named("importer", move || {
            gate.wait();
            *chain.write() = 2;
        })
    };
    let status = rpc.join();
    importer
        .join()
        .expect("the importer finishes once the reader is gone");
    let now = *chain.read();
    (status, now)
}

scenario! {
    fn k03_parity_read_inside_read_with_a_writer_queued_is_self_deadlock() {
        let (status, now) = rpc_and_importer(true);
        assert!(status.is_err(), "the rpc thread leaves with the report");
        assert_eq!(now, 2);
    } => |out| {
        let f = out.single(Kind::SelfDeadlock);
        assert!(f.summary.contains("thread \"rpc\""), "{}", f.summary);
        assert!(f.summary.contains("RwLock \"chain.best_block\""), "{}", f.summary);
        assert!(f.summary.contains("as soon as a writer queues"), "{}", f.summary);
        let s = steps(f);
        assert!(s[0].starts_with("holds chain.best_block@") && s[1].starts_with("acquires chain.best_block@"), "{s:?}");
        sites_here(f);
        reported_promptly(&out);
    }
}

scenario! {
    fn k03_twin_the_value_read_once_and_passed_down_is_silent() {
        let (status, now) = rpc_and_importer(false);
        assert_eq!(status.expect("no report"), 2);
        assert_eq!(now, 2);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K04. Rust study: Parity Ethereum #9952 (reproduced by the study as
// ethereum-blocking-3). `BlockChain::chain_info` reads `best_block` then
// `best_ancient_block`; `commit` writes `best_ancient_block` then
// `best_block`. lockgraph must report: a deadlock within about a second
// when the two meet, naming both threads and both locks; and a
// lock_order_cycle (error) when they run one after the other and nothing
// hangs. The twin (pattern after the fix) takes the two in one order in both.
// ---------------------------------------------------------------------------

struct BlockChain {
    best_block: RwLock<u64>,
    best_ancient_block: RwLock<u64>,
}

impl BlockChain {
    fn new() -> Self {
        BlockChain {
            best_block: RwLock::named("best_block", 10),
            best_ancient_block: RwLock::named("best_ancient_block", 3),
        }
    }

    fn chain_info(&self, meet: Option<&Gate>) -> (u64, u64) {
        let best = self.best_block.read();
        if let Some(meet) = meet {
            meet.wait();
        }
        let ancient = self.best_ancient_block.read();
        (*best, *ancient)
    }

    fn commit(&self, meet: Option<&Gate>, fixed: bool) {
        if fixed {
            // Under one order the peer may be blocked on our first lock:
            // meet before taking any.
            if let Some(meet) = meet {
                meet.wait();
            }
            let mut best = self.best_block.write();
            let mut ancient = self.best_ancient_block.write();
            *ancient += 1;
            *best += 1;
        } else {
            let mut ancient = self.best_ancient_block.write();
            if let Some(meet) = meet {
                meet.wait();
            }
            let mut best = self.best_block.write();
            *ancient += 1;
            *best += 1;
        }
    }
}

/// `chain_info` on "client-info" and `commit` on "block-import", meeting
/// after their first lock (`collide`) or one after the other.
fn info_and_commit(collide: bool, fixed: bool) {
    let chain = Arc::new(BlockChain::new());
    let meet = Arc::new(Gate::new(2));
    let info = {
        let (chain, meet) = (chain.clone(), meet.clone());
        named("client-info", move || {
            // With the fixed order the reader meets first too.
            if fixed && collide {
                meet.wait();
                chain.chain_info(None)
            } else {
                chain.chain_info(collide.then_some(&*meet))
            }
        })
    };
    // Apart: the import runs after the info, ordered by a std channel (a
    // join would order the two threads for good: no deadlock possible).
    let (done, go) = mpsc::channel::<()>();
    let import = {
        let (chain, meet) = (chain.clone(), meet.clone());
        named("block-import", move || {
            if !collide {
                go.recv().unwrap();
            }
            chain.commit(collide.then_some(&*meet), fixed)
        })
    };
    let _ = info.join();
    let _ = done.send(());
    let _ = import.join();
}

scenario! {
    fn k04_parity_best_block_locks_in_opposite_orders_meeting_is_deadlock() {
        info_and_commit(true, false);
    } => |out| {
        let f = out.single(Kind::Deadlock);
        let names = thread_names(f);
        assert!(names.contains(&"client-info") && names.contains(&"block-import"), "{names:?}");
        assert!(f.summary.contains("RwLock \"best_block\"") && f.summary.contains("RwLock \"best_ancient_block\""), "{}", f.summary);
        let s = steps(f);
        assert_eq!(s.iter().filter(|x| x.starts_with("holds")).count(), 2, "{s:?}");
        assert_eq!(s.iter().filter(|x| x.starts_with("blocked_on")).count(), 2, "{s:?}");
        sites_here(f);
        reported_promptly(&out);
    }
}

scenario! {
    fn k04_parity_best_block_locks_in_opposite_orders_apart_is_lock_order_cycle() {
        info_and_commit(false, false);
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert_eq!(f.severity, Severity::Error, "two threads formed it: {}", f.summary);
        let s = steps(f);
        assert_eq!(s.len(), 4, "{s:?}");
        for want in ["holds best_block@", "acquires best_ancient_block@", "holds best_ancient_block@", "acquires best_block@"] {
            assert!(s.iter().any(|x| x.starts_with(want)), "{want}: {s:?}");
        }
        let names = thread_names(f);
        assert!(names.contains(&"client-info") && names.contains(&"block-import"), "{names:?}");
        sites_here(f);
    }
}

scenario! {
    fn k04_twin_commit_in_chain_info_order_is_silent() {
        info_and_commit(true, true);
        info_and_commit(false, true);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K05. Rust study: rayon, commit f17d745e (reproduced by the study as
// rayon-blocking-1). `LockLatch` kept its flag in an `AtomicBool` beside a
// `Mutex<()>` that guarded nothing: `set` stored the flag and called
// `notify_all` without the mutex, so it could land between the waiter's
// check of the flag and its `wait`, and the waiter slept forever. The fix
// moves the flag into the mutex. lockgraph must report: missed_notification,
// naming the notify that woke nobody and the wait that began after it.
// ---------------------------------------------------------------------------

struct AtomicLatch {
    b: AtomicBool,
    m: Mutex<()>,
    v: Condvar,
}

impl AtomicLatch {
    fn new() -> Self {
        AtomicLatch {
            b: AtomicBool::new(false),
            m: Mutex::named("latch.m", ()),
            v: Condvar::named("latch.v"),
        }
    }

    fn set(&self) {
        self.b.store(true, Ordering::Release);
        self.v.notify_all();
    }

    /// `window` runs between the check and the wait: the schedule's hook.
    fn wait(&self, window: impl FnOnce()) {
        let mut guard = self.m.lock();
        let mut window = Some(window);
        while !self.b.load(Ordering::Acquire) {
            if let Some(w) = window.take() {
                w();
            }
            self.v.wait(&mut guard);
        }
    }
}

struct LockLatch {
    m: Mutex<bool>,
    v: Condvar,
}

impl LockLatch {
    fn new() -> Self {
        LockLatch {
            m: Mutex::named("latch.m", false),
            v: Condvar::named("latch.v"),
        }
    }

    fn set(&self) {
        let mut set = self.m.lock();
        *set = true;
        self.v.notify_all();
    }

    fn wait(&self, window: impl FnOnce()) {
        let mut set = self.m.lock();
        let mut window = Some(window);
        while !*set {
            if let Some(w) = window.take() {
                w();
            }
            self.v.wait(&mut set);
        }
    }
}

scenario! {
    fn k05_rayon_latch_set_between_check_and_wait_is_missed_notification() {
        let latch = Arc::new(AtomicLatch::new());
        let checked = Arc::new(Gate::new(2));
        let (done_tx, done_rx) = mpsc::channel();
        let _worker = {
            let (latch, checked) = (latch.clone(), checked.clone());
            named("rayon-worker", move || {
                checked.wait();
                latch.set();
                done_tx.send(()).unwrap();
            })
        };
        // The job's owner has seen the flag unset; the worker sets it now.
        latch.wait(|| {
            checked.wait();
            done_rx.recv().unwrap();
        });
    } => |out| {
        out.expect_panic(Kind::MissedNotification);
        let f = out.single(Kind::MissedNotification);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.evidence.len(), 2, "{:?}", steps(f));
        assert_eq!(f.evidence[0].op, Op::Signals, "the notify_all in set");
        assert_eq!(f.evidence[1].op, Op::BlockedOn, "the wait in wait");
        assert!(f.summary.contains("thread \"rayon-worker\""), "{}", f.summary);
        assert!(f.summary.contains("Condvar \"latch.v\""), "{}", f.summary);
        sites_here(f);
        reported_promptly(&out);
    }
}

scenario! {
    fn k05_twin_flag_under_the_mutex_is_silent() {
        let latch = Arc::new(LockLatch::new());
        let checked = Arc::new(Gate::new(2));
        let worker = {
            let (latch, checked) = (latch.clone(), checked.clone());
            named("rayon-worker", move || {
                checked.wait();
                latch.set();
            })
        };
        // Same schedule: the worker sets right after the check, but must
        // take the mutex, which the wait gives up atomically.
        latch.wait(|| {
            checked.wait();
            std::thread::sleep(ms(50));
        });
        worker.join().unwrap();
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// Go's explicit `mu.Lock()` / `mu.Unlock()`, for the GoKer kernels whose bug
// is an Unlock missing on one path: lock and forget the guard, and unlock
// by force.
// ---------------------------------------------------------------------------

/// Go's `mu.Lock()`: the lock stays held until [`go_unlock`].
#[track_caller]
fn go_lock<T>(m: &Mutex<T>) {
    std::mem::forget(m.lock());
}

/// Go's `mu.Unlock()`.
fn go_unlock<T>(m: &Mutex<T>) {
    // Safety: every call follows a `go_lock` of the same mutex on this
    // thread, whose guard was forgotten, and is the only unlock for it.
    unsafe { m.force_unlock() }
}

// ---------------------------------------------------------------------------
// K06. GoKer moby#7559. `UDPProxy.Run` locks `connTrackLock` at the top of
// each loop iteration; when dialing fails it `continue`s without unlocking,
// and the next iteration locks it again. lockgraph must report:
// self_deadlock on the second `Lock`, naming both acquisition sites.
// ---------------------------------------------------------------------------

struct UdpProxy {
    conn_track_lock: Mutex<()>,
}

impl UdpProxy {
    fn run(&self, dial: impl Fn(u32) -> Result<(), ()>, unlock_on_error: bool) {
        for i in 0..2 {
            go_lock(&self.conn_track_lock);
            if dial(i).is_err() {
                if unlock_on_error {
                    go_unlock(&self.conn_track_lock);
                }
                continue;
            }
            if i == 0 {
                break;
            }
        }
        go_unlock(&self.conn_track_lock);
    }
}

fn first_dial_fails(i: u32) -> Result<(), ()> {
    if i == 0 {
        Err(())
    } else {
        Ok(())
    }
}

scenario! {
    fn k06_moby_continue_without_unlock_then_lock_again_is_self_deadlock() {
        let proxy = UdpProxy { conn_track_lock: Mutex::named("UDPProxy.connTrackLock", ()) };
        proxy.run(first_dial_fails, false);
    } => |out| {
        out.expect_panic(Kind::SelfDeadlock);
        let kinds = [Kind::SelfDeadlock, Kind::LockLeak];
        let f = out.exactly(&kinds, Kind::SelfDeadlock);
        assert!(f.summary.contains("Mutex \"UDPProxy.connTrackLock\""), "{}", f.summary);
        let s = steps(f);
        assert!(s[0].starts_with("holds UDPProxy.connTrackLock@"), "{s:?}");
        assert!(s[1].starts_with("acquires UDPProxy.connTrackLock@"), "{s:?}");
        assert!(f.evidence[0].site.line == f.evidence[1].site.line, "the same `go_lock` line, twice: {s:?}");
        sites_here(f);
        // The report's panic unwinds past the missing unlock's twin too: the
        // proxy is dropped with the first lock still held.
        let leak = out.exactly(&kinds, Kind::LockLeak);
        assert!(leak.summary.contains("was destroyed while thread"), "{}", leak.summary);
        assert_eq!(leak.evidence[0].site, f.evidence[0].site, "the first Lock is the leaked one");
        reported_promptly(&out);
    }
}

scenario! {
    fn k06_twin_unlock_before_continue_is_silent() {
        let proxy = UdpProxy { conn_track_lock: Mutex::named("UDPProxy.connTrackLock", ()) };
        proxy.run(first_dial_fails, true);
        assert!(!proxy.conn_track_lock.is_locked());
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K07. GoKer cockroach#584. `Gossip.bootstrap` and `Gossip.manage` each loop
// `g.mu.Lock(); if g.closed { break }; g.mu.Unlock()`: the `break` leaves
// with the mutex held. In the kernel one goroutine runs both; here (pattern
// after) bootstrap runs on its own thread, as a worker of its own, and ends.
// lockgraph must report: lock_leak (the bootstrap thread ended holding
// `Gossip.mu`, naming where it was taken) and then a deadlock (manage waits
// for a lock whose holder is gone).
// ---------------------------------------------------------------------------

struct Gossip {
    mu: Mutex<()>,
    closed: bool,
}

impl Gossip {
    /// Tries to reach the cluster a few times, each round under `mu`.
    fn bootstrap(&self, unlock_on_close: bool) {
        let mut rounds = 0;
        loop {
            go_lock(&self.mu);
            if self.closed {
                if unlock_on_close {
                    go_unlock(&self.mu);
                }
                break;
            }
            rounds += 1;
            go_unlock(&self.mu);
            if rounds == 3 {
                break;
            }
        }
    }

    fn manage(&self) {
        let mut rounds = 0;
        loop {
            go_lock(&self.mu);
            if self.closed {
                go_unlock(&self.mu);
                break;
            }
            rounds += 1;
            go_unlock(&self.mu);
            if rounds == 3 {
                break;
            }
        }
    }
}

fn gossip(unlock_on_close: bool) {
    let g = Arc::new(Gossip {
        mu: Mutex::named("Gossip.mu", ()),
        closed: true,
    });
    {
        let g = g.clone();
        named("gossip-bootstrap", move || g.bootstrap(unlock_on_close))
            .join()
            .unwrap();
    }
    g.manage();
}

scenario! {
    fn k07_cockroach_break_without_unlock_is_lock_leak_then_deadlock() {
        gossip(false);
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        let kinds = [Kind::LockLeak, Kind::Deadlock];
        let leak = out.exactly(&kinds, Kind::LockLeak);
        assert_eq!(leak.severity, Severity::Warning);
        assert!(leak.summary.contains("thread \"gossip-bootstrap\""), "{}", leak.summary);
        assert!(leak.summary.contains("ended holding Mutex \"Gossip.mu\""), "{}", leak.summary);
        sites_here(leak);
        let d = out.exactly(&kinds, Kind::Deadlock);
        assert!(d.summary.contains("waits to lock Mutex \"Gossip.mu\""), "{}", d.summary);
        reported_promptly(&out);
    }
}

scenario! {
    fn k07_twin_unlock_before_break_is_silent() {
        gossip(true);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K08. GoKer cockroach#7504. `tableState.release` holds `tableState.mu` and
// the lease's `LeaseState.mu`, then removes the lease from the
// `tableNameCache`, locking `tableNameCache.mu`; `AcquireByName` locks
// `tableNameCache.mu`, then the cached lease's `LeaseState.mu`. The Go
// kernel hangs once in a hundred runs. lockgraph must report: a
// lock_order_cycle (error) between `LeaseState[0].mu` and
// `tableNameCache.mu` from one run of each path, although nothing hangs;
// `tableState.mu`, held by one side only, is no gate. The twin (pattern
// after the fix) removes the lease from the name cache before locking it.
// ---------------------------------------------------------------------------

struct LeaseState {
    mu: Mutex<u32>,
}

struct TableNameCache {
    mu: Mutex<Vec<Option<Arc<LeaseState>>>>,
}

impl TableNameCache {
    fn get(&self, id: usize) -> Option<u32> {
        let tables = self.mu.lock();
        let lease = tables.get(id)?.as_ref()?;
        let version = *lease.mu.lock();
        Some(version)
    }

    fn remove(&self, id: usize) {
        if let Some(slot) = self.mu.lock().get_mut(id) {
            *slot = None;
        }
    }
}

struct TableState {
    mu: Mutex<Vec<Arc<LeaseState>>>,
    cache: Arc<TableNameCache>,
}

impl TableState {
    fn release(&self, id: usize, fixed: bool) {
        let active = self.mu.lock();
        let lease = active[id].clone();
        if fixed {
            self.cache.remove(id);
            *lease.mu.lock() += 1;
        } else {
            let mut version = lease.mu.lock();
            *version += 1;
            self.cache.remove(id);
        }
    }
}

fn lease_manager(fixed: bool) {
    let leases: Vec<Arc<LeaseState>> = (0..2)
        .map(|i| {
            Arc::new(LeaseState {
                mu: Mutex::with_name(format!("LeaseState[{i}].mu"), 1),
            })
        })
        .collect();
    let cache = Arc::new(TableNameCache {
        mu: Mutex::named(
            "tableNameCache.mu",
            leases.iter().cloned().map(Some).collect(),
        ),
    });
    let table = Arc::new(TableState {
        mu: Mutex::named("tableState.mu", leases),
        cache: cache.clone(),
    });
    // Both run at once, as in the server; a std channel (not a join, which
    // would order them for good) makes the release come second.
    let (done, go) = mpsc::channel();
    let release = named("release", move || {
        go.recv().unwrap();
        table.release(0, fixed)
    });
    let acquired = named("acquire-by-name", move || {
        let v = cache.get(0);
        done.send(()).unwrap();
        v
    })
    .join();
    assert_eq!(acquired.unwrap(), Some(1));
    let _ = release.join();
}

scenario! {
    fn k08_cockroach_lease_and_name_cache_in_opposite_orders_is_lock_order_cycle() {
        lease_manager(false);
    } => |out| {
        let f = out.single(Kind::LockOrderCycle);
        assert_eq!(f.severity, Severity::Error, "{}", f.summary);
        let s = steps(f);
        assert_eq!(s.len(), 4, "{s:?}");
        for want in ["holds tableNameCache.mu@", "acquires LeaseState[0].mu@", "holds LeaseState[0].mu@", "acquires tableNameCache.mu@"] {
            assert!(s.iter().any(|x| x.starts_with(want)), "{want}: {s:?}");
        }
        let names = thread_names(f);
        assert!(names.contains(&"acquire-by-name") && names.contains(&"release"), "{names:?}");
        sites_here(f);
    }
}

scenario! {
    fn k08_twin_remove_from_the_name_cache_before_locking_the_lease_is_silent() {
        lease_manager(true);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K09. GoKer moby#4951 (devmapper). `DeleteDevice` locks the global
// `DeviceSet` lock, then the device's `DevInfo.lock`, and deep inside
// (`removeDeviceAndWait`) unlocks the global lock while it waits for the
// device to go, then locks it again, still holding the device lock. Two
// deletes of the same device: the second takes the global lock in the gap
// and waits for the device lock; the first waits to get the global lock
// back. Here the gap is lock_api's `MutexGuard::unlocked`. lockgraph must
// report: a deadlock naming both threads, `DeviceSet` and the device lock.
// The twin (pattern after the fix) takes the device lock before the global one.
// ---------------------------------------------------------------------------

struct DevInfo {
    lock: Mutex<u32>,
}

struct DeviceSet {
    devices: Mutex<Vec<(&'static str, Arc<DevInfo>)>>,
}

impl DeviceSet {
    fn new() -> Self {
        let info = |n: &'static str| {
            (
                n,
                Arc::new(DevInfo {
                    lock: Mutex::with_name(format!("DevInfo({n}).lock"), 0),
                }),
            )
        };
        DeviceSet {
            devices: Mutex::named("DeviceSet", vec![info("info1"), info("info2")]),
        }
    }

    fn lookup(devices: &[(&str, Arc<DevInfo>)], hash: &str) -> Arc<DevInfo> {
        let (_, info) = devices.iter().find(|(n, _)| *n == hash).expect("device");
        info.clone()
    }

    /// `in_gap` runs while the global lock is given up (the removal wait);
    /// `looked_up` right after the lookup, holding the global lock.
    fn delete_device(&self, hash: &str, looked_up: impl FnOnce(), in_gap: impl FnOnce()) {
        let mut devices = self.devices.lock();
        let info = Self::lookup(&devices, hash);
        looked_up();
        let mut state = info.lock.lock();
        *state += 1;
        MutexGuard::unlocked(&mut devices, in_gap);
    }

    fn delete_device_fixed(&self, hash: &str, looked_up: impl FnOnce(), in_gap: impl FnOnce()) {
        let info = Self::lookup(&self.devices.lock(), hash);
        looked_up();
        let mut state = info.lock.lock();
        *state += 1;
        let mut devices = self.devices.lock();
        MutexGuard::unlocked(&mut devices, in_gap);
    }
}

fn delete_twice(fixed: bool) {
    let set = Arc::new(DeviceSet::new());
    let (first_in_gap_tx, first_in_gap) = mpsc::channel();
    let (second_looked_up_tx, second_looked_up) = mpsc::channel();
    let first = {
        let set = set.clone();
        named("delete-1", move || {
            let in_gap = move || {
                first_in_gap_tx.send(()).unwrap();
                // Wait until the second delete holds what this one gave up.
                second_looked_up.recv().unwrap();
            };
            if fixed {
                set.delete_device_fixed("info1", || (), in_gap);
            } else {
                set.delete_device("info1", || (), in_gap);
            }
        })
    };
    first_in_gap.recv().unwrap();
    let second = {
        let set = set.clone();
        named("delete-2", move || {
            let looked_up = move || second_looked_up_tx.send(()).unwrap();
            if fixed {
                set.delete_device_fixed("info1", looked_up, || ());
            } else {
                set.delete_device("info1", looked_up, || ());
            }
        })
    };
    let _ = first.join();
    let _ = second.join();
}

scenario! {
    fn k09_moby_global_lock_retaken_under_the_device_lock_is_deadlock() {
        delete_twice(false);
    } => |out| {
        let f = out.single(Kind::Deadlock);
        let names = thread_names(f);
        assert!(names.contains(&"delete-1") && names.contains(&"delete-2"), "{names:?}");
        assert!(f.summary.contains("Mutex \"DeviceSet\""), "{}", f.summary);
        assert!(f.summary.contains("Mutex \"DevInfo(info1).lock\""), "{}", f.summary);
        let s = steps(f);
        assert_eq!(s.iter().filter(|x| x.starts_with("holds")).count(), 2, "{s:?}");
        assert_eq!(s.iter().filter(|x| x.starts_with("blocked_on")).count(), 2, "{s:?}");
        // Every step is at a line of this file, the re-lock at the end of
        // `MutexGuard::unlocked` included (finding F3, fixed).
        sites_here(f);
        reported_promptly(&out);
    }
}

scenario! {
    fn k09_twin_device_lock_taken_before_the_global_lock_is_silent() {
        delete_twice(true);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// An unbuffered Go channel: `send` returns once a receiver took the value.
// ---------------------------------------------------------------------------

struct Chan<T> {
    state: Mutex<ChanState<T>>,
    /// Receivers wait here for an item.
    items: Condvar,
    /// Senders wait here for their item to be taken.
    taken: Condvar,
}

struct ChanState<T> {
    item: Option<T>,
    sent: u64,
    taken: u64,
}

impl<T> Chan<T> {
    fn new(name: &'static str, items: &'static str, taken: &'static str) -> Self {
        Chan {
            state: Mutex::named(
                name,
                ChanState {
                    item: None,
                    sent: 0,
                    taken: 0,
                },
            ),
            items: Condvar::named(items),
            taken: Condvar::named(taken),
        }
    }

    fn send(&self, v: T) {
        let mut s = self.state.lock();
        self.taken.wait_while(&mut s, |s| s.item.is_some());
        s.item = Some(v);
        s.sent += 1;
        let mine = s.sent;
        self.items.notify_one();
        self.taken.wait_while(&mut s, |s| s.taken < mine);
    }

    fn recv(&self) -> T {
        let mut s = self.state.lock();
        self.items.wait_while(&mut s, |s| s.item.is_none());
        s.taken += 1;
        let v = s.item.take().expect("an item");
        self.taken.notify_all();
        v
    }
}

// ---------------------------------------------------------------------------
// K10. GoKer kubernetes#10182. The kubelet's `statusManager.SetPodStatus`
// sends on the unbuffered `podStatusChannel` while holding
// `podStatusesLock`; the sync goroutine receives, then `DeletePodStatus`
// locks `podStatusesLock`. A second `SetPodStatus` that takes the lock
// before the sync goroutine does blocks in its send, holding the lock the
// only receiver waits for. lockgraph must report: blocking_while_holding
// (a channel wait, here a condvar wait, under `podStatusesLock`) and a
// deadlock across a lock and a condvar. The twin sends after unlocking.
// ---------------------------------------------------------------------------

struct StatusManager {
    pod_statuses_lock: RwLock<Vec<u32>>,
    pod_status_channel: Chan<u32>,
}

impl StatusManager {
    fn set_pod_status(&self, pod: u32, fixed: bool, locked: impl FnOnce()) {
        let mut statuses = self.pod_statuses_lock.write();
        statuses.push(pod);
        locked();
        if fixed {
            drop(statuses);
        }
        self.pod_status_channel.send(pod);
    }

    fn sync_batch(&self, received: impl FnOnce()) {
        let pod = self.pod_status_channel.recv();
        received();
        self.delete_pod_status(pod);
    }

    fn delete_pod_status(&self, pod: u32) {
        self.pod_statuses_lock.write().retain(|&p| p != pod);
    }
}

fn kubelet_status(fixed: bool) {
    let sm = Arc::new(StatusManager {
        pod_statuses_lock: RwLock::named("podStatusesLock", Vec::new()),
        pod_status_channel: Chan::new(
            "podStatusChannel",
            "podStatusChannel.items",
            "podStatusChannel.taken",
        ),
    });
    let (second_locked_tx, second_locked) = mpsc::channel::<()>();
    let sync = {
        let sm = sm.clone();
        named("status-sync", move || {
            // The first batch's delete waits until the second setter holds the lock.
            sm.sync_batch(|| second_locked.recv().unwrap());
            sm.sync_batch(|| ());
        })
    };
    let sm1 = sm.clone();
    named("set-pod-1", move || sm1.set_pod_status(1, fixed, || ()))
        .join()
        .unwrap();
    let sm2 = sm.clone();
    let second = named("set-pod-2", move || {
        sm2.set_pod_status(2, fixed, || second_locked_tx.send(()).unwrap())
    });
    let _ = second.join();
    let _ = sync.join();
}

scenario! {
    fn k10_kubernetes_send_on_a_channel_holding_the_receivers_lock_is_deadlock() {
        kubelet_status(false);
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let kinds = [Kind::BlockingWhileHolding, Kind::Deadlock];
        let w = out.exactly(&kinds, Kind::BlockingWhileHolding);
        assert!(w.summary.contains("thread \"set-pod-1\""), "the first setter already waited so: {}", w.summary);
        assert!(w.summary.contains("Condvar \"podStatusChannel.taken\""), "{}", w.summary);
        assert!(w.summary.contains("while holding RwLock \"podStatusesLock\""), "{}", w.summary);
        let d = out.exactly(&kinds, Kind::Deadlock);
        assert!(d.summary.contains("thread \"set-pod-2\""), "{}", d.summary);
        assert!(d.summary.contains("thread \"status-sync\""), "{}", d.summary);
        assert!(d.summary.contains("RwLock \"podStatusesLock\""), "{}", d.summary);
        reported_promptly(&out);
    }
}

scenario! {
    fn k10_twin_send_after_unlocking_is_silent() {
        kubelet_status(true);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K11. GoKer moby#25384. The plugin manager's `init` does
// `group.Add(len(pm.plugins))`, then for each plugin starts a goroutine that
// calls `group.Done()`, and calls `group.Wait()` inside the loop: the first
// wait needs every plugin's Done, but only one goroutine has been started.
// lockgraph must report: a deadlock (the only live thread waits for a latch
// nobody left can count down). The fix waits after the loop.
// ---------------------------------------------------------------------------

fn init_plugins(plugins: &[&str], wait_inside_the_loop: bool) {
    let group = Arc::new(Latch::named("group", plugins.len()));
    let mut started = Vec::new();
    for p in plugins {
        let done = group.clone();
        started.push(named(&format!("plugin {p}"), move || done.count_down()));
        if wait_inside_the_loop {
            group.wait();
        }
    }
    if !wait_inside_the_loop {
        group.wait();
    }
    for h in started {
        h.join().unwrap();
    }
}

scenario! {
    fn k11_moby_waitgroup_waited_inside_the_loop_is_deadlock() {
        init_plugins(&["p1", "p2"], true);
    } => |out| {
        out.expect_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        assert!(f.summary.contains("waits for Latch \"group\" to count down"), "{}", f.summary);
        sites_here(f);
        reported_promptly(&out);
    }
}

scenario! {
    fn k11_twin_wait_after_the_loop_is_silent() {
        init_plugins(&["p1", "p2"], false);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K12. GoKer kubernetes#58107 (resource quota controller). Each worker holds
// `workerLock.RLock()` while it pulls from its queue, and the queue's `Get`
// waits on a `sync.Cond` while empty. Worker 1 waits on its empty queue
// holding the read lock; the periodic sync asks for `workerLock.Lock()` and
// waits for worker 1; worker 2, whose queue has work, asks for the read
// lock and (write-preferring lock) waits behind the writer. Nothing can
// fill queue 1: the controller waits for worker 2's result. lockgraph must
// report: blocking_while_holding (worker 1's condvar wait under the read
// lock) and a deadlock across the condvar and the RwLock. The fix (per
// the GoKer description) pulls from the queue without `workerLock`.
// ---------------------------------------------------------------------------

struct WorkQueue {
    items: Mutex<Vec<u32>>,
    cond: Condvar,
}

impl WorkQueue {
    fn new(name: &'static str, cond: &'static str, items: Vec<u32>) -> Self {
        WorkQueue {
            items: Mutex::named(name, items),
            cond: Condvar::named(cond),
        }
    }

    fn get(&self) -> u32 {
        let mut items = self.items.lock();
        while items.is_empty() {
            self.cond.wait(&mut items);
        }
        items.remove(0)
    }

    fn put(&self, item: u32) {
        self.items.lock().push(item);
        self.cond.notify_one();
    }
}

struct QuotaController {
    worker_lock: RwLock<()>,
    queue: WorkQueue,
    missing_usage_queue: WorkQueue,
}

impl QuotaController {
    fn work(&self, queue: &WorkQueue, fixed: bool, holding: impl FnOnce()) -> u32 {
        if fixed {
            let item = queue.get();
            let _w = self.worker_lock.read();
            holding();
            item
        } else {
            let _w = self.worker_lock.read();
            holding();
            queue.get()
        }
    }

    fn sync(&self) {
        drop(self.worker_lock.write());
    }
}

fn resource_quota(fixed: bool) -> Option<u32> {
    let rq = Arc::new(QuotaController {
        worker_lock: RwLock::named("workerLock", ()),
        queue: WorkQueue::new("queue", "queue.cond", Vec::new()),
        missing_usage_queue: WorkQueue::new("missingUsageQueue", "missingUsageQueue.cond", vec![7]),
    });
    let (reading_tx, reading) = mpsc::channel::<()>();
    let worker1 = {
        let rq = rq.clone();
        named("worker-queue", move || {
            rq.work(&rq.queue, fixed, || reading_tx.send(()).unwrap())
        })
    };
    if !fixed {
        reading.recv().unwrap();
    }
    let sync = {
        let rq = rq.clone();
        named("sync", move || rq.sync())
    };
    // Let the sync's write park behind worker 1's read.
    std::thread::sleep(ms(300));
    let worker2 = {
        let rq = rq.clone();
        named("worker-missing-usage", move || {
            rq.work(&rq.missing_usage_queue, fixed, || ())
        })
    };
    let result = worker2.join();
    rq.queue.put(1);
    let _ = worker1.join();
    let _ = sync.join();
    result.ok()
}

scenario! {
    // Finding F2 (fixed): an instrumented `write` waits in 100 ms slices of
    // `try_lock_exclusive_for`, and each timed-out slice gave up the writer
    // bit and woke the readers parked behind it, so worker 2's read got in
    // past the waiting writer, which parking_lot's task-fair RwLock never
    // allows: the hang was reported in 4 of 15 runs. Readers now wait
    // behind a waiting writer as under parking_lot (raw.rs, `WriterGate`).
    fn k12_kubernetes_read_lock_held_across_a_queue_wait_behind_a_writer_is_deadlock() {
        let _ = resource_quota(false);
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let kinds = [Kind::BlockingWhileHolding, Kind::Deadlock];
        let w = out.exactly(&kinds, Kind::BlockingWhileHolding);
        assert!(w.summary.contains("Condvar \"queue.cond\""), "{}", w.summary);
        assert!(w.summary.contains("while holding RwLock \"workerLock\""), "{}", w.summary);
        let d = out.exactly(&kinds, Kind::Deadlock);
        // Thread ids depend on which thread touched lockgraph first: the
        // waits are checked by thread name.
        for wait in [
            "\"worker-queue\" (#", ") waits on Condvar \"queue.cond\" for a notification holding RwLock \"workerLock\"",
            "\"sync\" (#", ") waits to lock RwLock \"workerLock\"",
            "\"worker-missing-usage\" (#", ") waits to read RwLock \"workerLock\"",
        ]
        .chunks(2)
        {
            let found = d.summary.match_indices(wait[0]).any(|(at, _)| {
                let rest = &d.summary[at..];
                rest.find(')').is_some_and(|close| rest[close..].starts_with(wait[1]))
            });
            assert!(found, "{}{} in {}", wait[0], wait[1], d.summary);
        }
        reported_promptly(&out);
    }
}

scenario! {
    fn k12_twin_queue_pulled_without_the_worker_lock_is_silent() {
        assert_eq!(resource_quota(true), Some(7), "worker 2 got its item");
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K13. GoKer moby#30408, pattern after. `Plugin.waitActive` waits on
// `activateWait` (a `sync.Cond`) until the plugin is activated, looking only
// at the manifest; the kernel's plugin has an `activateErr` and nobody ever
// broadcasts. Here an activation that fails sets the error and returns
// without broadcasting. lockgraph must report: a deadlock (the waiter on a
// condvar nobody will notify, and the thread joining it). The twin
// broadcasts on the error path too, and the waiter stops on an error.
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Activation {
    manifest: Option<&'static str>,
    err: Option<&'static str>,
}

struct Plugin {
    activation: Mutex<Activation>,
    activate_wait: Condvar,
}

impl Plugin {
    fn wait_active(&self, fixed: bool) -> Result<&'static str, &'static str> {
        let mut a = self.activation.lock();
        while a.manifest.is_none() && !(fixed && a.err.is_some()) {
            self.activate_wait.wait(&mut a);
        }
        a.manifest.ok_or(a.err.unwrap_or("no manifest"))
    }

    fn activate_failed(&self, fixed: bool) {
        let mut a = self.activation.lock();
        a.err = Some("some junk happened");
        if fixed {
            self.activate_wait.notify_all();
        }
    }
}

fn plugin_activation(fixed: bool) -> Result<&'static str, &'static str> {
    let p = Arc::new(Plugin {
        activation: Mutex::named("plugin.activation", Activation::default()),
        activate_wait: Condvar::named("plugin.activateWait"),
    });
    {
        let p = p.clone();
        named("activate", move || p.activate_failed(fixed))
            .join()
            .unwrap();
    }
    let waiter = named("waitActive", move || p.wait_active(fixed));
    waiter.join().unwrap_or(Err("left with a report"))
}

scenario! {
    fn k13_moby_failed_activation_never_wakes_the_waiter_is_deadlock() {
        let _ = plugin_activation(false);
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        assert!(f.summary.contains("waits on Condvar \"plugin.activateWait\""), "{}", f.summary);
        assert!(f.summary.contains("joins thread \"waitActive\""), "{}", f.summary);
        reported_promptly(&out);
    }
}

scenario! {
    fn k13_twin_failed_activation_broadcasts_is_silent() {
        assert_eq!(plugin_activation(true), Err("some junk happened"));
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// K14. JaConTeBe derby5560 (DERBY-5560), pattern after the report as the
// JaConTeBe test drives it: Thread-1 closes the `LogicalConnection` while
// Thread-2 closes its `ClientXAConnection` (the test stubs everything but
// `close` and `recycleConnection`). The logical close is synchronized on
// the logical connection and calls the pooled connection's synchronized
// `recycleConnection()`; the pooled close is synchronized on the pooled
// connection and calls back into the logical connection's synchronized
// `nullPhysicalConnection()` (that method name is from memory). The test
// starts both closes together. lockgraph must report: a deadlock naming
// both monitors and both threads. The twin (pattern after the usual fix)
// makes the logical close leave its monitor before calling into the pooled
// connection.
// ---------------------------------------------------------------------------

struct PooledXaConnection {
    logical: ReentrantMutex<std::cell::Cell<bool>>,
    pooled: ReentrantMutex<std::cell::Cell<u32>>,
}

impl PooledXaConnection {
    fn new() -> Self {
        PooledXaConnection {
            logical: ReentrantMutex::named("LogicalConnection", std::cell::Cell::new(false)),
            pooled: ReentrantMutex::named("ClientPooledConnection", std::cell::Cell::new(0)),
        }
    }

    /// `LogicalConnection.close()`.
    fn close_logical(&self, meet: &Gate, fixed: bool) {
        let logical = self.logical.lock();
        logical.set(true);
        meet.wait();
        if fixed {
            drop(logical);
        }
        self.recycle_connection();
    }

    /// `ClientPooledConnection.recycleConnection()`.
    fn recycle_connection(&self) {
        let pooled = self.pooled.lock();
        pooled.set(pooled.get() + 1);
    }

    /// `ClientPooledConnection.close()`.
    fn close_pooled(&self, meet: &Gate) {
        let pooled = self.pooled.lock();
        pooled.set(pooled.get() + 1);
        meet.wait();
        self.null_physical_connection();
    }

    /// `LogicalConnection.nullPhysicalConnection()`.
    fn null_physical_connection(&self) {
        self.logical.lock().set(true);
    }
}

fn close_both_sides(fixed: bool) {
    let conn = Arc::new(PooledXaConnection::new());
    let meet = Arc::new(Gate::new(2));
    let t1 = {
        let (conn, meet) = (conn.clone(), meet.clone());
        named("Thread-1", move || conn.close_logical(&meet, fixed))
    };
    let t2 = named("Thread-2", move || conn.close_pooled(&meet));
    let _ = t1.join();
    let _ = t2.join();
}

scenario! {
    fn k14_derby_logical_and_pooled_close_at_once_is_deadlock() {
        close_both_sides(false);
    } => |out| {
        let f = out.single(Kind::Deadlock);
        let names = thread_names(f);
        assert!(names.contains(&"Thread-1") && names.contains(&"Thread-2"), "{names:?}");
        assert!(f.summary.contains("ReentrantMutex \"LogicalConnection\""), "{}", f.summary);
        assert!(f.summary.contains("ReentrantMutex \"ClientPooledConnection\""), "{}", f.summary);
        sites_here(f);
        reported_promptly(&out);
    }
}

scenario! {
    fn k14_twin_logical_close_leaves_its_monitor_first_is_silent() {
        close_both_sides(true);
    } => |out| { out.assert_silent(); }
}

// ---------------------------------------------------------------------------
// Findings: what lockgraph got wrong on these kernels, as minimal
// reproductions of the right report. F1 is fixed (a thread's own
// notification no longer marks its own wait); so is F3 (a guard's re-lock
// is reported at its own acquisition site). F2 (the ignored K12 above) is
// ignored until fixed (run with `-- --ignored`).
// ---------------------------------------------------------------------------

scenario! {
    // F1 (fixed). A thread's own notify marked its own later wait. Thread
    // "a" holds L, notifies the condvar (nobody waits yet), then waits on it
    // with a predicate; main blocks on L. That is a deadlock across a lock
    // and a condvar, as K10 is with one condvar per direction. lockgraph
    // reported a missed_notification instead ("then waited ... for a
    // notification that already happened"), naming only "a", not L or main,
    // and its fix note asked for the predicate the code already has. Channels and queues built
    // on one condvar with `notify_all` (the usual Go `sync.Cond` shape, and
    // K10 with a single condvar) hit this whenever the sender's notify finds
    // no receiver waiting.
    fn finding_f1_own_notify_then_wait_holding_the_lock_others_need_is_deadlock() {
        let l = Arc::new(Mutex::named("L", ()));
        let pair = Arc::new((Mutex::named("m", 0u32), Condvar::named("cv")));
        let a = {
            let (l, pair) = (l.clone(), pair.clone());
            named("a", move || {
                let _l = l.lock();
                let mut g = pair.0.lock();
                pair.1.notify_all();
                pair.1.wait_while(&mut g, |v| *v == 0);
            })
        };
        std::thread::sleep(ms(50));
        let _l = l.lock();
        *pair.0.lock() += 1;
        pair.1.notify_all();
        drop(_l);
        let _ = a.join();
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let kinds = [Kind::BlockingWhileHolding, Kind::Deadlock];
        let d = out.exactly(&kinds, Kind::Deadlock);
        assert!(d.summary.contains("Mutex \"L\"") && d.summary.contains("Condvar \"cv\""), "{}", d.summary);
    }
}

scenario! {
    // F3 (fixed: the re-lock is reported at the guard's own acquisition
    // site). The re-lock at the end of lock_api's `MutexGuard::unlocked` was
    // reported at `lock_api-0.4.14/src/mutex.rs:612` (a path in the cargo
    // registry) instead of a line of the program: lock_api's `unlocked` is
    // not `#[track_caller]`, and the re-lock reaches the raw lock without a
    // site. The guard's own acquisition site, or the `unlocked` call found in
    // the backtrace, would name the program's line. Seen in K09.
    fn finding_f3_the_relock_of_unlocked_is_sited_in_the_program() {
        let a = Arc::new(Mutex::named("A", ()));
        let b = Arc::new(Mutex::named("B", ()));
        let (go_tx, go) = mpsc::channel();
        let (has_a_tx, has_a) = mpsc::channel();
        let t = {
            let (a, b) = (a.clone(), b.clone());
            named("t", move || {
                go.recv().unwrap();
                let _a = a.lock();
                has_a_tx.send(()).unwrap();
                let _b = b.lock();
            })
        };
        let gb = b.lock();
        let mut ga = a.lock();
        MutexGuard::unlocked(&mut ga, || {
            go_tx.send(()).unwrap();
            has_a.recv().unwrap();
        });
        drop(ga);
        drop(gb);
        let _ = t.join();
    } => |out| {
        out.allow_panic(Kind::Deadlock);
        let f = out.single(Kind::Deadlock);
        sites_here(f);
    }
}
