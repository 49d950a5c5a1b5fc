from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import tracehound
from tracehound.testing import InMemoryExporter, configure_for_tests

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_SERVER = os.environ.get("TRACEHOUND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/")


def need_service(name: str, reason: str) -> None:
    """Skip locally, fail in CI, when a required service is missing."""
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


@contextmanager
def throwaway_pg_database(prefix: str = "tracehound_test") -> Iterator[str]:
    """The URL of a fresh database on ``PG_SERVER`` (``TRACEHOUND_TEST_PG``), dropped on exit.
    Without a server: skip locally, fail in CI."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover
        need_service("PostgreSQL", f"psycopg is not installed ({exc})")
    admin_url = PG_SERVER.rstrip("/") + "/postgres"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        need_service("PostgreSQL", f"cannot connect to {admin_url}: {exc}")
    name = f"{prefix}_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_SERVER.rstrip("/") + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _isolate_tracehound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with no runtime and its own working directory."""
    for key in list(os.environ):
        if key.startswith("TRACEHOUND_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    tracehound.shutdown(timeout=0)
    yield
    tracehound.shutdown(timeout=1)
    from tracehound.sdk import _runtime

    _runtime._pending_settings[0] = None


@pytest.fixture
def memory(tmp_path: Path) -> InMemoryExporter:
    return configure_for_tests(tmp_path)


def flushed(memory: InMemoryExporter) -> InMemoryExporter:
    assert tracehound.flush(timeout=10)
    return memory
