"""Twin of hang_beside_a_heartbeat: the main thread waits for a worker that computes (uses CPU) for longer than the grace period, then finishes. Not a hang."""
import threading
import time

done = threading.Event()


def work():
    end = time.monotonic() + 2.5
    n = 0
    while time.monotonic() < end:
        n += 1
    done.set()


threading.Thread(target=work, name="worker", daemon=True).start()
done.wait()
