//! A streaming trace reader: one record at a time, every error naming the file and line.
//!
//! A last line cut short (the process died while writing it) is tolerated
//! with a warning; anything malformed before it is an error. Memory is
//! bounded by the longest line, which is itself capped.

use std::borrow::Cow;
use std::io::{self, BufRead};

use serde::Deserialize;

use super::record::{EventKind, Record, TraceEvent, WaitSnapshot, FORMAT_VERSION};
use crate::model::{Frame, Mode, ObjectKind};

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
    #[serde(borrow)]
    finding: Option<Cow<'a, str>>,
    #[serde(borrow)]
    fingerprint: Option<Cow<'a, str>>,
    deadlock: Option<Vec<WaitSnapshot>>,
}

fn from_name<T: for<'de> Deserialize<'de>>(what: &str, name: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| format!("unknown {what} {name:?}"))
}

/// Parses one line. The error is a sentence for the user.
fn parse(line: &[u8]) -> Result<Record, String> {
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
    if let Some(ev) = f.ev {
        let kind: EventKind = from_name("event", &ev)?;
        let mode = f.mode.map(|m| from_name::<Mode>("mode", &m)).transpose()?;
        let e = TraceEvent {
            kind,
            thread: need(f.t, "t")?,
            object: f.o,
            site: f.s,
            mode,
            mutex: f.mutex,
            child: f.child,
            woken: f.woken,
            all: f.all,
            how: f.how,
        };
        let needs_object = !matches!(kind, EventKind::Spawn | EventKind::Join | EventKind::Exit);
        if needs_object && e.object.is_none() {
            return Err(format!("event \"{ev}\" is missing \"o\""));
        }
        if matches!(
            kind,
            EventKind::Attempt
                | EventKind::Acquire
                | EventKind::Try
                | EventKind::TryFail
                | EventKind::Wait
                | EventKind::Remode
        ) && e.mode.is_none()
        {
            return Err(format!("event \"{ev}\" is missing \"mode\""));
        }
        return Ok(Record::Event(e));
    }
    if let Some(id) = f.object {
        let kind: ObjectKind = from_name(
            "object kind",
            f.kind
                .as_deref()
                .ok_or("object record is missing \"kind\"")?,
        )?;
        return Ok(Record::Object {
            id,
            kind,
            name: f.name.map(Cow::into_owned),
            site: need(f.site, "site")?,
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
    Err("a JSON object, but no known record: expected one of the keys lockgraph_trace, ev, object, thread, site, finding, deadlock".to_owned())
}

#[cfg(test)]
mod tests;
