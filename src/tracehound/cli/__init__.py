"""The ``tracehound`` command line. Each command module registers its commands on ``app``.

To add commands: create ``cli/_<area>.py`` using ``from ._app import app`` and add its name to
``_COMMAND_MODULES`` below.
"""

from __future__ import annotations

import importlib
import importlib.util

from ._app import app

__all__ = ["app", "main"]

_COMMAND_MODULES = (
    "_core",  # demo, sessions, traces, show, version
    "_analysis",  # analyze, debug, journey, errors (seed 000)
    "_executions",  # why, timeline, failed, slow, cost (seeds 002/003)
    "_db",  # db upgrade/current, prune
    "_server",  # serve, keys
    "_broker",  # consume, dlq
    "_monitoring",  # anomalies, stats, health, compare, monitor
)

for _name in _COMMAND_MODULES:
    if importlib.util.find_spec(f"{__name__}.{_name}") is not None:
        importlib.import_module(f"{__name__}.{_name}")


def main() -> None:
    app()
