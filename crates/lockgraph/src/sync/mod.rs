//! The primitives beyond locks (semaphore, event, barrier, latch, once, timer) and the instrumented atomics.

pub mod atomic;
mod barrier;
mod core;
mod event;
mod latch;
pub mod mpsc;
mod once;
mod once_lock;
mod semaphore;
mod timer;

pub use barrier::{Barrier, BarrierWaitResult, BrokenBarrier};
pub use event::Event;
pub use latch::Latch;
pub use once::{Once, OnceState};
pub use once_lock::{LazyLock, OnceLock};
pub use semaphore::{OverRelease, Semaphore, SemaphorePermit};
pub use timer::Timer;
