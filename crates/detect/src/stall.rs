//! Deadlocks over any primitive: graph reduction over who could wake each blocked thread.
//!
//! A wait-for *cycle* ([`crate::waitfor`]) is the right test when every wait
//! has known holders (locks). Other waits can be ended by other parties:
//! - a semaphore by any permit holder;
//! - a join by the joined thread;
//! - an event, a latch, a barrier or a condvar by any live thread.
//!
//! Graph reduction covers them all. Start from the set S of threads blocked
//! in untimed waits, then repeatedly drop from S any thread that a thread
//! outside S could wake. What remains cannot be woken by anyone: a
//! deadlock, or a *stall* when nobody in S waits on a lock.
//!
//! The rule is conservative. A thread stays in S only if **every** possible
//! waker is itself in S, so a waiter that some running thread might still
//! wake is never reported.

use crate::finding::{Cast, Evidence, Finding, Fingerprint, Kind, Op, Severity};
use crate::model::{ObjectId, ObjectInfo, ObjectKind, ThreadId};
use crate::waitfor::{waits_for, WaitOn, Waiter};

/// Who can end a wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wakers {
    /// These threads (the holders of a lock or of permits). An empty list
    /// means nobody holds it: the wait is about to end.
    AnyOf(Vec<ThreadId>),
    /// Any live thread (an event, a latch, a barrier, a condvar).
    AnyLive,
    /// Nobody: a lock whose holder ended without releasing it.
    Nobody,
}

/// One blocked thread, as the reduction needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// The thread.
    pub thread: ThreadId,
    /// What it waits on.
    pub object: ObjectId,
    /// Who could end the wait.
    pub wakers: Wakers,
    /// A timed wait ends by itself: never part of a deadlock.
    pub timed: bool,
}

/// The threads of `blocked` that nobody can wake, given the `live` threads
/// (every thread that has not exited, blocked or not). Indices into
/// `blocked`, in order; empty when there is no deadlock.
pub fn deadlocked(blocked: &[Blocked], live: &[ThreadId]) -> Vec<usize> {
    let mut in_set: Vec<bool> = blocked.iter().map(|b| !b.timed).collect();
    let member =
        |t: ThreadId, in_set: &[bool]| blocked.iter().zip(in_set).any(|(b, &s)| s && b.thread == t);
    loop {
        let mut changed = false;
        for (i, b) in blocked.iter().enumerate() {
            if !in_set[i] {
                continue;
            }
            let wakeable = match &b.wakers {
                Wakers::AnyOf(holders) => {
                    holders.is_empty()
                        || holders
                            .iter()
                            .any(|&h| h != b.thread && !member(h, &in_set))
                }
                Wakers::AnyLive => live.iter().any(|&t| t != b.thread && !member(t, &in_set)),
                Wakers::Nobody => false,
            };
            if wakeable {
                in_set[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    in_set
        .iter()
        .enumerate()
        .filter_map(|(i, &s)| s.then_some(i))
        .collect()
}

/// The waiters nobody can wake, given the `live` threads: [`deadlocked`]
/// over the wakers each wait has. A lock's wakers are the blocked threads
/// holding it in a conflicting mode; a lock no blocked thread holds is held
/// by a running thread, or by nobody (its wait can end), unless it is in
/// `leaked`: locks whose holder ended without releasing them.
pub fn stuck(waiters: &[Waiter], live: &[ThreadId], leaked: &[ObjectId]) -> Vec<usize> {
    let blocked: Vec<Blocked> = waiters
        .iter()
        .enumerate()
        .map(|(i, w)| Blocked {
            thread: w.thread.id,
            object: w.object,
            wakers: match w.on {
                WaitOn::Lock => {
                    let holders: Vec<ThreadId> = waits_for(waiters, i)
                        .map(|j| waiters[j].thread.id)
                        .collect();
                    if holders.is_empty() && leaked.contains(&w.object) {
                        Wakers::Nobody
                    } else {
                        Wakers::AnyOf(holders)
                    }
                }
                WaitOn::Thread(t) => Wakers::AnyOf(vec![t]),
                WaitOn::Anyone => Wakers::AnyLive,
            },
            timed: w.timed,
        })
        .collect();
    deadlocked(&blocked, live)
}

/// The deadlock the waiter of `thread` is part of, if any, as a finding
/// and the waiters in it (indices into `waiters`).
///
/// A wait-for cycle among locks is reported as such
/// ([`crate::waitfor::finding`]); otherwise the reduction of [`stuck`]
/// decides, and the finding lists every thread nothing can wake.
pub fn deadlock_of(
    waiters: &[Waiter],
    live: &[ThreadId],
    leaked: &[ObjectId],
    thread: ThreadId,
    object: &dyn Fn(ObjectId) -> ObjectInfo,
) -> Option<(Finding, Vec<usize>)> {
    if let Some(cycle) = crate::waitfor::find_cycle(waiters, thread) {
        let f = crate::waitfor::finding(waiters, &cycle, object);
        return Some((f, cycle));
    }
    let stuck = stuck(waiters, live, leaked);
    if !stuck.iter().any(|&i| waiters[i].thread.id == thread) {
        return None;
    }
    let mut order = stuck.clone();
    order.sort_by_key(|&i| waiters[i].thread.id);
    if let Some(&i) = order.iter().find(|&&i| waiters[i].missed.is_some()) {
        return Some((missed_finding(&waiters[i], object), stuck));
    }
    Some((finding(waiters, &stuck, live, object), stuck))
}

/// The findings about threads still blocked when the process exits, and
/// the waiters in each (indices into `waiters`).
///
/// At exit every thread that is not blocked ends with the process, so the
/// blocked threads are the only ones left that could end a wait. Only what
/// is a bug whatever the program meant is reported: a wait-for cycle among
/// locks (`deadlock`), and a wait nothing could end that began after a
/// notification nobody waited for (`missed_notification`). A thread idle
/// in a wait for work that never came (a pool nobody shut down) is not.
/// Both the live runtime (an `atexit` hook) and the replay of a trace that
/// ends with the process's exit call this.
pub fn at_exit(
    waiters: &[Waiter],
    leaked: &[ObjectId],
    object: &dyn Fn(ObjectId) -> ObjectInfo,
) -> Vec<(Finding, Vec<usize>)> {
    let live: Vec<ThreadId> = waiters.iter().map(|w| w.thread.id).collect();
    let mut out: Vec<(Finding, Vec<usize>)> = Vec::new();
    let mut order: Vec<usize> = (0..waiters.len()).collect();
    order.sort_by_key(|&i| waiters[i].thread.id);
    for i in order {
        let thread = waiters[i].thread.id;
        if out.iter().any(|(_, who)| who.contains(&i)) {
            continue;
        }
        let lock_cycle = crate::waitfor::find_cycle(waiters, thread).is_some();
        let Some((f, who)) = deadlock_of(waiters, &live, leaked, thread, object) else {
            continue;
        };
        if !(lock_cycle || f.kind == Kind::MissedNotification)
            || out.iter().any(|(x, _)| x.fingerprint == f.fingerprint)
        {
            continue;
        }
        // A missed notification is about the one wait that missed it.
        let who = if f.kind == Kind::MissedNotification {
            who.iter()
                .copied()
                .filter(|&j| waiters[j].missed.is_some())
                .min_by_key(|&j| waiters[j].thread.id)
                .into_iter()
                .collect()
        } else {
            who
        };
        out.push((f, who));
    }
    out
}

/// The `missed_notification` finding for a wait nothing can end that began
/// after a notification nobody was waiting for.
pub fn missed_finding(w: &Waiter, object: &dyn Fn(ObjectId) -> ObjectInfo) -> Finding {
    let Some(missed) = &w.missed else {
        unreachable!("called for a wait that missed a notification")
    };
    let what = object(w.object);
    let mut cast = Cast::default();
    let by = cast.thread(&missed.by);
    let t = cast.thread(&w.thread);
    cast.object(&what);
    let mut first = Evidence::new(by, w.object, Op::Signals, missed.site.clone());
    let (happened, fix) = if what.kind == ObjectKind::Event {
        first.note = Some("set here, then cleared before any waiter saw it".to_owned());
        (
            format!("{} was set at {} and cleared before any waiter saw it", what.label(), missed.site),
            "fix: do not clear an event a waiter may not have seen; or wait on a condvar with a predicate on shared state",
        )
    } else {
        first.note = Some("notified here; nobody was waiting yet".to_owned());
        (
            format!("{} notified {} at {} when nobody was waiting", missed.by.label(), what.label(), missed.site),
            "fix: wait with a predicate on shared state (`wait_while`), set under the condvar's mutex before notifying; or hold the mutex before starting the notifier",
        )
    };
    let mut second = Evidence::new(t, w.object, Op::BlockedOn, w.site.clone());
    second.note = Some("waits here for a notification that already happened".to_owned());
    second.stack = w.stack.clone();
    let key = what.class_key();
    let (n, s) = (missed.site.to_string(), w.site.to_string());
    Finding {
        kind: Kind::MissedNotification,
        severity: Severity::Error,
        summary: format!(
            "{happened}; {} then waited at {} and nothing can wake it",
            w.thread.label(),
            w.site
        ),
        fingerprint: Fingerprint::of(Kind::MissedNotification, [key.as_str(), n.as_str(), s.as_str()]),
        threads: cast.threads,
        objects: cast.objects,
        evidence: vec![first, second],
        notes: vec![
            "decided when the wait could no longer end: every thread that could notify again was blocked or gone (or the wait timed out so)".to_owned(),
            fix.to_owned(),
        ],
    }
}

/// What a thread does while it waits, for a report.
fn doing(w: &Waiter, what: &ObjectInfo, by: &dyn Fn(ThreadId) -> String) -> String {
    let label = what.label();
    match (w.on, what.kind) {
        (WaitOn::Lock, _) => format!("waits to {} {label}", w.mode.verb()),
        (WaitOn::Thread(t), ObjectKind::Thread) => format!("joins {}", by(t)),
        (WaitOn::Thread(t), _) => format!("waits for {label}, which {} is running", by(t)),
        (WaitOn::Anyone, ObjectKind::Semaphore) => format!("waits for a permit of {label}"),
        (WaitOn::Anyone, ObjectKind::Event) => format!("waits for {label} to be set"),
        (WaitOn::Anyone, ObjectKind::Barrier) => format!("waits at {label}"),
        (WaitOn::Anyone, ObjectKind::Latch) => format!("waits for {label} to count down"),
        (WaitOn::Anyone, ObjectKind::Condvar) => format!("waits on {label} for a notification"),
        (WaitOn::Anyone, _) => format!("waits on {label}"),
    }
}

/// The `deadlock` finding for the waiters of [`stuck`] (indices into
/// `waiters`). `live` is every live thread; when all of them are stuck the
/// report says the program has stalled. `object` describes objects by id.
///
/// The fingerprint is built from what is waited on and where (kind and
/// creation site of each object, and the wait site), deduplicated: the same
/// stall with more or fewer threads at the same barrier is the same bug.
pub fn finding(
    waiters: &[Waiter],
    stuck: &[usize],
    live: &[ThreadId],
    object: &dyn Fn(ObjectId) -> ObjectInfo,
) -> Finding {
    let mut order: Vec<usize> = stuck.to_vec();
    order.sort_by_key(|&i| waiters[i].thread.id);
    let label = |t: ThreadId| {
        waiters
            .iter()
            .find(|w| w.thread.id == t)
            .map_or_else(|| format!("thread #{}", t.0), |w| w.thread.label())
    };
    let mut cast = Cast::default();
    let mut evidence = Vec::new();
    let mut clauses = Vec::new();
    let mut parts = Vec::new();
    for &i in &order {
        let w = &waiters[i];
        let t = cast.thread(&w.thread);
        let mut holding = Vec::new();
        for h in &w.held {
            let info = object(h.object);
            cast.object(&info);
            holding.push(info.label());
            evidence.push(Evidence::new(t, h.object, Op::Holds, h.site.clone()));
        }
        let what = object(w.object);
        cast.object(&what);
        let doing = doing(w, &what, &label);
        let mut step = Evidence::new(t, w.object, Op::BlockedOn, w.site.clone());
        step.note = Some(format!("{doing} here"));
        step.stack = w.stack.clone();
        evidence.push(step);
        let mut clause = format!("{} {doing}", w.thread.label());
        if !holding.is_empty() {
            clause.push_str(&format!(" holding {}", holding.join(", ")));
        }
        clauses.push(clause);
        parts.push(format!("{}|{}|{}", what.kind.as_str(), what.site, w.site));
    }
    parts.sort();
    parts.dedup();
    let everyone = live
        .iter()
        .all(|t| order.iter().any(|&i| waiters[i].thread.id == *t));
    let summary = if everyone {
        format!(
            "every live thread is blocked and nothing can wake them: {}",
            clauses.join("; ")
        )
    } else {
        format!(
            "{} threads are blocked and none of them can wake another: {}",
            order.len(),
            clauses.join("; ")
        )
    };
    let mut notes = vec![if everyone {
        "this is a stall that happened, not a possibility: every thread that could end one of these waits is itself waiting".to_owned()
    } else {
        "this is a deadlock that happened, not a possibility: every thread that could end one of these waits is itself waiting".to_owned()
    }];
    notes.push(
        "fix: make sure the thread that should set, count down, arrive, release or notify does not itself wait on one of these threads, and does not wait while holding a lock they need".to_owned(),
    );
    Finding {
        kind: Kind::Deadlock,
        severity: Severity::Error,
        summary,
        fingerprint: Fingerprint::of(Kind::Deadlock, parts.iter().map(String::as_str)),
        threads: cast.threads,
        objects: cast.objects,
        evidence,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u64) -> ThreadId {
        ThreadId(n)
    }
    fn b(thread: u64, wakers: Wakers) -> Blocked {
        Blocked {
            thread: t(thread),
            object: ObjectId(thread * 100),
            wakers,
            timed: false,
        }
    }

    #[test]
    fn ab_ba_locks_are_deadlocked() {
        let bl = [
            b(1, Wakers::AnyOf(vec![t(2)])),
            b(2, Wakers::AnyOf(vec![t(1)])),
        ];
        assert_eq!(deadlocked(&bl, &[t(1), t(2)]), [0, 1]);
    }

    #[test]
    fn a_running_holder_can_still_wake() {
        let bl = [b(1, Wakers::AnyOf(vec![t(3)]))];
        assert!(deadlocked(&bl, &[t(1), t(3)]).is_empty());
    }

    #[test]
    fn an_event_nobody_else_is_alive_to_set_is_a_stall() {
        // Thread 1 waits for an event only it would set; it is the only live thread.
        let bl = [b(1, Wakers::AnyLive)];
        assert_eq!(deadlocked(&bl, &[t(1)]), [0]);
        // Another live, running thread could set it: silent.
        assert!(deadlocked(&bl, &[t(1), t(2)]).is_empty());
    }

    #[test]
    fn a_barrier_waiter_and_the_last_party_blocked_on_its_mutex() {
        // 1 waits at the barrier (any live thread may arrive) holding M;
        // 2, the last party, waits for M held by 1.
        let bl = [b(1, Wakers::AnyLive), b(2, Wakers::AnyOf(vec![t(1)]))];
        assert_eq!(deadlocked(&bl, &[t(1), t(2)]), [0, 1]);
        // A third, running thread keeps both alive: it might arrive.
        assert!(deadlocked(&bl, &[t(1), t(2), t(3)]).is_empty());
    }

    #[test]
    fn a_join_of_a_thread_blocked_on_the_joiners_lock() {
        // 1 holds L and joins 2; 2 waits for L.
        let bl = [
            b(1, Wakers::AnyOf(vec![t(2)])),
            b(2, Wakers::AnyOf(vec![t(1)])),
        ];
        assert_eq!(deadlocked(&bl, &[t(1), t(2)]), [0, 1]);
    }

    #[test]
    fn semaphore_permits_held_by_one_running_thread_can_come_back() {
        // 1 and 2 wait for permits; 2 and 3 hold them; 3 is running.
        let bl = [
            b(1, Wakers::AnyOf(vec![t(2), t(3)])),
            b(2, Wakers::AnyOf(vec![t(2), t(3)])),
        ];
        assert!(deadlocked(&bl, &[t(1), t(2), t(3)]).is_empty());
        // 3 gone (exited holding its permit: a leak): nobody can release.
        let bl = [
            b(1, Wakers::AnyOf(vec![t(2)])),
            b(2, Wakers::AnyOf(vec![t(1)])),
        ];
        assert_eq!(deadlocked(&bl, &[t(1), t(2)]), [0, 1]);
    }

    #[test]
    fn timed_waits_and_free_locks_are_never_deadlocked() {
        let mut timed = b(1, Wakers::AnyLive);
        timed.timed = true;
        assert!(deadlocked(&[timed], &[t(1)]).is_empty());
        assert!(deadlocked(&[b(1, Wakers::AnyOf(vec![]))], &[t(1)]).is_empty());
    }

    #[test]
    fn only_the_stuck_part_is_reported() {
        // 1 and 2 deadlocked on each other; 3 waits for a lock held by running 4.
        let bl = [
            b(1, Wakers::AnyOf(vec![t(2)])),
            b(2, Wakers::AnyOf(vec![t(1)])),
            b(3, Wakers::AnyOf(vec![t(4)])),
        ];
        assert_eq!(deadlocked(&bl, &[t(1), t(2), t(3), t(4)]), [0, 1]);
    }

    use crate::model::{HeldLock, Mode, Site, ThreadInfo};

    fn waiter(thread: u64, object: u64, on: WaitOn, held: &[u64]) -> Waiter {
        Waiter {
            thread: ThreadInfo {
                span: None,
                id: t(thread),
                name: Some(format!("w{thread}").into()),
            },
            object: ObjectId(object),
            on,
            timed: false,
            mode: Mode::Exclusive,
            site: Site::new("s.rs", thread as u32, 1),
            held: held
                .iter()
                .map(|&o| HeldLock {
                    object: ObjectId(o),
                    mode: Mode::Exclusive,
                    site: Site::new("s.rs", 100 + o as u32, 1),
                })
                .collect(),
            stack: None,
            missed: None,
        }
    }

    fn info(id: ObjectId) -> ObjectInfo {
        let kind = match id.0 {
            1..=9 => ObjectKind::Mutex,
            10..=19 => ObjectKind::Barrier,
            _ => ObjectKind::Thread,
        };
        ObjectInfo {
            api: None,
            id,
            kind,
            name: Some(format!("o{}", id.0).into()),
            site: Site::new("new.rs", id.0 as u32, 1),
        }
    }

    #[test]
    fn barrier_and_mutex_deadlock_is_one_finding_naming_both_waits() {
        // 1 holds mutex 1 and waits at barrier 10; 2 waits for mutex 1.
        let ws = [
            waiter(1, 10, WaitOn::Anyone, &[1]),
            waiter(2, 1, WaitOn::Lock, &[]),
        ];
        let live = [t(1), t(2)];
        let (f, who) = deadlock_of(&ws, &live, &[], t(2), &info).expect("deadlock");
        assert_eq!(who, [0, 1]);
        assert_eq!(f.kind, Kind::Deadlock);
        assert!(
            f.summary.starts_with("every live thread is blocked"),
            "{}",
            f.summary
        );
        assert!(
            f.summary
                .contains("waits at Barrier \"o10\" holding Mutex \"o1\""),
            "{}",
            f.summary
        );
        assert!(
            f.summary.contains("waits to lock Mutex \"o1\""),
            "{}",
            f.summary
        );
        // The same from the other thread.
        let (g, _) = deadlock_of(&ws, &live, &[], t(1), &info).expect("deadlock");
        assert_eq!(f.fingerprint, g.fingerprint);
        // A third live thread that is running could still arrive: nothing.
        assert!(deadlock_of(&ws, &[t(1), t(2), t(3)], &[], t(1), &info).is_none());
    }

    #[test]
    fn lock_cycles_keep_their_own_report() {
        let ws = [
            waiter(1, 2, WaitOn::Lock, &[1]),
            waiter(2, 1, WaitOn::Lock, &[2]),
        ];
        let (f, _) = deadlock_of(&ws, &[t(1), t(2), t(3)], &[], t(1), &info).expect("cycle");
        assert!(f.summary.contains("blocked on each other"), "{}", f.summary);
    }

    #[test]
    fn stall_fingerprint_ignores_how_many_threads_wait_at_the_same_place() {
        let mut ws: Vec<Waiter> = (1..=3)
            .map(|i| waiter(i, 10, WaitOn::Anyone, &[]))
            .collect();
        for w in &mut ws {
            w.site = Site::new("s.rs", 7, 1);
        }
        let live: Vec<ThreadId> = (1..=3).map(t).collect();
        let (a, who) = deadlock_of(&ws, &live, &[], t(1), &info).expect("stall");
        assert_eq!(who.len(), 3);
        let (b, _) = deadlock_of(&ws[..2], &live[..2], &[], t(1), &info).expect("stall");
        assert_eq!(a.fingerprint, b.fingerprint);
    }

    #[test]
    fn a_join_on_a_thread_blocked_on_the_joiners_lock() {
        let ws = [
            waiter(1, 20, WaitOn::Thread(t(2)), &[1]),
            waiter(2, 1, WaitOn::Lock, &[]),
        ];
        let (f, who) = deadlock_of(&ws, &[t(1), t(2), t(5)], &[], t(1), &info).expect("deadlock");
        assert_eq!(who, [0, 1]);
        assert!(
            f.summary.starts_with("2 threads are blocked"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("joins thread \"w2\""), "{}", f.summary);
        // A timed join ends by itself.
        let mut timed = ws.clone();
        timed[0].timed = true;
        assert!(deadlock_of(&timed, &[t(1), t(2)], &[], t(1), &info).is_none());
    }

    #[test]
    fn a_lock_leaked_by_a_thread_that_ended_wakes_nobody() {
        let ws = [waiter(1, 3, WaitOn::Lock, &[])];
        assert!(deadlock_of(&ws, &[t(1)], &[], t(1), &info).is_none());
        let (f, _) = deadlock_of(&ws, &[t(1), t(2)], &[ObjectId(3)], t(1), &info).expect("stuck");
        assert!(
            f.summary.contains("waits to lock Mutex \"o3\""),
            "{}",
            f.summary
        );
    }

    #[test]
    fn at_exit_reports_lock_cycles_and_missed_notifications_but_not_idle_waits() {
        // 1 and 2: an AB/BA cycle. 3: idle at barrier 10 (a worker waiting
        // for work). 4: waiting at barrier 11 after a lost notification.
        let mut lost = waiter(4, 11, WaitOn::Anyone, &[]);
        lost.missed = Some(crate::waitfor::Missed {
            site: Site::new("n.rs", 7, 1),
            by: ThreadInfo {
                span: None,
                id: t(9),
                name: None,
            },
        });
        let ws = [
            waiter(1, 2, WaitOn::Lock, &[1]),
            waiter(2, 1, WaitOn::Lock, &[2]),
            waiter(3, 10, WaitOn::Anyone, &[]),
            lost,
        ];
        let found = at_exit(&ws, &[], &info);
        let kinds: Vec<Kind> = found.iter().map(|(f, _)| f.kind).collect();
        assert_eq!(kinds, [Kind::Deadlock, Kind::MissedNotification]);
        assert!(
            found.iter().all(|(_, who)| !who.contains(&2)),
            "the idle waiter is not reported"
        );
        // Alone, the idle waiter is silent; while the process runs (a live
        // thread outside), so is everything but the lock cycle.
        assert!(at_exit(&ws[2..3], &[], &info).is_empty());
    }
}
