//! The instrumented side of the primitives beyond locks (`src/sync/`): their sliced waits and the signals that end them.
//!
//! A semaphore, an event, a barrier, a latch or a once keeps its state under
//! a plain parking_lot mutex and wakes its waiters with a parking_lot
//! condvar. Instrumented, a wait on it parks in slices ([`block`]) so that
//! it takes part in deadlock and stall detection, re-checking the state
//! under the mutex after every slice, so no wakeup is lost between slices.

use std::time::Instant;

use lockgraph_detect::event::Outcome;
use lockgraph_detect::trace::SignalKind;
use lockgraph_detect::waitfor::WaitOn;
use lockgraph_detect::{Event, ObjectKind};
use parking_lot::{Condvar, MutexGuard};

use super::config;
use super::hb;
use super::hooks::{self, Wait};
use super::local::Loc;
use super::meta::Meta;
use super::sink::at;

/// Waits on the primitive `meta`, whose state `guard` holds, in slices: each
/// slice waits on `cv` and re-checks `ready`, which says whether the wait is
/// over (and how). `wait` describes it: who can end it (a wait only one
/// thread can end is recorded as such), where, until when. Returns how it
/// ended.
pub(crate) fn block<S>(
    meta: &Meta,
    cv: &Condvar,
    guard: &mut MutexGuard<'_, S>,
    wait: &Wait,
    mut ready: impl FnMut(&mut S) -> Option<Outcome>,
) -> Outcome {
    let id = meta.id();
    let (site, timed) = (wait.site, wait.deadline.is_some());
    let e = match wait.on {
        WaitOn::Thread(t) => Event::BlockFor {
            object: id,
            by: t.0,
            timed,
            site: at(site),
        },
        WaitOn::Anyone | WaitOn::Lock => Event::Block {
            object: id,
            timed,
            site: at(site),
        },
    };
    // Recorded first, so the trace shows the wait a warning is about.
    hooks::note_missed(id, wait.missed);
    hooks::note(e);
    // Whether this kind of wait warns is detect's rule (`on_block`).
    hooks::blocking(hooks::BlockingOn::Object(&|| meta.info()), site);
    let mut outcome = None;
    hooks::wait_sliced(wait, &|| meta.info(), |d| {
        let until = Instant::now() + d;
        loop {
            if let Some(o) = ready(guard) {
                outcome = Some(o);
                return true;
            }
            if cv.wait_until(guard, until).timed_out() {
                outcome = ready(guard);
                return outcome.is_some();
            }
        }
    });
    let how = outcome.unwrap_or(Outcome::Timeout);
    if how == Outcome::Ok {
        hb::saw(meta, saw_verb(meta.kind()), site);
    }
    hooks::note(Event::Unblock {
        object: id,
        outcome: how,
        site: at(site),
    });
    how
}

/// Waits on the channel `meta` (a receive) in slices: `slice(d)` receives
/// for at most `d` and says whether the wait is over (a value, or every
/// sender gone). Any live thread could send, so the wait takes part in
/// stall detection like an event's; recorded as a block and an unblock.
pub(crate) fn channel_wait(meta: &Meta, site: Loc, slice: impl FnMut(std::time::Duration) -> bool) {
    let id = meta.id();
    hooks::note(Event::Block {
        object: id,
        timed: false,
        site: at(site),
    });
    // A receive under a lock is a hazard of its own, as an event's wait is.
    hooks::blocking(hooks::BlockingOn::Object(&|| meta.info()), site);
    let wait = Wait {
        object: lockgraph_detect::ObjectId(id),
        on: WaitOn::Anyone,
        mode: lockgraph_detect::Mode::Exclusive,
        site,
        deadline: None,
        missed: None,
        victim: true,
    };
    hooks::wait_sliced(&wait, &|| meta.info(), slice);
    hooks::note(Event::Unblock {
        object: id,
        outcome: Outcome::Ok,
        site: at(site),
    });
}

/// Records a signal on the primitive `meta`: what `how` did, waking `woken` waiters.
pub(crate) fn signal(meta: &Meta, how: SignalKind, woken: u64, site: Loc) {
    if config::enabled() {
        hooks::note(Event::Signal {
            object: meta.id(),
            how,
            woken,
            site: at(site),
        });
    }
}

/// Records that a wait on the primitive `meta` passed at once (it counts
/// as seeing what it waited for).
pub(crate) fn passed(meta: &Meta, site: Loc) {
    if config::enabled() {
        hb::saw(meta, saw_verb(meta.kind()), site);
        hooks::note(Event::Unblock {
            object: meta.id(),
            outcome: Outcome::Ok,
            site: at(site),
        });
    }
}

/// This thread saw what the primitive `meta` published, without waiting.
pub(crate) fn synced(meta: &Meta, site: Loc) {
    hb::saw(meta, saw_verb(meta.kind()), site);
}

/// How a report says a thread synchronized through a primitive of `kind`.
fn saw_verb(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Event => "saw set",
        ObjectKind::Barrier => "left",
        ObjectKind::Latch => "saw counted down",
        ObjectKind::Once => "found done",
        ObjectKind::Semaphore => "took a permit of",
        _ => "waited on",
    }
}
