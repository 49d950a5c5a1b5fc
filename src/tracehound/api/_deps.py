"""FastAPI dependencies: the server state, the caller's project (authentication and rate
limiting), and common parameter types."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import Depends, Path, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator

from ._state import Server
from .auth import Principal
from .errors import ApiError

__all__ = [
    "ERRORS",
    "Caller",
    "IdPath",
    "IsoDateTime",
    "ServerDep",
    "TextQuery",
    "get_server",
    "principal",
]

#: ids: at most 800 characters, no control characters.
ID_PATTERN: Final = r"^[^\x00-\x1f\x7f]{1,800}$"
TEXT_PATTERN: Final = r"^[^\x00-\x08\x0a-\x1f\x7f]*$"

bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="thk_<id>_<secret>",
    description="A project API key (`tracehound keys create --project P`).",
)
key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="The same API key, in a header (for clients that cannot send a bearer token).",
)


_NUMBER: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _iso_only(value: Any) -> Any:
    """Query times are ISO-8601 text, as the OpenAPI document says: a bare number (which
    pydantic would read as a Unix timestamp) is refused rather than guessed."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError(
            "expected an ISO-8601 date-time such as 2025-01-31T12:00:00Z, not a number"
        )
    return value


#: A date-time query parameter (ISO-8601 only).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


def get_server(request: Request) -> Server:
    server: Server = request.app.state.tracehound
    if not server.started:
        server.start()
    return server


ServerDep = Annotated[Server, Depends(get_server)]


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def principal(
    request: Request,
    server: ServerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    api_key: Annotated[str | None, Security(key_scheme)] = None,
) -> Principal:
    """The caller's project: from a valid API key, or the server's project when auth is off.
    401 without a valid key; 429 (with ``Retry-After``) over the rate limit."""
    if not server.auth:
        who = Principal(server.project, None)
    else:
        presented = bearer.credentials if bearer is not None else api_key
        client = request.client.host if request.client is not None else "unknown"
        found = server.keys.verify(presented) if presented else None
        if found is None:
            wait = server.auth_failures.take(client)
            if wait > 0:
                raise ApiError(
                    429,
                    "too many requests without a valid API key; slow down",
                    field="authorization",
                    headers=_retry_after(wait),
                )
            message = (
                "authorization: missing API key; send 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>'"
                if not presented
                else "authorization: invalid or revoked API key"
            )
            raise ApiError(
                401, message, field="authorization", headers={"WWW-Authenticate": "Bearer"}
            )
        who = found
    wait = server.rate.take(who.key_id or "local")
    if wait > 0:
        raise ApiError(
            429,
            f"rate limit of {server.rate.rate:g} requests/s exceeded; retry later",
            field="authorization",
            headers=_retry_after(wait),
        )
    return who


Caller = Annotated[Principal, Depends(principal)]


def IdPath(description: str) -> Any:
    return Path(description=description, min_length=1, max_length=800, pattern=ID_PATTERN)


def TextQuery(description: str, max_length: int = 800) -> Any:
    return Query(description=description, max_length=max_length, pattern=TEXT_PATTERN)


def _error_response(description: str) -> dict[str, Any]:
    from .schemas import ErrorBody

    return {"model": ErrorBody, "description": description}


ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: _error_response("Bad request (the body or a parameter is malformed)."),
    401: _error_response("Missing, invalid or revoked API key."),
    404: _error_response("Not found in the caller's project."),
    422: _error_response("A parameter or field is invalid (named in the body)."),
    429: _error_response("Rate limit exceeded; see Retry-After."),
    503: _error_response("The store is unavailable or the ingest queue is full; see Retry-After."),
}
