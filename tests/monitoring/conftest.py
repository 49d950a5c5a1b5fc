"""Monitoring fixtures: synthetic stores on SQLite and on a throwaway PostgreSQL database
(created once per test session at ``TRACEHOUND_TEST_PG``, dropped at the end; without a
server the PostgreSQL cases skip locally and fail in CI), and a local webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tracehound.model import Span
from tracehound.monitoring._synthetic import Injection

from ..conftest import throwaway_pg_database
from ._support import END_NS, Receiver, history, last_hours, load_postgres, write_sqlite


def faults() -> list[Injection]:
    """The reference incident: writer's error rate jumps to 35% and critic's latency triples
    for the last four hours."""
    start, end = last_hours(4)
    return [
        Injection("error_rate", "writer", start, end, 0.35),
        Injection("latency", "critic", start, end, 3.0),
    ]


@pytest.fixture(scope="session")
def faulty_records() -> list[Span]:
    return history(1, faults())


@pytest.fixture(scope="session")
def clean_records() -> list[Span]:
    return history(2)


@pytest.fixture(scope="session")
def faulty_sqlite(tmp_path_factory: pytest.TempPathFactory, faulty_records: list[Span]) -> str:
    return write_sqlite(tmp_path_factory.mktemp("faulty") / "tracehound.db", faulty_records)


@pytest.fixture(scope="session")
def clean_sqlite(tmp_path_factory: pytest.TempPathFactory, clean_records: list[Span]) -> str:
    return write_sqlite(tmp_path_factory.mktemp("clean") / "tracehound.db", clean_records)


@pytest.fixture(scope="session")
def faulty_pg(faulty_records: list[Span]) -> Iterator[str]:
    with throwaway_pg_database("tracehound_monitoring") as url:
        load_postgres(url, faulty_records)
        yield url


@pytest.fixture(scope="session")
def clean_pg(clean_records: list[Span]) -> Iterator[str]:
    with throwaway_pg_database("tracehound_monitoring") as url:
        load_postgres(url, clean_records)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def faulty_url(request: pytest.FixtureRequest) -> str:
    name = "faulty_sqlite" if request.param == "sqlite" else "faulty_pg"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def clean_url(request: pytest.FixtureRequest) -> str:
    name = "clean_sqlite" if request.param == "sqlite" else "clean_pg"
    url: str = request.getfixturevalue(name)
    return url


def _copy(url: str, target: Path) -> str:
    import shutil

    from tracehound.store._engine import sqlite_path

    source = sqlite_path(url)
    assert source is not None
    shutil.copy(source, target)
    return f"sqlite:///{target.as_posix()}"


@pytest.fixture
def faulty_copy(faulty_sqlite: str, tmp_path: Path) -> str:
    """A private copy of the faulty SQLite store (for tests that write alerts into it)."""
    return _copy(faulty_sqlite, tmp_path / "faulty.db")


@pytest.fixture
def clean_copy(clean_sqlite: str, tmp_path: Path) -> str:
    return _copy(clean_sqlite, tmp_path / "clean.db")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture
def new_pg() -> Iterator[str]:
    """An empty throwaway PostgreSQL database (no schema)."""
    with throwaway_pg_database("tracehound_monitoring") as url:
        yield url


__all__ = ["END_NS", "faults"]
