//! The one event model: what a thread did, as the runtime records it, the trace stores it and the analyzer replays it.
//!
//! An [`Event`] is generic over how it names a source location: the live
//! runtime records `Event<its own site reference>` (a pointer to the
//! caller's `Location`, 32 bytes an event, no allocation), the trace stores
//! `Event<u64>` (interned site ids), and [`Event::map_site`] turns one into
//! the other. Every field is typed: outcomes and signals are enums, a wait
//! that only one thread can end is its own variant. The thread an event
//! belongs to is not in it: the runtime keeps one ring per thread, and a
//! trace line names it beside the event.

use crate::model::Mode;

/// What an event says happened: the name of an [`Event`]'s variant, as a
/// trace line spells it (`ev`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// The thread waits on a condvar, having released its mutex.
    CvWait,
    /// A condvar wait ended.
    CvWoken,
    /// A notification on a condvar.
    Notify,
    /// The thread started another.
    Spawn,
    /// The thread joins another.
    Join,
    /// The thread ended; or, for thread 0, the process exited.
    Exit,
    /// The thread's previous `k` events happened `n` more times.
    Repeat,
    /// The thread starts waiting on a semaphore, event, barrier, latch or once.
    Block,
    /// That wait ended.
    Unblock,
    /// The thread changed what waiters of the object see.
    Signal,
    /// The thread took a semaphore permit.
    Take,
    /// The thread gave a semaphore permit back.
    Give,
    /// The thread sleeps (through `lockgraph::thread::sleep`).
    Sleep,
    /// The thread marked progress (`lockgraph::progress()`).
    Progress,
    /// The thread's next wait begins after a notification that woke nobody.
    Missed,
    /// The thread entered or left a `tracing` span.
    Span,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 25] = [
        EventKind::Attempt,
        EventKind::Acquire,
        EventKind::Upgrade,
        EventKind::Try,
        EventKind::TryFail,
        EventKind::Wait,
        EventKind::Release,
        EventKind::Remode,
        EventKind::Drop,
        EventKind::CvWait,
        EventKind::CvWoken,
        EventKind::Notify,
        EventKind::Spawn,
        EventKind::Join,
        EventKind::Exit,
        EventKind::Repeat,
        EventKind::Block,
        EventKind::Unblock,
        EventKind::Signal,
        EventKind::Take,
        EventKind::Give,
        EventKind::Sleep,
        EventKind::Progress,
        EventKind::Missed,
        EventKind::Span,
    ];

    /// The name in a trace (`ev`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Attempt => "attempt",
            EventKind::Acquire => "acquire",
            EventKind::Upgrade => "upgrade",
            EventKind::Try => "try",
            EventKind::TryFail => "try_fail",
            EventKind::Wait => "wait",
            EventKind::Release => "release",
            EventKind::Remode => "remode",
            EventKind::Drop => "drop",
            EventKind::CvWait => "cv_wait",
            EventKind::CvWoken => "cv_woken",
            EventKind::Notify => "notify",
            EventKind::Spawn => "spawn",
            EventKind::Join => "join",
            EventKind::Exit => "exit",
            EventKind::Repeat => "repeat",
            EventKind::Block => "block",
            EventKind::Unblock => "unblock",
            EventKind::Signal => "signal",
            EventKind::Take => "take",
            EventKind::Give => "give",
            EventKind::Sleep => "sleep",
            EventKind::Progress => "progress",
            EventKind::Missed => "missed",
            EventKind::Span => "span",
        }
    }

    /// The kind named `s` in a trace.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a wait on a semaphore, event, barrier, latch or once ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// What it waited for happened.
    Ok,
    /// Its time ran out.
    Timeout,
    /// The barrier broke (a timeout, an abort or a reset elsewhere).
    Broken,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 3] = [Outcome::Ok, Outcome::Timeout, Outcome::Broken];

    /// The name in a trace (`how`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Timeout => "timeout",
            Outcome::Broken => "broken",
        }
    }

    /// The outcome named `s` in a trace.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a [`Event::Signal`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    /// Every signal.
    pub const ALL: [SignalKind; 8] = [
        SignalKind::Set,
        SignalKind::Clear,
        SignalKind::Release,
        SignalKind::CountDown,
        SignalKind::Arrive,
        SignalKind::Abort,
        SignalKind::Reset,
        SignalKind::Done,
    ];

    /// The name in a trace (`how`).
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

    /// The signal named `s` in a trace.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One thing a thread did. `S` names source locations (see the module
/// documentation); `object` is an object id, a thread is a thread id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<S> {
    /// A blocking acquisition of `object` in `mode` was asked for: judged
    /// for self-waits and lock order here.
    Attempt {
        /// The lock.
        object: u64,
        /// The mode asked for.
        mode: Mode,
        /// Where.
        site: Option<S>,
    },
    /// A blocking acquisition succeeded: the thread holds `object`.
    Acquire {
        /// The lock.
        object: u64,
        /// The mode held.
        mode: Mode,
        /// Where.
        site: Option<S>,
    },
    /// The thread asks to upgrade its upgradable hold of `object`.
    Upgrade {
        /// The lock.
        object: u64,
        /// The mode asked for (exclusive).
        mode: Mode,
        /// Where.
        site: Option<S>,
    },
    /// A non-blocking or timed acquisition succeeded: held, no order edge.
    Try {
        /// The lock.
        object: u64,
        /// The mode held.
        mode: Mode,
        /// Where.
        site: Option<S>,
    },
    /// A non-blocking or timed acquisition failed, or `is_locked()` said busy.
    TryFail {
        /// The lock.
        object: u64,
        /// The mode asked for.
        mode: Mode,
        /// Where.
        site: Option<S>,
    },
    /// The thread is blocked waiting to acquire `object`.
    Wait {
        /// The lock.
        object: u64,
        /// The mode asked for.
        mode: Mode,
        /// Where.
        site: Option<S>,
    },
    /// The thread released `object`.
    Release {
        /// The lock.
        object: u64,
    },
    /// The thread now holds `object` in `mode` (an upgrade or a downgrade).
    Remode {
        /// The lock.
        object: u64,
        /// The mode now held.
        mode: Mode,
        /// Where, if known.
        site: Option<S>,
    },
    /// `object` was destroyed.
    Drop {
        /// The object.
        object: u64,
    },
    /// The thread waits on condvar `object`, having released `mutex`.
    CvWait {
        /// The condvar.
        object: u64,
        /// Its mutex.
        mutex: u64,
        /// The wait has a timeout.
        timed: bool,
        /// Where.
        site: Option<S>,
    },
    /// The condvar wait ended: the thread holds `mutex` again.
    CvWoken {
        /// The condvar.
        object: u64,
        /// Its mutex.
        mutex: u64,
        /// It ended by its timeout, not by a notification.
        timed_out: bool,
        /// Where (the wait's site).
        site: Option<S>,
    },
    /// A notification on condvar `object` woke `woken` waits.
    Notify {
        /// The condvar.
        object: u64,
        /// How many waits it woke.
        woken: u64,
        /// `notify_all`.
        all: bool,
        /// Where.
        site: Option<S>,
    },
    /// The thread started thread `child`.
    Spawn {
        /// The new thread.
        child: u64,
        /// Where.
        site: Option<S>,
    },
    /// The thread joins thread `child`: blocked until its next event.
    Join {
        /// The joined thread.
        child: u64,
        /// Where.
        site: Option<S>,
    },
    /// The thread ended.
    Exit,
    /// The process exited (`main` returned, or `std::process::exit`):
    /// every thread not blocked ended with it. Written as an `exit` of
    /// thread 0 with `how: process`.
    ProcessExit,
    /// The thread's previous `k` events happened `n` more times, in order.
    Repeat {
        /// Events in the repeated block.
        k: u64,
        /// More copies.
        n: u64,
    },
    /// The thread starts waiting on a semaphore, event, barrier, latch or
    /// once that any live thread could end; blocked until its next event.
    Block {
        /// The object.
        object: u64,
        /// The wait has a timeout.
        timed: bool,
        /// Where.
        site: Option<S>,
    },
    /// As [`Event::Block`], a wait only thread `by` can end (a once it runs;
    /// `by` is the waiter itself for a once reached from its own closure).
    BlockFor {
        /// The object.
        object: u64,
        /// The only thread that can end the wait.
        by: u64,
        /// The wait has a timeout.
        timed: bool,
        /// Where.
        site: Option<S>,
    },
    /// That wait ended.
    Unblock {
        /// The object.
        object: u64,
        /// How.
        outcome: Outcome,
        /// Where, if known.
        site: Option<S>,
    },
    /// The thread changed what waiters of `object` see, waking `woken` of them.
    Signal {
        /// The object.
        object: u64,
        /// What it did.
        how: SignalKind,
        /// How many waiters it woke.
        woken: u64,
        /// Where.
        site: Option<S>,
    },
    /// The thread took a permit of semaphore `object`.
    Take {
        /// The semaphore.
        object: u64,
        /// Where.
        site: Option<S>,
    },
    /// The thread gave a permit of semaphore `object` back.
    Give {
        /// The semaphore.
        object: u64,
        /// Where.
        site: Option<S>,
    },
    /// The thread sleeps (`lockgraph::thread::sleep`).
    Sleep {
        /// Where.
        site: Option<S>,
    },
    /// The thread marked progress: its streak of failed attempts ends.
    Progress {
        /// Where, if known.
        site: Option<S>,
    },
    /// The thread's next wait (a `CvWait` or `Block` on `object`) begins
    /// after a notification nobody waited for, made at `site` by thread `by`.
    Missed {
        /// The condvar or event.
        object: u64,
        /// The thread that notified (or set, then cleared).
        by: u64,
        /// Where it did.
        site: Option<S>,
    },
    /// The thread is now in span `span` (an id a span record names; 0:
    /// in no span), as lockgraph's `tracing` layer saw it enter or leave one.
    Span {
        /// The span it is in now.
        span: u64,
    },
}

impl<S> Event<S> {
    /// The event's kind (its name in a trace).
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Attempt { .. } => EventKind::Attempt,
            Event::Acquire { .. } => EventKind::Acquire,
            Event::Upgrade { .. } => EventKind::Upgrade,
            Event::Try { .. } => EventKind::Try,
            Event::TryFail { .. } => EventKind::TryFail,
            Event::Wait { .. } => EventKind::Wait,
            Event::Release { .. } => EventKind::Release,
            Event::Remode { .. } => EventKind::Remode,
            Event::Drop { .. } => EventKind::Drop,
            Event::CvWait { .. } => EventKind::CvWait,
            Event::CvWoken { .. } => EventKind::CvWoken,
            Event::Notify { .. } => EventKind::Notify,
            Event::Spawn { .. } => EventKind::Spawn,
            Event::Join { .. } => EventKind::Join,
            Event::Exit | Event::ProcessExit => EventKind::Exit,
            Event::Repeat { .. } => EventKind::Repeat,
            Event::Block { .. } | Event::BlockFor { .. } => EventKind::Block,
            Event::Unblock { .. } => EventKind::Unblock,
            Event::Signal { .. } => EventKind::Signal,
            Event::Take { .. } => EventKind::Take,
            Event::Give { .. } => EventKind::Give,
            Event::Sleep { .. } => EventKind::Sleep,
            Event::Progress { .. } => EventKind::Progress,
            Event::Missed { .. } => EventKind::Missed,
            Event::Span { .. } => EventKind::Span,
        }
    }

    /// The object the event concerns, if any.
    pub fn object(&self) -> Option<u64> {
        match *self {
            Event::Attempt { object, .. }
            | Event::Acquire { object, .. }
            | Event::Upgrade { object, .. }
            | Event::Try { object, .. }
            | Event::TryFail { object, .. }
            | Event::Wait { object, .. }
            | Event::Release { object }
            | Event::Remode { object, .. }
            | Event::Drop { object }
            | Event::CvWait { object, .. }
            | Event::CvWoken { object, .. }
            | Event::Notify { object, .. }
            | Event::Block { object, .. }
            | Event::BlockFor { object, .. }
            | Event::Unblock { object, .. }
            | Event::Signal { object, .. }
            | Event::Take { object, .. }
            | Event::Give { object, .. }
            | Event::Missed { object, .. } => Some(object),
            Event::Spawn { .. }
            | Event::Join { .. }
            | Event::Exit
            | Event::ProcessExit
            | Event::Repeat { .. }
            | Event::Sleep { .. }
            | Event::Progress { .. }
            | Event::Span { .. } => None,
        }
    }

    /// The event's site, if it has one.
    pub fn site(&self) -> Option<&S> {
        match self {
            Event::Attempt { site, .. }
            | Event::Acquire { site, .. }
            | Event::Upgrade { site, .. }
            | Event::Try { site, .. }
            | Event::TryFail { site, .. }
            | Event::Wait { site, .. }
            | Event::Remode { site, .. }
            | Event::CvWait { site, .. }
            | Event::CvWoken { site, .. }
            | Event::Notify { site, .. }
            | Event::Spawn { site, .. }
            | Event::Join { site, .. }
            | Event::Block { site, .. }
            | Event::BlockFor { site, .. }
            | Event::Unblock { site, .. }
            | Event::Signal { site, .. }
            | Event::Take { site, .. }
            | Event::Give { site, .. }
            | Event::Sleep { site }
            | Event::Progress { site }
            | Event::Missed { site, .. } => site.as_ref(),
            Event::Release { .. }
            | Event::Drop { .. }
            | Event::Exit
            | Event::ProcessExit
            | Event::Repeat { .. }
            | Event::Span { .. } => None,
        }
    }

    /// The same event with its site named another way (the runtime's
    /// `Location`s become a trace's interned ids).
    pub fn map_site<T>(self, mut f: impl FnMut(S) -> T) -> Event<T> {
        let mut m = |s: Option<S>| s.map(&mut f);
        match self {
            Event::Attempt { object, mode, site } => Event::Attempt {
                object,
                mode,
                site: m(site),
            },
            Event::Acquire { object, mode, site } => Event::Acquire {
                object,
                mode,
                site: m(site),
            },
            Event::Upgrade { object, mode, site } => Event::Upgrade {
                object,
                mode,
                site: m(site),
            },
            Event::Try { object, mode, site } => Event::Try {
                object,
                mode,
                site: m(site),
            },
            Event::TryFail { object, mode, site } => Event::TryFail {
                object,
                mode,
                site: m(site),
            },
            Event::Wait { object, mode, site } => Event::Wait {
                object,
                mode,
                site: m(site),
            },
            Event::Release { object } => Event::Release { object },
            Event::Remode { object, mode, site } => Event::Remode {
                object,
                mode,
                site: m(site),
            },
            Event::Drop { object } => Event::Drop { object },
            Event::CvWait {
                object,
                mutex,
                timed,
                site,
            } => Event::CvWait {
                object,
                mutex,
                timed,
                site: m(site),
            },
            Event::CvWoken {
                object,
                mutex,
                timed_out,
                site,
            } => Event::CvWoken {
                object,
                mutex,
                timed_out,
                site: m(site),
            },
            Event::Notify {
                object,
                woken,
                all,
                site,
            } => Event::Notify {
                object,
                woken,
                all,
                site: m(site),
            },
            Event::Spawn { child, site } => Event::Spawn {
                child,
                site: m(site),
            },
            Event::Join { child, site } => Event::Join {
                child,
                site: m(site),
            },
            Event::Exit => Event::Exit,
            Event::ProcessExit => Event::ProcessExit,
            Event::Repeat { k, n } => Event::Repeat { k, n },
            Event::Block {
                object,
                timed,
                site,
            } => Event::Block {
                object,
                timed,
                site: m(site),
            },
            Event::BlockFor {
                object,
                by,
                timed,
                site,
            } => Event::BlockFor {
                object,
                by,
                timed,
                site: m(site),
            },
            Event::Unblock {
                object,
                outcome,
                site,
            } => Event::Unblock {
                object,
                outcome,
                site: m(site),
            },
            Event::Signal {
                object,
                how,
                woken,
                site,
            } => Event::Signal {
                object,
                how,
                woken,
                site: m(site),
            },
            Event::Take { object, site } => Event::Take {
                object,
                site: m(site),
            },
            Event::Give { object, site } => Event::Give {
                object,
                site: m(site),
            },
            Event::Sleep { site } => Event::Sleep { site: m(site) },
            Event::Progress { site } => Event::Progress { site: m(site) },
            Event::Missed { object, by, site } => Event::Missed {
                object,
                by,
                site: m(site),
            },
            Event::Span { span } => Event::Span { span },
        }
    }
}
