//! The replay's race pass: a trace's tracked-location accesses applied to the same shadows, in each location's recorded order.
//!
//! Each `access` record carries what `race::Shadow::apply` needs: the
//! operation, the thread's clock (as changes since its previous access
//! record) and the operation's place in its location's order. Records of
//! one location can come in another order than they happened (each thread
//! writes its own), so each location keeps the ones that came early until
//! their turn; at the end of the trace, what is still waiting (after a gap
//! a crash left) is applied in order.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::model::Mode;
use crate::race::{Access, LocOp, Race, Shadow, VClock, Violation};
use crate::trace::AccessRecord;

/// What the replay keeps about an access beside its epoch.
#[derive(Clone, Debug)]
pub(super) struct Tag {
    pub(super) site: u64,
    pub(super) held: Vec<(u64, u64, Mode)>,
    pub(super) sync: Option<(String, Option<u64>, u64)>,
    pub(super) value: Option<String>,
}

/// What applying an access found, on which location.
pub(super) enum Found {
    Race(u64, Race<Tag>),
    Violation(u64, Violation<Tag>),
}

struct Pending {
    op: LocOp,
    access: Option<Access<Tag>>,
    clock: VClock,
}

#[derive(Default)]
struct Location {
    shadow: Shadow<Tag>,
    next: u64,
    early: BTreeMap<u64, Pending>,
}

/// The race pass of one trace.
#[derive(Default)]
pub(super) struct Races {
    /// Each thread's clock as of its latest access record.
    clocks: FxHashMap<u64, VClock>,
    locations: FxHashMap<u64, Location>,
    /// Pairs of sites already reported on a location, as live.
    reported: FxHashSet<(u64, u64, u64)>,
}

impl Races {
    /// One access record; `check` says whether the location's accesses can
    /// race (not an atomic's). Returns what applying it (and the records
    /// that waited for it) found.
    pub(super) fn access(&mut self, a: AccessRecord, check: bool) -> Vec<Found> {
        let Some(op) = LocOp::from_code(&a.k, check) else {
            return Vec::new();
        };
        let clock = if op == LocOp::Reset {
            VClock::new()
        } else {
            let c = self.clocks.entry(a.t).or_default();
            for &(slot, v) in &a.vc {
                c.set(slot, v);
            }
            c.clone()
        };
        let access = op.kind().map(|kind| Access {
            epoch: clock.epoch(a.slot),
            thread: a.t,
            kind,
            tag: Tag {
                site: a.s,
                held: a.held,
                sync: a.sync,
                value: a.v,
            },
        });
        let loc = self.locations.entry(a.o).or_default();
        loc.early.insert(a.n, Pending { op, access, clock });
        let mut found = Vec::new();
        while let Some(p) = loc.early.remove(&loc.next) {
            loc.next += 1;
            apply(a.o, loc, p, &mut self.reported, &mut found);
        }
        found
    }

    /// The end of the trace: records still waiting for one that never came
    /// are applied in their order.
    pub(super) fn finish(&mut self) -> Vec<Found> {
        let mut found = Vec::new();
        let mut ids: Vec<u64> = self.locations.keys().copied().collect();
        ids.sort_unstable();
        for o in ids {
            let loc = self.locations.get_mut(&o).expect("listed");
            while let Some((n, p)) = loc.early.pop_first() {
                loc.next = n + 1;
                apply(o, loc, p, &mut self.reported, &mut found);
            }
        }
        found
    }
}

fn apply(
    o: u64,
    loc: &mut Location,
    p: Pending,
    reported: &mut FxHashSet<(u64, u64, u64)>,
    found: &mut Vec<Found>,
) {
    let (_, out) = loc.shadow.apply(p.op, p.access, &p.clock);
    let mut first = |a: u64, b: u64| reported.insert((o, a.min(b), a.max(b)));
    if let Some(r) = out.race {
        if first(r.earlier.tag.site, r.later.tag.site) {
            found.push(Found::Race(o, *r));
        }
    }
    if let Some(v) = out.violation {
        if first(v.read.tag.site, v.write.tag.site) {
            found.push(Found::Violation(o, *v));
        }
    }
}
