//! The vocabulary shared by every analysis: ids, sites, objects, threads, modes and stacks.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Identifies one synchronization object (a mutex, an rwlock, ...) within one run.
///
/// Ids are never reused within a run, so history about a dropped object can
/// never be confused with a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectId(pub u64);

/// The object id that stands for thread `t` when something waits on it (a
/// join): a reserved range no lock, condvar or other object id reaches.
pub fn thread_object(t: ThreadId) -> ObjectId {
    ObjectId(THREAD_OBJECTS | t.0)
}

/// The first object id of the range reserved for threads as objects.
pub const THREAD_OBJECTS: u64 = 1 << 62;

/// Identifies one thread within one run. Never reused within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ThreadId(pub u64);

/// A source location: `file:line:col`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Site {
    /// The source file, as the compiler names it.
    pub file: Cow<'static, str>,
    /// One-based line.
    pub line: u32,
    /// One-based column.
    pub col: u32,
}

impl Site {
    /// A site for a location known only at run time.
    pub fn new(file: impl Into<Cow<'static, str>>, line: u32, col: u32) -> Self {
        Site {
            file: file.into(),
            line,
            col,
        }
    }

    /// A site from a compiler-provided location; borrows the file name, so it does not allocate.
    pub fn from_location(loc: &'static std::panic::Location<'static>) -> Self {
        Site {
            file: Cow::Borrowed(loc.file()),
            line: loc.line(),
            col: loc.column(),
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What kind of synchronization object something is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A non-reentrant mutual-exclusion lock.
    Mutex,
    /// A reader-writer lock.
    RwLock,
    /// A mutex its owner may lock again.
    ReentrantMutex,
    /// A condition variable.
    Condvar,
    /// A thread, as something that can be joined.
    Thread,
    /// A counting semaphore (permits).
    Semaphore,
    /// An event flag threads wait to see set.
    Event,
    /// A barrier a fixed number of parties meet at.
    Barrier,
    /// A count-down latch.
    Latch,
    /// A one-time initialization.
    Once,
    /// An atomic whose accesses are tracked (`lockgraph::sync::atomic`).
    Atomic,
    /// An unsafe cell whose accesses are tracked (`lockgraph::cell::UnsafeCell`).
    Cell,
    /// A tracked value (`lockgraph::Tracked`).
    Tracked,
    /// A channel (`lockgraph::sync::mpsc`), as something a receiver waits on.
    Channel,
}

impl ObjectKind {
    /// The name users know the kind by.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Mutex => "Mutex",
            ObjectKind::RwLock => "RwLock",
            ObjectKind::ReentrantMutex => "ReentrantMutex",
            ObjectKind::Condvar => "Condvar",
            ObjectKind::Thread => "Thread",
            ObjectKind::Semaphore => "Semaphore",
            ObjectKind::Event => "Event",
            ObjectKind::Barrier => "Barrier",
            ObjectKind::Latch => "Latch",
            ObjectKind::Once => "Once",
            ObjectKind::Atomic => "Atomic",
            ObjectKind::Cell => "UnsafeCell",
            ObjectKind::Tracked => "Tracked",
            ObjectKind::Channel => "Channel",
        }
    }
}

/// How a lock is (to be) held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Sole ownership: a mutex lock or an rwlock write lock.
    Exclusive,
    /// An rwlock read lock that queues behind waiting writers (`read`).
    Shared,
    /// An rwlock read lock that only waits for an active writer (`read_recursive`).
    SharedRecursive,
    /// An rwlock upgradable read lock: shared with readers, exclusive among upgraders and writers.
    Upgradable,
    /// A reentrant mutex: exclusive between threads, re-lockable by its owner.
    Reentrant,
}

impl Mode {
    /// Whether two threads can never hold the object in this mode at once, which is
    /// what makes a held lock a gate that serializes everything done under it.
    pub fn excludes_other_threads(self) -> bool {
        matches!(self, Mode::Exclusive | Mode::Upgradable | Mode::Reentrant)
    }

    /// Whether this is a read (shared) mode.
    pub fn is_shared(self) -> bool {
        matches!(self, Mode::Shared | Mode::SharedRecursive)
    }

    /// The verb a report uses for acquiring in this mode.
    pub fn verb(self) -> &'static str {
        match self {
            Mode::Exclusive | Mode::Reentrant => "lock",
            Mode::Shared => "read",
            Mode::SharedRecursive => "read_recursive",
            Mode::Upgradable => "upgradable_read",
        }
    }

    /// A bit for sets of modes.
    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Everything a report says about an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// The object's id in this run.
    pub id: ObjectId,
    /// What it is.
    pub kind: ObjectKind,
    /// The name the program gave it, if any.
    pub name: Option<Arc<str>>,
    /// Where it was created.
    pub site: Site,
    /// What the program's own API calls this kind of object, when that is
    /// not lockgraph's Rust name: `Lock`, `RLock`, `Condition` for a trace
    /// recorded from Python. Labels use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<Arc<str>>,
}

impl ObjectInfo {
    /// A short label: the name in quotes (escaped as a Rust string literal,
    /// so a name is data and never a terminal escape or a line break), or
    /// the kind and id.
    pub fn label(&self) -> String {
        let kind = self.api.as_deref().unwrap_or(self.kind.as_str());
        match &self.name {
            Some(n) => format!("{kind} {n:?}"),
            None => format!("{kind} #{}", self.id.0),
        }
    }

    /// The object's class: what stays the same for "the same lock" across runs.
    pub fn class_key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.kind.as_str(),
            self.name.as_deref().unwrap_or(""),
            self.site
        )
    }
}

/// Everything a report says about a thread.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ThreadInfo {
    /// The thread's id in this run.
    pub id: ThreadId,
    /// Its name, if it has one.
    pub name: Option<Arc<str>>,
    /// The `tracing` span it was in when this was observed (the test, the
    /// request), if lockgraph's span layer is installed: the innermost
    /// entered span, with its fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Arc<str>>,
}

impl ThreadInfo {
    /// A short label: the name in quotes and the id, and the span it was in.
    pub fn label(&self) -> String {
        let mut l = match &self.name {
            Some(n) => format!("thread {:?} (#{})", n, self.id.0),
            None => format!("thread #{}", self.id.0),
        };
        if let Some(s) = &self.span {
            l.push_str(&format!(" in span {s:?}"));
        }
        l
    }
}

/// One lock a thread holds at the moment of an acquisition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldLock {
    /// The lock.
    pub object: ObjectId,
    /// How it is held.
    pub mode: Mode,
    /// Where it was acquired.
    pub site: Site,
}

/// One resolved stack frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// The demangled function name, if known.
    pub function: Option<String>,
    /// The source file, if known.
    pub file: Option<String>,
    /// The line, if known.
    pub line: Option<u32>,
    /// The column, if known.
    pub col: Option<u32>,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.function.as_deref().unwrap_or("<unknown>"))?;
        if let Some(file) = &self.file {
            write!(f, " at {file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.col {
                    write!(f, ":{col}")?;
                }
            }
        }
        Ok(())
    }
}

/// A captured call stack that is resolved only when a report needs it.
///
/// The runtime captures raw addresses when it learns something new and only
/// symbolizes them if the stack ends up in a report; a trace file carries
/// frames already resolved. Both implement this.
pub trait Stack: Send + Sync + fmt::Debug {
    /// The frames, innermost first, with the runtime's own frames removed.
    fn frames(&self) -> Vec<Frame>;
}

impl Stack for Vec<Frame> {
    fn frames(&self) -> Vec<Frame> {
        self.clone()
    }
}

/// A shared, lazily resolved stack.
pub type StackRef = Arc<dyn Stack>;

/// Mixes one more lock into the hash of a chain of held locks (the held
/// stack in order plus the lock being acquired). A thread that has seen a
/// chain before has nothing new to learn from it. Never returns 0.
#[inline]
pub fn chain_hash(prev: u64, id: u64, mode: Mode) -> u64 {
    let x = (prev ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(23) ^ (mode as u64 + 1);
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9) | 1
}
