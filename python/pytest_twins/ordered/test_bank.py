"""Twin of ../inversion: both tests take the locks in one order."""
import threading


def in_worker(body):
    """Runs the test's body on a worker thread, as the code under test would run."""
    t = threading.Thread(target=body)
    t.start()
    t.join()

accounts = threading.Lock()
audit = threading.Lock()


def transfer():
    with accounts:
        with audit:
            pass


def report():
    with accounts:
        with audit:
            pass


def test_transfer():
    in_worker(transfer)


def test_report():
    in_worker(report)
