"""Check, then act, in two critical sections: both threads see the seat free, both take it; the first booking is lost."""
import threading

from lockgraph_threading import Tracked

seat = Tracked(None)
guard = threading.Lock()
both_checked = threading.Barrier(2)
first_booked = threading.Event()


def book(name, first):
    with guard:
        free = seat.get() is None
    both_checked.wait()
    if not first:
        first_booked.wait()
    if free:
        with guard:
            seat.set(name)
    if first:
        first_booked.set()


threads = [threading.Thread(target=book, args=(n, n == "ann"), name=n) for n in ("ann", "bob")]
for t in threads:
    t.start()
for t in threads:
    t.join()
