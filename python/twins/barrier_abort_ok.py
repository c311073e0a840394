"""A barrier a thread aborts: the others leave their waits with BrokenBarrierError instead of hanging; a reset makes it usable again. Silent."""
import threading

meet = threading.Barrier(3)
broken = []


def party():
    try:
        meet.wait()
    except threading.BrokenBarrierError:
        broken.append(threading.current_thread().name)


threads = [threading.Thread(target=party, name=f"p{i}") for i in range(2)]
for t in threads:
    t.start()
while meet.n_waiting < 2:
    pass
meet.abort()
for t in threads:
    t.join()
assert sorted(broken) == ["p0", "p1"], broken
meet.reset()
again = threading.Barrier(1)
again.wait()
