"""Fixtures of the broker tests: private NATS JetStream and PostgreSQL servers (started by the
tests on free ports, never the machine's shared ones), store URLs, a ledger check.

Without nats-server / PostgreSQL binaries the tests that need them skip locally and fail
under ``CI=true``.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from ._services import IN_CI, NatsServer, PgServer, nats_available, pg_available


def _missing(what: str, reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required in CI: {reason}")
    pytest.skip(f"{what} unavailable: {reason}")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A private nats-server with JetStream, for this test only."""
    reason = nats_available()
    if reason:
        _missing("NATS", reason)
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A private PostgreSQL cluster for the session (tests may stop and start it)."""
    reason = pg_available()
    if reason:
        _missing("PostgreSQL", reason)
    server = PgServer().init().start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh database on the private cluster (the cluster restarted if a test stopped it)."""
    import psycopg

    try:
        psycopg.connect(pg_server.url, connect_timeout=2).close()
    except psycopg.OperationalError:
        pg_server.start()
    return pg_server.create_database(f"th_{secrets.token_hex(5)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'store.db').as_posix()}"
    url: str = request.getfixturevalue("pg_url")
    return url


def stored_ids(url: str, table: str = "events") -> list[str]:
    """Every id in ``table`` (duplicates included, if the store ever allowed them)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if not Path(path).exists():
            return []
        conn = sqlite3.connect(path)
        try:
            return [r[0] for r in conn.execute(f"SELECT id FROM {table}")]
        except sqlite3.OperationalError:
            return []
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as conn:
        try:
            return [r[0] for r in conn.execute(f"SELECT id FROM {table}")]
        except psycopg.errors.UndefinedTable:
            return []


def check_ledger(ledger: Iterable[str], stored: list[str]) -> tuple[int, int]:
    """(lost, duplicates) of the emitted ids against the stored rows."""
    want = set(ledger)
    lost = len(want - set(stored))
    duplicates = len(stored) - len(set(stored))
    return lost, duplicates
