//! Warnings about how a thread holds things: blocking while holding a lock, and leaks.

use crate::finding::{Cast, Evidence, Finding, Fingerprint, Kind, Op, Severity};
use crate::model::{HeldLock, ObjectInfo, ObjectKind, Site, StackRef, ThreadInfo};

/// What a thread blocks on while holding locks.
#[derive(Clone, Debug)]
pub enum Blocking<'a> {
    /// A wait on an object (a condvar other than with its own mutex, an
    /// event, a barrier, a latch, a joined thread).
    On(&'a ObjectInfo),
    /// A sleep.
    Sleep,
}

/// Whether a wait on an object of `kind` that blocks is judged by
/// [`blocking_while_holding`] (the kinds beyond locks whose wait a held
/// lock can turn into a deadlock: a condvar's wait (with another lock
/// than its own mutex held), a join, events, barriers, latches, channels;
/// semaphores and onces are left out, see `docs/heuristics.md`). Applied
/// by [`crate::Analyses`]'s `on_block`, which both drivers call.
pub fn warns_when_blocking(kind: ObjectKind) -> bool {
    matches!(
        kind,
        ObjectKind::Condvar
            | ObjectKind::Thread
            | ObjectKind::Event
            | ObjectKind::Barrier
            | ObjectKind::Latch
            | ObjectKind::Channel
    )
}

/// A `blocking_while_holding` warning: `thread` blocks at `site` while
/// holding `held` (described by `info`). `None` if it holds nothing.
pub fn blocking_while_holding(
    thread: &ThreadInfo,
    held: &[HeldLock],
    info: &dyn Fn(&HeldLock) -> ObjectInfo,
    what: Blocking<'_>,
    site: Site,
    stack: Option<StackRef>,
) -> Option<Finding> {
    let first = held.first()?;
    let mut cast = Cast::default();
    let t = cast.thread(thread);
    let mut evidence = Vec::new();
    let mut labels = Vec::new();
    let mut keys = Vec::new();
    for h in held {
        let o = info(h);
        cast.object(&o);
        labels.push(format!("{} (taken at {})", o.label(), h.site));
        keys.push(format!("{}@{}", o.class_key(), h.site));
        evidence.push(Evidence::new(t, h.object, Op::Holds, h.site.clone()));
    }
    keys.sort();
    keys.dedup();
    let (doing, target, object) = match &what {
        Blocking::On(o) => {
            cast.object(o);
            let doing = match o.kind {
                ObjectKind::Thread => {
                    format!("joins {}", o.label().replacen("Thread", "thread", 1))
                }
                ObjectKind::Event => format!("waits for {} to be set", o.label()),
                ObjectKind::Barrier => format!("waits at {}", o.label()),
                ObjectKind::Latch => format!("waits for {} to count down", o.label()),
                ObjectKind::Channel => format!("waits to receive from {}", o.label()),
                ObjectKind::Condvar => format!("waits on {}", o.label()),
                _ => format!("waits on {}", o.label()),
            };
            (doing, o.class_key(), o.id)
        }
        Blocking::Sleep => ("sleeps".to_owned(), "sleep".to_owned(), first.object),
    };
    let op = match what {
        Blocking::On(_) => Op::BlockedOn,
        Blocking::Sleep => Op::Sleeps,
    };
    let mut step = Evidence::new(t, object, op, site.clone());
    step.note = Some(format!("{doing} here"));
    step.stack = stack;
    evidence.push(step);
    let at = site.to_string();
    let mut parts = vec![target, at];
    parts.extend(keys);
    Some(Finding {
        kind: Kind::BlockingWhileHolding,
        severity: Severity::Warning,
        summary: format!(
            "{} {doing} while holding {}: any thread that needs {} to let it go on would deadlock",
            thread.label(),
            labels.join(", "),
            if held.len() == 1 { "that lock" } else { "one of those locks" },
        ),
        fingerprint: Fingerprint::of(Kind::BlockingWhileHolding, parts.iter().map(String::as_str)),
        threads: cast.threads,
        objects: cast.objects,
        evidence,
        notes: vec!["fix: release the lock before waiting, or wait on a condvar with that lock as its mutex".to_owned()],
    })
}

/// How a lock or permit leaked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leak {
    /// Its thread ended while holding it (or the process ended, for the
    /// thread that ended it).
    ThreadEnded,
    /// The lock was destroyed while the thread still held it: its guard was
    /// forgotten (`mem::forget`) or leaked.
    Destroyed,
}

/// A `lock_leak` warning: `thread` leaked `object`, taken at `taken`.
pub fn lock_leak(thread: &ThreadInfo, object: &ObjectInfo, taken: Site, how: Leak) -> Finding {
    let mut cast = Cast::default();
    let t = cast.thread(thread);
    cast.object(object);
    let what = if object.kind == ObjectKind::Semaphore {
        format!("a permit of {}", object.label())
    } else {
        object.label()
    };
    let mut step = Evidence::new(t, object.id, Op::Holds, taken.clone());
    let (summary, note, tag) = match how {
        Leak::ThreadEnded => {
            step.note = Some("taken here, never given back".to_owned());
            (
                format!(
                    "{} ended holding {what} (taken at {taken}): nobody can release it now, and every thread that waits for it will wait forever",
                    thread.label()
                ),
                "fix: release on every path out of the thread (an RAII guard or permit does it, early returns and `?` included); do not `mem::forget` guards",
                "ended",
            )
        }
        Leak::Destroyed => {
            step.note = Some("taken here; the guard was never dropped".to_owned());
            (
                format!(
                    "{} was destroyed while {} still held it (taken at {taken}): its guard was forgotten or leaked",
                    object.label(),
                    thread.label()
                ),
                "fix: let the guard drop instead of `mem::forget` (use `MutexGuard::unlocked` or drop it explicitly)",
                "destroyed",
            )
        }
    };
    let key = object.class_key();
    let at = taken.to_string();
    Finding {
        kind: Kind::LockLeak,
        severity: Severity::Warning,
        summary,
        fingerprint: Fingerprint::of(Kind::LockLeak, [tag, key.as_str(), at.as_str()]),
        threads: cast.threads,
        objects: cast.objects,
        evidence: vec![step],
        notes: vec![note.to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Mode, ObjectId, ThreadId};

    fn thread() -> ThreadInfo {
        ThreadInfo {
            span: None,
            id: ThreadId(1),
            name: Some("main".into()),
        }
    }
    fn obj(id: u64, kind: ObjectKind, name: &str) -> ObjectInfo {
        ObjectInfo {
            api: None,
            id: ObjectId(id),
            kind,
            name: Some(name.into()),
            site: Site::new("a.rs", id as u32, 1),
        }
    }

    #[test]
    fn holding_nothing_is_no_warning_and_holding_names_lock_and_both_sites() {
        let ev = obj(9, ObjectKind::Event, "ready");
        let info = |h: &HeldLock| obj(h.object.0, ObjectKind::Mutex, "state");
        let site = Site::new("a.rs", 50, 5);
        assert!(blocking_while_holding(
            &thread(),
            &[],
            &info,
            Blocking::On(&ev),
            site.clone(),
            None
        )
        .is_none());
        let held = [HeldLock {
            object: ObjectId(1),
            mode: Mode::Exclusive,
            site: Site::new("a.rs", 40, 9),
        }];
        let f = blocking_while_holding(
            &thread(),
            &held,
            &info,
            Blocking::On(&ev),
            site.clone(),
            None,
        )
        .expect("warning");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.summary.contains("waits for Event \"ready\" to be set while holding Mutex \"state\" (taken at a.rs:40:9)"), "{}", f.summary);
        assert_eq!(f.evidence.len(), 2);
        let g = blocking_while_holding(&thread(), &held, &info, Blocking::Sleep, site, None)
            .expect("sleep");
        assert_ne!(f.fingerprint, g.fingerprint);
        assert!(g.summary.contains("sleeps while holding"), "{}", g.summary);
        // A sleep is no wait on the lock it holds.
        assert_eq!(g.evidence.last().map(|e| e.op), Some(Op::Sleeps));
    }

    #[test]
    fn leaks_name_the_acquisition_site_and_differ_by_how() {
        let m = obj(1, ObjectKind::Mutex, "m");
        let a = lock_leak(&thread(), &m, Site::new("a.rs", 3, 4), Leak::ThreadEnded);
        let b = lock_leak(&thread(), &m, Site::new("a.rs", 3, 4), Leak::Destroyed);
        assert!(
            a.summary
                .contains("ended holding Mutex \"m\" (taken at a.rs:3:4)"),
            "{}",
            a.summary
        );
        assert!(b.summary.contains("destroyed"), "{}", b.summary);
        assert_ne!(a.fingerprint, b.fingerprint);
        let s = obj(2, ObjectKind::Semaphore, "pool");
        let c = lock_leak(&thread(), &s, Site::new("a.rs", 5, 1), Leak::ThreadEnded);
        assert!(
            c.summary.contains("a permit of Semaphore \"pool\""),
            "{}",
            c.summary
        );
    }
}
