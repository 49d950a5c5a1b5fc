"""A small app serving only the dashboard over one store (tests, local viewing)."""

from __future__ import annotations

from fastapi import FastAPI

from ..store._engine import make_engine
from ..store._migrate import ensure_schema
from ._auth import StandaloneAuth
from ._data import WebData
from ._router import router

__all__ = ["create_standalone_app"]


def create_standalone_app(
    store_url: str,
    *,
    api_key: str | None = None,
    project: str | None = None,
    migrate: bool = True,
) -> FastAPI:
    """The dashboard alone, reading the store at ``store_url``. With ``api_key`` every data
    request must present it (``Authorization: Bearer <key>`` or ``X-API-Key``); ``project``
    limits what is shown to one project (``None``: every project of the store)."""
    engine = make_engine(store_url)
    if migrate:
        ensure_schema(store_url)
    app = FastAPI(title="tracehound dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.tracehound_web = WebData(engine, store_url)
    app.state.tracehound_web_auth = StandaloneAuth(api_key, project)
    app.include_router(router)
    return app
