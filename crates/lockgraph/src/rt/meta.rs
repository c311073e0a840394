//! Per-object metadata: a lazily assigned id, the creation site and the name.

use std::collections::HashSet;
use std::panic::Location;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};

use lockgraph_detect::race::SyncClock;
use lockgraph_detect::{ObjectId, ObjectInfo, ObjectKind, Site};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Metadata carried by every instrumented object. Built in `const` context,
/// so the id is assigned on first use rather than at construction.
///
/// `repr(C)`, with what every acquisition reads first: the object's lock
/// word comes after the metadata (see `raw`), and the fields the steady
/// path reads (id, description, kind, flags) stay a cache line away from
/// it. Under contention the other core keeps taking that line away; a read
/// of the same line just before the acquiring atomic would cost a second
/// transfer.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Meta {
    id: AtomicU64,
    /// The interned [`Desc`] of (kind, created, name); null until the
    /// object is first used with detection on.
    desc: AtomicPtr<Desc>,
    kind: ObjectKind,
    /// Set once the object has a node in the lock-order graph, so that its
    /// drop knows to remove it.
    pub(crate) flags: AtomicU8,
    pub(crate) created: &'static Location<'static>,
    pub(crate) name: Option<&'static str>,
    /// What releases of the object published, for happens-before (`hb`).
    pub(crate) hb: parking_lot::Mutex<SyncClock>,
}

/// What names an object in a finding besides its id: kind, creation site
/// and name. Interned once per distinct triple (so bounded by the
/// program's code and its interned names) and never freed: a held-lock
/// entry names it with one pointer, which stays valid after the object
/// itself is gone, and a push onto the held stack stores one word for it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Desc {
    pub(crate) kind: ObjectKind,
    pub(crate) created: &'static Location<'static>,
    pub(crate) name: Option<&'static str>,
}

/// The interned [`Desc`] of (kind, created, name).
#[cold]
fn intern_desc(
    kind: ObjectKind,
    created: &'static Location<'static>,
    name: Option<&'static str>,
) -> &'static Desc {
    static DESCS: parking_lot::Mutex<Option<HashSet<&'static Desc>>> =
        parking_lot::const_mutex(None);
    let key = Desc {
        kind,
        created,
        name,
    };
    let mut descs = DESCS.lock();
    let set = descs.get_or_insert_with(HashSet::new);
    if let Some(d) = set.get(&key) {
        return d;
    }
    let leaked: &'static Desc = Box::leak(Box::new(key));
    set.insert(leaked);
    leaked
}

/// The object has a node in the lock-order graph.
pub(crate) const IN_GRAPH: u8 = 1;
/// The object (an rwlock) was write-locked at least once.
pub(crate) const WRITTEN: u8 = 2;

impl Meta {
    pub(crate) const fn new(
        created: &'static Location<'static>,
        name: Option<&'static str>,
        kind: ObjectKind,
    ) -> Self {
        Meta {
            id: AtomicU64::new(0),
            created,
            name,
            kind,
            flags: AtomicU8::new(0),
            hb: parking_lot::const_mutex(SyncClock::new()),
            desc: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The object's id, assigned on first call.
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        self.assign_id()
    }

    #[cold]
    fn assign_id(&self) -> u64 {
        let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => {
                if super::sink::recording() {
                    super::sink::object_record(fresh, self.kind, self.name, self.created);
                }
                fresh
            }
            Err(won) => won,
        }
    }

    /// The id if one was ever assigned (an object never used has none).
    #[inline]
    pub(crate) fn id_if_assigned(&self) -> Option<u64> {
        match self.id.load(Ordering::Relaxed) {
            0 => None,
            id => Some(id),
        }
    }

    /// The object's interned description, if it was made already (the
    /// steady path's question: no interning there).
    #[inline]
    pub(crate) fn desc_if_made(&self) -> Option<&'static Desc> {
        let p = self.desc.load(Ordering::Relaxed);
        // SAFETY: a non-null pointer here came from `intern_desc`, which
        // leaks its descriptions: they live for the rest of the process.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// The object's interned description, made on first call.
    #[inline]
    pub(crate) fn desc(&self) -> &'static Desc {
        match self.desc_if_made() {
            Some(d) => d,
            None => {
                let d = intern_desc(self.kind, self.created, self.name);
                self.desc
                    .store(d as *const Desc as *mut Desc, Ordering::Relaxed);
                d
            }
        }
    }

    /// Whether the object was ever write-locked.
    #[inline]
    pub(crate) fn written(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & WRITTEN != 0
    }

    pub(crate) fn mark_written(&self) {
        self.flags.fetch_or(WRITTEN, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn kind(&self) -> ObjectKind {
        self.kind
    }

    pub(crate) fn info(&self) -> ObjectInfo {
        describe(self.id(), self.kind, self.created, self.name)
    }
}

/// Describes an object from the parts a held-lock entry keeps.
pub(crate) fn describe(
    id: u64,
    kind: ObjectKind,
    created: &'static Location<'static>,
    name: Option<&'static str>,
) -> ObjectInfo {
    ObjectInfo {
        api: None,
        id: ObjectId(id),
        kind,
        name: name.map(Into::into),
        site: Site::from_location(created),
    }
}

/// Interns a run-time name so that objects and held-lock entries can keep a
/// `&'static str` and never point into an object that may move or be freed.
/// Each distinct name is stored once for the life of the process.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: parking_lot::Mutex<Option<HashSet<&'static str>>> =
        parking_lot::const_mutex(None);
    let mut names = NAMES.lock();
    let set = names.get_or_insert_with(HashSet::new);
    if let Some(n) = set.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}
