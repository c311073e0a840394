"""Happens-before in the recorder: each thread's vector clock, what each primitive's releases published, and `Tracked` values whose reads and writes go to the trace as `access` records.

The trace format carries clocks computed by the recorder (docs/trace-format.md,
*Access*): the analyzer applies each access to the location's shadow with
the clocks given, as it does for the Rust runtime's. Clocks are dicts
`{thread id: count}`; thread ids double as clock slots. Nothing is kept
until the first `Tracked` is created (`on`): a program with no tracked
value pays nothing. Threads the recorder did not start begin from the join
of every clock it knows, which may hide a race, never invent one.
"""

on = False
_tls = None  # the shim's thread-local, set by the shim
_known = {}  # thread id -> its clock (the live dict), for newcomers
_ended = {}  # thread id -> its clock when it ended, for joins


def clock(t):
    """Thread `t`'s clock (the calling thread's), created on first use."""
    vc = getattr(_tls, "vc", None)
    if vc is None:
        vc = {}
        for other in list(_known.values()):
            join_into(vc, other)
        vc[t] = vc.get(t, 0) + 1
        _tls.vc = vc
        _known[t] = vc
    return vc


def join_into(into, other):
    for k, v in other.items():
        if into.get(k, 0) < v:
            into[k] = v


def release(t, published):
    """Thread `t` releases into `published` (a primitive's clock): the
    primitive gets everything the thread has seen; the thread moves on."""
    if not on:
        return
    vc = clock(t)
    join_into(published, vc)
    vc[t] += 1


def acquire(t, published):
    """Thread `t` acquires what `published` holds."""
    if not on:
        return
    join_into(clock(t), published)


def fork(t):
    """Thread `t` starts a thread: the child's first clock."""
    if not on:
        return None
    vc = clock(t)
    child = dict(vc)
    vc[t] += 1
    return child


def start(t, initial):
    """The first thing in a thread the recorder started."""
    vc = dict(initial) if initial is not None else None
    if vc is not None:
        vc[t] = vc.get(t, 0) + 1
        _tls.vc = vc
        _known[t] = vc


def end(t):
    vc = getattr(_tls, "vc", None)
    if vc is not None:
        _ended[t] = dict(vc)
        _known.pop(t, None)


def joined(t, child):
    """Thread `t` returned from joining `child`."""
    if on and child in _ended:
        join_into(clock(t), _ended[child])


def delta(t):
    """The entries of thread `t`'s clock changed since its previous access
    record, as `[slot, value]` pairs."""
    vc = clock(t)
    sent = getattr(_tls, "vc_sent", None)
    if sent is None:
        sent = {}
    out = [[k, v] for k, v in sorted(vc.items()) if sent.get(k) != v]
    _tls.vc_sent = dict(vc)
    return out
