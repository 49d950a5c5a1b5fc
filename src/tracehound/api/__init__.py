"""The tracehound server: seed 002's REST API, the ``/v1`` API, ingest, OTLP/HTTP, API keys.

``create_app(store_url, auth=…)`` builds the FastAPI application; ``tracehound serve`` runs it
on uvicorn. FastAPI and the other server dependencies are the ``server`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import create_app
    from .auth import KeyStore
    from .limits import Limits

__all__ = ["KeyStore", "Limits", "create_app"]

_MODULES = {"create_app": "._app", "KeyStore": ".auth", "Limits": ".limits"}


def __getattr__(name: str) -> Any:
    import importlib

    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
