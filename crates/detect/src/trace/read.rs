//! A streaming trace reader: one record at a time, every error naming the file and line.
//!
//! A last line cut short (the process died while writing it) is tolerated
//! with a warning; anything malformed before it is an error. Memory is
//! bounded by the longest line, which is itself capped.

use std::borrow::Cow;
use std::io::{self, BufRead};

use serde::Deserialize;

use super::record::{
    AccessRecord, Event, EventKind, ForkJoinRecord, Outcome, Record, SignalKind, SpinSnapshot,
    WaitSnapshot, FORMAT_VERSION,
};
use crate::model::{Frame, Mode, ObjectKind};
use crate::race::LocOp;

/// One past the largest clock slot an access record may name (the runtime
/// uses at most 4096).
const MAX_SLOT: u32 = 1 << 16;

/// The longest line a reader accepts.
pub const MAX_LINE: usize = 1 << 20;

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: io::Error,
    },
    /// Nothing in it.
    #[error("{path}: empty trace: no header line")]
    Empty {
        /// The file.
        path: String,
    },
    /// The first record is not a lockgraph header.
    #[error("{path}:{line}: not a lockgraph trace: the first line must be a header such as {{\"lockgraph_trace\":1,\"program\":\"...\",\"pid\":1,\"start_unix_ms\":0}}")]
    NoHeader {
        /// The file.
        path: String,
        /// The line.
        line: u64,
    },
    /// A format version this reader does not know.
    #[error("{path}:{line}: unsupported trace format version {found}; this lockgraph reads version {supported}")]
    Version {
        /// The file.
        path: String,
        /// The line.
        line: u64,
        /// The version found.
        found: u64,
        /// The version supported.
        supported: u32,
    },
    /// A line that is not a valid record.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The file.
        path: String,
        /// The line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A line longer than [`MAX_LINE`].
    #[error("{path}:{line}: line longer than {limit} bytes; is this a trace?")]
    TooLong {
        /// The file.
        path: String,
        /// The line.
        line: u64,
        /// The limit.
        limit: usize,
    },
}

/// Reads records from a trace.
pub struct TraceReader<R> {
    inner: R,
    path: String,
    line: u64,
    buf: Vec<u8>,
    header_seen: bool,
    done: bool,
    bytes: u64,
    warnings: Vec<String>,
}

impl<R: BufRead> TraceReader<R> {
    /// A reader over `inner`; `path` names it in errors.
    pub fn new(inner: R, path: impl Into<String>) -> Self {
        TraceReader {
            inner,
            path: path.into(),
            line: 0,
            buf: Vec::new(),
            header_seen: false,
            done: false,
            bytes: 0,
            warnings: Vec::new(),
        }
    }

    /// Bytes consumed so far (for progress reporting).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Warnings so far (a truncated last line).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Reads one line into `buf`, without its newline. `Ok(None)` at the end;
    /// `Ok(Some(complete))` says whether the line ended with a newline.
    fn read_line(&mut self) -> Result<Option<bool>, ReadError> {
        self.buf.clear();
        loop {
            let available = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ReadError::Io {
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            if available.is_empty() {
                return Ok(if self.buf.is_empty() {
                    None
                } else {
                    Some(false)
                });
            }
            let (take, found) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            let keep = if found { take - 1 } else { take };
            if self.buf.len() + keep > MAX_LINE {
                return Err(ReadError::TooLong {
                    path: self.path.clone(),
                    line: self.line + 1,
                    limit: MAX_LINE,
                });
            }
            self.buf.extend_from_slice(&available[..keep]);
            self.inner.consume(take);
            self.bytes += take as u64;
            if found {
                return Ok(Some(true));
            }
        }
    }

    fn malformed(&self, message: impl Into<String>) -> ReadError {
        ReadError::Malformed {
            path: self.path.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            let complete = match self.read_line()? {
                None if !self.header_seen => {
                    return Err(ReadError::Empty {
                        path: self.path.clone(),
                    })
                }
                None => return Ok(None),
                Some(c) => c,
            };
            self.line += 1;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = parse(&self.buf);
            let record = match parsed {
                Ok(r) => r,
                Err(_) if !complete && self.header_seen => {
                    self.warnings.push(format!(
                        "{}:{}: last line is incomplete (the process probably died while writing it); ignored",
                        self.path, self.line
                    ));
                    return Ok(None);
                }
                Err(message) if !self.header_seen => {
                    return Err(match message.strip_prefix("unsupported version ") {
                        Some(found) => ReadError::Version {
                            path: self.path.clone(),
                            line: self.line,
                            found: found.parse().unwrap_or(0),
                            supported: FORMAT_VERSION,
                        },
                        None => ReadError::NoHeader {
                            path: self.path.clone(),
                            line: self.line,
                        },
                    })
                }
                Err(message) => return Err(self.malformed(message)),
            };
            match (&record, self.header_seen) {
                (Record::Header { .. }, false) => self.header_seen = true,
                (_, false) => {
                    return Err(ReadError::NoHeader {
                        path: self.path.clone(),
                        line: self.line,
                    })
                }
                (Record::Header { .. }, true) => return Err(self.malformed("a second header line")),
                _ => {}
            }
            return Ok(Some(record));
        }
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Every key any record may have; which are present says which record it is.
#[derive(Deserialize)]
struct Fields<'a> {
    lockgraph_trace: Option<u64>,
    #[serde(borrow)]
    program: Option<Cow<'a, str>>,
    pid: Option<u64>,
    start_unix_ms: Option<u64>,
    #[serde(borrow)]
    ev: Option<Cow<'a, str>>,
    t: Option<u64>,
    o: Option<u64>,
    s: Option<u64>,
    #[serde(borrow)]
    mode: Option<Cow<'a, str>>,
    mutex: Option<u64>,
    child: Option<u64>,
    woken: Option<u64>,
    all: Option<bool>,
    how: Option<String>,
    k: Option<u64>,
    n: Option<u64>,
    span: Option<u64>,
    thread: Option<u64>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    site: Option<u64>,
    #[serde(borrow)]
    file: Option<Cow<'a, str>>,
    line: Option<u32>,
    col: Option<u32>,
    frames: Option<Vec<Frame>>,
    object: Option<u64>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    owned: Option<bool>,
    #[serde(borrow)]
    api: Option<Cow<'a, str>>,
    #[serde(borrow)]
    finding: Option<Cow<'a, str>>,
    #[serde(borrow)]
    fingerprint: Option<Cow<'a, str>>,
    deadlock: Option<Vec<WaitSnapshot>>,
    livelock: Option<Vec<SpinSnapshot>>,
    access: Option<AccessRecord>,
    fork: Option<ForkJoinRecord>,
    joined: Option<ForkJoinRecord>,
}

impl Fields<'_> {
    /// The fields an event needs.
    fn event_fields(&self) -> EventFields<'_> {
        EventFields {
            ev: self.ev.as_deref(),
            t: self.t,
            o: self.o,
            s: self.s,
            mode: self.mode.as_deref(),
            mutex: self.mutex,
            child: self.child,
            woken: self.woken,
            all: self.all,
            how: self.how.as_deref(),
            k: self.k,
            n: self.n,
            span: self.span,
        }
    }
}

fn parse_mode(name: &str) -> Option<Mode> {
    Some(match name {
        "exclusive" => Mode::Exclusive,
        "shared" => Mode::Shared,
        "shared_recursive" => Mode::SharedRecursive,
        "upgradable" => Mode::Upgradable,
        "reentrant" => Mode::Reentrant,
        _ => return None,
    })
}

fn object_kind(name: &str) -> Option<ObjectKind> {
    Some(match name {
        "mutex" => ObjectKind::Mutex,
        "rw_lock" => ObjectKind::RwLock,
        "reentrant_mutex" => ObjectKind::ReentrantMutex,
        "condvar" => ObjectKind::Condvar,
        "thread" => ObjectKind::Thread,
        "semaphore" => ObjectKind::Semaphore,
        "event" => ObjectKind::Event,
        "barrier" => ObjectKind::Barrier,
        "latch" => ObjectKind::Latch,
        "once" => ObjectKind::Once,
        "atomic" => ObjectKind::Atomic,
        "cell" => ObjectKind::Cell,
        "tracked" => ObjectKind::Tracked,
        "channel" => ObjectKind::Channel,
        _ => return None,
    })
}

/// The fields of an event line.
#[derive(Default)]
struct EventFields<'a> {
    ev: Option<&'a str>,
    t: Option<u64>,
    o: Option<u64>,
    s: Option<u64>,
    mode: Option<&'a str>,
    mutex: Option<u64>,
    child: Option<u64>,
    woken: Option<u64>,
    all: Option<bool>,
    how: Option<&'a str>,
    k: Option<u64>,
    n: Option<u64>,
    span: Option<u64>,
}

/// Builds an event record from its fields, checking what each kind needs.
fn event_record(f: EventFields<'_>) -> Result<Record, String> {
    let ev = f.ev.unwrap_or_default();
    let kind = EventKind::parse(ev).ok_or_else(|| format!("unknown event {ev:?}"))?;
    let thread = f.t.ok_or("missing \"t\"")?;
    let site = f.s;
    let object = || {
        f.o.ok_or_else(|| format!("event \"{ev}\" is missing \"o\""))
    };
    let mode = || match f.mode {
        Some(m) => parse_mode(m).ok_or_else(|| format!("unknown mode {m:?}")),
        None => Err(format!("event \"{ev}\" is missing \"mode\"")),
    };
    let need =
        |v: Option<u64>, key: &str| v.ok_or_else(|| format!("event \"{ev}\" is missing \"{key}\""));
    let bad_how = |h: &str| format!("event \"{ev}\" has an unknown \"how\": {h:?}");
    // A wait's `how`: `wait` (or absent) or `timed`.
    let timed = |how: Option<&str>| match how {
        None | Some("wait") => Ok(false),
        Some("timed") => Ok(true),
        Some(h) => Err(bad_how(h)),
    };
    if let (Some(m), false) = (
        f.mode,
        matches!(
            kind,
            EventKind::Attempt
                | EventKind::Acquire
                | EventKind::Upgrade
                | EventKind::Try
                | EventKind::TryFail
                | EventKind::Wait
                | EventKind::Remode
        ),
    ) {
        // A mode where none belongs is ignored, but must still be a mode.
        parse_mode(m).ok_or_else(|| format!("unknown mode {m:?}"))?;
    }
    let event = match kind {
        EventKind::Attempt => Event::Attempt {
            object: object()?,
            mode: mode()?,
            site,
        },
        EventKind::Acquire => Event::Acquire {
            object: object()?,
            mode: mode()?,
            site,
        },
        EventKind::Upgrade => Event::Upgrade {
            object: object()?,
            mode: mode()?,
            site,
        },
        EventKind::Try => Event::Try {
            object: object()?,
            mode: mode()?,
            site,
        },
        EventKind::TryFail => Event::TryFail {
            object: object()?,
            mode: mode()?,
            site,
        },
        EventKind::Wait => Event::Wait {
            object: object()?,
            mode: mode()?,
            site,
        },
        EventKind::Release => Event::Release { object: object()? },
        EventKind::Remode => Event::Remode {
            object: object()?,
            mode: mode()?,
            site,
        },
        EventKind::Drop => Event::Drop { object: object()? },
        EventKind::CvWait => Event::CvWait {
            object: object()?,
            mutex: need(f.mutex, "mutex")?,
            timed: match f.how {
                None => false,
                Some("timed") => true,
                Some(h) => return Err(bad_how(h)),
            },
            site,
        },
        EventKind::CvWoken => Event::CvWoken {
            object: object()?,
            mutex: need(f.mutex, "mutex")?,
            timed_out: match f.how {
                None | Some("notified") => false,
                Some("timeout") => true,
                Some(h) => return Err(bad_how(h)),
            },
            site,
        },
        EventKind::Notify => Event::Notify {
            object: object()?,
            woken: need(f.woken, "woken")?,
            all: f.all.unwrap_or(false),
            site,
        },
        EventKind::Spawn => Event::Spawn {
            child: need(f.child, "child")?,
            site,
        },
        EventKind::Join => Event::Join {
            child: need(f.child, "child")?,
            site,
        },
        EventKind::Exit => match f.how {
            None => Event::Exit,
            Some("process") => Event::ProcessExit,
            Some(h) => return Err(bad_how(h)),
        },
        EventKind::Repeat => match (f.k, f.n) {
            (Some(k), Some(n)) => Event::Repeat { k, n },
            _ => return Err("event \"repeat\" needs \"k\" and \"n\"".to_owned()),
        },
        EventKind::Block => match f.child {
            Some(by) => Event::BlockFor {
                object: object()?,
                by,
                timed: timed(f.how)?,
                site,
            },
            None => Event::Block {
                object: object()?,
                timed: timed(f.how)?,
                site,
            },
        },
        EventKind::Unblock => Event::Unblock {
            object: object()?,
            outcome: match f.how {
                Some(h) => Outcome::parse(h).ok_or_else(|| bad_how(h))?,
                None => return Err(format!("event \"{ev}\" is missing \"how\"")),
            },
            site,
        },
        EventKind::Signal => Event::Signal {
            object: object()?,
            how: match f.how {
                Some(h) => SignalKind::parse(h).ok_or_else(|| bad_how(h))?,
                None => return Err(format!("event \"{ev}\" is missing \"how\"")),
            },
            woken: f.woken.unwrap_or(0),
            site,
        },
        EventKind::Take => Event::Take {
            object: object()?,
            site,
        },
        EventKind::Give => Event::Give {
            object: object()?,
            site,
        },
        EventKind::Sleep => Event::Sleep { site },
        EventKind::Progress => Event::Progress { site },
        EventKind::Missed => Event::Missed {
            object: object()?,
            by: need(f.child, "child")?,
            site,
        },
        EventKind::Span => Event::Span {
            span: need(f.span, "span")?,
        },
    };
    Ok(Record::Event { thread, event })
}

/// The fast path for the common line: a flat event object whose values are
/// plain strings (no escapes), unsigned integers and booleans, in any key
/// order and spacing. Anything else returns `None` and takes the general
/// path, which gives the same records and the same errors.
fn parse_flat_event(line: &[u8]) -> Option<Result<Record, String>> {
    let mut p = Scan { b: line, i: 0 };
    let mut f = EventFields::default();
    p.ws();
    p.eat(b'{')?;
    loop {
        p.ws();
        let key = p.string()?;
        p.ws();
        p.eat(b':')?;
        p.ws();
        match key {
            "ev" => f.ev = Some(p.string()?),
            "mode" => f.mode = Some(p.string()?),
            "how" => f.how = Some(p.string()?),
            "t" => f.t = Some(p.number()?),
            "o" => f.o = Some(p.number()?),
            "s" => f.s = Some(p.number()?),
            "mutex" => f.mutex = Some(p.number()?),
            "child" => f.child = Some(p.number()?),
            "woken" => f.woken = Some(p.number()?),
            "k" => f.k = Some(p.number()?),
            "n" => f.n = Some(p.number()?),
            "span" => f.span = Some(p.number()?),
            "all" => f.all = Some(p.boolean()?),
            _ => return None,
        }
        p.ws();
        match p.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    p.ws();
    if p.i != line.len() || f.ev.is_none() {
        return None;
    }
    Some(event_record(f))
}

/// A byte cursor for [`parse_flat_event`].
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// A string without escapes; `None` for anything else.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let len = self.b[start..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\')?;
        if self.b[start + len] != b'"' {
            return None;
        }
        self.i = start + len + 1;
        std::str::from_utf8(&self.b[start..start + len]).ok()
    }

    /// An unsigned integer that fits in u64.
    fn number(&mut self) -> Option<u64> {
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.i += 1;
        }
        if self.i == start || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(n)
    }

    fn boolean(&mut self) -> Option<bool> {
        let rest = &self.b[self.i..];
        if rest.starts_with(b"true") {
            self.i += 4;
            Some(true)
        } else if rest.starts_with(b"false") {
            self.i += 5;
            Some(false)
        } else {
            None
        }
    }
}

/// Parses one line. The error is a sentence for the user.
fn parse(line: &[u8]) -> Result<Record, String> {
    if let Some(r) = parse_flat_event(line) {
        return r;
    }
    let f: Fields<'_> =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON object record: {e}"))?;
    let need = |v: Option<u64>, key: &str| v.ok_or_else(|| format!("missing \"{key}\""));
    if let Some(version) = f.lockgraph_trace {
        if version != u64::from(FORMAT_VERSION) {
            return Err(format!("unsupported version {version}"));
        }
        return Ok(Record::Header {
            version: FORMAT_VERSION,
            program: f.program.map(Cow::into_owned).unwrap_or_default(),
            pid: f.pid.unwrap_or(0),
            start_unix_ms: f.start_unix_ms.unwrap_or(0),
        });
    }
    if f.ev.is_some() {
        return event_record(f.event_fields());
    }
    if let Some(id) = f.object {
        let name = f
            .kind
            .as_deref()
            .ok_or("object record is missing \"kind\"")?;
        let kind = object_kind(name).ok_or_else(|| format!("unknown object kind {name:?}"))?;
        return Ok(Record::Object {
            id,
            kind,
            name: f.name.map(Cow::into_owned),
            site: need(f.site, "site")?,
            ownerless: f.owned == Some(false),
            api: f.api.map(Cow::into_owned),
        });
    }
    if let Some(id) = f.span {
        if id == 0 {
            return Err("span record with id 0 (0 means no span)".to_owned());
        }
        return Ok(Record::SpanName {
            id,
            name: f
                .name
                .map(Cow::into_owned)
                .ok_or("span record is missing \"name\"")?,
        });
    }
    if let Some(id) = f.thread {
        return Ok(Record::Thread {
            id,
            name: f.name.map(Cow::into_owned),
        });
    }
    if let Some(id) = f.site {
        return Ok(Record::Site {
            id,
            file: f
                .file
                .map(Cow::into_owned)
                .ok_or("site record is missing \"file\"")?,
            line: f.line.unwrap_or(0),
            col: f.col.unwrap_or(0),
            frames: f.frames.unwrap_or_default(),
        });
    }
    if let Some(kind) = f.finding {
        return Ok(Record::Finding {
            kind: kind.into_owned(),
            fingerprint: f.fingerprint.map(Cow::into_owned).unwrap_or_default(),
        });
    }
    if let Some(waits) = f.deadlock {
        return Ok(Record::Deadlock(waits));
    }
    if let Some(spins) = f.livelock {
        return Ok(Record::Livelock(spins));
    }
    if let Some(r) = f.fork {
        return Ok(Record::Fork(r));
    }
    if let Some(r) = f.joined {
        return Ok(Record::Joined(r));
    }
    if let Some(a) = f.access {
        if LocOp::from_code(&a.k, true).is_none() {
            return Err(format!(
                "access record with unknown operation {:?} (expected r, w, u or x)",
                a.k
            ));
        }
        // Clocks are dense by slot: a slot far beyond any run's threads
        // would make the replay allocate for it.
        if let Some(slot) = std::iter::once(a.slot)
            .chain(a.vc.iter().map(|&(s, _)| s))
            .find(|&s| s >= MAX_SLOT)
        {
            return Err(format!(
                "access record with clock slot {slot} (at most {} expected)",
                MAX_SLOT - 1
            ));
        }
        return Ok(Record::Access(a));
    }
    Err("a JSON object, but no known record: expected one of the keys lockgraph_trace, ev, object, thread, site, finding, deadlock, livelock, access, fork, joined".to_owned())
}

#[cfg(test)]
mod tests;
