//! Findings: what an analysis reports, with stable fingerprints for baselines.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{Frame, ObjectId, ObjectInfo, Site, StackRef, ThreadId, ThreadInfo};

/// The failure modes lockgraph names. The serialized names are a contract:
/// JSON reports, baselines and `--fail-on` use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Locks taken in inconsistent orders by different threads: a deadlock is possible.
    LockOrderCycle,
    /// Threads blocked on each other right now, or a stall nothing can end.
    Deadlock,
    /// A thread waits for something only it can release.
    SelfDeadlock,
    /// Threads keep running but make no progress.
    Livelock,
    /// A notification found no waiter and a later wait never got one.
    MissedNotification,
    /// A lock or permit still held when its thread ended, or a guard forgotten.
    LockLeak,
    /// Two unordered accesses to one tracked location, at least one a write.
    DataRace,
    /// A read-modify-write split in two with another thread's write in between.
    AtomicityViolation,
    /// Blocking while holding an unrelated lock.
    BlockingWhileHolding,
}

impl Kind {
    /// Every kind, in the order of the design's table.
    pub const ALL: [Kind; 9] = [
        Kind::LockOrderCycle,
        Kind::Deadlock,
        Kind::SelfDeadlock,
        Kind::Livelock,
        Kind::MissedNotification,
        Kind::LockLeak,
        Kind::DataRace,
        Kind::AtomicityViolation,
        Kind::BlockingWhileHolding,
    ];

    /// The JSON name, as in `lock_order_cycle`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LockOrderCycle => "lock_order_cycle",
            Kind::Deadlock => "deadlock",
            Kind::SelfDeadlock => "self_deadlock",
            Kind::Livelock => "livelock",
            Kind::MissedNotification => "missed_notification",
            Kind::LockLeak => "lock_leak",
            Kind::DataRace => "data_race",
            Kind::AtomicityViolation => "atomicity_violation",
            Kind::BlockingWhileHolding => "blocking_while_holding",
        }
    }

    /// The severity a finding of this kind has unless the analysis says otherwise.
    pub fn default_severity(self) -> Severity {
        match self {
            Kind::LockLeak | Kind::BlockingWhileHolding => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// One sentence on what the kind means, for `lockgraph kinds` and docs.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::LockOrderCycle => "two or more locks are taken in inconsistent order by different threads; a deadlock is possible even though this run did not hang",
            Kind::Deadlock => "threads are blocked on each other right now, or every live thread is blocked and nothing can wake them",
            Kind::SelfDeadlock => "a thread waits for something only it can release, such as re-locking a non-reentrant mutex it holds",
            Kind::Livelock => "threads keep running but make no progress: repeated failed try-acquire and back-off against each other",
            Kind::MissedNotification => "a notification happened when nobody waited, and a later wait on the same object never got one",
            Kind::LockLeak => "a lock or permit is still held when its thread exits, or a guard was forgotten",
            Kind::DataRace => "two accesses to the same tracked location, at least one a write, not ordered by happens-before",
            Kind::AtomicityViolation => "a read-modify-write split across two steps with another thread's write in between",
            Kind::BlockingWhileHolding => "a thread blocks on a condvar, event, barrier, join or sleep while holding an unrelated lock",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding is. Ordered: `Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A hazard worth a look; does not fail a test by default.
    Warning,
    /// A bug; fails a test by default.
    Error,
}

impl Severity {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A stable identity for a finding: the same bug in another run (other ids,
/// other timing) has the same fingerprint, so CI can baseline it.
///
/// It hashes the kind and the *classes* of the objects involved (kind, name,
/// creation site) with the sites of the evidence, in canonical order; never
/// ids, addresses, thread ids or times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// Hashes parts with 64-bit FNV-1a, a hash that is the same on every platform and run.
    pub fn of<'a>(kind: Kind, parts: impl IntoIterator<Item = &'a str>) -> Fingerprint {
        let mut h = Fnv::new();
        h.write(kind.as_str().as_bytes());
        for p in parts {
            h.write(&[0xff]);
            h.write(p.as_bytes());
        }
        Fingerprint(h.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        u64::from_str_radix(&s, 16).map(Fingerprint).map_err(|_| {
            serde::de::Error::custom(format!("fingerprint {s:?} is not 16 hex digits"))
        })
    }
}

struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// What a thread did in one step of a finding's evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The thread held the object (acquired at the step's site).
    Holds,
    /// The thread acquired the object while holding the previous step's object.
    Acquires,
    /// The thread is blocked trying to acquire the object.
    BlockedOn,
    /// The thread notified or set the object (with nobody waiting to see it).
    Signals,
    /// The thread slept (its step's object is the first lock it held, for
    /// reference only: a sleep waits on nothing).
    Sleeps,
    /// The thread read the object (a tracked location).
    Reads,
    /// The thread wrote the object (a tracked location).
    Writes,
}

impl Op {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Holds => "holds",
            Op::Acquires => "acquires",
            Op::BlockedOn => "blocked_on",
            Op::Signals => "signals",
            Op::Sleeps => "sleeps",
            Op::Reads => "reads",
            Op::Writes => "writes",
        }
    }
}

/// A thread as a finding refers to it (an index into nothing: the id plus the label).
pub type ThreadRef = ThreadId;
/// An object as a finding refers to it.
pub type ObjectRef = ObjectId;

/// One step of a finding's evidence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evidence {
    /// The thread that took the step.
    pub thread: ThreadRef,
    /// The object it concerned.
    pub object: ObjectRef,
    /// What the thread did.
    pub op: Op,
    /// Where, in the source.
    pub site: Site,
    /// A sentence of context, such as "first seen" or "closes the cycle".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The resolved call stack of the step, when one was captured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backtrace: Vec<Frame>,
    /// The captured, not yet resolved, stack.
    #[serde(skip)]
    pub stack: Option<StackRef>,
}

impl Evidence {
    /// A step with no note and no stack.
    pub fn new(thread: ThreadRef, object: ObjectRef, op: Op, site: Site) -> Self {
        Evidence {
            thread,
            object,
            op,
            site,
            note: None,
            backtrace: Vec::new(),
            stack: None,
        }
    }
}

/// One thing lockgraph found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    /// The failure mode.
    pub kind: Kind,
    /// How serious it is.
    pub severity: Severity,
    /// One line saying what happened, in the program's own names.
    pub summary: String,
    /// The stable identity of this finding across runs.
    pub fingerprint: Fingerprint,
    /// The threads involved.
    pub threads: Vec<ThreadInfo>,
    /// The objects involved.
    pub objects: Vec<ObjectInfo>,
    /// What happened, step by step.
    pub evidence: Vec<Evidence>,
    /// Further sentences: why it matters, how it was decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Finding {
    /// Looks up a thread of this finding by id.
    pub fn thread(&self, id: ThreadId) -> Option<&ThreadInfo> {
        self.threads.iter().find(|t| t.id == id)
    }

    /// Looks up an object of this finding by id.
    pub fn object(&self, id: ObjectId) -> Option<&ObjectInfo> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// Symbolizes every captured stack into `backtrace` frames. Costly: call
    /// it only for findings about to be shown.
    pub fn resolve_stacks(&mut self) {
        for step in &mut self.evidence {
            if step.backtrace.is_empty() {
                if let Some(stack) = &step.stack {
                    step.backtrace = stack.frames();
                }
            }
        }
    }

    /// Whether this `lock_order_cycle` is the possibility that `deadlock`
    /// realized: the same locks (by class). A deadlock and the cycle behind
    /// it are one bug, reported once, as the deadlock, live and offline.
    pub fn realized_by(&self, deadlock: &Finding) -> bool {
        if self.kind != Kind::LockOrderCycle || deadlock.kind != Kind::Deadlock {
            return false;
        }
        let keys = |f: &Finding| {
            let mut k: Vec<String> = f.objects.iter().map(ObjectInfo::class_key).collect();
            k.sort();
            k.dedup();
            k
        };
        keys(self) == keys(deadlock)
    }

    /// The names of the objects involved, for summaries: `"A", "B"`.
    pub fn object_labels(&self) -> Vec<String> {
        self.objects.iter().map(ObjectInfo::label).collect()
    }
}

/// Collects threads and objects of a finding once each, in first-mention order.
#[derive(Default)]
pub(crate) struct Cast {
    pub(crate) threads: Vec<ThreadInfo>,
    pub(crate) objects: Vec<ObjectInfo>,
}

impl Cast {
    pub(crate) fn thread(&mut self, t: &ThreadInfo) -> ThreadId {
        if !self.threads.iter().any(|x| x.id == t.id) {
            self.threads.push(t.clone());
        }
        t.id
    }
    pub(crate) fn object(&mut self, o: &ObjectInfo) -> ObjectId {
        if !self.objects.iter().any(|x| x.id == o.id) {
            self.objects.push(o.clone());
        }
        o.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_order_sensitive() {
        let a = Fingerprint::of(Kind::Deadlock, ["x", "y"]);
        assert_eq!(a, Fingerprint::of(Kind::Deadlock, ["x", "y"]));
        assert_ne!(a, Fingerprint::of(Kind::Deadlock, ["y", "x"]));
        assert_ne!(a, Fingerprint::of(Kind::LockOrderCycle, ["x", "y"]));
        // Part boundaries matter: ["xy"] is not ["x", "y"].
        assert_ne!(a, Fingerprint::of(Kind::Deadlock, ["xy"]));
        // A known value, so that a change of hash is a deliberate act.
        assert_eq!(
            Fingerprint::of(Kind::Deadlock, []).to_string(),
            "7ddea4a4287160f0"
        );
    }

    #[test]
    fn fingerprint_round_trips_through_json() {
        let f = Fingerprint(0x0123_4567_89ab_cdef);
        let s = serde_json::to_string(&f).unwrap();
        assert_eq!(s, "\"0123456789abcdef\"");
        assert_eq!(serde_json::from_str::<Fingerprint>(&s).unwrap(), f);
        assert!(serde_json::from_str::<Fingerprint>("\"zz\"").is_err());
    }

    #[test]
    fn kind_names_are_the_contract() {
        let names: Vec<_> = Kind::ALL
            .iter()
            .map(|k| serde_json::to_string(k).unwrap())
            .collect();
        assert_eq!(
            names.join(","),
            "\"lock_order_cycle\",\"deadlock\",\"self_deadlock\",\"livelock\",\"missed_notification\",\"lock_leak\",\"data_race\",\"atomicity_violation\",\"blocking_while_holding\""
        );
        for k in Kind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
    }
}
