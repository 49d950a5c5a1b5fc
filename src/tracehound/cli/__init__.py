"""The ``tracehound`` command line. Each command module registers its commands on ``app``."""

from __future__ import annotations

from ._app import app

# Command modules (importing registers their commands).
from . import _core  # noqa: E402,F401  demo, sessions, show, version

__all__ = ["app", "main"]


def main() -> None:
    app()
