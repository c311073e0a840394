//! The runtime behind the instrumented primitives: what each acquire, release and wait does.
//!
//! - [`config`]: environment and API settings, read once.
//! - [`meta`]: the per-object metadata every primitive carries (id, creation site, name).
//! - [`local`]: the per-thread state: held stack and the cache of chains already learned.
//! - [`global`]: the shared detector state, touched only to learn something new.
//! - [`hooks`]: the entry points the primitives call.
//! - [`wait`]: sliced blocking waits, where deadlocks and stalls are found.
//! - [`heuristics`]: livelock streaks, blocking while holding, leaks at thread end.
//! - [`procs`]: what the kernel says about threads lockgraph does not know.
//! - [`react`]: what happens to a finding: panic, warn or nothing.
//! - [`reporter`]: prints warnings off the thread that found them.
//! - [`record`]: the trace file: per-thread rings, a flusher, exit hooks.
//! - [`stack`]: backtrace capture, resolved only when reported.

pub(crate) mod config;
pub(crate) mod global;
pub(crate) mod heuristics;
pub(crate) mod hooks;
pub(crate) mod local;
pub(crate) mod meta;
pub(crate) mod procs;
pub(crate) mod react;
pub(crate) mod record;
pub(crate) mod reporter;
pub(crate) mod stack;
pub(crate) mod wait;
