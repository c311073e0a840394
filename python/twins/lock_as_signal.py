"""Twin of relock_lock: a Lock has no owner, so another thread may release it (a lock used as a signal)."""
import threading
import time

done = threading.Lock()
done.acquire()


def worker():
    time.sleep(0.2)  # main is waiting by then, holding the lock itself
    done.release()


t = threading.Thread(target=worker, name="worker")
t.start()
done.acquire()  # waits for the worker's release
done.release()
t.join()
