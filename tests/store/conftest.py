"""Store fixtures: a ``store_url`` on SQLite and on a throwaway PostgreSQL database.

The PostgreSQL database (``tracehound_test_<random>``) is created once per test session at
``TRACEHOUND_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/``), emptied before
each test that uses it, and dropped at the end. Without a server the PostgreSQL cases skip
locally and fail in CI (``CI=true``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tracehound.model import Record

from ..conftest import throwaway_pg_database
from ._support import insert_records

Writer = Callable[[Sequence[Record]], None]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session (dropped afterwards)."""
    with throwaway_pg_database("tracehound_test") as url:
        yield url


def _reset_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema yet) on each dialect."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'store' / 'tracehound.db').as_posix()}"
    url: str = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'store' / 'tracehound.db').as_posix()}"


@pytest.fixture
def writer(store_url: str) -> Iterator[Writer]:
    """Writes records into ``store_url`` (schema created): the SQLite exporter on SQLite, a
    plain SQLAlchemy insert on PostgreSQL (its exporter is not part of the store yet)."""
    from tracehound.store import SQLiteExporter, ensure_schema

    ensure_schema(store_url)
    if store_url.startswith("sqlite"):
        exporter = SQLiteExporter(store_url)
        yield exporter.export
        exporter.shutdown()
        return
    yield lambda records: insert_records(store_url, records)


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database, emptied (no schema yet)."""
    _reset_pg(pg_database)
    return pg_database
