"""`python -m lockgraph_threading [-o TRACE] [--check] (script.py | -m module) [args]`: runs a program with `threading` recorded."""

import atexit
import os
import runpy
import sys
import traceback

from . import analyze, install

USAGE = "usage: python -m lockgraph_threading [-o TRACE] [--check] (script.py | -m module) [args...]"


def main(argv):
    out = None
    check = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-o", "--output") and i + 1 < len(argv):
            out = argv[i + 1]
            i += 2
        elif a == "--check":
            check = True
            i += 1
        elif a in ("-h", "--help"):
            print(USAGE)
            print("  -o TRACE   where to write the trace (default: $LOCKGRAPH_TRACE, else lockgraph-<pid>.jsonl)")
            print("  --check    analyze the trace when the program ends; exit 0 clean, 1 findings, 2 unusable")
            return 0
        else:
            break
    rest = argv[i:]
    if not rest or (rest[0] == "-m" and len(rest) < 2):
        print(USAGE, file=sys.stderr)
        return 2
    if rest[0] == "-m":
        target, args, is_module = rest[1], rest[2:], True
    else:
        target, args, is_module = rest[0], rest[1:], False
    status = {"code": 0}
    if check:
        # Registered before `install`, so it runs after the trace is closed
        # (exit handlers run last first), once every non-daemon thread ended.
        atexit.register(_check_at_exit, status)
    path = install(out, program=target)
    status["path"] = path
    sys.argv = [target, *args]
    try:
        if is_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        status["code"] = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
        status["code"] = 1
    return status["code"]


def _check_at_exit(status):
    path = status.get("path")
    if path is None:
        return
    result = analyze(path)
    if result is None:
        print(f"lockgraph: no `lockgraph` binary (set LOCKGRAPH_BIN or put it on PATH); the trace is {path}", file=sys.stderr)
        verdict = 2
    else:
        verdict, stdout, stderr = result
        sys.stdout.write(stdout)
        sys.stderr.write(stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(verdict if verdict != 0 else status["code"])

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
