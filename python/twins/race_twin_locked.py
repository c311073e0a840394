"""Twin of race_counter: every read and write of the counter is under one lock."""
import threading

from lockgraph_threading import Tracked

hits = Tracked(0)
guard = threading.Lock()
start = threading.Barrier(2)


def count():
    start.wait()
    for _ in range(50):
        with guard:
            hits.set(hits.get() + 1)


threads = [threading.Thread(target=count, name=f"counter-{i}") for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("hits:", hits.get())
