"""`python -m lockgraph_threading -m pkg`: an inversion in a module run as __main__."""
import threading

first = threading.Lock()
second = threading.Lock()


def forward():
    with first:
        with second:
            pass


def backward():
    with second:
        with first:
            pass


for f in (forward, backward):
    t = threading.Thread(target=f, name=f.__name__)
    t.start()
    t.join()
