"""Twin of livelock_polite: both take the locks in one order, so one always gets both."""
import threading
import time

left = threading.Lock()
right = threading.Lock()


def polite(rounds):
    for _ in range(rounds):
        with left:
            if right.acquire(blocking=False):
                right.release()
        time.sleep(0.0005)


threads = [threading.Thread(target=polite, args=(200,), name=n) for n in ("alice", "bob")]
for t in threads:
    t.start()
for t in threads:
    t.join()
