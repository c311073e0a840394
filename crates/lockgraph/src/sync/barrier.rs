//! `Barrier`: parties meet, an optional action runs once, and everyone goes on; or it breaks.

use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location};
use std::time::{Duration, Instant};

use super::core::{Core, Done, Kind, Loc, Signal, Waker};

/// The state behind a [`Barrier`].
struct Round {
    /// Parties waiting in the current round.
    arrived: usize,
    /// The current round.
    round: u64,
    /// Broken (timed out, aborted, or its action panicked) until reset.
    broken: bool,
    /// For the last 64 rounds, bit `round % 64` set if it ended broken (a reset).
    ended_broken: u64,
}

/// A barrier is broken: a party timed out, [`Barrier::abort`] or
/// [`Barrier::reset`] was called, or the action panicked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenBarrier;

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken (a party timed out, it was aborted or reset, or its action panicked)")
    }
}

impl std::error::Error for BrokenBarrier {}

/// What [`Barrier::wait`] tells a party that passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    index: usize,
    leader: bool,
}

impl BarrierWaitResult {
    /// Whether this party was the last to arrive (and ran the action, if any).
    pub fn is_leader(self) -> bool {
        self.leader
    }

    /// The order of arrival in this round, from 0 (first) to parties - 1 (the leader).
    pub fn index(self) -> usize {
        self.index
    }
}

type Action = Box<dyn Fn() + Send + Sync>;

/// A barrier for a fixed number of parties, like Python's
/// `threading.Barrier`: each party calls [`Barrier::wait`]; the last to
/// arrive runs the optional action, then all go on together, and the
/// barrier is ready for the next round.
///
/// A party that times out (its own timeout or the barrier's default)
/// breaks the barrier for everyone: every waiter, and every later wait
/// until [`Barrier::reset`], gets [`BrokenBarrier`] as an error value.
///
/// A barrier short of parties, whose missing parties are all blocked or
/// gone, is reported as a `deadlock` listing who waits, instead of hanging.
///
/// ```
/// use lockgraph::{thread, Barrier};
/// use std::sync::Arc;
///
/// let start = Arc::new(Barrier::new(3).with_name("start"));
/// let workers: Vec<_> = (0..2)
///     .map(|_| {
///         let start = start.clone();
///         thread::spawn(move || start.wait().unwrap().is_leader())
///     })
///     .collect();
/// let me = start.wait().unwrap().is_leader();
/// let leaders = workers.into_iter().map(|w| w.join().unwrap()).filter(|&l| l).count();
/// assert_eq!(leaders + usize::from(me), 1);
/// ```
pub struct Barrier {
    core: Core<Round>,
    parties: usize,
    action: Option<Action>,
    timeout: Option<Duration>,
}

impl Barrier {
    /// A barrier for `parties` parties (at least 1).
    #[track_caller]
    pub fn new(parties: usize) -> Self {
        Barrier {
            core: Core::new(
                Round {
                    arrived: 0,
                    round: 0,
                    broken: false,
                    ended_broken: 0,
                },
                Kind::Barrier,
                None,
                Location::caller(),
            ),
            parties: parties.max(1),
            action: None,
            timeout: None,
        }
    }

    /// A barrier whose last arriving party runs `action` before anyone is
    /// released. If the action panics, the barrier breaks and the panic
    /// goes on in that party.
    #[track_caller]
    pub fn with_action(parties: usize, action: impl Fn() + Send + Sync + 'static) -> Self {
        // `new` is `track_caller` too: the barrier's site is our caller's.
        let mut b = Barrier::new(parties);
        b.action = Some(Box::new(action));
        b
    }

    /// The same barrier with a default timeout for [`Barrier::wait`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The same barrier under a name; reports use it.
    pub fn with_name(mut self, name: &'static str) -> Self {
        self.core.rename(name);
        self
    }

    /// Waits for the other parties (at most the default timeout, if any).
    #[track_caller]
    pub fn wait(&self) -> Result<BarrierWaitResult, BrokenBarrier> {
        let deadline = self.timeout.and_then(|t| Instant::now().checked_add(t));
        self.arrive(Location::caller(), deadline)
    }

    /// Waits for the other parties at most `timeout`; running out breaks the barrier.
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BrokenBarrier> {
        self.arrive(Location::caller(), Instant::now().checked_add(timeout))
    }

    fn arrive(
        &self,
        site: Loc,
        deadline: Option<Instant>,
    ) -> Result<BarrierWaitResult, BrokenBarrier> {
        let mut s = self.core.state.lock();
        if s.arrived >= self.parties && !s.broken {
            // The round is full and its leader runs the action: this party
            // belongs to the next round.
            let full = s.round;
            let next = self.core.wait(&mut s, site, deadline, Waker::Anyone, |r| {
                (r.round != full || r.broken).then_some(Done::Ok)
            });
            if next.is_none() {
                s.broken = true;
                self.core.wake_all();
                return Err(BrokenBarrier);
            }
        }
        if s.broken {
            return Err(BrokenBarrier);
        }
        let round = s.round;
        let index = s.arrived;
        self.core.publish();
        s.arrived += 1;
        if s.arrived == self.parties {
            // The leader leaves after every party arrived.
            self.core.synced(site);
            drop(s);
            self.core.signal(Signal::Arrive, 0, site);
            // The action runs without the state locked: it may look at the barrier.
            if let Some(action) = &self.action {
                if let Err(p) = panic::catch_unwind(AssertUnwindSafe(action)) {
                    self.break_round(site);
                    panic::resume_unwind(p);
                }
            }
            let mut s = self.core.state.lock();
            if s.broken || s.round != round {
                // Aborted or reset while the action ran.
                return Err(BrokenBarrier);
            }
            s.arrived = 0;
            s.ended_broken &= !(1 << (round % 64));
            s.round += 1;
            self.core.wake_all();
            return Ok(BarrierWaitResult {
                index,
                leader: true,
            });
        }
        drop(s);
        self.core.signal(Signal::Arrive, 0, site);
        // A party leaving by a panic (a deadlock report) breaks the barrier
        // for the rest. Made before the lock, so dropped after it.
        let guard = BreakOnUnwind(self);
        let mut s = self.core.state.lock();
        let done = self.core.wait(&mut s, site, deadline, Waker::Anyone, |r| {
            if r.round != round {
                Some(if r.ended_broken & (1 << (round % 64)) != 0 {
                    Done::Broken
                } else {
                    Done::Ok
                })
            } else if r.broken {
                Some(Done::Broken)
            } else {
                None
            }
        });
        std::mem::forget(guard);
        match done {
            Some(Done::Ok) => Ok(BarrierWaitResult {
                index,
                leader: false,
            }),
            Some(Done::Broken) => Err(BrokenBarrier),
            None => {
                // Timed out: the barrier breaks for everyone.
                s.broken = true;
                self.core.wake_all();
                Err(BrokenBarrier)
            }
        }
    }

    fn break_round(&self, site: Loc) {
        let mut s = self.core.state.lock();
        s.broken = true;
        let woken = self.core.wake_all();
        drop(s);
        self.core.signal(Signal::Abort, woken as u64, site);
    }

    /// Breaks the barrier: every waiter, and every wait until [`Barrier::reset`], gets [`BrokenBarrier`].
    #[track_caller]
    pub fn abort(&self) {
        self.break_round(Location::caller());
    }

    /// Returns the barrier to its first state: parties waiting now get
    /// [`BrokenBarrier`]; later waits start a fresh round.
    #[track_caller]
    pub fn reset(&self) {
        let mut s = self.core.state.lock();
        let round = s.round;
        if s.arrived > 0 || s.broken {
            s.ended_broken |= 1 << (round % 64);
        }
        s.arrived = 0;
        s.broken = false;
        s.round += 1;
        let woken = self.core.wake_all();
        drop(s);
        self.core
            .signal(Signal::Reset, woken as u64, Location::caller());
    }

    /// Whether the barrier is broken.
    pub fn is_broken(&self) -> bool {
        self.core.state.lock().broken
    }

    /// How many parties are waiting in the current round.
    pub fn n_waiting(&self) -> usize {
        let s = self.core.state.lock();
        if s.broken {
            0
        } else {
            s.arrived
        }
    }

    /// How many parties a round needs.
    pub fn parties(&self) -> usize {
        self.parties
    }
}

/// Breaks the barrier if a waiting party unwinds (the runtime ended its wait
/// to report a deadlock), so the other parties are not left waiting for it.
struct BreakOnUnwind<'a>(&'a Barrier);

impl Drop for BreakOnUnwind<'_> {
    fn drop(&mut self) {
        // Only reached by unwinding: the normal path forgets the guard. The
        // state lock is released by then (its guard is dropped first).
        if let Some(mut s) = self.0.core.state.try_lock() {
            s.broken = true;
            self.0.core.wake_all();
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.is_broken())
            .finish()
    }
}
