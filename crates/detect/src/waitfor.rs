//! Real deadlocks: cycles in the wait-for relation between blocked threads.
//!
//! The input is a snapshot of the threads that are blocked right now: what
//! each waits for, in which mode, and what it holds. A blocked thread cannot
//! release anything, so a lock listed as held by a blocked thread is really
//! held; who holds a lock is derived from those lists alone. A thread that is
//! running is not in the snapshot and so never closes a cycle: a wait on a
//! running thread may still end.

use crate::finding::{Cast, Evidence, Finding, Fingerprint, Kind, Op, Severity};
use crate::model::{HeldLock, Mode, ObjectId, ObjectInfo, Site, StackRef, ThreadId, ThreadInfo};

/// Who can end a wait, by the kind of object waited on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOn {
    /// A lock: its holders, by releasing it.
    Lock,
    /// Only this thread: a join (the joined thread, by ending), or a once
    /// (the thread running its closure).
    Thread(ThreadId),
    /// Any live thread: a semaphore, an event, a barrier, a latch, a condvar.
    Anyone,
}

impl WaitOn {
    /// The name in a trace's deadlock record (`on`), and the thread for `thread`.
    pub fn to_trace(self) -> (Option<String>, Option<u64>) {
        match self {
            WaitOn::Lock => (None, None),
            WaitOn::Thread(t) => (Some("thread".to_owned()), Some(t.0)),
            WaitOn::Anyone => (Some("anyone".to_owned()), None),
        }
    }

    /// The wait a deadlock record describes; unknown names are taken as
    /// `anyone`, the kind that claims least.
    pub fn from_trace(on: Option<&str>, by: Option<u64>) -> Self {
        match (on, by) {
            (None | Some("lock"), _) => WaitOn::Lock,
            (Some("thread"), Some(t)) => WaitOn::Thread(ThreadId(t)),
            _ => WaitOn::Anyone,
        }
    }
}

/// A notification a wait missed: it happened before the wait began, with
/// nobody waiting (a `notify` that woke nobody, an event set and cleared
/// before any waiter saw it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missed {
    /// Where the notification was made.
    pub site: Site,
    /// The thread that made it.
    pub by: ThreadInfo,
}

/// One blocked thread.
#[derive(Clone, Debug)]
pub struct Waiter {
    /// The thread.
    pub thread: ThreadInfo,
    /// What it waits for: a lock to acquire, or another object.
    pub object: ObjectId,
    /// Who can end the wait.
    pub on: WaitOn,
    /// Whether the wait has a timeout (and so ends by itself).
    pub timed: bool,
    /// The mode it asked for (for locks; `Exclusive` otherwise).
    pub mode: Mode,
    /// Where it waits.
    pub site: Site,
    /// What it holds while waiting, oldest first.
    pub held: Vec<HeldLock>,
    /// The stack of the wait, if captured.
    pub stack: Option<StackRef>,
    /// A notification on the object that nobody was waiting for, made
    /// before this wait began (condvars and events).
    pub missed: Option<Missed>,
}

/// Whether a thread asking for `wanted` is kept waiting by a holder in `held`.
fn blocked_by_holder(wanted: Mode, held: Mode) -> bool {
    use Mode::*;
    match wanted {
        Exclusive | Reentrant => true,
        Upgradable => matches!(held, Exclusive | Upgradable | Reentrant),
        Shared | SharedRecursive => matches!(held, Exclusive | Reentrant),
    }
}

/// The threads `w` waits for: holders of its object in a conflicting mode,
/// and, for a plain `read`, writers queued on the same lock.
pub(crate) fn waits_for(waiters: &[Waiter], i: usize) -> impl Iterator<Item = usize> + '_ {
    let w = &waiters[i];
    waiters.iter().enumerate().filter_map(move |(j, other)| {
        if j == i || w.on != WaitOn::Lock {
            return None;
        }
        let holds = other
            .held
            .iter()
            .any(|h| h.object == w.object && blocked_by_holder(w.mode, h.mode));
        let queued_writer = w.mode == Mode::Shared
            && other.on == WaitOn::Lock
            && other.object == w.object
            && other.mode == Mode::Exclusive;
        (holds || queued_writer).then_some(j)
    })
}

/// Finds a wait-for cycle through the waiter of thread `start`: indices into
/// `waiters`, in wait order, beginning with `start`'s.
pub fn find_cycle(waiters: &[Waiter], start: ThreadId) -> Option<Vec<usize>> {
    let s = waiters.iter().position(|w| w.thread.id == start)?;
    cycle_through(s, waiters.len(), |i| waits_for(waiters, i).collect())
}

/// A cycle through node `start` of a graph of `n` nodes whose edges out of
/// a node `next` gives: the nodes in order, beginning with `start`.
/// Depth-first with an explicit path (the graphs here are small).
pub(crate) fn cycle_through(
    start: usize,
    n: usize,
    next: impl Fn(usize) -> Vec<usize>,
) -> Option<Vec<usize>> {
    let mut path = vec![start];
    let mut iters: Vec<Vec<usize>> = vec![next(start)];
    let mut seen = vec![false; n];
    seen[start] = true;
    while let Some(it) = iters.last_mut() {
        match it.pop() {
            Some(j) if j == start => return Some(path),
            Some(j) if !seen[j] => {
                seen[j] = true;
                path.push(j);
                iters.push(next(j));
            }
            Some(_) => {}
            None => {
                iters.pop();
                path.pop();
            }
        }
    }
    None
}

/// Builds the `deadlock` finding for a cycle from [`find_cycle`].
///
/// `object` describes an object by id; the caller knows them all.
pub fn finding(
    waiters: &[Waiter],
    cycle: &[usize],
    object: &dyn Fn(ObjectId) -> ObjectInfo,
) -> Finding {
    // Canonical rotation: start at the waiter whose wanted object has the
    // smallest class key, so the same deadlock reads (and hashes) the same.
    let key = |i: &usize| {
        (
            object(waiters[*i].object).class_key(),
            waiters[*i].site.clone(),
        )
    };
    let start = (0..cycle.len())
        .min_by_key(|&k| key(&cycle[k]))
        .unwrap_or(0);
    let order: Vec<usize> = cycle[start..]
        .iter()
        .chain(&cycle[..start])
        .copied()
        .collect();

    let mut cast = Cast::default();
    let mut evidence = Vec::new();
    let mut parts = Vec::new();
    let mut clauses = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let w = &waiters[i];
        let t = cast.thread(&w.thread);
        // The lock of this thread that the previous one in the cycle waits for.
        let prev = &waiters[order[(k + order.len() - 1) % order.len()]];
        let mut holding = Vec::new();
        for h in &w.held {
            let info = object(h.object);
            cast.object(&info);
            let mut step = Evidence::new(t, h.object, Op::Holds, h.site.clone());
            if h.object == prev.object {
                step.note = Some(format!("{} waits for this", prev.thread.label()));
                holding.push(info.label());
            }
            evidence.push(step);
        }
        let wanted = object(w.object);
        cast.object(&wanted);
        let mut step = Evidence::new(t, w.object, Op::BlockedOn, w.site.clone());
        step.note = Some(format!("waits to {} here", w.mode.verb()));
        step.stack = w.stack.clone();
        evidence.push(step);
        parts.push(wanted.class_key());
        parts.push(w.site.to_string());
        clauses.push(format!(
            "{} holds {} and waits for {}",
            w.thread.label(),
            if holding.is_empty() {
                "nothing it needs".to_owned()
            } else {
                holding.join(", ")
            },
            wanted.label()
        ));
    }
    Finding {
        kind: Kind::Deadlock,
        severity: Severity::Error,
        summary: format!("{} threads are blocked on each other: {}", order.len(), clauses.join("; ")),
        fingerprint: Fingerprint::of(Kind::Deadlock, parts.iter().map(String::as_str)),
        threads: cast.threads,
        objects: cast.objects,
        evidence,
        notes: vec![
            "this is a deadlock that happened, not a possibility: none of these threads can proceed".to_owned(),
            "fix: take these locks in one global order everywhere".to_owned(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(l: u32) -> Site {
        Site::new("t.rs", l, 1)
    }
    fn waiter(t: u64, wants: u64, mode: Mode, held: &[(u64, Mode)]) -> Waiter {
        Waiter {
            thread: ThreadInfo {
                span: None,
                id: ThreadId(t),
                name: None,
            },
            object: ObjectId(wants),
            on: WaitOn::Lock,
            timed: false,
            mode,
            site: site(t as u32),
            held: held
                .iter()
                .map(|&(o, m)| HeldLock {
                    object: ObjectId(o),
                    mode: m,
                    site: site(100),
                })
                .collect(),
            stack: None,
            missed: None,
        }
    }

    #[test]
    fn ab_ba_is_a_cycle_from_either_side() {
        let ws = [
            waiter(1, 2, Mode::Exclusive, &[(1, Mode::Exclusive)]),
            waiter(2, 1, Mode::Exclusive, &[(2, Mode::Exclusive)]),
        ];
        assert_eq!(find_cycle(&ws, ThreadId(1)), Some(vec![0, 1]));
        assert_eq!(find_cycle(&ws, ThreadId(2)), Some(vec![1, 0]));
    }

    #[test]
    fn waiting_on_a_running_thread_is_no_deadlock() {
        // Thread 1 waits for lock 2, whose holder is running (not in the snapshot).
        let ws = [waiter(1, 2, Mode::Exclusive, &[(1, Mode::Exclusive)])];
        assert_eq!(find_cycle(&ws, ThreadId(1)), None);
    }

    #[test]
    fn readers_do_not_block_readers_but_queued_writers_do() {
        // 1 holds read(A) and wants B; 2 holds B and wants read(A): no cycle.
        let ws = [
            waiter(1, 2, Mode::Exclusive, &[(1, Mode::Shared)]),
            waiter(2, 1, Mode::Shared, &[(2, Mode::Exclusive)]),
        ];
        assert_eq!(find_cycle(&ws, ThreadId(1)), None);
        // Add writer 3 queued on A: 2's read now waits for 3, 3 waits for 1.
        let ws = [
            ws[0].clone(),
            ws[1].clone(),
            waiter(3, 1, Mode::Exclusive, &[]),
        ];
        assert_eq!(find_cycle(&ws, ThreadId(1)), Some(vec![0, 1, 2]));
    }

    #[test]
    fn a_thread_outside_the_cycle_is_not_in_it() {
        let ws = [
            waiter(1, 2, Mode::Exclusive, &[(1, Mode::Exclusive)]),
            waiter(2, 1, Mode::Exclusive, &[(2, Mode::Exclusive)]),
            waiter(3, 1, Mode::Exclusive, &[]),
        ];
        assert_eq!(find_cycle(&ws, ThreadId(3)), None);
    }

    #[test]
    fn finding_is_canonical_whoever_detects_it() {
        let ws = [
            waiter(1, 2, Mode::Exclusive, &[(1, Mode::Exclusive)]),
            waiter(2, 1, Mode::Exclusive, &[(2, Mode::Exclusive)]),
        ];
        let info = |id: ObjectId| ObjectInfo {
            api: None,
            id,
            kind: crate::model::ObjectKind::Mutex,
            name: Some(format!("L{}", id.0).into()),
            site: site(id.0 as u32),
        };
        let a = finding(&ws, &find_cycle(&ws, ThreadId(1)).unwrap(), &info);
        let b = finding(&ws, &find_cycle(&ws, ThreadId(2)).unwrap(), &info);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.summary, b.summary);
        assert!(a.summary.contains("Mutex \"L1\""), "{}", a.summary);
        assert_eq!(a.threads.len(), 2);
    }
}
