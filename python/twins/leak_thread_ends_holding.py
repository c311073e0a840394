"""A thread ends still holding a lock (an early return before release)."""
import threading

lock = threading.RLock()


def worker(fail):
    lock.acquire()
    if fail:
        return  # the release below never runs
    lock.release()


t = threading.Thread(target=worker, args=(True,), name="worker")
t.start()
t.join()
