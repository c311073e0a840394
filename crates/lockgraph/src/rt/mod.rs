//! The runtime behind the instrumented primitives: what each acquire, release and wait does.
//!
//! The modules form a stack: each uses only those listed above it
//! (`tests/tests/tidy.rs` fails on an upward import). Settings and what the
//! system says at the bottom; the state; then policy (reporting, run-time
//! detection); the entry points the primitives call at the top, with the
//! instrumented sides of the condvar and the `sync` primitives above them.
//! Only instrumented builds have it; `src/backend.rs` declares it and is
//! the one way in from the primitives.
//!
//! - [`config`]: environment and API settings, read once.
//! - [`procs`]: what the kernel says about threads lockgraph does not know.
//! - [`stack`]: backtrace capture, symbolized only when reported.
//! - [`exit`]: the steps that run at process exit, registered by the layers above.
//! - [`sink`]: the trace file: per-thread rings, a flusher.
//! - [`meta`]: the per-object metadata every primitive carries (id, creation site, name).
//! - [`global`]: the shared detector state and the thread registry, touched only to learn something new.
//! - [`reporter`]: prints reports off the thread that found them.
//! - [`react`]: what happens to a finding: panic, warn or nothing.
//! - [`local`]: the per-thread state: held stack, chain cache, streak; a thread's end.
//! - [`span`]: `tracing` spans: interned texts, the span each thread is in.
//! - [`hb`]: happens-before: thread clocks, primitives' clocks, tracked locations' shadows, races.
//! - [`wait`]: sliced blocking waits, where deadlocks and stalls are found.
//! - [`heuristics`]: livelock streaks, blocking while holding.
//! - [`hooks`]: the entry points the primitives call.
//! - [`condvar`]: a condvar's ticket book, missed-notification mark and sliced wait.
//! - [`sync`]: the sliced waits and signals of the primitives beyond locks.

pub(crate) mod condvar;
pub(crate) mod config;
pub(crate) mod exit;
pub(crate) mod global;
pub(crate) mod hb;
pub(crate) mod heuristics;
pub(crate) mod hooks;
pub(crate) mod local;
pub(crate) mod meta;
pub(crate) mod procs;
pub(crate) mod react;
pub(crate) mod reporter;
pub(crate) mod sink;
pub(crate) mod span;
pub(crate) mod stack;
pub(crate) mod sync;
pub(crate) mod wait;
