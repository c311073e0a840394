"""`pytest --lockgraph`: records the test session's `threading` primitives, analyzes the trace at the end, prints the report, and fails the session on error findings.

Registered as a pytest plugin by the package's entry point (or load it
with ``-p lockgraph_threading.pytest_plugin``). ``--lockgraph-trace PATH``
says where the trace goes (default: ``$LOCKGRAPH_TRACE``, else a file in
the working directory). The analysis honours ``lockgraph.toml`` baselines
as ``lockgraph analyze`` does. A session whose threads all hang in
recorded waits is ended with the report instead of hanging.
"""

import json

import pytest

from . import _at_exit, analyze, install


def pytest_addoption(parser):
    group = parser.getgroup("lockgraph")
    group.addoption(
        "--lockgraph",
        action="store_true",
        help="record threading's primitives and fail the session on lockgraph's error findings",
    )
    group.addoption("--lockgraph-trace", default=None, help="where to write the trace")
    group.addoption(
        "--lockgraph-fail-on",
        choices=("error", "warning"),
        default="error",
        help="the least severe finding that fails the session (default: error)",
    )


def pytest_configure(config):
    if config.getoption("lockgraph"):
        config._lockgraph_trace = install(config.getoption("lockgraph_trace"), program="pytest")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    path = getattr(session.config, "_lockgraph_trace", None)
    if path is None:
        return
    _at_exit()
    text = analyze(path)
    report = analyze(path, "--format", "json")
    config = session.config
    if text is None or report is None:
        config._lockgraph_report = (
            f"lockgraph: no `lockgraph` binary (set LOCKGRAPH_BIN or put it on PATH); the trace is {path}\n"
        )
        return
    config._lockgraph_report = text[1] + text[2]
    try:
        findings = json.loads(report[1]).get("findings", [])
    except ValueError:
        findings = []
        config._lockgraph_report += f"lockgraph: the analysis of {path} failed: {report[2]}\n"
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        return
    failing = ("error",) if config.getoption("lockgraph_fail_on") == "error" else ("error", "warning")
    if any(f.get("severity") in failing for f in findings) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = getattr(config, "_lockgraph_report", None)
    if report:
        terminalreporter.section("lockgraph")
        terminalreporter.write(report)
