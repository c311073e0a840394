//! The SARIF 2.1.0 renderer: one log GitHub code scanning (and any SARIF viewer) accepts, with a rule per kind, code flows per thread and lockgraph's fingerprints.
//!
//! - One rule per finding kind (all of [`Kind::ALL`], so rule indexes are
//!   stable), with short and full descriptions, help (the fix) and the
//!   default level.
//! - One result per finding: its summary as the message, the *primary*
//!   location (the acquisition that closes a cycle, else the last step:
//!   the wait, the second access), the other steps as related locations,
//!   one thread flow per thread (its steps in order), and
//!   `partialFingerprints` from lockgraph's line-stable fingerprint
//!   ([`crate::stable_fingerprints`]; key `lockgraph/stable/v1`), so code
//!   scanning tracks the same bug across runs and across edits that move
//!   lines. The exact fingerprint (the one in panic messages) is the
//!   result's `properties.fingerprint`; a document without stable
//!   fingerprints gives the exact one under `lockgraph/v1`.
//! - Paths: a relative site is relative to the repository root
//!   (`uriBaseId` `%SRCROOT%`); an absolute one becomes a `file://` URI.
//!
//! Names from the program are data: they are JSON strings here, escaped by
//! the serializer, and messages are plain `text` (never markdown).

use std::io;

use lockgraph_detect::{Evidence, Finding, Fingerprint, Kind, Severity, Site};
use serde_json::{json, Value};

use crate::Document;

/// The schema this log declares.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of lockgraph's exact fingerprint in `partialFingerprints`,
/// where no stable one is known.
const FINGERPRINT_KEY: &str = "lockgraph/v1";
/// The key of lockgraph's line-stable fingerprint in `partialFingerprints`.
const STABLE_KEY: &str = "lockgraph/stable/v1";

/// Writes `doc`'s findings as a SARIF 2.1.0 log (accepted findings are
/// left out, as they are from the exit code).
pub fn write(doc: &Document, out: &mut dyn io::Write) -> io::Result<()> {
    let log = log(doc);
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// The SARIF log of `doc`.
pub fn log(doc: &Document) -> Value {
    let rules: Vec<Value> = Kind::ALL.iter().map(|k| rule(*k)).collect();
    let results: Vec<Value> = doc
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| result(f, doc.stable.get(i).copied()))
        .collect();
    let notifications: Vec<Value> = doc
        .warnings
        .iter()
        .map(|w| json!({"level": "warning", "message": {"text": w}}))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "lockgraph",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// The fix for a kind, as a rule's help.
fn help(kind: Kind) -> &'static str {
    match kind {
        Kind::LockOrderCycle => "Take these locks in one global order everywhere, or hold one common lock around every nested acquisition.",
        Kind::Deadlock => "Take the locks in one global order, or release one before waiting for the other; for waits on events, latches and condvars, make sure the thread that would wake them is not itself waiting.",
        Kind::SelfDeadlock => "Do not lock again what the thread already holds: pass the guard down, use a ReentrantMutex, or release before re-acquiring.",
        Kind::Livelock => "Back off with randomized, growing delays, or take the locks in one order so that try-lock loops cannot chase each other.",
        Kind::MissedNotification => "Wait on a condition in a loop under the mutex (Condvar::wait_while), so a notification made before the wait is not lost.",
        Kind::LockLeak => "Release on every path out of the thread (an RAII guard or permit does it, early returns included); do not mem::forget guards.",
        Kind::DataRace => "Guard every access with one lock, make the location atomic, or publish it with a Release store read after an Acquire load.",
        Kind::AtomicityViolation => "Make the read-modify-write one step: fetch_update, a compare_exchange loop, or one critical section around the check and the act.",
        Kind::BlockingWhileHolding => "Release the lock before waiting, or wait on a condvar with that lock as its mutex.",
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// `lock_order_cycle` → `LockOrderCycle`.
fn pascal(kind: Kind) -> String {
    kind.as_str()
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule(kind: Kind) -> Value {
    let describe = kind.describe();
    let short = describe.split([';', ',']).next().unwrap_or(describe);
    json!({
        "id": kind.as_str(),
        "name": pascal(kind),
        "shortDescription": {"text": short},
        "fullDescription": {"text": describe},
        "help": {"text": help(kind)},
        "defaultConfiguration": {"level": level(kind.default_severity())},
        "properties": {"tags": ["concurrency"]},
    })
}

/// A site as a SARIF physical location (no region when the line is unknown).
fn physical(site: &Site) -> Value {
    let file = site.file.as_ref();
    let artifact = if file.starts_with('/') {
        json!({"uri": format!("file://{}", uri_path(file))})
    } else {
        json!({"uri": uri_path(file), "uriBaseId": "%SRCROOT%"})
    };
    let mut loc = json!({"artifactLocation": artifact});
    if site.line > 0 {
        let mut region = json!({"startLine": site.line});
        if site.col > 0 {
            region["startColumn"] = json!(site.col);
        }
        loc["region"] = region;
    }
    loc
}

/// A path as a URI path: separators kept, anything else unsafe escaped.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What one step says, in words: `thread "t" holds Mutex "a"`.
fn step_text(f: &Finding, e: &Evidence) -> String {
    let thread = f
        .thread(e.thread)
        .map_or_else(|| format!("thread #{}", e.thread.0), |t| t.label());
    let object = f
        .object(e.object)
        .map_or_else(|| format!("object #{}", e.object.0), |o| o.label());
    let mut s = format!("{thread} {} {object}", e.op.as_str().replace('_', " "));
    if let Some(note) = &e.note {
        s.push_str(": ");
        s.push_str(note);
    }
    s
}

/// The step a result points at: the acquisition that closes a cycle, else
/// the last step (the wait, the second access, the act).
fn primary(f: &Finding) -> Option<usize> {
    f.evidence
        .iter()
        .position(|e| {
            e.note
                .as_deref()
                .is_some_and(|n| n.contains("closes the cycle"))
        })
        .or_else(|| f.evidence.len().checked_sub(1))
}

fn result(f: &Finding, stable: Option<Fingerprint>) -> Value {
    let rule_index = Kind::ALL.iter().position(|k| *k == f.kind).unwrap_or(0);
    let main = primary(f);
    let location = |i: usize| {
        json!({
            "id": i,
            "physicalLocation": physical(&f.evidence[i].site),
            "message": {"text": step_text(f, &f.evidence[i])},
        })
    };
    let locations: Vec<Value> = main.map(location).into_iter().collect();
    let related: Vec<Value> = (0..f.evidence.len())
        .filter(|i| Some(*i) != main)
        .map(location)
        .collect();
    // One thread flow per thread, its steps in order.
    let mut flows: Vec<Value> = Vec::new();
    for t in &f.threads {
        let steps: Vec<Value> = f
            .evidence
            .iter()
            .filter(|e| e.thread == t.id)
            .map(|e| {
                json!({"location": {
                    "physicalLocation": physical(&e.site),
                    "message": {"text": step_text(f, e)},
                }})
            })
            .collect();
        if !steps.is_empty() {
            flows.push(json!({
                "id": t.id.0.to_string(),
                "message": {"text": t.label()},
                "locations": steps,
            }));
        }
    }
    let mut message = f.summary.clone();
    for n in &f.notes {
        message.push('\n');
        message.push_str(n);
    }
    let mut r = json!({
        "ruleId": f.kind.as_str(),
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": message},
        "locations": locations,
        "partialFingerprints": match stable {
            Some(s) => json!({STABLE_KEY: s.to_string()}),
            None => json!({FINGERPRINT_KEY: f.fingerprint.to_string()}),
        },
        "properties": {"fingerprint": f.fingerprint.to_string()},
    });
    if !related.is_empty() {
        r["relatedLocations"] = json!(related);
    }
    if !flows.is_empty() {
        r["codeFlows"] = json!([{"threadFlows": flows}]);
    }
    r
}
