//! Per-object metadata: a lazily assigned id, the creation site and the name.

use std::collections::HashSet;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

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
    /// drop knows to remove it. A flag of its own (not a bit among others):
    /// setting it is a plain store, not an atomic read-modify-write.
    in_graph: AtomicBool,
    /// The object (an rwlock) was write-locked at least once.
    written: AtomicBool,
    /// Some thread acquired another lock while holding this one: an edge
    /// leaves it (published or deferred). Set when that thread lets it
    /// go, so whoever acquires it next sees it (see `hooks::defer`).
    has_out: AtomicBool,
    pub(crate) created: &'static Location<'static>,
    pub(crate) name: Option<&'static str>,
    /// What releases of the object published, for happens-before (`hb`):
    /// made on first use, so that a program with no tracked location (no
    /// race analysis) carries one null word per object for it.
    hb: AtomicPtr<parking_lot::Mutex<SyncClock>>,
}

/// What names an object in a finding besides its id: kind, creation site
/// and name. Interned once per distinct triple (so bounded by the
/// program's code and its interned names) and never freed: a held-lock
/// entry names it with one pointer, which stays valid after the object
/// itself is gone, and a push onto the held stack stores one word for it.
#[derive(Debug)]
pub(crate) struct Desc {
    pub(crate) kind: ObjectKind,
    pub(crate) created: &'static Location<'static>,
    pub(crate) name: Option<&'static str>,
}

/// The interned [`Desc`] of (kind, created, name), keyed by identity: the
/// creation site's and the name's addresses (every `#[track_caller]`
/// location is a static of its own; names are `&'static`, interned or
/// literal), so no string is hashed. A thread asks its own small cache
/// first: objects made again and again at one site (a fresh lock per
/// request, per test) never touch the shared table after the first.
#[cold]
fn intern_desc(
    kind: ObjectKind,
    created: &'static Location<'static>,
    name: Option<&'static str>,
) -> &'static Desc {
    type Key = (usize, (usize, usize), ObjectKind);
    const SLOTS: usize = 16;
    type Slot = std::cell::Cell<Option<(Key, &'static Desc)>>;
    thread_local! {
        static RECENT: [Slot; SLOTS] = const { [const { Slot::new(None) }; SLOTS] };
    }
    static DESCS: parking_lot::Mutex<Option<rustc_hash::FxHashMap<Key, &'static Desc>>> =
        parking_lot::const_mutex(None);
    let key: Key = (
        created as *const Location<'static> as usize,
        name.map_or((0, 0), |n| (n.as_ptr() as usize, n.len())),
        kind,
    );
    let slot = (key.0 >> 3 ^ key.1 .0 >> 3 ^ kind as usize) % SLOTS;
    if let Ok(Some((k, d))) = RECENT.try_with(|r| r[slot].get()) {
        if k == key {
            return d;
        }
    }
    let d = *DESCS
        .lock()
        .get_or_insert_with(Default::default)
        .entry(key)
        .or_insert_with(|| {
            Box::leak(Box::new(Desc {
                kind,
                created,
                name,
            }))
        });
    let _ = RECENT.try_with(|r| r[slot].set(Some((key, d))));
    d
}

impl Drop for Meta {
    fn drop(&mut self) {
        let p = *self.hb.get_mut();
        if !p.is_null() {
            // SAFETY: made by `Box::into_raw` in `hb`, freed only here.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

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
            in_graph: AtomicBool::new(false),
            written: AtomicBool::new(false),
            has_out: AtomicBool::new(false),
            hb: AtomicPtr::new(std::ptr::null_mut()),
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

    /// The object's happens-before clocks, made on first call.
    pub(crate) fn hb(&self) -> &parking_lot::Mutex<SyncClock> {
        let mut p = self.hb.load(Ordering::Acquire);
        if p.is_null() {
            let fresh = Box::into_raw(Box::new(parking_lot::const_mutex(SyncClock::new())));
            p = match self.hb.compare_exchange(
                std::ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => fresh,
                Err(won) => {
                    // SAFETY: `fresh` came from `Box::into_raw` just above
                    // and was never shared: the exchange failed.
                    drop(unsafe { Box::from_raw(fresh) });
                    won
                }
            };
        }
        // SAFETY: non-null, it came from `Box::into_raw` and is freed only
        // by `drop`, which `&self` rules out for the borrow's length.
        unsafe { &*p }
    }

    /// Whether the object was ever write-locked.
    #[inline]
    pub(crate) fn written(&self) -> bool {
        self.written.load(Ordering::Relaxed)
    }

    /// The object was write-locked.
    pub(crate) fn mark_written(&self) {
        self.written.store(true, Ordering::Relaxed);
    }

    /// Whether the object has a node in the lock-order graph.
    #[inline]
    pub(crate) fn in_graph(&self) -> bool {
        self.in_graph.load(Ordering::Relaxed)
    }

    /// Whether an edge leaves this lock (something was acquired under it).
    #[inline]
    pub(crate) fn has_out(&self) -> bool {
        self.has_out.load(Ordering::Relaxed)
    }

    /// An edge leaves this lock; the graph knows it (its drop removes it).
    #[inline]
    pub(crate) fn mark_has_out(&self) {
        self.has_out.store(true, Ordering::Relaxed);
        self.in_graph.store(true, Ordering::Relaxed);
    }

    /// The object now has a node in the lock-order graph, or a deferred
    /// edge names it (its drop removes it).
    #[inline]
    pub(crate) fn mark_in_graph(&self) {
        self.in_graph.store(true, Ordering::Relaxed);
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
