"""JSON error bodies: every error the server answers names the problem and, when one is to
blame, the field.

Shape (see :class:`tracehound.api.schemas.ErrorBody`)::

    {"error": {"status": 422, "code": "invalid_parameter", "message": "limit: …",
               "field": "limit", "details": […]}}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

__all__ = ["ApiError", "error_response", "install_error_handlers"]

log = logging.getLogger("tracehound.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answered as a JSON body. ``headers`` are added to the response (e.g.
    ``Retry-After``)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code or _CODES.get(status, "error")
        self.headers = dict(headers or {})
        self.details = [dict(d) for d in details] if details else None


def error_body(
    status: int,
    message: str,
    *,
    field: str | None = None,
    code: str | None = None,
    details: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "status": status,
        "code": code or _CODES.get(status, "error"),
        "message": message,
        "field": field,
    }
    if details:
        inner["details"] = [dict(d) for d in details]
    return {"error": inner}


def error_response(
    status: int,
    message: str,
    *,
    field: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    details: Sequence[Mapping[str, Any]] | None = None,
) -> Response:
    body = orjson.dumps(error_body(status, message, field=field, code=code, details=details))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _from_api_error(exc: ApiError) -> Response:
    return error_response(
        exc.status,
        exc.message,
        field=exc.field,
        code=exc.code,
        headers=exc.headers,
        details=exc.details,
    )


def _loc_field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "header", "body", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "request"


def _safe_text(value: Any, limit: int = 200) -> str:
    text = str(value)
    text = "".join(c if c.isprintable() else "\ufffd" for c in text[:limit])
    return text


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors[:20]:
        out.append(
            {
                "field": _loc_field(err.get("loc", ())),
                "message": _safe_text(err.get("msg", "invalid")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    """JSON bodies for :class:`ApiError`, validation errors, HTTP errors and anything
    unexpected (logged; the body never carries internals)."""

    async def on_api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _from_api_error(exc)

    async def on_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = validation_details(list(exc.errors()))
        first = details[0] if details else {"field": "request", "message": "invalid"}
        return error_response(
            422,
            f"{first['field']}: {first['message']}",
            field=first["field"],
            details=details,
        )

    async def on_http(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else _CODES.get(exc.status_code, "")
        return error_response(
            exc.status_code,
            str(message) or "error",
            headers=getattr(exc, "headers", None),
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error_response(500, "internal error (logged by the server)")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
