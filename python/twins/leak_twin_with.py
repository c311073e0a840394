"""Twin of leak_thread_ends_holding: `with lock:` releases on every way out."""
import threading

lock = threading.RLock()


def worker(fail):
    with lock:
        if fail:
            return


t = threading.Thread(target=worker, args=(True,), name="worker")
t.start()
t.join()
