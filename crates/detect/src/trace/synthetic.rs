//! A generator of a correct program's trace, for benchmarks and scale tests: deterministic, streamed or whole.
//!
//! The trace is that of a healthy program: a header, [`THREADS`] (8) named
//! threads, [`MUTEXES`] (64) mutexes with their creation sites, then as
//! many events as asked for. Each thread runs a fixed repertoire of code
//! paths that nest 1–3 of the mutexes in one global order (ascending object
//! id) and release them in reverse. Some steps use `try_lock` (`try`, or
//! `try_fail` when another thread holds the lock), a blocking acquisition
//! of a busy lock records `wait` first, and the first acquisition of a
//! chain by a thread records `attempt`, as the live runtime does. After the
//! first few thousand events there is nothing new to learn: the steady
//! state of a healthy program, and analyzing it must find nothing.
//!
//! The generator is deterministic (a fixed-seed splitmix64): the same
//! number of events gives the same trace, byte for byte, on every run.
//!
//! - [`SyntheticTrace`]: the trace as a stream (`BufRead` + `Read`) that
//!   formats the next batch of lines only when asked, so memory stays
//!   bounded (about [`BATCH`] bytes) however long the trace.
//! - [`synthetic_trace`]: the same trace, whole, in a `String`.

use std::fmt;
use std::io::{self, BufRead, Read};

use rustc_hash::FxHashSet;

use super::record::{Event, Record};
use super::write;
use crate::model::{chain_hash, Mode, ObjectKind};

/// Threads in the synthetic trace (ids `1..=THREADS`).
pub const THREADS: u64 = 8;
/// Mutexes in the synthetic trace (ids `1..=MUTEXES`, created at sites `1..=MUTEXES`).
pub const MUTEXES: u64 = 64;
/// Bytes of lines [`SyntheticTrace`] generates per refill of its buffer.
///
/// A refill stops at the first line that reaches this size, so the buffer
/// never holds more than this plus one line (or the preamble, at first).
pub const BATCH: usize = 16 * 1024;

/// Acquisition sites, numbered after the creation sites.
const ACQUIRE_SITES: u64 = 32;
/// Code paths per thread: each a fixed, ordered set of 1–3 locks.
const PATHS_PER_THREAD: usize = 12;
/// One step in this many is a `try_lock` rather than a blocking `lock`.
const TRY_ONE_IN: u64 = 8;
/// The seed of the generator: the same trace every run.
const SEED: u64 = 0x5EED_1234_ABCD_0042;

/// A small deterministic generator (splitmix64): the same trace every run.
struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One step of a code path: a lock to take, where, and how.
#[derive(Clone, Copy)]
struct Step {
    /// The mutex.
    object: u64,
    /// The acquisition site.
    site: u64,
    /// `try_lock` (never blocks) rather than `lock`.
    try_lock: bool,
}

/// One simulated thread: its code paths and where it is in the current one.
struct Worker {
    /// The thread id.
    id: u64,
    /// The code paths it runs, each in ascending object order.
    paths: Vec<Vec<Step>>,
    /// The path being run.
    path: usize,
    /// The next step of that path; past its end, the thread releases.
    next: usize,
    /// The locks held, in the order taken, with the chain hash up to each.
    held: Vec<(u64, u64)>,
    /// An `attempt` was recorded for the next step.
    asked: bool,
    /// A `wait` was recorded for the next step: the thread is blocked.
    waiting: bool,
    /// Chains this thread already took (the live runtime's cache): no `attempt` for them.
    seen: FxHashSet<u64>,
}

/// Generates the events of a healthy program, one line at a time.
struct Generator {
    /// The random source.
    rng: Rng,
    /// The simulated threads.
    workers: Vec<Worker>,
    /// Which thread holds each mutex (index `object - 1`), 0 for none.
    owner: Vec<u64>,
}

impl Generator {
    /// A generator with every thread's code paths drawn from a fixed seed.
    fn new() -> Self {
        let mut rng = Rng(SEED);
        let workers = (1..=THREADS)
            .map(|id| {
                let paths = (0..PATHS_PER_THREAD)
                    .map(|_| {
                        let depth = 1 + rng.below(3) as usize;
                        let mut objects: Vec<u64> = Vec::with_capacity(depth);
                        while objects.len() < depth {
                            let o = 1 + rng.below(MUTEXES);
                            if !objects.contains(&o) {
                                objects.push(o);
                            }
                        }
                        objects.sort_unstable();
                        objects
                            .into_iter()
                            .map(|object| Step {
                                object,
                                site: MUTEXES + 1 + rng.below(ACQUIRE_SITES),
                                try_lock: rng.below(TRY_ONE_IN) == 0,
                            })
                            .collect()
                    })
                    .collect();
                Worker {
                    id,
                    paths,
                    path: 0,
                    next: 0,
                    held: Vec::new(),
                    asked: false,
                    waiting: false,
                    seen: FxHashSet::default(),
                }
            })
            .collect();
        Generator {
            rng,
            workers,
            owner: vec![0; MUTEXES as usize],
        }
    }

    /// The lines before the events: header, threads, sites, objects.
    fn preamble() -> String {
        let mut out = write::header("synthetic-bank", 4242, 1_700_000_000_000);
        for id in 1..=THREADS {
            write::record(
                &mut out,
                &Record::Thread {
                    id,
                    name: Some(format!("worker-{id}")),
                },
            );
        }
        for id in 1..=MUTEXES + ACQUIRE_SITES {
            let (file, line) = if id <= MUTEXES {
                ("src/bank/accounts.rs", 100 + id as u32)
            } else {
                ("src/bank/transfer.rs", 10 * id as u32)
            };
            write::record(
                &mut out,
                &Record::Site {
                    id,
                    file: file.to_owned(),
                    line,
                    col: 21,
                    frames: Vec::new(),
                },
            );
        }
        for id in 1..=MUTEXES {
            write::record(
                &mut out,
                &Record::Object {
                    id,
                    kind: ObjectKind::Mutex,
                    name: Some(format!("account-{id}")),
                    site: id,
                    ownerless: false,
                    api: None,
                },
            );
        }
        out
    }

    /// Appends the next event line to `out`.
    fn next_event(&mut self, out: &mut String) {
        let first = self.rng.below(THREADS) as usize;
        for k in 0..self.workers.len() {
            let w = (first + k) % self.workers.len();
            if let Some((t, e)) = self.step(w) {
                write::event(out, t, &e);
                return;
            }
        }
        // Locks are always taken in ascending order, so whoever holds the
        // highest held lock can always go on.
        unreachable!("every simulated thread is blocked: the lock order is not consistent");
    }

    /// The next event of worker `w` (with its thread), or `None` if it is blocked.
    fn step(&mut self, w: usize) -> Option<(u64, Event<u64>)> {
        let Generator {
            rng,
            workers,
            owner,
        } = self;
        let worker = &mut workers[w];
        let t = worker.id;
        if worker.next == worker.paths[worker.path].len() {
            if let Some((o, _)) = worker.held.pop() {
                owner[o as usize - 1] = 0;
                return Some((t, Event::Release { object: o }));
            }
            worker.path = rng.below(PATHS_PER_THREAD as u64) as usize;
            worker.next = 0;
        }
        let step = worker.paths[worker.path][worker.next];
        let owner = &mut owner[step.object as usize - 1];
        let (object, mode, site) = (step.object, Mode::Exclusive, Some(step.site));
        let chain = chain_hash(
            worker.held.last().map_or(0, |&(_, c)| c),
            step.object,
            Mode::Exclusive,
        );
        if step.try_lock {
            worker.next += 1;
            if *owner != 0 {
                return Some((t, Event::TryFail { object, mode, site }));
            }
            *owner = t;
            worker.held.push((step.object, chain));
            return Some((t, Event::Try { object, mode, site }));
        }
        if *owner != 0 {
            if worker.waiting {
                return None;
            }
            worker.waiting = true;
            return Some((t, Event::Wait { object, mode, site }));
        }
        if !worker.asked && !worker.waiting && worker.seen.insert(chain) {
            worker.asked = true;
            return Some((t, Event::Attempt { object, mode, site }));
        }
        *owner = t;
        worker.held.push((step.object, chain));
        worker.next += 1;
        worker.asked = false;
        worker.waiting = false;
        Some((t, Event::Acquire { object, mode, site }))
    }
}

/// A correct program's trace of a fixed number of events, produced line by line as it is read.
///
/// Read it like a file (`BufRead` and `Read`): the preamble (header,
/// threads, sites, objects) comes first, then the events, formatted a
/// batch of about [`BATCH`] bytes at a time, only when the reader has
/// consumed the previous batch. The whole trace is never in memory;
/// [`peak`](Self::peak) tells how much ever was. The bytes are those of
/// [`synthetic_trace`] for the same number of events.
pub struct SyntheticTrace {
    /// Makes the events.
    gen: Generator,
    /// Events still to produce.
    remaining: u64,
    /// Lines generated and not yet consumed, from `pos` on.
    buf: String,
    /// How much of `buf` the reader consumed.
    pos: usize,
    /// The most bytes `buf` ever held: evidence that memory stays bounded.
    peak: usize,
}

impl SyntheticTrace {
    /// A trace of `events` events (not counting the preamble, which is the first thing read).
    pub fn new(events: u64) -> Self {
        let buf = Generator::preamble();
        SyntheticTrace {
            gen: Generator::new(),
            remaining: events,
            peak: buf.len(),
            buf,
            pos: 0,
        }
    }

    /// The most bytes the internal buffer held at once so far: the preamble, or a batch of just over [`BATCH`].
    pub fn peak(&self) -> usize {
        self.peak
    }
}

impl fmt::Debug for SyntheticTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyntheticTrace")
            .field("remaining", &self.remaining)
            .field("buffered", &(self.buf.len() - self.pos))
            .field("peak", &self.peak)
            .finish_non_exhaustive()
    }
}

impl BufRead for SyntheticTrace {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            while self.buf.len() < BATCH && self.remaining > 0 {
                self.gen.next_event(&mut self.buf);
                self.remaining -= 1;
            }
            self.peak = self.peak.max(self.buf.len());
        }
        Ok(&self.buf.as_bytes()[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.buf.len());
    }
}

impl Read for SyntheticTrace {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The whole synthetic trace of `events` events, in memory: what [`SyntheticTrace::new`] streams.
pub fn synthetic_trace(events: u64) -> String {
    let mut gen = Generator::new();
    let mut out = Generator::preamble();
    // About 48 bytes per event line; a hint only.
    out.reserve(usize::try_from(events).map_or(0, |n| n.saturating_mul(48)));
    for _ in 0..events {
        gen.next_event(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Streaming and building in memory give the same bytes, and the same every time.
    #[test]
    fn stream_matches_whole_and_is_deterministic() {
        let whole = synthetic_trace(5_000);
        assert_eq!(whole, synthetic_trace(5_000));
        let mut streamed = String::new();
        SyntheticTrace::new(5_000)
            .read_to_string(&mut streamed)
            .expect("the stream never fails");
        assert_eq!(streamed, whole);
        assert_eq!(
            whole.lines().count() as u64,
            1 + THREADS + MUTEXES + ACQUIRE_SITES + MUTEXES + 5_000
        );
    }
}
