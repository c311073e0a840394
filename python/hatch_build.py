"""The wheel's build hook: with LOCKGRAPH_BINARY naming a built `lockgraph` binary, the wheel bundles it (one `pip install` gives the recorder and the analyzer, as ruff's wheels ship ruff) and is tagged for this platform."""

import os

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        binary = os.environ.get("LOCKGRAPH_BINARY")
        if self.target_name != "wheel" or not binary:
            return
        if not os.path.isfile(binary):
            raise FileNotFoundError(f"LOCKGRAPH_BINARY={binary}: no such file")
        build_data["force_include"][binary] = "lockgraph_threading/bin/lockgraph"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
