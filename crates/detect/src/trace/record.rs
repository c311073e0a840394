//! The records of a trace, as the reader returns them.

use serde::{Deserialize, Serialize};

use crate::model::{Frame, Mode, ObjectKind};

/// The trace format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What an event says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A blocking acquisition was asked for (optional: `acquire` alone also counts as asked).
    Attempt,
    /// A blocking acquisition succeeded.
    Acquire,
    /// The thread asks to upgrade its upgradable lock to exclusive (a `remode` follows on success).
    Upgrade,
    /// A non-blocking or timed acquisition succeeded.
    Try,
    /// A non-blocking or timed acquisition failed.
    TryFail,
    /// The thread blocked waiting for the object.
    Wait,
    /// The thread released the object.
    Release,
    /// The thread now holds the object in another mode (upgrade, downgrade).
    Remode,
    /// The object was destroyed.
    Drop,
    /// The thread waits on a condvar (`o`), having released `mutex`.
    CvWait,
    /// A condvar wait ended (`how`: notified, timeout).
    CvWoken,
    /// A notification on a condvar (`woken` waiters, `all`).
    Notify,
    /// The thread started thread `child`.
    Spawn,
    /// The thread joined thread `child`.
    Join,
    /// The thread ended.
    Exit,
    /// The thread's previous `k` events (a block that starts and ends with
    /// the same held locks) happened `n` more times, in order.
    Repeat,
    /// The thread starts waiting on a semaphore, event, barrier, latch or
    /// once (`how`: `wait`, or `timed` for a wait with a timeout).
    Block,
    /// That wait ended (`how`: `ok`, `timeout` or `broken`).
    Unblock,
    /// The thread changed what waiters of the object see (`how`: `set`,
    /// `clear`, `release`, `count_down`, `arrive`, `abort`, `reset`, `done`),
    /// waking `woken` of them.
    Signal,
    /// The thread took a semaphore permit.
    Take,
    /// The thread gave a semaphore permit back.
    Give,
    /// The thread sleeps (through `lockgraph::thread::sleep`).
    Sleep,
    /// The thread marked progress (`lockgraph::progress()`): a streak of
    /// failed attempts ends.
    Progress,
    /// The thread's next wait (a `cv_wait` or `block` on `o`) begins after
    /// a notification that woke nobody, made at `s` by thread `child` (or an
    /// event set and cleared unseen). Written by the waiting thread, so the
    /// mark does not depend on how the threads' events interleave in the file.
    Missed,
}

/// How a wait on a semaphore, event, barrier, latch or once ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// What it waited for happened.
    Ok,
    /// Its time ran out.
    Timeout,
    /// The barrier broke (a timeout, an abort or a reset elsewhere).
    Broken,
}

impl Outcome {
    /// The name in the trace's `how`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Timeout => "timeout",
            Outcome::Broken => "broken",
        }
    }

    /// A small code, for fixed-size event buffers.
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The outcome of a [`Outcome::code`].
    pub fn from_code(c: u64) -> Self {
        match c {
            0 => Outcome::Ok,
            1 => Outcome::Timeout,
            _ => Outcome::Broken,
        }
    }
}

/// What a `signal` event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalKind {
    /// An event was set.
    Set,
    /// An event was cleared.
    Clear,
    /// A semaphore permit was released without being taken (`release`).
    Release,
    /// A latch was counted down.
    CountDown,
    /// A party arrived at a barrier.
    Arrive,
    /// A barrier was aborted (broken for every waiter).
    Abort,
    /// A barrier was reset.
    Reset,
    /// A once finished running its closure.
    Done,
}

impl SignalKind {
    const ALL: [SignalKind; 8] = [
        SignalKind::Set,
        SignalKind::Clear,
        SignalKind::Release,
        SignalKind::CountDown,
        SignalKind::Arrive,
        SignalKind::Abort,
        SignalKind::Reset,
        SignalKind::Done,
    ];

    /// The name in the trace's `how`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Set => "set",
            SignalKind::Clear => "clear",
            SignalKind::Release => "release",
            SignalKind::CountDown => "count_down",
            SignalKind::Arrive => "arrive",
            SignalKind::Abort => "abort",
            SignalKind::Reset => "reset",
            SignalKind::Done => "done",
        }
    }

    /// A small code, for fixed-size event buffers.
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The signal of a [`SignalKind::code`], if valid.
    pub fn from_code(c: u64) -> Option<Self> {
        Self::ALL.get(usize::try_from(c).ok()?).copied()
    }

    /// The signal named `s` in a trace.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One event: which thread did what to which object, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// What happened.
    pub kind: EventKind,
    /// The thread (`t`).
    pub thread: u64,
    /// The object (`o`), if the event concerns one.
    pub object: Option<u64>,
    /// The site (`s`), if known.
    pub site: Option<u64>,
    /// The mode, for acquisitions.
    pub mode: Option<Mode>,
    /// The mutex of a condvar wait (`mutex`).
    pub mutex: Option<u64>,
    /// The other thread of a spawn or join (`child`).
    pub child: Option<u64>,
    /// How many waiters a notify woke (`woken`).
    pub woken: Option<u64>,
    /// Whether a notify was `notify_all` (`all`).
    pub all: Option<bool>,
    /// How a condvar wait ended (`how`).
    pub how: Option<String>,
    /// For `repeat`: how many events the repeated block has (`k`).
    pub k: Option<u64>,
    /// For `repeat`: how many more times it happened (`n`).
    pub n: Option<u64>,
}

impl TraceEvent {
    /// An event with only a kind and a thread.
    pub fn new(kind: EventKind, thread: u64) -> Self {
        TraceEvent {
            kind,
            thread,
            object: None,
            site: None,
            mode: None,
            mutex: None,
            child: None,
            woken: None,
            all: None,
            how: None,
            k: None,
            n: None,
        }
    }
}

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
    },
    /// Something that happened.
    Event(TraceEvent),
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
}
