//! Formats records as trace lines; what the runtime writes and what docs/trace-format.md shows.

use std::fmt::Write;

use super::record::{EventKind, Record, SpinSnapshot, TraceEvent, WaitSnapshot, FORMAT_VERSION};
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
    }
}

fn event_str(k: EventKind) -> &'static str {
    match k {
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
    }
}

/// The header line for a new trace.
pub fn header(program: &str, pid: u64, start_unix_ms: u64) -> String {
    format!(
        "{{\"lockgraph_trace\":{FORMAT_VERSION},\"program\":{},\"pid\":{pid},\"start_unix_ms\":{start_unix_ms}}}\n",
        json_str(program)
    )
}

/// An event line, appended to `out`. Keys in a fixed order, absent ones left
/// out. Written by hand (pre-rendered key prefixes, `itoa` for numbers):
/// the runtime formats every recorded event through here.
pub fn event(out: &mut String, e: &TraceEvent) {
    let mut n = itoa::Buffer::new();
    out.push_str("{\"ev\":\"");
    out.push_str(event_str(e.kind));
    out.push_str("\",\"t\":");
    out.push_str(n.format(e.thread));
    let mut num = |out: &mut String, key: &str, v: Option<u64>| {
        if let Some(v) = v {
            out.push_str(key);
            out.push_str(n.format(v));
        }
    };
    num(out, ",\"o\":", e.object);
    num(out, ",\"s\":", e.site);
    if let Some(m) = e.mode {
        out.push_str(",\"mode\":\"");
        out.push_str(mode_str(m));
        out.push('"');
    }
    num(out, ",\"mutex\":", e.mutex);
    num(out, ",\"child\":", e.child);
    num(out, ",\"woken\":", e.woken);
    num(out, ",\"k\":", e.k);
    num(out, ",\"n\":", e.n);
    if let Some(a) = e.all {
        out.push_str(if a { ",\"all\":true" } else { ",\"all\":false" });
    }
    if let Some(h) = &e.how {
        out.push_str(",\"how\":");
        out.push_str(&json_str(h));
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
        } => {
            let _ = write!(out, "{{\"object\":{id},\"kind\":\"{}\"", kind_str(*kind));
            if let Some(n) = name {
                let _ = write!(out, ",\"name\":{}", json_str(n));
            }
            let _ = writeln!(out, ",\"site\":{site}}}");
        }
        Record::Event(e) => event(out, e),
        Record::Finding { kind, fingerprint } => {
            let _ = writeln!(
                out,
                "{{\"finding\":{},\"fingerprint\":{}}}",
                json_str(kind),
                json_str(fingerprint)
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
