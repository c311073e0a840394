//! Happens-before annotations for synchronization lockgraph cannot see.
//!
//! A hand-off through something lockgraph does not instrument (a std
//! channel, a pipe, a foreign library) orders two threads' accesses without
//! lockgraph knowing, so their accesses to tracked locations would look like
//! a race. Call [`release`] on the sending side just before the hand-off and
//! [`acquire`] on the receiving side just after, with the same address (the
//! channel, the buffer, any object both sides share), as with
//! ThreadSanitizer's `__tsan_release` and `__tsan_acquire`.

use std::panic::Location;

use crate::backend;

/// Publishes everything this thread did so far at `at`'s address: a later
/// [`acquire`] of the same address sees it as happened before.
#[inline]
pub fn release<T: ?Sized>(at: &T) {
    backend::hb_release(at as *const T as *const () as usize);
}

/// Everything published at `at`'s address by earlier [`release`]s happened
/// before what this thread does next.
#[track_caller]
#[inline]
pub fn acquire<T: ?Sized>(at: &T) {
    backend::hb_acquire(at as *const T as *const () as usize, Location::caller());
}
