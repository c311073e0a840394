"""The notification comes before the wait: the waiter sleeps forever."""
import threading

ready = threading.Condition()

with ready:
    ready.notify()  # nobody waits yet


def consumer():
    with ready:
        ready.wait()


t = threading.Thread(target=consumer, name="consumer")
t.start()
t.join()
