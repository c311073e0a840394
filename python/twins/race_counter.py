"""Two threads add to a shared counter with nothing ordering their reads and writes: a data race, and lost updates."""
import threading

from lockgraph_threading import Tracked

hits = Tracked(0)
start = threading.Barrier(2)


def count():
    start.wait()
    for _ in range(50):
        hits.set(hits.get() + 1)


threads = [threading.Thread(target=count, name=f"counter-{i}") for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("hits:", hits.get())
