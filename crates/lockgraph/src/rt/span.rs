//! `tracing` spans as the runtime knows them: their interned texts, and the span each thread is in.
//!
//! Fed by `lockgraph::spans::SpanLayer` (feature `tracing-spans`). A span's
//! text (`name{key=value ...}`) is interned once, when the span is created,
//! as an id and a shared string; entering and leaving it then costs the
//! thread a push or a pop on its own stack and, when recording, one event.
//! What a thread is in is part of how every finding describes it
//! (`ThreadInfo::span`), live and, through `span` events, offline.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use super::config;
use super::local;
use super::sink;

/// How many distinct span texts are interned. Past that, a span is known
/// by its name alone (names come from the code, so they are few): memory
/// stays bounded when spans carry ids.
const MAX_TEXTS: usize = 4096;

#[derive(Default)]
struct Texts {
    ids: HashMap<Arc<str>, u64>,
    next: u64,
}

static TEXTS: LazyLock<Mutex<Texts>> = LazyLock::new(Default::default);

/// The id and shared text of a span, `text` if there is room, else `name`.
pub(crate) fn intern(text: &str, name: &'static str) -> (u64, Arc<str>) {
    let mut t = TEXTS.lock();
    let key = if t.ids.contains_key(text) || t.ids.len() < MAX_TEXTS {
        text
    } else {
        name
    };
    if let Some((k, &id)) = t.ids.get_key_value(key) {
        return (id, k.clone());
    }
    t.next += 1;
    let id = t.next;
    let shared: Arc<str> = Arc::from(key);
    t.ids.insert(shared.clone(), id);
    drop(t);
    if sink::recording() {
        sink::span_record(id, &shared);
    }
    (id, shared)
}

/// The calling thread enters span `id`.
pub(crate) fn enter(id: u64, text: &Arc<str>) {
    if !config::enabled() {
        return;
    }
    local::with(|l| l.span_enter(id, text));
}

/// The calling thread leaves span `id`.
pub(crate) fn exit(id: u64) {
    if !config::enabled() {
        return;
    }
    local::with(|l| l.span_exit(id));
}
