"""Two threads take two locks in opposite orders at the same time: a real deadlock."""
import threading

accounts = threading.Lock()
audit = threading.Lock()
both = threading.Barrier(2)


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


threads = [threading.Thread(target=transfer, name="transfer"), threading.Thread(target=report, name="report")]
for t in threads:
    t.start()
for t in threads:
    t.join()
