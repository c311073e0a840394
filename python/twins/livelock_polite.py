"""Two polite threads each hold one lock, fail to get the other, back off and retry, in step: neither ever makes progress."""
import threading
import time

left = threading.Lock()
right = threading.Lock()
step = threading.Barrier(2)


def polite(first, second):
    while True:
        with first:
            step.wait()
            if second.acquire(blocking=False):
                second.release()
                return
            step.wait()
        time.sleep(0.001)


for name, (a, b) in (("alice", (left, right)), ("bob", (right, left))):
    threading.Thread(target=polite, args=(a, b), name=name, daemon=True).start()
time.sleep(1.5)  # the process ends while both still back off
