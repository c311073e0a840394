//! The records of a trace, as the reader returns them.

use serde::{Deserialize, Serialize};

use crate::model::{Frame, Mode, ObjectKind};

/// The trace format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

pub use crate::event::{Event, EventKind, Outcome, SignalKind};

/// One blocked thread in a recorded deadlock snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitSnapshot {
    /// The thread.
    pub t: u64,
    /// What it waits for.
    pub o: u64,
    /// Where.
    pub s: u64,
    /// In which mode.
    pub mode: Mode,
    /// What it holds: `[object, site, mode]` triples.
    pub held: Vec<(u64, u64, Mode)>,
    /// What kind of wait: absent or `lock` for a lock, `thread` for a wait
    /// only thread `by` can end (a join, a once being run), `anyone` for a
    /// wait any live thread could end (a semaphore, event, barrier, latch or
    /// condvar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// For `on: thread`: the thread that can end the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<u64>,
    /// A notification the wait missed: `[site, thread]` of a notify that
    /// woke nobody (or an event set and cleared unseen) before it began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<(u64, u64)>,
}

/// One thread of a recorded livelock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpinSnapshot {
    /// The thread.
    pub t: u64,
    /// What it kept failing to get: `[object, site, failed attempts]`.
    pub fails: Vec<(u64, u64, u64)>,
    /// What it held at its latest failure: `[object, site, mode]`.
    pub held: Vec<(u64, u64, Mode)>,
}

/// One operation on a tracked location (`{"access": {...}}`), written
/// while race tracking is on: what `race::Shadow::apply` needs, so the
/// replay finds the races the live run found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    /// The thread (0 for a reset).
    pub t: u64,
    /// The location (an object of kind atomic, cell or tracked).
    pub o: u64,
    /// The operation's place in the location's order, from 0.
    pub n: u64,
    /// `r` read, `w` write, `u` atomic read-modify-write, `x` exclusive reset.
    pub k: String,
    /// The thread's clock slot.
    #[serde(default)]
    pub slot: u32,
    /// The thread's clock entries that changed since its previous access
    /// record: `[slot, value]` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vc: Vec<(u32, u32)>,
    /// Where (a site id; 0 for a reset).
    #[serde(default)]
    pub s: u64,
    /// Locks held: `[object, site, mode]` triples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<(u64, u64, Mode)>,
    /// The thread's last synchronization: `[words, object, site]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<(String, Option<u64>, u64)>,
    /// The value read or written (atomics), as a report prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<String>,
}

/// A spawn or a join, written the moment it happens (not through the
/// thread's ring): `{"fork": {...}}` or `{"joined": {...}}`. The fork-join
/// order that may make a lock-order cycle a warning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkJoinRecord {
    /// The spawning or joining thread.
    pub t: u64,
    /// Its fork-join epoch then: how many spawns and joins it made before.
    pub k: u32,
    /// The thread spawned or joined.
    pub child: u64,
}

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// The first line.
    Header {
        /// Format version.
        version: u32,
        /// The program that wrote it.
        program: String,
        /// Its process id.
        pid: u64,
        /// When recording started, in milliseconds since the Unix epoch.
        start_unix_ms: u64,
    },
    /// A thread's id and name.
    Thread {
        /// The id events use.
        id: u64,
        /// The name, if any.
        name: Option<String>,
    },
    /// A source location.
    Site {
        /// The id events and objects use.
        id: u64,
        /// File.
        file: String,
        /// Line.
        line: u32,
        /// Column.
        col: u32,
        /// A backtrace, innermost first, if captured.
        frames: Vec<Frame>,
    },
    /// A synchronization object.
    Object {
        /// The id events use.
        id: u64,
        /// What it is.
        kind: ObjectKind,
        /// Its name, if any.
        name: Option<String>,
        /// Its creation site (a site id).
        site: u64,
        /// No owner: any thread may release it (a Python `Lock`), so a
        /// thread waiting for one it holds may still be let go
        /// (`"owned": false`; absent means owned).
        ownerless: bool,
        /// What the program's own API calls this kind (`Lock` from
        /// Python), for labels.
        api: Option<String>,
    },
    /// Something thread `thread` did.
    Event {
        /// The thread.
        thread: u64,
        /// What it did.
        event: Event<u64>,
    },
    /// A finding the live runtime reported (informational).
    Finding {
        /// The kind's JSON name.
        kind: String,
        /// Its fingerprint.
        fingerprint: String,
    },
    /// A deadlock the live runtime confirmed: the wait-for cycle in order,
    /// or every thread nothing can wake.
    Deadlock(Vec<WaitSnapshot>),
    /// A livelock the live runtime found: the threads that kept failing.
    Livelock(Vec<SpinSnapshot>),
    /// An operation on a tracked location.
    Access(AccessRecord),
    /// A thread spawned another.
    Fork(ForkJoinRecord),
    /// A thread joined another.
    Joined(ForkJoinRecord),
    /// The text of a `tracing` span that `span` events name.
    SpanName {
        /// The id `span` events use (never 0).
        id: u64,
        /// The span's name and fields, as `name{key=value ...}`.
        name: String,
    },
}
