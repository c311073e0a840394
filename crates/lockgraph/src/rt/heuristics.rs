//! The run-time side of the heuristics: livelock streaks, blocking while holding, leaks at thread end.
//!
//! `docs/heuristics.md` says how each decides and what it cannot see.

use lockgraph_detect::analysis::{Analysis, Block};
use lockgraph_detect::Event;
use lockgraph_detect::{hazard, livelock, ObjectId, ObjectInfo, Site};

use super::config;
use super::global::GLOBAL;
use super::local::{self, Loc};
use super::meta::Meta;
use super::react;
use super::sink::{self, at};
use super::stack;

/// This thread has failed often enough to be a livelock candidate: it
/// publishes its streak, and looks for a livelock through it.
#[cold]
#[inline(never)]
pub(crate) fn spinning(meta: &Meta) {
    let Some(me) = local::with(|l| {
        let thread = l.thread();
        let held = l.held_for_detect();
        let mut infos = l.held_infos();
        infos.push(meta.info());
        let s = l.streak.as_mut()?;
        s.published = true;
        let fails = s
            .fails
            .fails
            .iter()
            .map(|&(o, site, n)| (ObjectId(o), Site::from_location(site), n))
            .collect();
        Some((
            livelock::Spinner {
                thread,
                fails,
                holds: held,
            },
            infos,
        ))
    })
    .flatten() else {
        return;
    };
    let (spinner, infos) = me;
    let id = spinner.thread.id;
    let mut g = GLOBAL.lock();
    g.spinners.retain(|x| x.thread.id != id);
    g.spinners.push(spinner);
    for o in &infos {
        if !g.spinner_objects.iter().any(|x| x.id == o.id) {
            g.spinner_objects.push(o.clone());
        }
    }
    if g.spinner_objects.len() > 4096 {
        g.spinner_objects.drain(..2048);
    }
    let lookup = |o: ObjectId| -> ObjectInfo {
        g.spinner_objects
            .iter()
            .find(|x| x.id == o)
            .cloned()
            .or_else(|| g.analyses.order.object(o).cloned())
            .unwrap_or_else(|| ObjectInfo {
                api: None,
                id: o,
                kind: lockgraph_detect::ObjectKind::Mutex,
                name: None,
                site: Site::new("<unknown>", 0, 0),
            })
    };
    let Some((f, cycle)) = g.analyses.on_spin(&g.spinners, id, &g.leaked, &lookup) else {
        return;
    };
    let spinners: Vec<livelock::Spinner> = cycle.iter().map(|&i| g.spinners[i].clone()).collect();
    drop(g);
    if sink::recording() {
        sink::livelock_record(&spinners);
    }
    if let Some(message) = react::handle(f, false) {
        panic!("{message}");
    }
}

/// `lockgraph::progress()`: the calling thread made progress; a streak of
/// failed attempts it is in ends.
pub fn progress() {
    if !config::enabled() {
        return;
    }
    local::with(|l| {
        l.record(Event::Progress { site: None });
        l.end_streak();
    });
}

/// What a thread is about to block on, for [`blocking`].
pub(crate) enum BlockingOn<'a> {
    /// A wait on this object.
    Object(&'a dyn Fn() -> ObjectInfo),
    /// A sleep.
    Sleep,
}

/// A blocking wait (or sleep) starts at `site`: a `blocking_while_holding`
/// warning if the thread holds any lock.
pub(crate) fn blocking(what: BlockingOn<'_>, site: Loc) {
    if !config::enabled() {
        return;
    }
    let Some((thread, held, infos)) = local::with(|l| {
        if matches!(what, BlockingOn::Sleep) {
            l.record(Event::Sleep { site: at(site) });
        }
        if l.held.is_empty() {
            return None;
        }
        let held: Vec<_> = l.held.entries().iter().map(local::to_detect).collect();
        let infos: Vec<ObjectInfo> = l.held.entries().iter().map(local::info).collect();
        Some((l.thread(), held, infos))
    })
    .flatten() else {
        return;
    };
    let info = |h: &lockgraph_detect::HeldLock| {
        infos
            .iter()
            .find(|o| o.id == h.object)
            .cloned()
            .unwrap_or_else(|| {
                super::meta::describe(h.object.0, lockgraph_detect::ObjectKind::Mutex, site, None)
            })
    };
    let object;
    let what = match what {
        BlockingOn::Object(f) => {
            object = f();
            hazard::Blocking::On(&object)
        }
        BlockingOn::Sleep => hazard::Blocking::Sleep,
    };
    let mut found = Vec::new();
    GLOBAL.lock().analyses.on_block(
        &Block {
            thread: &thread,
            held: &held,
            info: &info,
            what,
            site: Site::from_location(site),
            stack: None,
        },
        &mut found,
    );
    for mut f in found {
        // The stack only for a finding, outside the shared lock.
        if let Some(step) = f.evidence.last_mut() {
            step.stack = step.stack.take().or_else(stack::capture);
        }
        if let Some(message) = react::handle(f, false) {
            panic!("{message}");
        }
    }
}
