"""Analytics fixtures: the recorded scenario loaded into SQLite (through the SQLite exporter)
and into a throwaway PostgreSQL database (created once per test session, dropped after).
Without a PostgreSQL server the PostgreSQL cases skip locally and fail in CI (``CI=true``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tracehound.analytics import ExecutionAnalytics
from tracehound.model import Record

from ._loader import load
from ._scenario import Facts, record_scenario

PG_SERVER = os.environ.get("TRACEHOUND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Record], Facts]:
    return record_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="session")
def analytics_pg_url(scenario: tuple[list[Record], Facts]) -> Iterator[str]:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover
        _unavailable(f"psycopg is not installed ({exc})")
    name = f"tracehound_analytics_{secrets.token_hex(6)}"
    admin_url = PG_SERVER.rstrip("/") + "/postgres"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _unavailable(f"cannot connect to {admin_url}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = PG_SERVER.rstrip("/") + "/" + name
            load(url, scenario[0])
            yield url
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
