"""Twin of ab_ba_hang: both threads take the locks in one global order."""
import threading

accounts = threading.Lock()
audit = threading.Lock()
both = threading.Barrier(2)


def transfer():
    both.wait()
    with accounts:
        with audit:
            pass


def report():
    both.wait()
    with accounts:
        with audit:
            pass


threads = [threading.Thread(target=transfer, name="transfer"), threading.Thread(target=report, name="report")]
for t in threads:
    t.start()
for t in threads:
    t.join()
