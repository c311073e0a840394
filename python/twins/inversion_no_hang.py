"""Two threads take two locks in opposite orders, one after the other: nothing hangs, the order is still wrong."""
import threading

config = threading.Lock()
cache = threading.Lock()


def load():
    with config:
        with cache:
            pass


def evict():
    with cache:
        with config:
            pass


for target in (load, evict):
    t = threading.Thread(target=target, name=target.__name__)
    t.start()
    t.join()
