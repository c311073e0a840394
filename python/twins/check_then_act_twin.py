"""Twin of check_then_act: the check and the act are one critical section."""
import threading

from lockgraph_threading import Tracked

seat = Tracked(None)
guard = threading.Lock()
start = threading.Barrier(2)


def book(name):
    start.wait()
    with guard:
        if seat.get() is None:
            seat.set(name)


threads = [threading.Thread(target=book, args=(n,), name=n) for n in ("ann", "bob")]
for t in threads:
    t.start()
for t in threads:
    t.join()
