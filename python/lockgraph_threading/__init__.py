"""lockgraph for Python's `threading`: records a program's locks, conditions, semaphores, events, barriers and threads to a lockgraph trace, which `lockgraph analyze` turns into findings.

Run a program recorded::

    python -m lockgraph_threading [-o TRACE] [--check] script.py [args]
    python -m lockgraph_threading [-o TRACE] [--check] -m module [args]

or a test session: ``pytest --lockgraph``. From code: ``install(path)``
before the program creates its primitives.

A program whose recorded threads are all stuck in recorded waits that
nothing can end is ended after a grace period (``LOCKGRAPH_STALL_GRACE``,
3 s by default) with the analyzer's report and exit status 1, instead of
hanging.
"""

import atexit
import os
import shutil
import subprocess
import sys
import threading
import time

from . import _shim, _trace
from ._shim import Tracked

__all__ = ["install", "uninstall", "trace_path", "analyze", "Tracked"]

_state = {"trace": None, "watchdog": False, "ended": False}


def _grace():
    text = os.environ.get("LOCKGRAPH_STALL_GRACE", "3s").strip()
    try:
        if text.endswith("ms"):
            return float(text[:-2]) / 1000
        return float(text[:-1] if text.endswith("s") else text)
    except ValueError:
        return 3.0


def trace_path():
    """The trace being written, if recording."""
    t = _state["trace"]
    return t.path if t else None


def _default_path(path):
    """`path`, else `LOCKGRAPH_TRACE` (a file, or a directory ending in /),
    else `lockgraph-<pid>.jsonl` in the working directory."""
    if path is None:
        path = os.environ.get("LOCKGRAPH_TRACE") or f"lockgraph-{os.getpid()}.jsonl"
    if path.endswith(os.sep) or os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        path = os.path.join(path, f"python-{os.getpid()}-{int(time.time() * 1000)}.jsonl")
    return os.path.abspath(path)


def install(path=None, program=None, watchdog=True):
    """Starts recording to `path` (see `_default_path`) and puts the recorded
    primitives in `threading`. Primitives created before this are not
    recorded. Returns the trace's path."""
    current = _state["trace"]
    if current is not None:
        if path is None or os.path.abspath(path) == current.path:
            return current.path
        # Switched on by the environment at start-up, and now asked for
        # another file (`-o`): the first one holds nothing yet; it goes.
        _state["trace"] = None
        current.close()
        try:
            os.remove(current.path)
        except OSError:
            pass
    path = _default_path(path)
    trace = _trace.Trace(path, program or os.path.basename(sys.argv[0] or "python"))
    _state["trace"] = trace
    _shim._rec = trace
    _shim._tid()  # the installing thread (the main thread) is thread 1
    for name, cls in _shim.PATCHED.items():
        setattr(threading, name, cls)
    if not _state.get("registered"):
        _state["registered"] = True
        atexit.register(_at_exit)
    if watchdog and not _state["watchdog"]:
        _state["watchdog"] = True
        import _thread

        _thread.start_new_thread(_watch, (trace,))
    return path


def uninstall():
    """Puts `threading`'s own primitives back and closes the trace."""
    for name, cls in _shim.ORIGINAL.items():
        setattr(threading, name, cls)
    _at_exit()


def _at_exit():
    trace = _state["trace"]
    if trace is None or _state["ended"]:
        return
    _state["ended"] = True
    # The exiting thread ends (its leaks count), then the process.
    t = getattr(_shim._tls, "id", None)
    if t is not None:
        trace.write({"ev": "exit", "t": t})
    trace.write({"ev": "exit", "t": 0, "how": "process"})
    trace.close()


def _binary():
    """The `lockgraph` binary: `LOCKGRAPH_BIN`, then the one a wheel built
    with `LOCKGRAPH_BINARY` bundles, then `PATH`."""
    given = os.environ.get("LOCKGRAPH_BIN")
    if given:
        return given
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "lockgraph")
    if os.path.isfile(bundled):
        if not os.access(bundled, os.X_OK):
            try:
                os.chmod(bundled, 0o755)
            except OSError:
                pass
        return bundled
    return shutil.which("lockgraph")


def analyze(path, *extra):
    """Runs `lockgraph analyze` on `path`: (exit code, stdout, stderr), or
    None when no `lockgraph` binary is found (see `_binary`)."""
    binary = _binary()
    if not binary:
        return None
    out = subprocess.run([binary, "analyze", *extra, path], capture_output=True, text=True)
    return out.returncode, out.stdout, out.stderr


def _cpu_ticks(native_id):
    """The CPU time the kernel counted for a thread of this process, in
    clock ticks; None where it cannot say (not Linux, thread gone)."""
    try:
        with open(f"/proc/self/task/{native_id}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


# Threads outside recorded waits: native id -> (CPU ticks, since when they
# used no more than a tick or two).
_asleep = {}


def _stuck(now, grace):
    """None while some thread may still end the stall. Else the blocked
    threads' waits, and the names of the threads outside recorded waits
    that used no CPU for the grace period (asleep: a heartbeat, a sleeping
    watchdog), which the report names, as the Rust runtime does."""
    waits = []
    others = []
    for th in threading.enumerate():
        if not th.is_alive():
            continue
        t = 1 if th is threading.main_thread() else getattr(th, "_lg_id", None)
        b = _shim.blocked.get(t) if t is not None else None
        if b is None:
            others.append(th)
        elif not b[1]:
            return None  # a timed wait ends by itself
        else:
            waits.append(b)
    if not waits or now - max(b[0] for b in waits) < grace:
        return None
    idle = []
    for th in others:
        ticks = _cpu_ticks(th.native_id) if th.native_id is not None else None
        if ticks is None:
            return None  # running or unknown: it might end any wait
        base = _asleep.get(th.native_id)
        if base is None or ticks - base[0] > 2:
            _asleep[th.native_id] = (ticks, now)
            return None
        if now - base[1] < grace:
            return None
        idle.append(th.name)
    return [b[2] for b in waits], idle


def _watch(_first):
    # Nothing this thread does is the program's: it is internal for good.
    _shim._tls.internal = 1
    grace = _grace()
    while not _state["ended"]:
        time.sleep(0.1)
        trace = _state["trace"]
        if trace is None:
            continue
        trace.flush()
        found = _stuck(time.monotonic(), grace)
        if found is not None:
            _report_hang(trace, *found)


def _report_hang(trace, waits, idle):
    _state["ended"] = True
    if idle:
        # The end of the trace alone would count the sleeping threads as
        # able to end the waits: the waits go in as a confirmed stall.
        trace.write({"deadlock": [dict(w, held=[list(h) for h in w["held"]]) for w in waits]})
    trace.close()
    sys.stderr.write("lockgraph: every thread is blocked in a wait nothing can end; ending the program\n")
    if idle:
        sys.stderr.write(
            f"lockgraph: not counted, asleep for the whole grace period ({_grace():g} s): {', '.join(idle)}\n"
        )
    result = analyze(trace.path)
    if result is None:
        sys.stderr.write(f"lockgraph: the trace is {trace.path}: run `lockgraph analyze {trace.path}`\n")
    else:
        sys.stderr.write(result[1])
        sys.stderr.write(result[2])
    sys.stderr.flush()
    os._exit(1)
