//! Livelocks: threads that keep failing to acquire locks the others hold, backing off against each other.
//!
//! A *spinner* is a thread whose last [`FAILS`] or more acquisition
//! attempts failed (a failed `try_lock`, a timed-out acquisition, an
//! `is_locked()` that answered "busy") with no *progress* in between.
//! Progress is a successful acquisition of a lock the thread failed to get
//! in the streak, or an explicit `lockgraph::progress()` mark. A thread that
//! leaves its back-off loop stops failing and is no longer a spinner the
//! next time anyone looks.
//!
//! A livelock is a cycle of spinners in which each keeps failing on a lock
//! the next one held at its latest failure (thread 1 holds A and fails on B,
//! thread 2 holds B and fails on A), or a spinner failing on a lock whose
//! holder ended without releasing it (it can never succeed). A spinner
//! polling a lock that a busy, non-spinning thread holds is not reported:
//! that thread may be about to release it.

use crate::finding::{Cast, Evidence, Finding, Fingerprint, Kind, Op, Severity};
use crate::model::{HeldLock, ObjectId, ObjectInfo, Site, ThreadId, ThreadInfo};

/// Failed attempts in a row, without progress, that make a thread a spinner.
pub const FAILS: u64 = 50;

/// A thread in a streak of failed attempts.
#[derive(Clone, Debug)]
pub struct Spinner {
    /// The thread.
    pub thread: ThreadInfo,
    /// Each lock it failed to get in the streak: the lock, the site of the
    /// latest failure, how many times.
    pub fails: Vec<(ObjectId, Site, u64)>,
    /// What it held at its latest failure.
    pub holds: Vec<HeldLock>,
}

impl Spinner {
    /// Failed attempts in the streak.
    pub fn total(&self) -> u64 {
        self.fails.iter().map(|f| f.2).sum()
    }
}

/// The spinners `s` keeps failing on locks of.
fn next(spinners: &[Spinner], i: usize) -> impl Iterator<Item = usize> + '_ {
    let s = &spinners[i];
    spinners.iter().enumerate().filter_map(move |(j, other)| {
        (j != i
            && other.total() >= FAILS
            && s.fails
                .iter()
                .any(|f| other.holds.iter().any(|h| h.object == f.0)))
        .then_some(j)
    })
}

/// The livelock the spinner of `start` is part of, if any: indices into
/// `spinners`, in cycle order (one index for a spinner on a leaked lock).
pub fn find(spinners: &[Spinner], start: ThreadId, leaked: &[ObjectId]) -> Option<Vec<usize>> {
    let s = spinners.iter().position(|x| x.thread.id == start)?;
    if spinners[s].total() < FAILS {
        return None;
    }
    if spinners[s].fails.iter().any(|f| leaked.contains(&f.0)) {
        return Some(vec![s]);
    }
    crate::waitfor::cycle_through(s, spinners.len(), |i| next(spinners, i).collect())
}

/// The `livelock` finding for a cycle from [`find`].
pub fn finding(
    spinners: &[Spinner],
    cycle: &[usize],
    object: &dyn Fn(ObjectId) -> ObjectInfo,
) -> Finding {
    let mut order = cycle.to_vec();
    order.sort_by_key(|&i| spinners[i].thread.id);
    let mut cast = Cast::default();
    let mut evidence = Vec::new();
    let mut clauses = Vec::new();
    let mut parts = Vec::new();
    for &i in &order {
        let s = &spinners[i];
        let t = cast.thread(&s.thread);
        let mut holding = Vec::new();
        for h in &s.holds {
            let o = object(h.object);
            cast.object(&o);
            holding.push(o.label());
            evidence.push(Evidence::new(t, h.object, Op::Holds, h.site.clone()));
        }
        let mut failing = Vec::new();
        for (o, site, n) in &s.fails {
            let info = object(*o);
            cast.object(&info);
            failing.push(format!("{} ({n} failed attempts)", info.label()));
            let mut step = Evidence::new(t, *o, Op::Acquires, site.clone());
            step.note = Some(format!("fails here, {n} times without progress"));
            evidence.push(step);
            parts.push(format!("{}@{}", info.class_key(), site));
        }
        clauses.push(format!(
            "{} holds {} and keeps failing to get {}",
            s.thread.label(),
            if holding.is_empty() {
                "nothing".to_owned()
            } else {
                holding.join(", ")
            },
            failing.join(", ")
        ));
    }
    parts.sort();
    parts.dedup();
    let summary = if order.len() == 1 {
        format!(
            "{}, whose holder ended without releasing it: no attempt can ever succeed",
            clauses.join("")
        )
    } else {
        format!(
            "{} threads back off against each other and none makes progress: {}",
            order.len(),
            clauses.join("; ")
        )
    };
    Finding {
        kind: Kind::Livelock,
        severity: Severity::Error,
        summary,
        fingerprint: Fingerprint::of(Kind::Livelock, parts.iter().map(String::as_str)),
        threads: cast.threads,
        objects: cast.objects,
        evidence,
        notes: vec![
            format!("decided after {FAILS} failed attempts in a row by each thread, with no progress (a successful acquisition of a lock it failed on, or lockgraph::progress())"),
            "fix: take the locks in one global order and block instead of polling, or back off with randomized, growing delays".to_owned(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Mode, ObjectKind};

    fn spinner(t: u64, holds: u64, fails_on: u64, n: u64) -> Spinner {
        Spinner {
            thread: ThreadInfo {
                span: None,
                id: ThreadId(t),
                name: None,
            },
            fails: vec![(ObjectId(fails_on), Site::new("l.rs", t as u32, 1), n)],
            holds: vec![HeldLock {
                object: ObjectId(holds),
                mode: Mode::Exclusive,
                site: Site::new("l.rs", 10 + t as u32, 1),
            }],
        }
    }
    fn info(id: ObjectId) -> ObjectInfo {
        ObjectInfo {
            api: None,
            id,
            kind: ObjectKind::Mutex,
            name: Some(["", "A", "B", "C"][id.0 as usize % 4].into()),
            site: Site::new("l.rs", 1, 1),
        }
    }

    #[test]
    fn two_threads_failing_on_each_others_lock_are_a_livelock_once_both_spin_long() {
        let s = [spinner(1, 1, 2, FAILS), spinner(2, 2, 1, FAILS)];
        let c = find(&s, ThreadId(1), &[]).expect("livelock");
        assert_eq!(c.len(), 2);
        let f = finding(&s, &c, &info);
        assert!(
            f.summary
                .contains("keeps failing to get Mutex \"B\" (50 failed attempts)"),
            "{}",
            f.summary
        );
        let g = finding(&s, &find(&s, ThreadId(2), &[]).unwrap(), &info);
        assert_eq!(f.fingerprint, g.fingerprint);
        // One of them has barely started failing: not yet.
        let s = [spinner(1, 1, 2, FAILS), spinner(2, 2, 1, 3)];
        assert!(find(&s, ThreadId(1), &[]).is_none());
    }

    #[test]
    fn a_spinner_on_a_busy_but_not_spinning_holder_is_silent_unless_the_lock_leaked() {
        let s = [spinner(1, 1, 2, 10 * FAILS)];
        assert!(find(&s, ThreadId(1), &[]).is_none());
        let c = find(&s, ThreadId(1), &[ObjectId(2)]).expect("leaked");
        let f = finding(&s, &c, &info);
        assert!(
            f.summary.contains("holder ended without releasing it"),
            "{}",
            f.summary
        );
    }
}
