"""Request limits and hostile-input handling for the write endpoints.

* The body is read with a cap (``max_body_bytes``, 5 MB by default) on the wire *and* after
  decompression: gzip/deflate are inflated incrementally with a bounded output, so a gzip bomb
  costs at most the cap before it is refused with 413.
* Content types and encodings are checked first (415).
* JSON is parsed with orjson (rejects NaN/Infinity, invalid UTF-8, lone surrogates, raw
  control characters: 400 naming ``body``), then its nesting depth is checked (≤ 64).
* NUL characters (``\\u0000``) are replaced by U+FFFD in every string and key: PostgreSQL
  cannot store them, and no trace needs them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from starlette.requests import Request

from .._gc import tune_gc
from .errors import ApiError

__all__ = [
    "Limits",
    "check_depth",
    "media_type",
    "parse_json",
    "read_body",
    "strip_nul",
    "tune_gc",
]

MB: Final = 1024 * 1024
_REPLACEMENT: Final = "\ufffd"


@dataclass(frozen=True, slots=True)
class Limits:
    """Server limits. ``rate_limit`` is requests per second per API key (0: off) with bursts
    of ``rate_burst``; ``queue_max_records`` bounds the records waiting for the writer (503
    beyond it)."""

    max_body_bytes: int = 5 * MB
    max_records: int = 1000
    max_json_depth: int = 64
    max_id_length: int = 800
    max_page: int = 500
    max_trace_spans: int = 10_000
    queue_max_records: int = 100_000
    write_timeout_s: float = 30.0
    rate_limit: float = 100.0
    rate_burst: int = 200
    auth_failure_rate: float = 5.0
    auth_failure_burst: int = 30


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters (``""`` when missing)."""
    raw = request.headers.get("content-type", "")
    return raw.split(";", 1)[0].strip().lower()


def require_media_type(request: Request, allowed: Iterable[str]) -> str:
    wanted = tuple(allowed)
    got = media_type(request)
    if got not in wanted:
        shown = got or "none"
        raise ApiError(
            415,
            f"content-type: {shown!r} is not accepted here; send {' or '.join(wanted)}",
            field="content-type",
        )
    return got


def _too_large(limit: int, after: str = "") -> ApiError:
    return ApiError(
        413,
        f"body: larger than {limit // MB if limit % MB == 0 else limit} "
        f"{'MB' if limit % MB == 0 else 'bytes'}{after}",
        field="body",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, decompressed, at most ``limit`` bytes (413 beyond it)."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower() or "identity"
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise ApiError(
            415,
            f"content-encoding: {encoding[:40]!r} is not supported; use gzip, deflate or none",
            field="content-encoding",
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "content-length: not a number", field="content-length") from None
        if size > limit:
            raise _too_large(limit)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise _too_large(limit)
    if encoding == "identity":
        return bytes(raw)
    return inflate(bytes(raw), encoding, limit)


def inflate(data: bytes, encoding: str, limit: int) -> bytes:
    """Decompress gzip (every member) or deflate (zlib or raw) with bounded output."""
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    else:
        # zlib-wrapped deflate is what HTTP means; some clients send raw deflate.
        wbits = zlib.MAX_WBITS if data[:1] and (data[0] & 0x0F) == 8 else -zlib.MAX_WBITS
    out = bytearray()
    pending = data
    try:
        while pending:
            inflater = zlib.decompressobj(wbits)
            chunk = pending
            while chunk:
                out += inflater.decompress(chunk, limit + 1 - len(out))
                if len(out) > limit:
                    raise _too_large(limit, " after decompression")
                chunk = inflater.unconsumed_tail
            if not inflater.eof:
                out += inflater.flush()
                if not inflater.eof:
                    raise ApiError(400, f"body: truncated {encoding} data", field="body")
            if len(out) > limit:
                raise _too_large(limit, " after decompression")
            pending = inflater.unused_data if wbits > 16 else b""
            # Trailing zero padding after the last gzip member is tolerated.
            if pending and not pending.strip(b"\x00"):
                break
    except zlib.error as exc:
        raise ApiError(400, f"body: invalid {encoding} data ({exc})", field="body") from None
    return bytes(out)


def parse_json(body: bytes, max_depth: int, *, nul: bool = True) -> Any:
    """Parse JSON (400 naming ``body`` on invalid input, 422 when nested too deep). NUL
    characters are replaced unless ``nul`` is false (the caller then does it)."""
    if not body.strip():
        raise ApiError(400, "body: empty; expected a JSON document", field="body")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body: invalid JSON ({exc})", field="body") from None
    check_depth(value, max_depth)
    if nul and has_nul(body):
        value = strip_nul(value)
    return value


def has_nul(body: bytes) -> bool:
    """Whether a JSON text may hold an escaped NUL character."""
    return b"\\u0000" in body


def check_depth(value: Any, max_depth: int) -> None:
    """422 when containers nest deeper than ``max_depth`` (the document itself is depth 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > max_depth:
            raise ApiError(422, f"body: JSON nested deeper than {max_depth} levels", field="body")
        if type(node) is dict:
            for child in node.values():
                if type(child) is dict or type(child) is list:
                    push((child, depth + 1))
        elif type(node) is list:
            for child in node:
                if type(child) is dict or type(child) is list:
                    push((child, depth + 1))


def strip_nul(value: Any) -> Any:
    """``value`` with every NUL character in strings and keys replaced by U+FFFD."""
    if type(value) is str:
        return value.replace("\x00", _REPLACEMENT) if "\x00" in value else value
    if type(value) is dict:
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    if type(value) is list:
        return [strip_nul(v) for v in value]
    return value
