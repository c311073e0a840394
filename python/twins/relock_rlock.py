"""Twin of relock_lock: an RLock may be taken again by its owner."""
import threading

lock = threading.RLock()
with lock:
    with lock:
        pass
