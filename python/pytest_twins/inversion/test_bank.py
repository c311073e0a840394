"""Two tests, each fine alone and run one after the other: together they take two locks in opposite orders."""
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
    with audit:
        with accounts:
            pass


def test_transfer():
    in_worker(transfer)


def test_report():
    in_worker(report)
