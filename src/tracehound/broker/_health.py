"""A minimal HTTP endpoint for the consumer service: ``/health`` and ``/ready``.

``GET /health`` → 200 while the service's event loop runs (liveness). ``GET /ready`` → 200 when
the broker and the store are both usable, else 503 with a JSON body naming the failing
dependency (``{"status": "not ready", "failing": ["store"], "store": "OperationalError: …"}``).
Plain asyncio streams: no web framework in the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["HealthServer"]

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class HealthServer:
    """Serves ``/health`` and ``/ready`` from ``status()``: a dict with ``ready`` (bool),
    ``failing`` (names) and any details."""

    def __init__(self, host: str, port: int, status: Callable[[], dict[str, Any]]) -> None:
        self.host = host
        self.port = port
        self._status = status
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        return self.port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            while True:  # skip the headers
                header = await asyncio.wait_for(reader.readline(), 5.0)
                if header in (b"\r\n", b"\n", b""):
                    break
            parts = line.decode("latin-1").split()
            method = parts[0] if parts else ""
            path = parts[1].split("?", 1)[0] if len(parts) > 1 else ""
            code, body = self._route(method, path)
            payload = orjson.dumps(body)
            head = (
                f"HTTP/1.1 {code} {_REASONS.get(code, 'OK')}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            writer.write(head + (b"" if method == "HEAD" else payload))
            await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _route(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        if method not in ("GET", "HEAD"):
            return 405, {"error": "method not allowed"}
        if path in ("/health", "/healthz", "/live"):
            return 200, {"status": "ok"}
        if path in ("/ready", "/readyz"):
            status = self._status()
            if status.get("ready"):
                return 200, {"status": "ready", **status}
            return 503, {"status": "not ready", **status}
        return 404, {"error": "not found", "endpoints": ["/health", "/ready"]}
