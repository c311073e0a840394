"""The trace writer: lockgraph's trace format (docs/trace-format.md), one JSON object a line.

Every line is written under one lock, so the file's order is the order in
which threads did things (a release is written before the lock is let go,
an acquisition after it is taken). Lines are buffered and flushed every
100 ms by a flusher thread, at exit, and before the watchdog reports: a
trace from a process that was killed is readable up to its last flush.
"""

import _thread
import json
import os
import sys
import time

# This package's own files, and threading's: never a user's call site.
_HERE = os.path.dirname(os.path.abspath(__file__))
_SKIP = (_HERE, os.path.dirname(os.path.abspath(__import__("threading").__file__)) + os.sep + "threading.py")


# Lock events, the ones a repeated block may hold, and the longest block.
# Not `try_fail`: the replay counts failed attempts toward a livelock, and
# a Python trace has no live livelock record to fall back on.
_LOCK_EVENTS = frozenset(("acquire", "release", "try"))
_MAX_BLOCK = 8


def _balanced(block):
    """Whether a block of (line, event, object) starts and ends with the
    thread holding the same locks."""
    count = {}
    for _line_text, ev, o in block:
        if ev in ("acquire", "try"):
            count[o] = count.get(o, 0) + 1
        elif ev == "release":
            count[o] = count.get(o, 0) - 1
    return not any(count.values())


def _value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if type(v) is int:
        return str(v)
    if type(v) is str and v.isidentifier():
        # Event words (`acquire`, `exclusive`, `timed`): nothing to escape.
        return '"' + v + '"'
    return json.dumps(v, separators=(",", ":"))


def _line(record):
    """One record as its line: flat records by hand (the common case, with
    no escaping to do), anything else through `json`."""
    return "{" + ",".join('"' + k + '":' + _value(v) for k, v in record.items()) + "}\n"


class Trace:
    """One open trace file, and the ids it has handed out."""

    def __init__(self, path, program):
        self._lock = _thread.allocate_lock()
        # Held to write; a primitive may hold it to let a lock go and say so
        # in one step (`write_locked`).
        self.lock = self._lock
        self._f = open(path, "w", encoding="utf-8", buffering=1 << 16)
        self.path = path
        self._sites = {}
        self._codes = {}
        self._next_site = 1
        self._next_object = 1
        self._next_thread = 1
        self._threads = {}
        self._closed = False
        self._run_t = None
        self._recent = []
        self._block = None
        self._k = 0
        self._at = 0
        self._repeats = 0
        self._write_now(
            {
                "lockgraph_trace": 1,
                "program": program,
                "pid": os.getpid(),
                "start_unix_ms": int(time.time() * 1000),
                "runtime": "python",
            }
        )

    # -- writing ---------------------------------------------------------

    def _write_now(self, record):
        ev = record.get("ev")
        t = record.get("t")
        if ev in _LOCK_EVENTS:
            self._lock_line(t, ev, record.get("o"), _line(record))
            return
        self._end_run()
        self._f.write(_line(record))

    # -- repeated blocks ---------------------------------------------------
    #
    # As the Rust recorder does: when a thread repeats a block of lock
    # events that starts and ends with it holding the same locks (a loop
    # taking and releasing locks), the copies after the second are one
    # `repeat` line ("the previous k events happened n more times").
    # Only while no other thread writes in between: the file keeps the
    # real order across threads.

    def _lock_line(self, t, ev, o, line):
        if self._run_t != t:
            self._end_run()
            self._run_t = t
        if self._block is not None:
            if line == self._block[self._at]:
                self._at += 1
                if self._at == len(self._block):
                    self._repeats += 1
                    self._at = 0
                return
            self._end_run()
            self._run_t = t
        self._f.write(line)
        self._recent.append((line, ev, o))
        if len(self._recent) > 2 * _MAX_BLOCK:
            del self._recent[0]
        for k in range(1, _MAX_BLOCK + 1):
            if len(self._recent) < 2 * k:
                break
            tail = self._recent[-k:]
            if [x[0] for x in self._recent[-2 * k : -k]] == [x[0] for x in tail] and _balanced(tail):
                self._block = [x[0] for x in tail]
                self._k = k
                self._at = 0
                self._repeats = 0
                break

    def _end_run(self):
        """Writes what a run of repeats counted, and the part of a block
        that began to repeat but did not finish."""
        if self._block is not None:
            if self._repeats:
                self._f.write(
                    '{"ev":"repeat","t":%d,"k":%d,"n":%d}\n' % (self._run_t, self._k, self._repeats)
                )
            for line in self._block[: self._at]:
                self._f.write(line)
        self._block = None
        self._at = 0
        self._repeats = 0
        self._recent = []
        self._run_t = None

    def write(self, record):
        """Writes one record (a dict), in the order of calls across threads."""
        with self._lock:
            if not self._closed:
                self._write_now(record)

    def write_locked(self, record):
        """`write`, for a caller that holds `lock`."""
        if not self._closed:
            self._write_now(record)

    def flush(self):
        with self._lock:
            if not self._closed:
                self._count_out()
                self._f.flush()

    def _count_out(self):
        """Writes the repeats counted so far, so that a flush loses none,
        and goes on counting if the run is between two copies."""
        if self._block is None:
            return
        if self._at:
            self._end_run()
            return
        if self._repeats:
            self._f.write('{"ev":"repeat","t":%d,"k":%d,"n":%d}\n' % (self._run_t, self._k, self._repeats))
            self._repeats = 0

    def close(self):
        with self._lock:
            if not self._closed:
                self._end_run()
                self._f.flush()
                self._f.close()
                self._closed = True

    # -- ids ---------------------------------------------------------------

    def new_thread_id(self):
        with self._lock:
            t = self._next_thread
            self._next_thread += 1
            return t

    def thread_record(self, t, name):
        self.write({"thread": t, "name": name})

    def new_object(self, kind, name, site, **extra):
        with self._lock:
            o = self._next_object
            self._next_object += 1
        record = {"object": o, "kind": kind, "name": name, "site": site}
        record.update(extra)
        self.write(record)
        return o

    def site(self, depth=2):
        """The id of the caller's site: the innermost frame outside this
        package and `threading`, with its column where Python has one."""
        f = sys._getframe(depth)
        while f is not None and f.f_code.co_filename.startswith(_SKIP):
            f = f.f_back
        if f is None:
            return None
        code = f.f_code
        key = (code, f.f_lasti)
        s = self._codes.get(key)
        if s is not None:
            return s
        line, col = f.f_lineno or 0, 0
        positions = getattr(code, "co_positions", None)
        if positions is not None:
            try:
                for i, p in enumerate(positions()):
                    if i == f.f_lasti // 2:
                        if p[0] is not None:
                            line = p[0]
                        if p[2] is not None:
                            col = p[2] + 1
                        break
            except Exception:  # a code object Python cannot map
                pass
        place = (code.co_filename, line, col)
        with self._lock:
            s = self._sites.get(place)
            if s is None:
                s = self._next_site
                self._next_site += 1
                self._sites[place] = s
                if not self._closed:
                    self._write_now({"site": s, "file": place[0], "line": line, "col": col})
            self._codes[key] = s
        return s
