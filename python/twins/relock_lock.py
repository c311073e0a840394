"""A thread takes a Lock it already holds: it waits for itself, forever."""
import threading

lock = threading.Lock()
with lock:
    with lock:
        pass
