//! Formats records as trace lines; what the runtime writes and what docs/trace-format.md shows.

use std::fmt::Write;

use super::record::{AccessRecord, Event, Record, SpinSnapshot, WaitSnapshot, FORMAT_VERSION};
use crate::model::{Mode, ObjectKind};

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn mode_str(m: Mode) -> &'static str {
    match m {
        Mode::Exclusive => "exclusive",
        Mode::Shared => "shared",
        Mode::SharedRecursive => "shared_recursive",
        Mode::Upgradable => "upgradable",
        Mode::Reentrant => "reentrant",
    }
}

fn kind_str(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::Mutex => "mutex",
        ObjectKind::RwLock => "rw_lock",
        ObjectKind::ReentrantMutex => "reentrant_mutex",
        ObjectKind::Condvar => "condvar",
        ObjectKind::Thread => "thread",
        ObjectKind::Semaphore => "semaphore",
        ObjectKind::Event => "event",
        ObjectKind::Barrier => "barrier",
        ObjectKind::Latch => "latch",
        ObjectKind::Once => "once",
        ObjectKind::Atomic => "atomic",
        ObjectKind::Cell => "cell",
        ObjectKind::Tracked => "tracked",
        ObjectKind::Channel => "channel",
    }
}

/// The header line for a new trace.
pub fn header(program: &str, pid: u64, start_unix_ms: u64) -> String {
    format!(
        "{{\"lockgraph_trace\":{FORMAT_VERSION},\"program\":{},\"pid\":{pid},\"start_unix_ms\":{start_unix_ms}}}\n",
        json_str(program)
    )
}

/// The flat fields of an event line: the wire form of an [`Event`].
#[derive(Default)]
struct Flat {
    o: Option<u64>,
    s: Option<u64>,
    mode: Option<Mode>,
    mutex: Option<u64>,
    child: Option<u64>,
    woken: Option<u64>,
    k: Option<u64>,
    n: Option<u64>,
    all: Option<bool>,
    how: Option<&'static str>,
    span: Option<u64>,
}

fn flat(e: &Event<u64>) -> Flat {
    let mut f = Flat {
        o: e.object(),
        s: e.site().copied(),
        ..Flat::default()
    };
    match *e {
        Event::Attempt { mode, .. }
        | Event::Acquire { mode, .. }
        | Event::Upgrade { mode, .. }
        | Event::Try { mode, .. }
        | Event::TryFail { mode, .. }
        | Event::Wait { mode, .. }
        | Event::Remode { mode, .. } => f.mode = Some(mode),
        Event::Release { .. } | Event::Drop { .. } | Event::Exit => {}
        Event::CvWait { mutex, timed, .. } => {
            f.mutex = Some(mutex);
            f.how = timed.then_some("timed");
        }
        Event::CvWoken {
            mutex, timed_out, ..
        } => {
            f.mutex = Some(mutex);
            f.how = Some(if timed_out { "timeout" } else { "notified" });
        }
        Event::Notify { woken, all, .. } => {
            f.woken = Some(woken);
            f.all = Some(all);
        }
        Event::Spawn { child, .. } | Event::Join { child, .. } => f.child = Some(child),
        Event::ProcessExit => f.how = Some("process"),
        Event::Repeat { k, n } => {
            f.k = Some(k);
            f.n = Some(n);
        }
        Event::Block { timed, .. } => f.how = Some(if timed { "timed" } else { "wait" }),
        Event::BlockFor { by, timed, .. } => {
            f.how = Some(if timed { "timed" } else { "wait" });
            f.child = Some(by);
        }
        Event::Unblock { outcome, .. } => f.how = Some(outcome.as_str()),
        Event::Signal { how, woken, .. } => {
            f.woken = Some(woken);
            f.how = Some(how.as_str());
        }
        Event::Take { .. } | Event::Give { .. } | Event::Sleep { .. } | Event::Progress { .. } => {}
        Event::Missed { by, .. } => f.child = Some(by),
        Event::Span { span } => f.span = Some(span),
    }
    f
}

/// An event of thread `thread`, as its line appended to `out`. Keys in a
/// fixed order, absent ones left out. Written by hand (pre-rendered key
/// prefixes, `itoa` for numbers): the runtime formats every recorded event
/// through here.
pub fn event(out: &mut String, thread: u64, e: &Event<u64>) {
    let f = flat(e);
    let mut n = itoa::Buffer::new();
    out.push_str("{\"ev\":\"");
    out.push_str(e.kind().as_str());
    out.push_str("\",\"t\":");
    out.push_str(n.format(thread));
    let mut num = |out: &mut String, key: &str, v: Option<u64>| {
        if let Some(v) = v {
            out.push_str(key);
            out.push_str(n.format(v));
        }
    };
    num(out, ",\"o\":", f.o);
    num(out, ",\"s\":", f.s);
    if let Some(m) = f.mode {
        out.push_str(",\"mode\":\"");
        out.push_str(mode_str(m));
        out.push('"');
    }
    num(out, ",\"mutex\":", f.mutex);
    num(out, ",\"child\":", f.child);
    num(out, ",\"woken\":", f.woken);
    num(out, ",\"k\":", f.k);
    num(out, ",\"n\":", f.n);
    num(out, ",\"span\":", f.span);
    if let Some(a) = f.all {
        out.push_str(if a { ",\"all\":true" } else { ",\"all\":false" });
    }
    if let Some(h) = f.how {
        // Every `how` is a plain identifier: no escaping needed.
        out.push_str(",\"how\":\"");
        out.push_str(h);
        out.push('"');
    }
    out.push_str("}\n");
}

/// Any record as its line, appended to `out`.
pub fn record(out: &mut String, r: &Record) {
    match r {
        Record::Header {
            program,
            pid,
            start_unix_ms,
            ..
        } => out.push_str(&header(program, *pid, *start_unix_ms)),
        Record::SpanName { id, name } => {
            let _ = writeln!(out, "{{\"span\":{id},\"name\":{}}}", json_str(name));
        }
        Record::Thread { id, name } => {
            let _ = write!(out, "{{\"thread\":{id}");
            if let Some(n) = name {
                let _ = write!(out, ",\"name\":{}", json_str(n));
            }
            out.push_str("}\n");
        }
        Record::Site {
            id,
            file,
            line,
            col,
            frames,
        } => {
            let _ = write!(
                out,
                "{{\"site\":{id},\"file\":{},\"line\":{line},\"col\":{col}",
                json_str(file)
            );
            if !frames.is_empty() {
                let _ = write!(
                    out,
                    ",\"frames\":{}",
                    serde_json::to_string(frames).unwrap_or_else(|_| "[]".into())
                );
            }
            out.push_str("}\n");
        }
        Record::Object {
            id,
            kind,
            name,
            site,
            ownerless,
            api,
        } => {
            let _ = write!(out, "{{\"object\":{id},\"kind\":\"{}\"", kind_str(*kind));
            if let Some(n) = name {
                let _ = write!(out, ",\"name\":{}", json_str(n));
            }
            let _ = write!(out, ",\"site\":{site}");
            if *ownerless {
                out.push_str(",\"owned\":false");
            }
            if let Some(a) = api {
                let _ = write!(out, ",\"api\":{}", json_str(a));
            }
            out.push_str("}\n");
        }
        Record::Event { thread, event: e } => event(out, *thread, e),
        Record::Finding { kind, fingerprint } => {
            let _ = writeln!(
                out,
                "{{\"finding\":{},\"fingerprint\":{}}}",
                json_str(kind),
                json_str(fingerprint)
            );
        }
        Record::Fork(f) => {
            let _ = writeln!(
                out,
                "{{\"fork\":{{\"t\":{},\"k\":{},\"child\":{}}}}}",
                f.t, f.k, f.child
            );
        }
        Record::Joined(f) => {
            let _ = writeln!(
                out,
                "{{\"joined\":{{\"t\":{},\"k\":{},\"child\":{}}}}}",
                f.t, f.k, f.child
            );
        }
        Record::Access(a) => {
            let _ = writeln!(
                out,
                "{{\"access\":{}}}",
                serde_json::to_string::<AccessRecord>(a).unwrap_or_else(|_| "{}".into())
            );
        }
        Record::Livelock(spins) => {
            let _ = writeln!(
                out,
                "{{\"livelock\":{}}}",
                serde_json::to_string::<Vec<SpinSnapshot>>(spins).unwrap_or_else(|_| "[]".into())
            );
        }
        Record::Deadlock(waits) => {
            let _ = writeln!(
                out,
                "{{\"deadlock\":{}}}",
                serde_json::to_string::<Vec<WaitSnapshot>>(waits).unwrap_or_else(|_| "[]".into())
            );
        }
    }
}
