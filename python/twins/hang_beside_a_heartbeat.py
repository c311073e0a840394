"""A real deadlock while a daemon heartbeat thread sleeps in a loop beside it: the heartbeat could in principle do anything, but it sleeps through the grace period, so the hang still ends with the report."""
import threading
import time

accounts = threading.Lock()
audit = threading.Lock()
both = threading.Barrier(2)


def heartbeat():
    while True:
        time.sleep(0.5)


def transfer():
    with accounts:
        both.wait()
        with audit:
            pass


def report():
    with audit:
        both.wait()
        with accounts:
            pass


threading.Thread(target=heartbeat, name="heartbeat", daemon=True).start()
threads = [threading.Thread(target=transfer, name="transfer"), threading.Thread(target=report, name="report")]
for t in threads:
    t.start()
for t in threads:
    t.join()
