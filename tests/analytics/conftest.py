"""Analytics fixtures: the recorded scenario loaded into SQLite (through the SQLite exporter)
and into a throwaway PostgreSQL database (created once per test session, dropped after).
Without a PostgreSQL server the PostgreSQL cases skip locally and fail in CI (``CI=true``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tracehound.analytics import ExecutionAnalytics
from tracehound.model import Record

from ..conftest import throwaway_pg_database
from ._loader import load
from ._scenario import Facts, record_scenario


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Record], Facts]:
    return record_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="session")
def analytics_pg_url(scenario: tuple[list[Record], Facts]) -> Iterator[str]:
    with throwaway_pg_database("tracehound_analytics") as url:
        load(url, scenario[0])
        yield url


@pytest.fixture(scope="session")
def analytics_sqlite_url(
    scenario: tuple[list[Record], Facts], tmp_path_factory: pytest.TempPathFactory
) -> str:
    from tracehound.store import SQLiteExporter

    path: Path = tmp_path_factory.mktemp("analytics_sqlite") / "tracehound.db"
    exporter = SQLiteExporter(path)
    exporter.export(scenario[0])
    exporter.shutdown()
    return f"sqlite:///{path.as_posix()}"


@pytest.fixture(params=["sqlite", "postgresql"])
def an(request: pytest.FixtureRequest) -> Iterator[ExecutionAnalytics]:
    """ExecutionAnalytics over the scenario, on each dialect."""
    url: str = request.getfixturevalue(
        f"analytics_{'pg' if request.param == 'postgresql' else 'sqlite'}_url"
    )
    inst = ExecutionAnalytics(url, flush=False)
    yield inst
    inst.close()


@pytest.fixture
def facts(scenario: tuple[list[Record], Facts]) -> Facts:
    return scenario[1]


def by_agent(rows: list[dict[str, Any]], agent: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["agent_name"] == agent]
