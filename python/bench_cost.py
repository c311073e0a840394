"""What recording costs in CPython: a recorded `with lock:` against a plain one, and the trace bytes per event.

Run: `python3 bench_cost.py` (from python/). Prints both figures.
"""
import json
import os
import sys
import tempfile
import threading
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

N = 200_000
plain = threading.Lock()


def plain_body():
    with plain:
        pass


plain_ns = min(timeit.repeat(plain_body, number=N, repeat=5)) / N * 1e9

import lockgraph_threading  # noqa: E402

path = os.path.join(tempfile.mkdtemp(), "cost.jsonl")
lockgraph_threading.install(path, watchdog=False)
recorded = threading.Lock()


def recorded_body():
    with recorded:
        pass


recorded_ns = min(timeit.repeat(recorded_body, number=N, repeat=5)) / N * 1e9
lockgraph_threading.uninstall()
size = os.path.getsize(path)
lines = events = 0
with open(path, encoding="utf-8") as f:
    for line in f:
        if not line.startswith('{"ev"'):
            continue
        lines += 1
        if line.startswith('{"ev":"repeat"'):
            r = json.loads(line)
            events += r["k"] * r["n"]
        else:
            events += 1
print(f"plain `with lock:` {plain_ns:.0f} ns; recorded {recorded_ns:.0f} ns ({recorded_ns / plain_ns:.1f}x)")
print(
    f"trace: {events} events in {lines} lines (repeated blocks compressed), {size} bytes: "
    f"{size / max(events, 1):.4f} bytes per event, {size / max(lines, 1):.1f} per line"
)
