"""Recording switched on by the environment: `LOCKGRAPH_TRACE` set, every Python process of an environment with the package installed records itself (the `lockgraph_threading.pth` hook imports this at start-up), test runners and subprocesses included."""

import os

if os.environ.get("LOCKGRAPH_TRACE") and os.environ.get("LOCKGRAPH_PYTHON", "on") != "off":
    from . import install

    install(None)
