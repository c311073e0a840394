"""Correct use of Semaphore, BoundedSemaphore, Event, Barrier, Timer and Condition.notify_all together: silent."""
import threading

pool = threading.BoundedSemaphore(2)
go = threading.Event()
meet = threading.Barrier(3)
cond = threading.Condition(threading.Lock())
count = {"n": 0}


def worker():
    go.wait()
    meet.wait()  # all three meet, then at most two at a time use the pool
    with pool:
        pass
    with cond:
        count["n"] += 1
        cond.notify_all()


threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(3)]
for t in threads:
    t.start()
timer = threading.Timer(0.05, go.set)
timer.start()
with cond:
    cond.wait_for(lambda: count["n"] == 3, timeout=10)
for t in threads:
    t.join()
timer.join()
try:
    pool.release()
except ValueError:
    pass  # released too many times: BoundedSemaphore says so
