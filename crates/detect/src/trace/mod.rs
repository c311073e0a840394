//! The trace format: JSON Lines records, how to write them and how to read them back.
//!
//! A trace is a header line, then thread, site and object records (interned
//! ids) and events, one JSON object per line. `docs/trace-format.md` is the
//! specification; this module is its reference implementation.
//!
//! - [`record`]: the record types.
//! - [`mod@write`]: formatting records as lines (what the runtime writes).
//! - [`read`]: a streaming reader with line numbers and clear errors.
//! - [`synthetic`]: a deterministic generator of a correct program's trace,
//!   streamed or whole, for benchmarks and scale tests.

pub mod read;
pub mod record;
pub mod synthetic;
pub mod write;

pub use read::{ReadError, TraceReader};
pub use record::{
    AccessRecord, Event, EventKind, ForkJoinRecord, Outcome, Record, SignalKind, SpinSnapshot,
    WaitSnapshot, FORMAT_VERSION,
};
