"""Twin of inversion_no_hang: both nested acquisitions happen under one common lock."""
import threading

gate = threading.Lock()
config = threading.Lock()
cache = threading.Lock()


def load():
    with gate:
        with config:
            with cache:
                pass


def evict():
    with gate:
        with cache:
            with config:
                pass


for target in (load, evict):
    t = threading.Thread(target=target, name=target.__name__)
    t.start()
    t.join()
