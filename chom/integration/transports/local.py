"""The `local` transport: this machine stands in for a VPS (the `make run` default).

Commands run as argv lists (no shell) with the VPS root as working directory; the site-type
plans' absolute paths are mapped under that root by the VPS profile, not here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from chom.plugin_api import CommandResult, Transport, hookimpl


class LocalTransport(Transport):
    name = "local"

    def __init__(self, *, vps, config) -> None:
        self.root = vps.settings.get("root") or config["CHOM_LOCAL_VPS_ROOT"]

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 300
    ) -> CommandResult:
        completed = subprocess.run(
            list(argv), input=input, capture_output=True, timeout=timeout, check=False
        )
        return CommandResult(
            completed.returncode,
            completed.stdout.decode(errors="replace"),
            completed.stderr.decode(errors="replace"),
        )


@hookimpl
def chom_register_transports():
    return {"local": LocalTransport}
