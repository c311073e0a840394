"""Two threads each take two locks ten thousand times, in opposite orders, one thread after the other: the trace stays small (repeated blocks are one line) and the inversion is still found."""
import threading

a = threading.Lock()
b = threading.Lock()


def forward():
    for _ in range(10_000):
        with a:
            with b:
                pass


def backward():
    for _ in range(10_000):
        with b:
            with a:
                pass


for target in (forward, backward):
    t = threading.Thread(target=target, name=target.__name__)
    t.start()
    t.join()
