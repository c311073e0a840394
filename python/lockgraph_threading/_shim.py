"""The recorded primitives: drop-in replacements for `threading`'s, each writing what it does to the trace.

`install` puts them in place of `threading.Lock`, `RLock`, `Condition`,
`Semaphore`, `BoundedSemaphore`, `Event`, `Barrier`, `Thread` and `Timer`.
They are written on `_thread`'s locks and `threading`'s own classes built
with explicit, unpatched locks, so `threading`'s internals are never
recorded: while a recorded primitive runs its own machinery, the thread is
*internal*, and a patched constructor then returns the plain object.

Python semantics are kept: a `Lock` has no owner (any thread may release
it), which the trace says (`"owned": false`) so that the analyzer does not
call a relock a certain self-deadlock when another thread could end it.
"""

import _thread
import collections
import linecache
import re
import threading
import time

from . import _hb, _trace

_allocate_lock = _thread.allocate_lock
_RawRLock = _thread.RLock
_OrigCondition = threading.Condition
_OrigThread = threading.Thread
_OrigEvent = threading.Event
_OrigSemaphore = threading.Semaphore
_OrigBoundedSemaphore = threading.BoundedSemaphore
_OrigBarrier = threading.Barrier
_OrigTimer = threading.Timer
_OrigLock = threading.Lock
_OrigRLock = threading.RLock
BrokenBarrierError = threading.BrokenBarrierError

_tls = threading.local()
_hb._tls = _tls
_rec = None  # the open Trace, once installed

# Threads started and not ended (ids), and what each blocked thread waits
# for: id -> (since, untimed). Read by the watchdog.
live = set()
blocked = {}


def _internal():
    return getattr(_tls, "internal", 0) > 0


class _Internal:
    """While entered, the thread is inside a recorded primitive's machinery."""

    __slots__ = ()

    def __enter__(self):
        _tls.internal = getattr(_tls, "internal", 0) + 1

    def __exit__(self, *exc):
        _tls.internal -= 1


_INTERNAL = _Internal()


def _tid():
    """This thread's trace id, handed out (with its thread record) on first use."""
    t = getattr(_tls, "id", None)
    if t is None:
        t = _rec.new_thread_id()
        _tls.id = t
        _rec.thread_record(t, threading.current_thread().name)
    return t


def _ev(ev, t, **keys):
    record = {"ev": ev, "t": t}
    record.update(keys)
    _rec.write(record)


_NAME = re.compile(
    r"^\s*(?:(?:with|async with)\s+)?([A-Za-z_][\w.]*)\s*(?::[^=]+)?=\s*(?:[\w.]+\.)?"
    r"(?:Lock|RLock|Condition|Semaphore|BoundedSemaphore|Event|Barrier|Tracked)\s*\("
)


def _name_at(site_frame_depth=3):
    """The name the creating line gives the object (`lock_a = Lock()`), if any."""
    import sys

    f = sys._getframe(site_frame_depth)
    while f is not None and f.f_code.co_filename.startswith(_trace._SKIP):
        f = f.f_back
    if f is None:
        return None
    m = _NAME.match(linecache.getline(f.f_code.co_filename, f.f_lineno))
    return m.group(1) if m else None


def _new(kind, **extra):
    return _rec.new_object(kind, _name_at(), _rec.site(3), **extra)


def _held():
    h = getattr(_tls, "held", None)
    if h is None:
        h = _tls.held = []
    return h


def _took(t, o, s, mode, published):
    """Thread `t` now holds lock `o`: its held list, and what the lock's
    releases published."""
    _held().append([o, s, mode])
    _hb.acquire(t, published)


def _gave(t, o, published):
    h = _held()
    for i in range(len(h) - 1, -1, -1):
        if h[i][0] == o:
            del h[i]
            break
    _hb.release(t, published)


# The object id a join waits on: 2^62 + the joined thread (the trace format's).
_THREAD_OBJECTS = 1 << 62


def _block(t, untimed, o, s, on="lock", by=None, mode="exclusive"):
    """Thread `t` starts a wait on `o`: since when, whether only another
    thread can end it, and what the watchdog writes if it reports it."""
    wait = {"t": t, "o": o, "s": s or 0, "mode": mode, "held": _held()}
    if on != "lock":
        wait["on"] = on
    if by is not None:
        wait["by"] = by
    blocked[t] = (time.monotonic(), untimed, wait)


def _unblock(t):
    blocked.pop(t, None)


class Lock:
    """`threading.Lock`, recorded. No owner: any thread may release it."""

    __slots__ = ("_inner", "_id", "_vc", "__weakref__")

    def __new__(cls):
        if _internal() or _rec is None:
            return _allocate_lock()
        return object.__new__(cls)

    def __init__(self):
        self._inner = _allocate_lock()
        self._vc = {}
        self._id = _new("mutex", owned=False, api="Lock")

    _MODE = "exclusive"

    def acquire(self, blocking=True, timeout=-1):
        inner = self._inner
        if _internal():
            return inner.acquire(blocking, timeout)
        t, s = _tid(), _rec.site()
        # An untimed blocking acquisition is the one that can wait forever:
        # it orders locks. A try or a timed one cannot, and adds no order.
        untimed = blocking and timeout < 0
        # Taken and written in one step under the trace's lock, as a
        # release is: the file keeps the order of the two.
        with _rec.lock:
            if inner.acquire(False):
                _rec.write_locked(
                    {"ev": "acquire" if untimed else "try", "t": t, "o": self._id, "s": s, "mode": self._MODE}
                )
                _took(t, self._id, s, self._MODE, self._vc)
                return True
        if not blocking:
            _ev("try_fail", t, o=self._id, s=s, mode=self._MODE)
            return False
        if untimed:
            _ev("wait", t, o=self._id, s=s, mode=self._MODE)
        _block(t, untimed, self._id, s, mode=self._MODE)
        try:
            ok = inner.acquire(True, timeout)
        finally:
            _unblock(t)
        _ev(("acquire" if untimed else "try") if ok else "try_fail", t, o=self._id, s=s, mode=self._MODE)
        if ok:
            _took(t, self._id, s, self._MODE, self._vc)
        return ok

    __enter__ = acquire

    def release(self):
        if _internal() or not self._inner.locked():
            return self._inner.release()
        # Let go under the trace's lock: no other thread can write its
        # acquisition before this release.
        t = _tid()
        _gave(t, self._id, self._vc)
        with _rec.lock:
            self._inner.release()
            _rec.write_locked({"ev": "release", "t": t, "o": self._id})

    def __exit__(self, *exc):
        self.release()

    def locked(self):
        return self._inner.locked()

    # Condition's protocol, unrecorded (the wait records it).
    def _release_save(self):
        self._inner.release()

    def _acquire_restore(self, _state):
        self._inner.acquire()

    def _is_owned(self):
        if self._inner.acquire(False):
            self._inner.release()
            return False
        return True

    def _at_fork_reinit(self):
        self._inner = _allocate_lock()

    def __repr__(self):
        return f"<lockgraph Lock #{self._id} {'locked' if self.locked() else 'unlocked'}>"


class RLock(Lock):
    """`threading.RLock`, recorded: reentrant, owned."""

    __slots__ = ()

    def __new__(cls):
        if _internal() or _rec is None:
            return _RawRLock()
        return object.__new__(cls)

    def __init__(self):
        self._inner = _RawRLock()
        self._vc = {}
        self._id = _new("reentrant_mutex", api="RLock")

    _MODE = "reentrant"

    def release(self):
        if _internal() or not self._inner._is_owned():
            return self._inner.release()
        t = _tid()
        _gave(t, self._id, self._vc)
        with _rec.lock:
            self._inner.release()
            _rec.write_locked({"ev": "release", "t": t, "o": self._id})

    def locked(self):
        return self._is_owned()

    def _release_save(self):
        return self._inner._release_save()

    def _acquire_restore(self, state):
        self._inner._acquire_restore(state)

    def _is_owned(self):
        return self._inner._is_owned()

    def _at_fork_reinit(self):
        self._inner = _RawRLock()


class Condition:
    """`threading.Condition`, recorded: waits, wake-ups and notifications."""

    def __new__(cls, lock=None):
        if _internal() or _rec is None:
            return _OrigCondition(lock if lock is not None else _RawRLock())
        return object.__new__(cls)

    def __init__(self, lock=None):
        if lock is None:
            lock = RLock()
        self._lock = lock
        self.acquire = lock.acquire
        self.release = lock.release
        self._waiters = collections.deque()
        self._id = _new("condvar", api="Condition")

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def _is_owned(self):
        own = getattr(self._lock, "_is_owned", None)
        if own is not None:
            return own()
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def _mutex(self):
        return getattr(self._lock, "_id", 0)

    def wait(self, timeout=None):
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        waiter = _allocate_lock()
        waiter.acquire()
        self._waiters.append(waiter)
        t, s, m = _tid(), _rec.site(), self._mutex()
        how = {} if timeout is None else {"how": "timed"}
        # The lock is let go under the trace's own lock, so no other thread
        # can write its acquisition of it before these lines. An RLock held
        # n times is let go n times, and taken back n times.
        published = getattr(self._lock, "_vc", None)
        if published is not None:
            _hb.release(t, published)
        with _rec.lock:
            with _INTERNAL:
                saved = self._lock._release_save()
            depth = saved[0] if isinstance(saved, tuple) and saved and isinstance(saved[0], int) else 1
            for _ in range(depth):
                _rec.write_locked({"ev": "release", "t": t, "o": m})
            _rec.write_locked(dict({"ev": "cv_wait", "t": t, "o": self._id, "mutex": m, "s": s}, **how))
        _block(t, timeout is None, self._id, s, on="anyone")
        gotit = False
        try:
            if timeout is None:
                waiter.acquire()
                gotit = True
            elif timeout > 0:
                gotit = waiter.acquire(True, timeout)
            else:
                gotit = waiter.acquire(False)
            return gotit
        finally:
            _unblock(t)
            with _INTERNAL:
                self._lock._acquire_restore(saved)
            if published is not None:
                _hb.acquire(t, published)
            if not gotit:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            _ev("cv_woken", t, o=self._id, mutex=m, s=s, how="notified" if gotit else "timeout")
            for _ in range(depth - 1):
                _ev("acquire", t, o=m, s=s, mode="reentrant")

    def wait_for(self, predicate, timeout=None):
        end = None
        left = timeout
        result = predicate()
        while not result:
            if left is not None:
                if end is None:
                    end = time.monotonic() + left
                else:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
            self.wait(left)
            result = predicate()
        return result

    def _wake(self, n, everyone):
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        woken = 0
        while woken < n and self._waiters:
            waiter = self._waiters.popleft()
            try:
                waiter.release()
                woken += 1
            except RuntimeError:
                pass
        _ev("notify", _tid(), o=self._id, s=_rec.site(3), woken=woken, all=everyone)

    def notify(self, n=1):
        self._wake(n, False)

    def notify_all(self):
        self._wake(len(self._waiters), True)

    notifyAll = notify_all


class _Waits:
    """A primitive beyond locks: an unrecorded condition, and the waiters it counts."""

    def _setup(self, kind):
        self._cond = _OrigCondition(_allocate_lock())
        self._waiting = 0
        self._vc = {}
        self._id = _new(kind, api=type(self).__name__)

    def _wait_until(self, ready, timeout, t, s):
        """Waits under `self._cond` until `ready()`; whether it became so."""
        _ev("block", t, o=self._id, s=s, how="wait" if timeout is None else "timed")
        _block(t, timeout is None, self._id, s, on="anyone")
        self._waiting += 1
        try:
            with _INTERNAL:
                return self._cond.wait_for(ready, timeout)
        finally:
            self._waiting -= 1
            _unblock(t)


class Semaphore(_Waits):
    """`threading.Semaphore`, recorded: permits taken and given back."""

    def __new__(cls, value=1):
        if _internal() or _rec is None:
            return (_OrigBoundedSemaphore if cls is BoundedSemaphore else _OrigSemaphore)(value)
        return object.__new__(cls)

    def __init__(self, value=1):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value
        self._setup("semaphore")

    def acquire(self, blocking=True, timeout=None):
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        t, s = _tid(), _rec.site()
        with self._cond:
            ok = self._value > 0
            if not ok and blocking:
                ok = self._wait_until(lambda: self._value > 0, timeout, t, s)
                _ev("unblock", t, o=self._id, s=s, how="ok" if ok else "timeout")
            if ok:
                self._value -= 1
                _ev("take", t, o=self._id, s=s)
                _hb.acquire(t, self._vc)
            return ok

    __enter__ = acquire

    def release(self, n=1):
        if n < 1:
            raise ValueError("n must be one or more")
        t, s = _tid(), _rec.site()
        with self._cond:
            self._over(n)
            _hb.release(t, self._vc)
            self._value += n
            for _ in range(n):
                _ev("give", t, o=self._id, s=s)
            woken = min(n, self._waiting)
            _ev("signal", t, o=self._id, s=s, how="release", woken=woken)
            self._cond.notify(n)

    def _over(self, n):
        pass

    def __exit__(self, *exc):
        self.release()


class BoundedSemaphore(Semaphore):
    """`threading.BoundedSemaphore`, recorded: releasing more than it holds is a `ValueError`."""

    def __init__(self, value=1):
        super().__init__(value)
        self._initial = value

    def _over(self, n):
        if self._value + n > self._initial:
            raise ValueError("Semaphore released too many times")


class Event(_Waits):
    """`threading.Event`, recorded: sets, clears and waits."""

    def __new__(cls):
        if _internal() or _rec is None:
            return _OrigEvent()
        return object.__new__(cls)

    def __init__(self):
        self._flag = False
        self._setup("event")

    def is_set(self):
        return self._flag

    isSet = is_set

    def set(self):
        t, s = _tid(), _rec.site()
        with self._cond:
            self._flag = True
            _hb.release(t, self._vc)
            _ev("signal", t, o=self._id, s=s, how="set", woken=self._waiting)
            self._cond.notify_all()

    def clear(self):
        t, s = _tid(), _rec.site()
        with self._cond:
            self._flag = False
            _ev("signal", t, o=self._id, s=s, how="clear", woken=0)

    def wait(self, timeout=None):
        t, s = _tid(), _rec.site()
        with self._cond:
            if self._flag:
                _hb.acquire(t, self._vc)
                return True
            ok = self._wait_until(lambda: self._flag, timeout, t, s)
            _ev("unblock", t, o=self._id, s=s, how="ok" if ok else "timeout")
            if ok:
                _hb.acquire(t, self._vc)
            return ok


class Barrier(_Waits):
    """`threading.Barrier`, recorded: arrivals, waits, aborts and resets."""

    def __new__(cls, parties, action=None, timeout=None):
        if _internal() or _rec is None:
            return _OrigBarrier(parties, action, timeout)
        return object.__new__(cls)

    def __init__(self, parties, action=None, timeout=None):
        if parties < 1:
            raise ValueError("parties must be >= 1")
        self._parties = parties
        self._action = action
        self._timeout = timeout
        self._count = 0
        self._generation = 0
        self._broken = False
        self._setup("barrier")

    @property
    def parties(self):
        return self._parties

    @property
    def n_waiting(self):
        return self._count

    @property
    def broken(self):
        return self._broken

    def _break(self, t, s, how):
        self._broken = True
        _ev("signal", t, o=self._id, s=s, how=how, woken=self._waiting)
        self._cond.notify_all()

    def wait(self, timeout=None):
        if timeout is None:
            timeout = self._timeout
        t, s = _tid(), _rec.site()
        with self._cond:
            if self._broken:
                raise BrokenBarrierError
            index = self._count
            self._count += 1
            _hb.release(t, self._vc)
            if self._count == self._parties:
                _ev("signal", t, o=self._id, s=s, how="arrive", woken=self._waiting)
                try:
                    if self._action:
                        self._action()
                except BaseException:
                    self._break(t, s, "abort")
                    raise
                self._count = 0
                self._generation += 1
                self._cond.notify_all()
                _hb.acquire(t, self._vc)
                return index
            _ev("signal", t, o=self._id, s=s, how="arrive", woken=0)
            gen = self._generation
            ok = self._wait_until(lambda: self._generation != gen or self._broken, timeout, t, s)
            if self._generation != gen:
                _ev("unblock", t, o=self._id, s=s, how="ok")
                _hb.acquire(t, self._vc)
                return index
            self._count -= 1
            if not ok:
                self._break(t, s, "abort")
            _ev("unblock", t, o=self._id, s=s, how="broken" if ok else "timeout")
            raise BrokenBarrierError

    def abort(self):
        t, s = _tid(), _rec.site()
        with self._cond:
            self._break(t, s, "abort")

    def reset(self):
        t, s = _tid(), _rec.site()
        with self._cond:
            if self._count > 0:
                self._break(t, s, "reset")
            self._count = 0
            self._generation += 1
            self._broken = False
            self._cond.notify_all()


class Thread(_OrigThread):
    """`threading.Thread`, recorded: start (a spawn), the thread's end, joins."""

    def __init__(self, *args, **kwargs):
        with _INTERNAL:
            super().__init__(*args, **kwargs)
        self._lg_id = None

    def start(self):
        if _rec is None:
            return super().start()
        t, s = _tid(), _rec.site()
        child = _rec.new_thread_id()
        self._lg_id = child
        _rec.thread_record(child, self.name)
        _ev("spawn", t, child=child, s=s)
        initial = _hb.fork(t)
        run = self.run

        def recorded_run():
            _tls.id = child
            _hb.start(child, initial)
            try:
                run()
            finally:
                _hb.end(child)
                _ev("exit", child)
                live.discard(child)

        self.run = recorded_run
        live.add(child)
        with _INTERNAL:
            try:
                super().start()
            except BaseException:
                live.discard(child)
                raise

    def join(self, timeout=None):
        child = getattr(self, "_lg_id", None)
        if child is None or _rec is None or _internal():
            return super().join(timeout)
        t, s = _tid(), _rec.site()
        if timeout is None:
            _ev("join", t, child=child, s=s)
        _block(t, timeout is None, _THREAD_OBJECTS + child, s, on="thread", by=child)
        try:
            with _INTERNAL:
                super().join(timeout)
        finally:
            _unblock(t)
        if not self.is_alive():
            _hb.joined(t, child)


class Timer(Thread):
    """`threading.Timer` on the recorded `Thread`."""

    def __init__(self, interval, function, args=None, kwargs=None):
        super().__init__()
        self.interval = interval
        self.function = function
        self.args = args if args is not None else []
        self.kwargs = kwargs if kwargs is not None else {}
        with _INTERNAL:
            self.finished = _OrigEvent()

    def cancel(self):
        self.finished.set()

    def run(self):
        self.finished.wait(self.interval)
        if not self.finished.is_set():
            self.function(*self.args, **self.kwargs)
        self.finished.set()


PATCHED = {
    "Lock": Lock,
    "RLock": RLock,
    "Condition": Condition,
    "Semaphore": Semaphore,
    "BoundedSemaphore": BoundedSemaphore,
    "Event": Event,
    "Barrier": Barrier,
    "Thread": Thread,
    "Timer": Timer,
}
ORIGINAL = {name: getattr(threading, name) for name in PATCHED}


class Tracked:
    """A value whose reads and writes are recorded, so that `lockgraph
    analyze` finds data races and atomicity violations on it: `get()`,
    `set(v)`, or the `value` property. Its name is taken from the creating
    line (`hits = Tracked(0)`), or given. Values are shown with `repr`."""

    def __init__(self, value=None, name=None):
        if _rec is None:
            raise RuntimeError("lockgraph_threading is not recording: call install() first")
        _hb.on = True
        self._value = value
        self._n = 0
        self._id = _rec.new_object("tracked", name or _name_at(2), _rec.site(2), api="Tracked")

    def _access(self, kind, value):
        t, s = _tid(), _rec.site(3)
        with _rec.lock:
            n = self._n
            self._n += 1
            if kind == "w":
                self._value = value
            shown = repr(self._value)
            record = {
                "t": t,
                "o": self._id,
                "n": n,
                "k": kind,
                "slot": t,
                "vc": _hb.delta(t),
                "s": s,
                "v": shown if len(shown) <= 80 else shown[:77] + "...",
            }
            held = _held()
            if held:
                record["held"] = [list(h) for h in held]
            _rec.write_locked({"access": record})
            return self._value

    def get(self):
        """Reads the value (recorded)."""
        return self._access("r", None)

    def set(self, value):
        """Writes the value (recorded)."""
        self._access("w", value)

    value = property(get, set)

    def __repr__(self):
        return f"Tracked({self._value!r})"
