//! The trace sink: every event of the instrumented primitives to a trace file, off the hot path.
//!
//! `LOCKGRAPH_TRACE=path` (or [`record_to`](crate::record_to)) turns it on.
//! A path that is a directory (or ends in `/`) gets one file per process,
//! `<program>-<pid>.jsonl`, the usual case under `cargo test`.
//!
//! Each thread pushes fixed-size events into its own wait-free ring
//! (rtrb). A flusher thread drains every ring each 100 ms, interns sites
//! and writes the lines, so a process killed with SIGKILL leaves a trace
//! readable up to its last flush. The rings are also drained at exit
//! (including `std::process::exit`), in a panic hook, and by a thread whose
//! ring is full. Thread and object records are written when the thread or
//! object is first seen, so they always precede the events naming them.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lockgraph_detect::trace::{write, Event, Record, WaitSnapshot};
use lockgraph_detect::waitfor::Waiter;
use lockgraph_detect::{Finding, ObjectKind};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

/// A site as the runtime records it: the caller's `Location`, compared by
/// address (one `Location` per call site), which is what makes comparing
/// two events for the recording thread's compression cheap.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At(pub(crate) &'static Location<'static>);

impl PartialEq for At {
    fn eq(&self, o: &Self) -> bool {
        std::ptr::eq(self.0, o.0)
    }
}

impl Eq for At {}

/// `site` as an event's site.
#[inline(always)]
pub(crate) fn at(site: &'static Location<'static>) -> Option<At> {
    Some(At(site))
}

/// One event as the hot path records it: detect's event with the caller's
/// location; fixed size, no allocation.
pub(crate) type LiveEvent = Event<At>;

const _: () = assert!(
    std::mem::size_of::<LiveEvent>() <= 32,
    "a recorded event stays 32 bytes"
);

/// How many events a thread's ring holds before the thread flushes it itself.
const RING: usize = 4096;
/// How often the flusher drains the rings.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;
static STATE: AtomicU8 = AtomicU8::new(UNSET);
static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();

/// The writing side: the file, the site interner and every thread's ring.
struct Sink {
    out: BufWriter<File>,
    path: PathBuf,
    sites: FxHashMap<(usize, u32, u32), u64>,
    rings: Vec<Ring>,
    line: String,
    failed: bool,
}

impl Sink {
    fn site_id(&mut self, file: &str, line: u32, col: u32) -> u64 {
        let key = (
            file.as_ptr() as usize ^ file.len().rotate_left(48),
            line,
            col,
        );
        if let Some(&id) = self.sites.get(&key) {
            return id;
        }
        let id = self.sites.len() as u64 + 1;
        self.sites.insert(key, id);
        write::record(
            &mut self.line,
            &Record::Site {
                id,
                file: file.to_owned(),
                line,
                col,
                frames: Vec::new(),
            },
        );
        id
    }

    /// Held locks as a snapshot's `[object, site, mode]` triples.
    fn held_triples(
        &mut self,
        held: &[lockgraph_detect::HeldLock],
    ) -> Vec<(u64, u64, lockgraph_detect::Mode)> {
        held.iter()
            .map(|h| {
                (
                    h.object.0,
                    self.site_id(&h.site.file, h.site.line, h.site.col),
                    h.mode,
                )
            })
            .collect()
    }

    fn loc_id(&mut self, loc: &'static Location<'static>) -> u64 {
        self.site_id(loc.file(), loc.line(), loc.column())
    }

    fn put(&mut self, r: &Record) {
        write::record(&mut self.line, r);
    }

    /// Writes what has been formatted; the file is complete up to here.
    fn write_out(&mut self, flush: bool) {
        if self.failed {
            self.line.clear();
            return;
        }
        let mut result = self.out.write_all(self.line.as_bytes());
        if flush && result.is_ok() {
            result = self.out.flush();
        }
        self.line.clear();
        if let Err(e) = result {
            self.failed = true;
            eprintln!(
                "lockgraph: cannot write the trace {}: {e}; recording stops",
                self.path.display()
            );
        }
    }

    fn write_event(&mut self, thread: u64, e: &LiveEvent) {
        let e = e.map_site(|At(loc)| self.loc_id(loc));
        write::event(&mut self.line, thread, &e);
        if self.line.len() > 1 << 16 {
            self.write_out(false);
        }
    }

    /// Writes what ring `i` holds. Repeated blocks were already
    /// compressed by the recording thread (`Local::compress`).
    fn drain(&mut self, i: usize) {
        let thread = self.rings[i].thread;
        while let Ok(e) = self.rings[i].consumer.pop() {
            self.write_event(thread, &e);
        }
    }

    fn drain_all(&mut self) {
        for i in 0..self.rings.len() {
            self.drain(i);
        }
        // A thread that ended leaves its ring behind until it is drained.
        self.rings
            .retain(|r| !r.consumer.is_abandoned() || !r.consumer.is_empty());
        self.write_out(true);
    }
}

/// One thread's ring.
struct Ring {
    thread: u64,
    consumer: rtrb::Consumer<LiveEvent>,
}

/// Whether events are being recorded.
#[inline]
pub(crate) fn recording() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => init_from_env(),
    }
}

#[cold]
fn init_from_env() -> bool {
    match std::env::var_os("LOCKGRAPH_TRACE") {
        Some(p) if !p.is_empty() => match start(Path::new(&p)) {
            Ok(_) => true,
            Err(e) => {
                eprintln!(
                    "lockgraph: LOCKGRAPH_TRACE={}: {e}; not recording",
                    Path::new(&p).display()
                );
                let _ = STATE.compare_exchange(UNSET, OFF, Ordering::Relaxed, Ordering::Relaxed);
                false
            }
        },
        _ => {
            let _ = STATE.compare_exchange(UNSET, OFF, Ordering::Relaxed, Ordering::Relaxed);
            STATE.load(Ordering::Relaxed) == ON
        }
    }
}

fn program() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "program".to_owned())
}

/// Opens the trace and starts the flusher. Recording is per process and starts once.
pub(crate) fn start(path: &Path) -> io::Result<PathBuf> {
    if let Some(sink) = SINK.get() {
        return Ok(sink.lock().path.clone());
    }
    let is_dir = path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/');
    let file_path = if is_dir {
        fs::create_dir_all(path)?;
        path.join(format!("{}-{}.jsonl", program(), std::process::id()))
    } else {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        path.to_path_buf()
    };
    let file = File::create(&file_path)?;
    let start_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut sink = Sink {
        out: BufWriter::with_capacity(1 << 16, file),
        path: file_path.clone(),
        sites: FxHashMap::default(),
        rings: Vec::new(),
        line: write::header(&program(), u64::from(std::process::id()), start_ms),
        failed: false,
    };
    sink.write_out(true);
    if SINK.set(Mutex::new(sink)).is_err() {
        // Another thread started first; its file is the trace.
        return Ok(SINK
            .get()
            .map(|s| s.lock().path.clone())
            .unwrap_or(file_path));
    }
    STATE.store(ON, Ordering::Relaxed);
    install_exit_hooks();
    // A thread whose ring fills drains it itself rather than waking this one:
    // measured, a consumer on another core makes the ring's cache lines
    // bounce and costs more than the drain (9.3x against 7.3x parking_lot).
    std::thread::Builder::new()
        .name("lockgraph-trace-flusher".into())
        .spawn(|| {
            super::procs::register_own();
            loop {
                std::thread::sleep(FLUSH_EVERY);
                flush();
            }
        })?;
    Ok(file_path)
}

/// At process exit, after every other step (see [`super::exit`]): the
/// trace gets the process's exit and is flushed.
fn trace_at_exit() {
    process_exit_record();
    flush();
}

/// Writes that the process exits (an `exit` of thread 0 with `how:
/// process`): every thread not blocked ends with it, which the analyzer
/// needs to judge the threads still blocked as the live runtime did.
fn process_exit_record() {
    if let Some(sink) = SINK.get() {
        let mut s = sink.lock();
        s.drain_all();
        write::event(&mut s.line, 0, &Event::ProcessExit);
    }
}

fn install_exit_hooks() {
    super::exit::register(super::exit::Stage::Trace, trace_at_exit);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        // try_lock: a panic inside the flusher must not wait for itself.
        if let Some(sink) = SINK.get() {
            if let Some(mut s) = sink.try_lock() {
                s.drain_all();
            }
        }
    }));
}

/// Drains every ring to the file and flushes it.
pub fn flush() {
    if let Some(sink) = SINK.get() {
        sink.lock().drain_all();
    }
}

/// The trace file being written, if recording.
pub fn trace_path() -> Option<PathBuf> {
    SINK.get().map(|s| s.lock().path.clone())
}

/// A new ring for the calling thread, registered with the sink.
pub(crate) fn new_ring(thread: u64) -> Option<rtrb::Producer<LiveEvent>> {
    let sink = SINK.get()?;
    let (producer, consumer) = rtrb::RingBuffer::new(RING);
    sink.lock().rings.push(Ring { thread, consumer });
    Some(producer)
}

/// The ring of `thread` is full: drain it (and the others) now.
#[cold]
/// Writes what thread `thread`'s ring holds now. A thread calls it as it
/// spawns (its events before the spawn come before its child's in the
/// file) and as it ends (its events come before whatever its joiner does
/// next), so the file follows spawn and join order: the replay sees a
/// joined thread's lock orders before the joiner's.
pub(crate) fn drain_thread(thread: u64) {
    if let Some(sink) = SINK.get() {
        let mut s = sink.lock();
        if let Some(i) = s.rings.iter().position(|r| r.thread == thread) {
            s.drain(i);
        }
    }
}

pub(crate) fn ring_full() {
    flush();
}

/// Writes a record that is not an event (a thread, an object) right away.
/// The text of span `id`, written before any event names it.
pub(crate) fn span_record(id: u64, text: &str) {
    if let Some(sink) = SINK.get() {
        sink.lock().put(&Record::SpanName {
            id,
            name: text.to_owned(),
        });
    }
}

pub(crate) fn thread_record(id: u64, name: Option<&str>) {
    if let Some(sink) = SINK.get() {
        sink.lock().put(&Record::Thread {
            id,
            name: name.map(str::to_owned),
        });
    }
}

pub(crate) fn object_record(
    id: u64,
    kind: ObjectKind,
    name: Option<&str>,
    created: &'static Location<'static>,
) {
    if let Some(sink) = SINK.get() {
        let mut s = sink.lock();
        let site = s.loc_id(created);
        s.put(&Record::Object {
            id,
            kind,
            name: name.map(str::to_owned),
            site,
            ownerless: false,
            api: None,
        });
    }
}

/// One operation on a tracked location, as `lockgraph_detect::race`
/// applied it (see `AccessRecord`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn access_record(
    t: u64,
    o: u64,
    n: u64,
    op: &str,
    slot: u32,
    vc: Vec<(u32, u32)>,
    site: Option<&'static Location<'static>>,
    held: &[(u64, &'static Location<'static>, lockgraph_detect::Mode)],
    sync: Option<(&str, Option<u64>, &'static Location<'static>)>,
    v: Option<String>,
) {
    if let Some(sink) = SINK.get() {
        let mut s = sink.lock();
        let rec = lockgraph_detect::trace::AccessRecord {
            t,
            o,
            n,
            k: op.to_owned(),
            slot,
            vc,
            s: site.map_or(0, |l| s.loc_id(l)),
            held: held.iter().map(|&(o, l, m)| (o, s.loc_id(l), m)).collect(),
            sync: sync.map(|(w, o, l)| (w.to_owned(), o, s.loc_id(l))),
            v,
        };
        s.put(&Record::Access(rec));
        if s.line.len() > 1 << 16 {
            s.write_out(false);
        }
    }
}

/// A spawn (`fork`) or a join made by `t` at its fork-join epoch `k`,
/// written now: a replay must know it before any later event of any thread.
pub(crate) fn fork_join_record(fork: bool, t: u64, k: u32, child: u64) {
    if let Some(sink) = SINK.get() {
        let r = lockgraph_detect::trace::ForkJoinRecord { t, k, child };
        sink.lock().put(&if fork {
            Record::Fork(r)
        } else {
            Record::Joined(r)
        });
    }
}

pub(crate) fn finding_record(f: &Finding) {
    if let Some(sink) = SINK.get() {
        sink.lock().put(&Record::Finding {
            kind: f.kind.as_str().to_owned(),
            fingerprint: f.fingerprint.to_string(),
        });
    }
}

/// Writes a confirmed deadlock's wait-for cycle, drained and flushed at once:
/// the process may not live long after it.
pub(crate) fn deadlock_record(cycle: &[Waiter]) {
    if let Some(sink) = SINK.get() {
        let mut s = sink.lock();
        let snaps: Vec<WaitSnapshot> = cycle
            .iter()
            .map(|w| WaitSnapshot {
                t: w.thread.id.0,
                o: w.object.0,
                s: s.site_id(&w.site.file, w.site.line, w.site.col),
                mode: w.mode,
                on: w.on.to_trace().0,
                by: w.on.to_trace().1,
                missed: w
                    .missed
                    .as_ref()
                    .map(|m| (s.site_id(&m.site.file, m.site.line, m.site.col), m.by.id.0)),
                held: s.held_triples(&w.held),
            })
            .collect();
        s.drain_all();
        s.put(&Record::Deadlock(snaps));
        s.write_out(true);
    }
}

/// Writes a livelock the runtime found: its threads, what each kept failing
/// to get and what each held.
pub(crate) fn livelock_record(spinners: &[lockgraph_detect::livelock::Spinner]) {
    if let Some(sink) = SINK.get() {
        let mut s = sink.lock();
        let snaps: Vec<lockgraph_detect::trace::SpinSnapshot> = spinners
            .iter()
            .map(|sp| lockgraph_detect::trace::SpinSnapshot {
                t: sp.thread.id.0,
                fails: sp
                    .fails
                    .iter()
                    .map(|(o, site, n)| (o.0, s.site_id(&site.file, site.line, site.col), *n))
                    .collect(),
                held: s.held_triples(&sp.holds),
            })
            .collect();
        s.drain_all();
        s.put(&Record::Livelock(snaps));
        s.write_out(true);
    }
}
