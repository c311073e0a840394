//! parking_lot's own test suite, run against `lockgraph::`.
//!
//! Ported from parking_lot 0.12.5 (MIT OR Apache-2.0, Copyright 2016 Amanieu
//! d'Antras): the `#[cfg(test)] mod tests` of `src/{mutex, fair_mutex,
//! rwlock, remutex, condvar, once}.rs`, the `webkit_queue_test` module of
//! `src/condvar.rs`, and `tests/issue_{203,392}.rs`, one file per source
//! file. The only change is the imports (`crate::` and `parking_lot::`
//! became `lockgraph::`, and imports only the skipped tests used went),
//! with three exceptions:
//! - `#[cfg(feature = "arc_lock")]` on `rwlock::test_issue_430` went:
//!   lockgraph always has parking_lot's `arc_lock`.
//! - `rwlock::smoke` takes `read` inside `read` of one `RwLock`, which
//!   lockgraph reports (a `self_deadlock` error: it hangs once a writer
//!   queues between the two). The test asserts that report.
//! - The WebKit queue tests pass each message count through [`scaled`]: a
//!   tenth, unless `PARKING_LOT_SUITE_FULL=1`. At full size they are up to
//!   500,000 condvar handoffs each, and take 13 s in a debug build even
//!   against parking_lot itself.
//!
//! Every test runs under the default reaction (panic on error findings),
//! so a finding fails the test that caused it.
//!
//! Skipped, with the reason:
//! - `condvar::tests::wait_while_until_internal`,
//!   `wait_while_until_internal_does_not_wait_if_initially_false`,
//!   `wait_while_until_internal_times_out_before_false` (and their helper
//!   `spawn_wait_while_notifier`): they test `wait_while_until_internal`,
//!   a private function of parking_lot's `Condvar`.
//! - `test_serde` in `mutex`, `fair_mutex`, `rwlock` and `remutex`: they
//!   exist only with parking_lot's optional `serde` feature (and the
//!   `bincode` dev-dependency); lockgraph has no `serde` feature.
//!
//! parking_lot's `deadlock` module is tested by parking_lot under its
//! `deadlock_detection` feature; lockgraph's own detector is what this
//! crate's other suites test.
// The tests are parking_lot's, verbatim: they keep its style.
#![allow(
    clippy::undocumented_unsafe_blocks,
    clippy::legacy_numeric_constants,
    clippy::missing_const_for_thread_local
)]

mod condvar;
mod fair_mutex;
mod issue_203;
mod issue_392;
mod mutex;
mod once;
mod remutex;
mod rwlock;

/// A WebKit queue test's message count: a tenth of parking_lot's, or all
/// of it with `PARKING_LOT_SUITE_FULL=1`.
fn scaled(messages: usize) -> usize {
    if std::env::var_os("PARKING_LOT_SUITE_FULL").is_some_and(|v| v == "1") {
        messages
    } else {
        messages / 10
    }
}
