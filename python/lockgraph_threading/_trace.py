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
        self._f.write(_line(record))

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
                self._f.flush()

    def close(self):
        with self._lock:
            if not self._closed:
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
