"""The ``http`` exporter: sends batches to a tracehound server's ``POST /v1/ingest``.

Configure with ``exporters=("http",)`` (or add it to the list), ``http_endpoint`` (the
server's base URL, e.g. ``http://127.0.0.1:4318``) and ``api_key`` (environment:
``TRACEHOUND_EXPORTERS``, ``TRACEHOUND_HTTP_ENDPOINT``, ``TRACEHOUND_API_KEY``).

* Standard library only (``http.client``), one keep-alive connection per exporter.
* A batch is split into requests of at most 1000 records and ~4 MB of JSON (the server's
  limits), each gzip-compressed.
* Answers: 200 → stored; 207 → stored except the records the server rejected (counted in
  :attr:`HttpExporter.rejected`, never retried: they would be rejected again); 400/413/415/422
  for a whole request → its records are dropped and counted likewise (a too-large request is
  split first); 401/403, 429, 5xx and network errors → the export raises, so the pipeline
  retries, spools the batch to disk and re-sends it later (ingest is idempotent on record
  ids, so a batch sent twice is stored once).
"""

from __future__ import annotations

import gzip
import http.client
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from ...exceptions import ConfigError, ExporterError
from ...model import Record, encode_dict

__all__ = ["HttpExporter"]

log = logging.getLogger("tracehound")

MAX_RECORDS: Final = 1000
MAX_BYTES: Final = 4 * 1024 * 1024
_PERMANENT: Final = frozenset({400, 413, 415, 422})


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return orjson.dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS)


class HttpExporter:
    """Exports batches to ``<endpoint>/v1/ingest`` with ``Authorization: Bearer <api_key>``."""

    name = "http"

    def __init__(
        self,
        endpoint: str | None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        compress: bool = True,
    ) -> None:
        if not endpoint:
            raise ConfigError(
                "http_endpoint: the http exporter needs the server's URL "
                "(TRACEHOUND_HTTP_ENDPOINT=http://host:4318)"
            )
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"http_endpoint: expected http(s)://host[:port], got {endpoint!r}")
        path = parts.path.rstrip("/")
        if not path.endswith("/v1/ingest"):
            path += "/v1/ingest"
        self.endpoint = endpoint
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._path = path
        self.api_key = api_key
        self.timeout = timeout
        self.compress = compress
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.sent = 0
        self.rejected = 0
        self.requests = 0

    # -- the exporter contract -------------------------------------------------------------
    def export(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        if os.getpid() != self._pid:
            self.after_fork()
        with self._lock:
            for chunk in self._chunks(batch):
                self._send(chunk)

    def force_flush(self, timeout: float | None = None) -> bool:
        return True

    def shutdown(self) -> None:
        with self._lock:
            self._close()

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._conn = None  # the parent's socket is the parent's
        self._pid = os.getpid()

    # -- internals -------------------------------------------------------------------------
    def _chunks(self, batch: Sequence[Record]) -> list[list[bytes]]:
        chunks: list[list[bytes]] = []
        current: list[bytes] = []
        size = 2
        for record in batch:
            data = _dumps(encode_dict(record))
            if current and (len(current) >= MAX_RECORDS or size + len(data) + 1 > MAX_BYTES):
                chunks.append(current)
                current, size = [], 2
            current.append(data)
            size += len(data) + 1
        if current:
            chunks.append(current)
        return chunks

    def _connection(self) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            conn = self._conn = cls(self._host, self._port, timeout=self.timeout)
        return conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:  # pragma: no cover
                pass

    def _post(self, body: bytes) -> tuple[int, bytes, str | None]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.compress:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", self._path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                retry_after = response.getheader("Retry-After")
                if response.getheader("Connection", "").lower() == "close":
                    self._close()
                self.requests += 1
                return response.status, data, retry_after
            except (http.client.HTTPException, OSError) as exc:
                self._close()
                # A kept-alive connection the server closed: retry once on a new one.
                if attempt == 2 or not isinstance(
                    exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                ):
                    raise ExporterError(f"http exporter: {self.endpoint}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, chunk: list[bytes]) -> None:
        body = b"[" + b",".join(chunk) + b"]"
        status, data, retry_after = self._post(body)
        if status == 200:
            self.sent += len(chunk)
            return
        if status == 207:
            try:
                answer = orjson.loads(data)
                rejected = int(answer.get("rejected", 0))
                first = (answer.get("errors") or [{}])[0].get("message")
            except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
                rejected, first = 0, None
            self.sent += len(chunk) - rejected
            self.rejected += rejected
            log.warning(
                "tracehound server rejected %d of %d records (first: %s)",
                rejected,
                len(chunk),
                first,
            )
            return
        if status == 413 and len(chunk) > 1:
            half = len(chunk) // 2
            self._send(chunk[:half])
            self._send(chunk[half:])
            return
        message = _message(data)
        if status in _PERMANENT:
            self.rejected += len(chunk)
            log.warning(
                "tracehound server refused %d records (%d %s); they are dropped",
                len(chunk),
                status,
                message,
            )
            return
        wait = f", retry after {retry_after}s" if retry_after else ""
        raise ExporterError(f"http exporter: {self.endpoint} answered {status} {message}{wait}")


def _message(data: bytes) -> str:
    try:
        answer = orjson.loads(data)
        return str(answer["error"]["message"])[:300]
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        return data[:200].decode("utf-8", "replace")


def _factory(settings: Any, session_id: str) -> HttpExporter:
    return HttpExporter(settings.http_endpoint, api_key=settings.api_key)


def _register() -> None:
    from ...sdk import _runtime

    _runtime._EXTRA_FACTORIES.setdefault("http", _factory)


_register()
