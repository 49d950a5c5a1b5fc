"""The ``tracehound`` command line. Each command module registers its commands on ``app``."""

from __future__ import annotations

# Command modules (importing registers their commands).
from . import _core  # noqa: F401  demo, sessions, show, version
from ._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()


from . import (
    _analysis,  # noqa: F401
    _executions,  # noqa: F401
)
