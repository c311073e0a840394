//! Post-mortem analysis: replays recorded events through the same analyses the live runtime runs.
//!
//! Each trace (one process) is replayed at the level of lock *instances*,
//! exactly as the live runtime saw it: the same chain cache, the same
//! lock-order graph, the same self-wait rules, so the same findings with the
//! same fingerprints. On top, every trace feeds one graph of lock *classes*
//! (creation site plus name) shared by all traces: a cycle in it whose edges
//! come from two or more traces is a `lock_order_cycle` no single process
//! could see, such as test 1 taking A→B and test 2 taking B→A.
//!
//! At the end of a trace, threads still blocked (a `wait` with no `acquire`
//! after it, and no `exit`) are checked for wait-for cycles: the deadlock
//! that killed the process.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::analysis::{self, Analyses, Analysis};
use crate::event::{Event, Outcome, SignalKind};
use crate::finding::{Finding, Fingerprint, Kind, Severity};
use crate::hazard::{Blocking, Leak};
use crate::livelock::{self, Spinner};
use crate::model::{
    thread_object, HeldLock, Mode, ObjectId, ObjectInfo, ObjectKind, Site, StackRef, ThreadId,
    ThreadInfo, THREAD_OBJECTS,
};
use crate::order::{Acquisition, LockOrderGraph};
use crate::race::{self, AccessReport};
use crate::selfwait::Request;
use crate::state::{self, HeldStack, NotifyMark, Orphans, SetMark, Streak};
use crate::trace::Record;
use crate::waitfor::{Missed, WaitOn, Waiter};

/// Counts of what was analyzed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Traces read.
    pub traces: u64,
    /// Events replayed.
    pub events: u64,
    /// Threads seen.
    pub threads: u64,
    /// Objects seen.
    pub objects: u64,
    /// Findings the live runtime recorded in the traces.
    pub live_findings: u64,
}

/// Analyzes any number of traces; see the module documentation.
#[derive(Default)]
pub struct Analyzer {
    classes: LockOrderGraph,
    class_written: FxHashSet<u64>,
    trace_names: Vec<String>,
    findings: Vec<Finding>,
    seen: FxHashSet<(Fingerprint, Severity)>,
    stats: Stats,
}

/// A held lock of the replay: the shared entry, with its site id beside it.
type Held = state::Held<u64>;

/// A wait a thread started and has not (yet) come back from.
#[derive(Clone, Copy)]
struct Blocked {
    object: u64,
    mode: Mode,
    site: u64,
    on: WaitOn,
    timed: bool,
    /// (site, thread) of a notification nobody waited for, made before this wait.
    missed: Option<(u64, u64)>,
    /// For a condvar wait, its mutex: the wait released it.
    cv_mutex: Option<u64>,
}

struct ThreadState {
    info: ThreadInfo,
    held: HeldStack<u64>,
    chains: FxHashSet<u64>,
    /// Spawns and joins made so far (`state::ForkJoin`'s epoch).
    fork_join: u32,
    judged: Option<u64>,
    /// Set by an event that starts a wait; any later event of the thread ends it.
    blocked: Option<Blocked>,
    exited: bool,
    /// Where this thread was spawned, if the trace says.
    spawned_at: Option<u64>,
    /// Semaphore permits taken and not given back: (semaphore, site).
    permits: Vec<(u64, u64)>,
    /// Failed attempts in a row: (object, latest site, count).
    streak: Streak<u64>,
    /// What the thread held at its latest failed attempt.
    streak_held: Vec<Held>,
    /// The thread was part of a livelock the live runtime recorded.
    livelocked: bool,
    /// A `missed` mark for the thread's next wait: (object, site, thread).
    missed_next: Option<(u64, u64, u64)>,
}

/// The replay of one trace.
pub struct Replay<'a> {
    analyzer: &'a mut Analyzer,
    index: u64,
    threads: FxHashMap<u64, ThreadState>,
    objects: FxHashMap<u64, ObjectInfo>,
    sites: FxHashMap<u64, (Site, Option<StackRef>)>,
    /// The analyses, fed through their `on_*` hooks as the runtime feeds them.
    analyses: Analyses,
    written: FxHashSet<u64>,
    findings: Vec<Finding>,
    /// Threads of deadlocks the live runtime recorded.
    reported: FxHashSet<u64>,
    /// Locks held by threads that ended.
    leaked: Vec<ObjectId>,
    /// Releases and gives by threads that did not hold what they let go,
    /// not yet claimed (the live runtime's orphan releases).
    orphans: Orphans,
    /// Permits and locks still held by threads when they ended: leaks,
    /// unless a give or release by another thread later in the file
    /// matches them.
    ended_with_permits: Vec<(ThreadInfo, u64, u64)>,
    /// Per condvar: the notification nobody waited for.
    notify_marks: FxHashMap<u64, NotifyMark<u64>>,
    /// Per event: a set cleared before a waiter saw it.
    set_marks: FxHashMap<u64, SetMark<u64>>,
    /// The trace ends with the process's exit (an `exit` with `how:
    /// process`): every thread not blocked ended with it.
    process_exit: bool,
    /// Tracked-location accesses, applied to their shadows.
    races: races::Races,
    /// The texts of `tracing` spans, by id.
    spans: FxHashMap<u64, Arc<str>>,
    /// Locks with no owner (a Python `Lock`): another thread may release
    /// one its holder waits for, so that wait is judged as a stall, at
    /// the end, not as a certain self-wait.
    ownerless: FxHashSet<u64>,
}

/// A stable 64-bit hash of a class key, used as the class's node id.
fn class_id(key: &str) -> u64 {
    Fingerprint::of(Kind::LockOrderCycle, [key]).0
}

impl Analyzer {
    /// An analyzer with nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the replay of one more trace, named `name` in reports.
    pub fn trace(&mut self, name: impl Into<String>) -> Replay<'_> {
        self.trace_names.push(name.into());
        self.stats.traces = self.stats.traces.saturating_add(1);
        let index = self.trace_names.len() as u64;
        Replay {
            analyzer: self,
            index,
            threads: FxHashMap::default(),
            objects: FxHashMap::default(),
            sites: FxHashMap::default(),
            analyses: Analyses::default(),
            written: FxHashSet::default(),
            findings: Vec::new(),
            reported: FxHashSet::default(),
            notify_marks: FxHashMap::default(),
            set_marks: FxHashMap::default(),
            process_exit: false,
            races: races::Races::default(),
            spans: FxHashMap::default(),
            ownerless: FxHashSet::default(),
            leaked: Vec::new(),
            orphans: Orphans::new(),
            ended_with_permits: Vec::new(),
        }
    }

    fn add(&mut self, f: Finding) {
        if self.seen.insert((f.fingerprint, f.severity)) {
            self.findings.push(f);
        }
    }

    /// The lock-order graph of every trace read so far, by lock class: what
    /// a picture of the program's lock order draws.
    pub fn lock_order(&self) -> Vec<crate::order::OrderEdge> {
        self.classes.edges()
    }

    /// Everything found, errors first, then by kind and fingerprint; and the counts.
    pub fn finish(mut self) -> (Vec<Finding>, Stats) {
        self.findings.sort_by(|a, b| {
            (b.severity, a.kind, a.fingerprint).cmp(&(a.severity, b.kind, b.fingerprint))
        });
        (self.findings, self.stats)
    }
}

impl Replay<'_> {
    fn site(&self, id: Option<u64>) -> Site {
        match id.and_then(|i| self.sites.get(&i)) {
            Some((s, _)) => s.clone(),
            None => Site::new(
                id.map_or("<unknown site>".to_owned(), |i| format!("<site {i}>")),
                0,
                0,
            ),
        }
    }

    fn stack(&self, id: Option<u64>) -> Option<StackRef> {
        id.and_then(|i| self.sites.get(&i))
            .and_then(|(_, st)| st.clone())
    }

    fn object(&self, id: u64) -> ObjectInfo {
        if id & THREAD_OBJECTS != 0 {
            let t = id & !THREAD_OBJECTS;
            let ts = self.threads.get(&t);
            return ObjectInfo {
                api: None,
                id: ObjectId(id),
                kind: ObjectKind::Thread,
                name: ts.and_then(|ts| ts.info.name.clone()),
                site: self.site(ts.and_then(|ts| ts.spawned_at)),
            };
        }
        self.objects
            .get(&id)
            .cloned()
            .unwrap_or_else(|| ObjectInfo {
                api: None,
                id: ObjectId(id),
                kind: ObjectKind::Mutex,
                name: None,
                site: Site::new(format!("<object {id} has no record>"), 0, 0),
            })
    }

    fn thread(&mut self, t: u64) -> &mut ThreadState {
        let stats = &mut self.analyzer.stats;
        self.threads.entry(t).or_insert_with(|| {
            stats.threads = stats.threads.saturating_add(1);
            ThreadState {
                info: ThreadInfo {
                    span: None,
                    id: ThreadId(t),
                    name: None,
                },
                held: HeldStack::new(),
                chains: FxHashSet::default(),
                fork_join: 0,
                judged: None,
                blocked: None,
                exited: false,
                spawned_at: None,
                permits: Vec::new(),
                streak: Streak::new(),
                streak_held: Vec::new(),
                livelocked: false,
                missed_next: None,
            }
        })
    }

    /// Replays one record.
    pub fn record(&mut self, r: Record) {
        match r {
            Record::Header { .. } => {}
            Record::Thread { id, name } => {
                let name = name.map(|n| Arc::from(n.as_str()));
                self.thread(id).info.name = name;
            }
            Record::Site {
                id,
                file,
                line,
                col,
                frames,
            } => {
                let stack: Option<StackRef> =
                    (!frames.is_empty()).then(|| Arc::new(frames) as StackRef);
                self.sites.insert(id, (Site::new(file, line, col), stack));
            }
            Record::Object {
                id,
                kind,
                name,
                site,
                ownerless,
                api,
            } => {
                if ownerless {
                    self.ownerless.insert(id);
                }
                let info = ObjectInfo {
                    api: api.map(|a| Arc::from(a.as_str())),
                    id: ObjectId(id),
                    kind,
                    name: name.map(|n| Arc::from(n.as_str())),
                    site: self.site(Some(site)),
                };
                if self.objects.insert(id, info).is_none() {
                    self.analyzer.stats.objects = self.analyzer.stats.objects.saturating_add(1);
                }
            }
            Record::Event {
                event: Event::Repeat { k, n },
                ..
            } => {
                // A closed block repeated: the same chains, held locks and
                // thread again, so nothing new for the analyses; count it.
                let copies = k.saturating_mul(n);
                self.analyzer.stats.events = self.analyzer.stats.events.saturating_add(copies);
            }
            Record::Event { thread, event } => {
                self.analyzer.stats.events = self.analyzer.stats.events.saturating_add(1);
                self.event(thread, event);
            }
            Record::Finding { .. } => self.analyzer.stats.live_findings += 1,
            Record::SpanName { id, name } => {
                self.spans.insert(id, Arc::from(name.as_str()));
            }
            Record::Fork(f) => self
                .analyses
                .order
                .spawned(ThreadId(f.t), f.k, ThreadId(f.child)),
            Record::Joined(f) => self
                .analyses
                .order
                .joined(ThreadId(f.t), f.k, ThreadId(f.child)),
            Record::Access(a) => {
                let check = self
                    .objects
                    .get(&a.o)
                    .map_or(true, |o| o.kind != ObjectKind::Atomic);
                for found in self.races.access(a, check) {
                    let f = self.race_finding(found);
                    self.findings.push(f);
                }
            }
            Record::Livelock(spins) => {
                let spinners: Vec<Spinner> = spins
                    .iter()
                    .map(|s| Spinner {
                        thread: self.thread(s.t).info.clone(),
                        fails: s
                            .fails
                            .iter()
                            .map(|&(o, site, n)| (ObjectId(o), self.site(Some(site)), n))
                            .collect(),
                        holds: self.snapshot_held(&s.held),
                    })
                    .collect();
                for s in &spins {
                    self.thread(s.t).livelocked = true;
                }
                let all: Vec<usize> = (0..spinners.len()).collect();
                let f = livelock::finding(&spinners, &all, &|id| self.object(id.0));
                self.findings.push(f);
            }
            Record::Deadlock(waits) => {
                let waiters: Vec<Waiter> = waits
                    .iter()
                    .map(|w| Waiter {
                        thread: self.thread(w.t).info.clone(),
                        object: ObjectId(w.o),
                        on: WaitOn::from_trace(w.on.as_deref(), w.by),
                        timed: false,
                        mode: w.mode,
                        site: self.site(Some(w.s)),
                        held: self.snapshot_held(&w.held),
                        stack: self.stack(Some(w.s)),
                        missed: w.missed.map(|(s, t)| Missed {
                            site: self.site(Some(s)),
                            by: self.thread(t).info.clone(),
                        }),
                    })
                    .collect();
                // Every thread of a confirmed deadlock was blocked when it
                // was recorded, and is reported; the live runtime ends
                // their waits, so their state at the end of the trace says
                // nothing new.
                let live: Vec<ThreadId> = waiters.iter().map(|w| w.thread.id).collect();
                self.reported.extend(live.iter().map(|t| t.0));
                self.deadlock(&waiters, &live, &live);
            }
        }
    }

    /// Reports the deadlocks among `waiters` that threads `of` are part of.
    ///
    /// Threads in a wait-for cycle among locks are asked first: a thread
    /// stuck only because it waits on one of them (a join of a deadlocked
    /// thread) is part of that deadlock, not another one, as live (where the
    /// cycle is confirmed first and its victim ends it).
    fn deadlock(&mut self, waiters: &[Waiter], live: &[ThreadId], of: &[ThreadId]) {
        let mut order: Vec<ThreadId> = of.to_vec();
        order.sort_by_key(|t| crate::waitfor::find_cycle(waiters, *t).is_none());
        let mut covered: FxHashSet<ThreadId> = FxHashSet::default();
        for t in order {
            if covered.contains(&t) {
                continue;
            }
            let found = self.with_analyses(|a, r| {
                a.on_stuck(
                    &analysis::Blocked {
                        waiters,
                        live,
                        leaked: &r.leaked,
                        object: &|id| r.object(id.0),
                    },
                    t,
                )
            });
            if let Some((f, who)) = found {
                let threads: Vec<ThreadId> = who.iter().map(|&i| waiters[i].thread.id).collect();
                if threads.iter().any(|t| covered.contains(t)) {
                    continue;
                }
                covered.extend(threads);
                if !self.findings.iter().any(|x| x.fingerprint == f.fingerprint) {
                    self.findings.push(f);
                }
            }
        }
    }

    fn event(&mut self, t: u64, e: Event<u64>) {
        // The process exits: not an event of any thread.
        if e == Event::ProcessExit {
            self.process_exit = true;
            return;
        }
        // The span the thread is in: how reports describe it from now on.
        // Not a step of the thread's work (a wait it is in goes on).
        if let Event::Span { span } = e {
            let text = self.spans.get(&span).cloned();
            self.thread(t).info.span = text;
            return;
        }
        // The release of a condvar wait's own mutex is part of the wait.
        // Traces written before the release was recorded first have it
        // just after the `cv_wait`: it neither ends the wait nor releases
        // anything twice.
        if let Event::Release { object } = e {
            if self
                .thread(t)
                .blocked
                .is_some_and(|b| b.cv_mutex == Some(object))
            {
                return;
            }
        }
        // Any event of a thread means it is running: a wait it started is over.
        self.thread(t).blocked = None;
        let o = e.object().unwrap_or(0);
        let site = e.site().copied();
        // The mark the runtime recorded for this wait, if the trace has it;
        // else what file order says (traces written before `missed`).
        let missed = match self.thread(t).missed_next.take() {
            Some((obj, s, by)) if obj == o => Some((s, by)),
            _ => self.mark(o, t),
        };
        let blocked = |on: WaitOn, mode: Mode, timed: bool| Blocked {
            object: o,
            mode,
            site: site.unwrap_or(0),
            on,
            timed,
            missed,
            cv_mutex: None,
        };
        match e {
            Event::Attempt { object, mode, site } => {
                self.judge(t, object, mode, site);
                self.thread(t).judged = Some(object);
            }
            Event::Upgrade { object, site, .. } => {
                // Learns order edges like any blocking acquisition, but an
                // upgrade of a lock held upgradable is no self-wait.
                self.learn(t, object, Mode::Exclusive, site);
                self.thread(t).judged = Some(object);
            }
            Event::Wait { object, mode, site } => {
                if self.thread(t).judged != Some(object) {
                    self.judge(t, object, mode, site);
                    self.thread(t).judged = Some(object);
                }
                self.thread(t).blocked = Some(blocked(WaitOn::Lock, mode, false));
            }
            Event::Acquire { object, mode, site } => {
                if self.thread(t).judged != Some(object) {
                    self.judge(t, object, mode, site);
                }
                let ts = self.thread(t);
                ts.judged = None;
                push(ts, object, mode, site.unwrap_or(0));
            }
            Event::Try { object, mode, site } => {
                push(self.thread(t), object, mode, site.unwrap_or(0))
            }
            Event::Join { child, site } if child == t => {
                let thread = self.thread(t).info.clone();
                let (at, stack) = (self.site(site), self.stack(site));
                let mut out = std::mem::take(&mut self.findings);
                self.analyses.on_join_self(&thread, at, stack, &mut out);
                self.findings = out;
            }
            Event::Join { child, site } => {
                // After the join, what the thread does is after the child:
                // it learns its chains again, at its new epoch (as live).
                let ts = self.thread(t);
                ts.fork_join += 1;
                ts.chains.clear();
                let object = thread_object(ThreadId(child)).0;
                let info = self.object(object);
                self.blocking(t, Blocking::On(&info), site);
                self.thread(t).blocked = Some(Blocked {
                    object,
                    missed: None,
                    ..blocked(WaitOn::Thread(ThreadId(child)), Mode::Exclusive, false)
                });
            }
            Event::Spawn { child, site } => {
                self.thread(child).spawned_at = site;
                let ts = self.thread(t);
                ts.fork_join += 1;
                ts.chains.clear();
            }
            Event::BlockFor {
                object, by, site, ..
            } if by == t && self.object(object).kind == ObjectKind::Once => {
                // A thread reaching a once it is running itself.
                let thread = self.thread(t).info.clone();
                let info = self.object(object);
                let (at, stack) = (self.site(site), self.stack(site));
                let mut out = std::mem::take(&mut self.findings);
                self.analyses
                    .on_once_self(&thread, &info, at, stack, &mut out);
                self.findings = out;
            }
            Event::Block {
                object,
                timed,
                site,
            }
            | Event::BlockFor {
                object,
                timed,
                site,
                ..
            } => {
                let info = self.object(object);
                self.blocking(t, Blocking::On(&info), site);
                let on = match e {
                    Event::BlockFor { by, .. } => WaitOn::Thread(ThreadId(by)),
                    _ => WaitOn::Anyone,
                };
                self.thread(t).blocked = Some(blocked(on, Mode::Exclusive, timed));
            }
            Event::Sleep { site } => self.blocking(t, Blocking::Sleep, site),
            Event::Take { object, site } => {
                // Given back already (events of different threads are not
                // in time order): it is no longer held.
                if !self.orphans.take_matches(object) {
                    self.thread(t).permits.push((object, site.unwrap_or(0)));
                }
            }
            Event::Give { object, .. } => {
                let ts = self.thread(t);
                if let Some(i) = ts.permits.iter().rposition(|p| p.0 == object) {
                    ts.permits.remove(i);
                } else {
                    // Given back by a thread that did not take it: the
                    // taker's entry goes.
                    self.orphan(object);
                }
            }
            Event::Notify {
                object,
                woken,
                site,
                ..
            } => self
                .notify_marks
                .entry(object)
                .or_default()
                .notified(woken, site.unwrap_or(0), t),
            Event::Signal {
                object,
                how: SignalKind::Set,
                woken,
                site,
            } => self
                .set_marks
                .entry(object)
                .or_default()
                .set(site.unwrap_or(0), t, woken > 0),
            Event::Signal {
                object,
                how: SignalKind::Clear,
                ..
            } => self.set_marks.entry(object).or_default().cleared(),
            Event::Signal { .. } => {}
            Event::Unblock {
                object, outcome, ..
            } => {
                if outcome == Outcome::Ok {
                    if let Some(m) = self.set_marks.get_mut(&object) {
                        m.saw();
                    }
                }
            }
            Event::TryFail { object, site, .. } => {
                let ts = self.thread(t);
                ts.streak.fail(object, site.unwrap_or(0));
                ts.streak_held = ts.held.entries().to_vec();
            }
            Event::Progress { .. } => {
                let ts = self.thread(t);
                ts.streak.clear();
                ts.livelocked = false;
            }
            Event::Repeat { .. } | Event::ProcessExit | Event::Span { .. } => {}
            Event::Missed { object, by, site } => {
                self.thread(t).missed_next = Some((object, site.unwrap_or(0), by));
            }
            Event::Release { object } => self.release(t, object),
            Event::Remode { object, mode, .. } => self.thread(t).held.remode(object, mode),
            Event::Drop { object } => {
                let ts = self.thread(t);
                if let Some(h) = ts.held.remove(object) {
                    // Destroyed while this thread held it: a forgotten guard.
                    let thread = ts.info.clone();
                    self.leak(&thread, object, h.extra, Leak::Destroyed);
                } else {
                    self.analyses.on_drop(ObjectId(object));
                }
            }
            Event::CvWait {
                object,
                mutex,
                timed,
                site,
            } => {
                // The wait gives its mutex back. Recorded first as a
                // `release` since that was fixed; older traces release it here.
                self.thread(t).held.remove(mutex);
                let info = self.object(object);
                self.blocking(t, Blocking::On(&info), site);
                self.thread(t).blocked = Some(Blocked {
                    cv_mutex: Some(mutex),
                    ..blocked(WaitOn::Anyone, Mode::Exclusive, timed)
                });
            }
            Event::CvWoken { mutex, site, .. } => {
                // The mutex is taken back at the wait site: it learns order edges.
                self.learn(t, mutex, Mode::Exclusive, site);
                push(self.thread(t), mutex, Mode::Exclusive, site.unwrap_or(0));
            }
            Event::Exit => {
                let ts = self.thread(t);
                ts.exited = true;
                let thread = ts.info.clone();
                let permits: Vec<(u64, u64)> = ts.permits.drain(..).collect();
                let held: Vec<(u64, u64)> = ts
                    .held
                    .drain()
                    .into_iter()
                    .map(|h| (h.object, h.extra))
                    .collect();
                let locks: Vec<u64> = held.iter().map(|h| h.0).collect();
                self.ended_with_permits
                    .extend(permits.into_iter().map(|(o, s)| (thread.clone(), o, s)));
                self.leaked.extend(locks.into_iter().map(ObjectId));
                // A leak unless another thread lets the lock go later (a
                // guard sent away), as for permits: judged at the end.
                self.ended_with_permits
                    .extend(held.into_iter().map(|(o, s)| (thread.clone(), o, s)));
            }
        }
    }

    /// Livelocks among the threads still in a long streak of failed
    /// attempts at the end of the trace (not those already recorded).
    fn livelocks(&mut self) {
        let mut ids: Vec<u64> = self.threads.keys().copied().collect();
        ids.sort_unstable();
        let mut spinners = Vec::new();
        for id in ids {
            let ts = &self.threads[&id];
            if ts.exited || ts.livelocked || ts.streak.is_empty() {
                continue;
            }
            spinners.push(Spinner {
                thread: ts.info.clone(),
                fails: ts
                    .streak
                    .fails
                    .iter()
                    .map(|&(o, s, n)| (ObjectId(o), self.site(Some(s)), n))
                    .collect(),
                holds: self.held_locks(&ts.streak_held),
            });
        }
        for i in 0..spinners.len() {
            let id = spinners[i].thread.id;
            let found =
                self.with_analyses(|a, r| a.on_spin(&spinners, id, &r.leaked, &|o| r.object(o.0)));
            if let Some((f, _)) = found {
                if !self.findings.iter().any(|x| x.fingerprint == f.fingerprint) {
                    self.findings.push(f);
                }
            }
        }
    }

    /// A `lock_leak` of `object`, taken at site id `site`.
    fn leak(&mut self, thread: &ThreadInfo, object: u64, site: u64, how: Leak) {
        let (info, taken) = (self.object(object), self.site(Some(site)));
        self.analyses
            .on_leak(thread, &info, taken, how, &mut self.findings);
    }

    /// Held entries as the analyses take them.
    fn held_locks(&self, held: &[Held]) -> Vec<HeldLock> {
        held.iter()
            .map(|h| HeldLock {
                object: ObjectId(h.object),
                mode: h.mode,
                site: self.site(Some(h.extra)),
            })
            .collect()
    }

    /// The `[object, site, mode]` triples of a recorded snapshot, as held locks.
    fn snapshot_held(&self, held: &[(u64, u64, Mode)]) -> Vec<HeldLock> {
        held.iter()
            .map(|&(o, site, mode)| HeldLock {
                object: ObjectId(o),
                mode,
                site: self.site(Some(site)),
            })
            .collect()
    }

    /// A `blocking_while_holding` warning if thread `t` holds a lock as it blocks.
    fn blocking(&mut self, t: u64, what: Blocking<'_>, site: Option<u64>) {
        let raw: Vec<Held> = self.thread(t).held.entries().to_vec();
        if raw.is_empty() {
            return;
        }
        let held: Vec<HeldLock> = self.held_locks(&raw);
        let thread = self.thread(t).info.clone();
        let mut out = Vec::new();
        self.with_analyses(|a, r| {
            let b = analysis::Block {
                thread: &thread,
                held: &held,
                info: &|h: &HeldLock| r.object(h.object.0),
                what,
                site: r.site(site),
                stack: r.stack(site),
            };
            a.on_block(&b, &mut out)
        });
        self.findings.extend(out);
    }

    fn release(&mut self, t: u64, o: u64) {
        if self.thread(t).held.remove(o).is_none() {
            // A guard released on another thread than the one that took it.
            self.orphan(o);
        }
    }

    /// `o` was let go by a thread that did not hold it: the owner claims
    /// it (`state::Orphans`), offered to the threads in ascending id order.
    fn orphan(&mut self, o: u64) {
        self.orphans.post(o);
        let mut ids: Vec<u64> = self.threads.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let ts = self.threads.get_mut(&id).expect("known");
            if self
                .orphans
                .claim_one(o, &mut ts.held, &mut ts.permits, |p| p.0)
            {
                break;
            }
        }
    }

    /// The missed-notification mark a wait of thread `t` on `o` beginning
    /// now carries.
    fn mark(&self, o: u64, t: u64) -> Option<(u64, u64)> {
        self.notify_marks
            .get(&o)
            .and_then(|m| m.mark_for(t))
            .or_else(|| self.set_marks.get(&o).and_then(|m| m.mark_for(t)))
    }

    /// A blocking acquisition: the self-wait check, then what it teaches the graphs.
    fn judge(&mut self, t: u64, o: u64, mode: Mode, site: Option<u64>) {
        if self.thread(t).held.mode_of(o).is_some() && !self.ownerless.contains(&o) {
            let raw: Vec<Held> = self.thread(t).held.entries().to_vec();
            let held: Vec<HeldLock> = self.held_locks(&raw);
            let thread = self.thread(t).info.clone();
            let info = self.object(o);
            let req = Request {
                thread: &thread,
                object: &info,
                mode,
                site: self.site(site),
                stack: self.stack(site),
            };
            self.analyses.on_reacquire(&req, &held, &mut self.findings);
        }
        self.learn(t, o, mode, site);
    }

    fn learn(&mut self, t: u64, o: u64, mode: Mode, site: Option<u64>) {
        let first_write = mode == Mode::Exclusive
            && self.object(o).kind == ObjectKind::RwLock
            && !self.written.contains(&o);
        let ts = self.thread(t);
        let Some(chain) = ts
            .held
            .teaches(o, mode, first_write, |c| ts.chains.contains(&c))
        else {
            return;
        };
        ts.chains.insert(chain);
        if first_write {
            self.written.insert(o);
        }
        let held: Vec<Held> = self
            .thread(t)
            .held
            .entries()
            .iter()
            .copied()
            .filter(|h| h.object != o)
            .collect();
        let thread = self.thread(t).info.clone();
        let epoch = self.thread(t).fork_join;
        let site_info = self.site(site);
        let stack = self.stack(site);
        // The instance graph: what the live runtime saw.
        let target = self.object(o);
        self.analyses.on_object(ObjectId(o), &|| target.clone());
        let mut instance_held = Vec::with_capacity(held.len());
        for h in &held {
            let info = self.object(h.object);
            self.analyses
                .on_object(ObjectId(h.object), &|| info.clone());
            instance_held.push(HeldLock {
                object: ObjectId(h.object),
                mode: h.mode,
                site: self.site(Some(h.extra)),
            });
        }
        self.analyses.on_learn(
            &Acquisition {
                thread: &thread,
                object: ObjectId(o),
                mode,
                site: site_info.clone(),
                held: &instance_held,
                stack: stack.clone(),
                epoch,
            },
            &mut self.findings,
        );
        // The class graph, shared by every trace. Nesting within one class
        // (two accounts) stays at the instance level: classes cannot order it.
        let target_class = class_id(&target.class_key());
        let class_info = |info: &ObjectInfo, id: u64| ObjectInfo {
            api: None,
            id: ObjectId(id),
            ..info.clone()
        };
        let classes = &mut self.analyzer.classes;
        classes.on_object(ObjectId(target_class), &|| {
            class_info(&target, target_class)
        });
        let mut class_held = Vec::with_capacity(held.len());
        for (h, ih) in held.iter().zip(&instance_held) {
            let info = self
                .objects
                .get(&h.object)
                .cloned()
                .unwrap_or_else(|| target.clone());
            let id = class_id(&info.class_key());
            if id == target_class || class_held.iter().any(|x: &HeldLock| x.object.0 == id) {
                continue;
            }
            classes.on_object(ObjectId(id), &|| class_info(&info, id));
            class_held.push(HeldLock {
                object: ObjectId(id),
                mode: h.mode,
                site: ih.site.clone(),
            });
        }
        let class_first_write = first_write && self.analyzer.class_written.insert(target_class);
        if class_held.is_empty() && !class_first_write {
            return;
        }
        let trace_name = self
            .analyzer
            .trace_names
            .last()
            .cloned()
            .unwrap_or_default();
        let class_thread = ThreadInfo {
            span: None,
            id: ThreadId((self.index << 32) | (t & 0xffff_ffff)),
            name: Some(Arc::from(
                format!(
                    "{} in {}",
                    thread.name.as_deref().unwrap_or("unnamed"),
                    trace_name
                )
                .as_str(),
            )),
        };
        let mut found = Vec::new();
        self.analyzer.classes.on_learn(
            &Acquisition {
                thread: &class_thread,
                object: ObjectId(target_class),
                mode,
                site: site_info,
                held: &class_held,
                stack,
                epoch,
            },
            &mut found,
        );
        for mut f in found {
            let traces: FxHashSet<u64> = f.threads.iter().map(|t| t.id.0 >> 32).collect();
            if traces.len() < 2 {
                continue; // within one trace: the instance graph decides
            }
            let mut names: Vec<&str> = traces
                .iter()
                .filter_map(|&i| {
                    self.analyzer
                        .trace_names
                        .get(i as usize - 1)
                        .map(String::as_str)
                })
                .collect();
            names.sort_unstable();
            f.notes.insert(0, format!("this cycle spans {} traces ({}): no single run formed it, together they can deadlock", traces.len(), names.join(", ")));
            f.summary = format!("across runs: {}", f.summary);
            self.analyzer.add(f);
        }
    }

    /// Ends the replay: threads still blocked are checked for deadlock, and
    /// the trace's findings join the analyzer's.
    pub fn finish(mut self) {
        let mut waiters = Vec::new();
        let mut live = Vec::new();
        let mut ids: Vec<u64> = self.threads.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let ts = &self.threads[&id];
            if !ts.exited {
                live.push(ThreadId(id));
            }
            if let (Some(b), false) = (ts.blocked, ts.exited) {
                waiters.push(Waiter {
                    thread: ts.info.clone(),
                    object: ObjectId(b.object),
                    on: b.on,
                    timed: b.timed,
                    mode: b.mode,
                    site: self.site(Some(b.site)),
                    held: self.held_locks(ts.held.entries()),
                    stack: self.stack(Some(b.site)),
                    missed: b.missed.map(|(s, t)| Missed {
                        site: self.site(Some(s)),
                        by: self.threads.get(&t).map_or(
                            ThreadInfo {
                                span: None,
                                id: ThreadId(t),
                                name: None,
                            },
                            |ts| ts.info.clone(),
                        ),
                    }),
                });
            }
        }
        // A thread waiting for an ownerless lock it holds itself: another
        // thread could have let it go, but at the end of the trace every
        // other thread is blocked for good or gone, so none will.
        let running = live
            .iter()
            .filter(|t| !waiters.iter().any(|w| w.thread.id == **t && !w.timed))
            .count();
        for w in &waiters {
            let own = w.held.iter().any(|h| h.object == w.object);
            if running > 0 || w.timed || !own || !self.ownerless.contains(&w.object.0) {
                continue;
            }
            let info = self.object(w.object.0);
            let req = Request {
                thread: &w.thread,
                object: &info,
                mode: w.mode,
                site: w.site.clone(),
                stack: w.stack.clone(),
            };
            let mut found = Vec::new();
            self.analyses.on_reacquire(&req, &w.held, &mut found);
            for mut f in found {
                f.notes.push("this lock has no owner, so another thread could have released it; none did: every other thread was blocked for good or had ended".to_owned());
                self.reported.insert(w.thread.id.0);
                self.findings.push(f);
            }
        }
        for (thread, o, s) in std::mem::take(&mut self.ended_with_permits) {
            if !self.orphans.take_matches(o) {
                self.leak(&thread, o, s, Leak::ThreadEnded);
            }
        }
        self.livelocks();
        for found in self.races.finish() {
            let f = self.race_finding(found);
            self.findings.push(f);
        }
        let of: Vec<ThreadId> = waiters
            .iter()
            .map(|w| w.thread.id)
            .filter(|t| !self.reported.contains(&t.0))
            .collect();
        if self.process_exit {
            // The process exited: only the blocked threads could still end
            // a wait, and only what is a bug whatever the program meant is
            // reported, as live (`stall::at_exit`).
            let waiters: Vec<Waiter> = waiters
                .into_iter()
                .filter(|w| !self.reported.contains(&w.thread.id.0))
                .collect();
            let found = self.with_analyses(|a, r| {
                a.on_process_exit(&analysis::Blocked {
                    waiters: &waiters,
                    live: &[],
                    leaked: &r.leaked,
                    object: &|id| r.object(id.0),
                })
            });
            for (mut f, _) in found {
                if !self.findings.iter().any(|x| x.fingerprint == f.fingerprint) {
                    f.notes.push("found at process exit: these threads were still blocked when the process ended".to_owned());
                    self.findings.push(f);
                }
            }
        } else {
            self.deadlock(&waiters, &live, &of);
        }
        // A deadlock and the lock-order cycle behind it are one bug: the live
        // runtime reports only the deadlock, and so does the replay.
        let deadlocks: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| f.kind == Kind::Deadlock)
            .cloned()
            .collect();
        let findings = std::mem::take(&mut self.findings);
        for mut f in findings {
            if deadlocks.iter().any(|d| f.realized_by(d)) {
                continue;
            }
            in_the_programs_words(&mut f);
            self.analyzer.add(f);
        }
    }
}

/// Fixes that name Rust APIs, and what a Python program would write
/// instead (`lockgraph_threading`'s objects carry `api` names).
const PYTHON_FIXES: [(&str, &str); 8] = [
    ("or use a ReentrantMutex", "or make it a `threading.RLock`"),
    (
        "wait on a condvar with that lock as its mutex",
        "wait on a `threading.Condition` built on that lock",
    ),
    (
        "wait with a predicate on shared state (`wait_while`), set under the condvar's mutex before notifying; or hold the mutex before starting the notifier",
        "wait with `Condition.wait_for(predicate)` on shared state set under the condition's lock before `notify()`",
    ),
    (
        "release on every path out of the thread (an RAII guard or permit does it, early returns and `?` included); do not `mem::forget` guards",
        "release on every path out of the thread: `with lock:` does it, early returns and exceptions included",
    ),
    (
        "guard every access with one lock, make the location atomic, or publish it with a Release store and read it after an Acquire load of the same flag",
        "guard every access with one lock (`with lock:` around each read and write)",
    ),
    (
        "hold one lock across the read and the write, or make the location atomic and update it with `fetch_update` or a `compare_exchange` loop",
        "hold one lock across the read and the write (one `with lock:` around both)",
    ),
    ("(hold one guard across both)", "(one `with` block around both)"),
    (
        "use read_recursive for the nested read, or pass the guard you already hold down to the callee",
        "pass the lock you already hold down to the callee",
    ),
];

/// A finding about objects the program names in its own API (a Python
/// trace) gets its fixes in that API's words.
fn in_the_programs_words(f: &mut Finding) {
    if !f.objects.iter().any(|o| o.api.is_some()) {
        return;
    }
    for note in &mut f.notes {
        for (rust, python) in PYTHON_FIXES {
            if note.contains(rust) {
                *note = note.replace(rust, python);
            }
        }
    }
}

impl Replay<'_> {
    /// Runs `f` with the analyses and read access to the rest of the
    /// replay (the object and site tables the hooks' lookups read).
    fn with_analyses<R>(&mut self, f: impl FnOnce(&mut Analyses, &Self) -> R) -> R {
        let mut a = std::mem::take(&mut self.analyses);
        let r = f(&mut a, self);
        self.analyses = a;
        r
    }

    /// An access of the race pass described as the live runtime describes it.
    fn described(&mut self, a: &race::Access<races::Tag>) -> AccessReport {
        let thread = self.thread(a.thread).info.clone();
        AccessReport {
            thread,
            kind: a.kind,
            site: self.site(Some(a.tag.site)),
            held: a
                .tag
                .held
                .iter()
                .map(|&(o, s, _)| (self.object(o), self.site(Some(s))))
                .collect(),
            last_sync: a.tag.sync.as_ref().map(|(verb, o, s)| {
                race::sync_words(
                    verb,
                    o.map(|o| self.object(o)).as_ref(),
                    &self.site(Some(*s)),
                )
            }),
            value: a.tag.value.clone(),
            stack: self.stack(Some(a.tag.site)),
        }
    }

    fn race_finding(&mut self, found: races::Found) -> Finding {
        match found {
            races::Found::Race(o, r) => {
                let location = self.object(o);
                let (earlier, later) = (self.described(&r.earlier), self.described(&r.later));
                race::data_race(&location, &earlier, &later)
            }
            races::Found::Violation(o, v) => {
                let location = self.object(o);
                let modes = |a: &race::Access<races::Tag>| -> Vec<(u64, Mode)> {
                    a.tag.held.iter().map(|&(o, _, m)| (o, m)).collect()
                };
                let common = race::common_exclusive(&modes(&v.read), &modes(&v.write))
                    .map(|id| self.object(id));
                let (read, foreign, write) = (
                    self.described(&v.read),
                    self.described(&v.foreign),
                    self.described(&v.write),
                );
                race::atomicity_violation(
                    &location,
                    &read,
                    &foreign,
                    &write,
                    v.observed,
                    common.as_ref(),
                )
            }
        }
    }
}

fn push(ts: &mut ThreadState, o: u64, mode: Mode, site: u64) {
    // An acquisition of a lock the thread kept failing on: progress.
    if ts.streak.ended_by(o) {
        ts.streak.clear();
        ts.livelocked = false;
    }
    ts.held.push(o, mode, site);
}

mod races;

#[cfg(test)]
mod tests;
