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

use crate::model::{ObjectId, ThreadId};

/// Who can end a wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wakers {
    /// These threads (the holders of a lock or of permits). An empty list
    /// means nobody holds it: the wait is about to end.
    AnyOf(Vec<ThreadId>),
    /// Any live thread (an event, a latch, a barrier, a condvar).
    AnyLive,
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
}
