//! Self-waits: a thread asking for a lock it already holds in a mode that makes it wait for itself.

use crate::finding::{Cast, Evidence, Finding, Fingerprint, Kind, Op, Severity};
use crate::model::{HeldLock, Mode, ObjectInfo, Site, StackRef, ThreadInfo};

/// Whether asking for `wanted` while holding `held` on the same lock waits forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfWait {
    /// The thread would block on itself now: nothing else can release the lock.
    Certain,
    /// The thread blocks on itself as soon as a writer queues in between
    /// (parking_lot's readers wait behind a waiting writer).
    Hazard,
}

/// Classifies a re-acquisition of a lock the thread already holds.
pub fn classify(held: Mode, wanted: Mode) -> Option<SelfWait> {
    use Mode::*;
    match (held, wanted) {
        // The owner of a reentrant mutex may lock it again.
        (Reentrant, Reentrant) => None,
        // `read_recursive` only waits for an active writer, which cannot exist
        // while this thread holds a read or upgradable lock.
        (Shared | SharedRecursive | Upgradable, SharedRecursive) => None,
        // A writer (or mutex owner) waits for itself whatever it asks for.
        (Exclusive, _) => Some(SelfWait::Certain),
        // Nobody can write while this thread reads; upgradables exclude each other.
        (_, Exclusive) | (Upgradable, Upgradable) => Some(SelfWait::Certain),
        // A plain read or upgradable request queues behind a waiting writer,
        // which itself waits for this thread's lock to go.
        (Shared | SharedRecursive | Upgradable, Shared | Upgradable) => Some(SelfWait::Hazard),
        (_, Reentrant) | (Reentrant, _) => Some(SelfWait::Certain),
    }
}

/// What a self-wait check needs to know.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The requesting thread.
    pub thread: &'a ThreadInfo,
    /// The lock requested.
    pub object: &'a ObjectInfo,
    /// The mode requested.
    pub mode: Mode,
    /// Where it is requested.
    pub site: Site,
    /// The call stack of the request, if captured.
    pub stack: Option<StackRef>,
}

/// Returns a `self_deadlock` finding if `req` waits for a lock the thread holds.
pub fn check(req: &Request<'_>, held: &[HeldLock]) -> Option<Finding> {
    let prior = held.iter().rev().find(|h| h.object == req.object.id)?;
    let how = classify(prior.mode, req.mode)?;
    let mut cast = Cast::default();
    let t = cast.thread(req.thread);
    let o = cast.object(req.object);
    let label = req.object.label();
    let summary = match how {
        SelfWait::Certain => format!(
            "{} waits for itself: it asks to {} {} that it already holds ({}), which nothing else can release",
            req.thread.label(),
            req.mode.verb(),
            label,
            prior.mode.verb()
        ),
        SelfWait::Hazard => format!(
            "{} asks to {} {} that it already holds ({}): it waits for itself as soon as a writer queues in between",
            req.thread.label(),
            req.mode.verb(),
            label,
            prior.mode.verb()
        ),
    };
    let mut first = Evidence::new(t, o, Op::Holds, prior.site.clone());
    first.note = Some(format!("acquired here ({})", prior.mode.verb()));
    let mut second = Evidence::new(t, o, Op::Acquires, req.site.clone());
    second.note = Some(format!("asks again here ({})", req.mode.verb()));
    second.stack = req.stack.clone();
    let fix = match (req.object.kind, how) {
        (_, SelfWait::Hazard) => "fix: use read_recursive for the nested read, or pass the guard you already hold down to the callee",
        (crate::model::ObjectKind::RwLock, _) => "fix: use upgradable_read and upgrade, or release the read guard before writing",
        _ => "fix: pass the guard you already hold down to the callee, or use a ReentrantMutex",
    };
    let held_site = prior.site.to_string();
    let req_site = req.site.to_string();
    Some(Finding {
        kind: Kind::SelfDeadlock,
        severity: Severity::Error,
        summary,
        fingerprint: Fingerprint::of(
            Kind::SelfDeadlock,
            [
                req.object.class_key().as_str(),
                held_site.as_str(),
                req_site.as_str(),
            ],
        ),
        threads: cast.threads,
        objects: cast.objects,
        evidence: vec![first, second],
        notes: vec![fix.to_owned()],
    })
}

/// A `self_deadlock` finding for a thread that calls a once (`object`)
/// again from inside the closure it is running for it.
pub fn once_self(
    thread: &ThreadInfo,
    object: &ObjectInfo,
    site: Site,
    stack: Option<StackRef>,
) -> Finding {
    let mut cast = Cast::default();
    let t = cast.thread(thread);
    let o = cast.object(object);
    let mut step = Evidence::new(t, o, Op::BlockedOn, site.clone());
    step.note = Some("calls it again while running its closure".to_owned());
    step.stack = stack;
    let at = site.to_string();
    let key = object.class_key();
    Finding {
        kind: Kind::SelfDeadlock,
        severity: Severity::Error,
        summary: format!(
            "{} calls {} again from inside its own initialization: it would wait for itself to finish",
            thread.label(),
            object.label()
        ),
        fingerprint: Fingerprint::of(Kind::SelfDeadlock, ["once", key.as_str(), at.as_str()]),
        threads: cast.threads,
        objects: cast.objects,
        evidence: vec![step],
        notes: vec!["fix: do not reach the same once from inside its initializer".to_owned()],
    }
}

/// A `self_deadlock` finding for a thread that joins itself.
pub fn join_self(thread: &ThreadInfo, site: Site, stack: Option<StackRef>) -> Finding {
    let mut cast = Cast::default();
    let t = cast.thread(thread);
    let object = ObjectInfo {
        api: None,
        id: crate::model::thread_object(thread.id),
        kind: crate::model::ObjectKind::Thread,
        name: thread.name.clone(),
        site: site.clone(),
    };
    let o = cast.object(&object);
    let mut step = Evidence::new(t, o, Op::BlockedOn, site.clone());
    step.note = Some("joins the thread it runs on".to_owned());
    step.stack = stack;
    let at = site.to_string();
    Finding {
        kind: Kind::SelfDeadlock,
        severity: Severity::Error,
        summary: format!(
            "{} joins itself: it would wait for its own end, which can never come",
            thread.label()
        ),
        fingerprint: Fingerprint::of(Kind::SelfDeadlock, ["join", at.as_str()]),
        threads: cast.threads,
        objects: cast.objects,
        evidence: vec![step],
        notes: vec![
            "fix: join a thread from another thread (the one that spawned it, usually)".to_owned(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Mode::*;

    #[test]
    fn classification_matches_parking_lot_semantics() {
        assert_eq!(classify(Exclusive, Exclusive), Some(SelfWait::Certain));
        assert_eq!(classify(Shared, Exclusive), Some(SelfWait::Certain));
        assert_eq!(classify(Upgradable, Exclusive), Some(SelfWait::Certain));
        assert_eq!(classify(Upgradable, Upgradable), Some(SelfWait::Certain));
        assert_eq!(classify(Exclusive, Shared), Some(SelfWait::Certain));
        assert_eq!(classify(Shared, Shared), Some(SelfWait::Hazard));
        assert_eq!(classify(Upgradable, Shared), Some(SelfWait::Hazard));
        assert_eq!(classify(Shared, SharedRecursive), None);
        assert_eq!(classify(Upgradable, SharedRecursive), None);
        assert_eq!(classify(Reentrant, Reentrant), None);
    }
}
