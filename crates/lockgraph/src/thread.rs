//! Thread wrappers: named threads whose spawn, join and exit the runtime records.
//!
//! `lockgraph::thread::spawn` and `Builder` work like std's. Reports name
//! threads by their names. Spawns and joins go into traces, and a thread
//! that joins itself is a `self_deadlock` report instead of std's bare
//! "Resource deadlock avoided".

use std::io;
use std::panic::Location;
use std::sync::Arc;

use crate::backend;

pub use std::thread::{
    current, panicking, park, park_timeout, yield_now, Result, Thread, ThreadId,
};

/// Sleeps like `std::thread::sleep`; sleeping while holding a lock is a
/// `blocking_while_holding` warning, and the sleep is recorded in traces.
#[track_caller]
pub fn sleep(dur: std::time::Duration) {
    backend::sleeping(Location::caller());
    std::thread::sleep(dur);
}

/// An owned permission to join a thread (std's, plus the runtime's id of the thread).
///
/// A join is a blocking wait like any other: a thread joining a thread
/// that waits for a lock the joiner holds is a `deadlock` report.
#[derive(Debug)]
pub struct JoinHandle<T> {
    inner: std::thread::JoinHandle<T>,
    id: u64,
    spawned: &'static Location<'static>,
    finished: Arc<Finished>,
}

/// Set when the thread's closure has returned or unwound; what a join waits for.
#[derive(Debug, Default)]
struct Finished {
    done: parking_lot::Mutex<bool>,
    cv: parking_lot::Condvar,
}

impl Finished {
    /// Waits at most `d`; returns whether the thread has finished.
    fn wait_for(&self, d: std::time::Duration) -> bool {
        let mut done = self.done.lock();
        if !*done {
            self.cv.wait_for(&mut done, d);
        }
        *done
    }
}

/// Marks the thread finished when dropped: at the end of its closure, even by a panic.
struct MarkFinished(Arc<Finished>);

impl Drop for MarkFinished {
    fn drop(&mut self) {
        // Runs on the spawned thread as its closure returns or unwinds:
        // its history goes to whoever joins it.
        backend::thread_finished();
        *self.0.done.lock() = true;
        self.0.cv.notify_all();
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and returns its result. Joining the
    /// current thread is reported as a `self_deadlock`.
    #[track_caller]
    pub fn join(self) -> Result<T> {
        let finished = &self.finished;
        backend::join(
            self.id,
            self.inner.thread(),
            self.spawned,
            Location::caller(),
            &|d| finished.wait_for(d),
        );
        let id = self.id;
        let result = self.inner.join();
        backend::joined(id, Location::caller());
        result
    }

    /// The thread.
    pub fn thread(&self) -> &Thread {
        self.inner.thread()
    }

    /// Whether the thread has finished running.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// std's handle.
    pub fn into_std(self) -> std::thread::JoinHandle<T> {
        self.inner
    }
}

/// A thread factory, like std's `Builder`.
#[derive(Debug)]
pub struct Builder {
    inner: std::thread::Builder,
}

impl Builder {
    /// A builder with std's defaults.
    pub fn new() -> Self {
        Builder {
            inner: std::thread::Builder::new(),
        }
    }

    /// Names the thread; reports use the name.
    pub fn name(self, name: String) -> Self {
        Builder {
            inner: self.inner.name(name),
        }
    }

    /// Sets the stack size.
    pub fn stack_size(self, size: usize) -> Self {
        Builder {
            inner: self.inner.stack_size(size),
        }
    }

    /// Spawns the thread.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_at(Location::caller(), f)
    }

    /// [`Builder::spawn`], recorded at `site`.
    pub(crate) fn spawn_at<F, T>(
        self,
        site: &'static Location<'static>,
        f: F,
    ) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let id = backend::spawning(site);
        let finished = Arc::new(Finished::default());
        let mark = MarkFinished(finished.clone());
        let inner = self.inner.spawn(move || {
            let _mark = mark;
            backend::adopt_thread(id);
            f()
        })?;
        Ok(JoinHandle {
            inner,
            id,
            spawned: site,
            finished,
        })
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// Spawns a thread, like `std::thread::spawn`.
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
}
