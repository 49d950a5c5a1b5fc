"""Who may read the dashboard's data, and which store it reads.

Mounted in the server (``create_app``), the ``/ui/api`` routes use the server's own API-key
dependency, so a key sees exactly what it sees through ``/v1``: its project. In the small
standalone app (:func:`tracehound.web.create_standalone_app`, for tests and local use) an
optional single key guards the same routes.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy.engine import Engine

__all__ = ["Principal", "StandaloneAuth", "require_principal", "server_engine"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The reader: ``project`` (``None``: every project of the store) and the key id."""

    project: str | None
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class StandaloneAuth:
    """The standalone app's guard: one key (``None``: open) and the project it reads."""

    api_key: str | None
    project: str | None

    def __call__(self, request: Request) -> Principal:
        if self.api_key is not None:
            presented = presented_key(request)
            if presented is None or not hmac.compare_digest(
                presented.encode("utf-8", "surrogatepass"),
                self.api_key.encode("utf-8", "surrogatepass"),
            ):
                raise HTTPException(
                    status_code=401,
                    detail="a valid API key is required (Authorization: Bearer <key>)",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return Principal(self.project, "standalone" if self.api_key else None)


def presented_key(request: Request) -> str | None:
    """The key of a request: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


async def require_principal(request: Request) -> Any:
    """The dashboard's auth dependency: the standalone guard when the app has one, else the
    server's principal (the same check as every ``/v1`` endpoint)."""
    guard = getattr(request.app.state, "tracehound_web_auth", None)
    if isinstance(guard, StandaloneAuth):
        return guard(request)
    raise HTTPException(status_code=500, detail="the dashboard is not wired to an auth check")


def server_engine(app: Any) -> tuple[Engine, str]:
    """The engine (and URL) of the store the server reads."""
    state = app.state
    engine = getattr(state, "tracehound_web_engine", None)
    url = getattr(state, "tracehound_web_url", None)
    if isinstance(engine, Engine):
        return engine, url or engine.url.render_as_string(hide_password=False)
    raise RuntimeError("the dashboard cannot find the server's store engine")
