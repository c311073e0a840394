"""Twin of notify_before_wait: the waiter waits for a predicate, so an early notify is not lost."""
import threading

ready = threading.Condition()
state = {"ready": False}

with ready:
    state["ready"] = True
    ready.notify()


def consumer():
    with ready:
        ready.wait_for(lambda: state["ready"])


t = threading.Thread(target=consumer, name="consumer")
t.start()
t.join()
