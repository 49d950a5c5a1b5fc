"""Server fixtures: an app on SQLite and on a throwaway PostgreSQL database, API keys for two
projects, a live ``tracehound serve`` in a subprocess.

PostgreSQL: a database ``tracehound_api_<random>`` is created once per test session at
``TRACEHOUND_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/``), emptied before
each test that uses it and dropped at the end; without a server the PostgreSQL cases skip
locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

import tracehound
from tracehound.api import Limits, create_app

from ..conftest import throwaway_pg_database
from ._support import Api

SRC = str(Path(tracehound.__file__).resolve().parents[1])


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with throwaway_pg_database("tracehound_api") as url:
        yield url


def reset_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS tracehound_partitions CASCADE")
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'store' / 'tracehound.db').as_posix()}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'store' / 'tracehound.db').as_posix()}"
    url: str = request.getfixturevalue("pg_database")
    reset_pg(url)
    return url


TEST_LIMITS = Limits(rate_limit=0, auth_failure_rate=0)


@contextmanager
def running_api(url: str, **options: Any) -> Iterator[Api]:
    options.setdefault("limits", TEST_LIMITS)
    app = create_app(url, **options)
    with TestClient(app, raise_server_exceptions=False) as client:
        server = app.state.tracehound
        keys = {}
        if server.auth:
            keys = {p: server.keys.create(p, f"test {p}").key for p in ("alpha", "beta")}
        yield Api(client, keys, server)


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    with running_api(sqlite_url) as a:
        yield a


@pytest.fixture
def any_api(store_url: str) -> Iterator[Api]:
    """The API on SQLite and on PostgreSQL."""
    with running_api(store_url) as a:
        yield a


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, proc: subprocess.Popen[str], base: str, url: str) -> None:
        self.proc = proc
        self.base = base
        self.store_url = url

    def key(self, project: str) -> str:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "tracehound",
                "keys",
                "create",
                "--project",
                project,
                "--store",
                self.store_url,
            ],
            capture_output=True,
            text=True,
            env=server_env(),
            timeout=60,
            check=True,
        )
        return out.stdout.strip()


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEHOUND_", "OTEL_"))}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return env


@contextmanager
def live_server(url: str, *extra: str) -> Iterator[LiveServer]:
    """``tracehound serve --port 0`` in a subprocess; waits for the URL it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracehound", "serve", "--port", "0", "--store", url, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=server_env(),
    )
    base = None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                base = found.group(1)
            if base is not None and line.strip().startswith("auth"):  # the banner's last line
                break
        if base is None:
            raise AssertionError("tracehound serve did not start:\n" + "".join(lines))
        srv = LiveServer(proc, base, url)
        srv.banner = "".join(lines)  # type: ignore[attr-defined]
        # keep reading its output so the pipe never fills up
        threading.Thread(target=_drain, args=(proc, lines), daemon=True).start()
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait(5)


def _drain(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if len(lines) < 10_000:
            lines.append(line)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
