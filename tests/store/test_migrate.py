"""Schema versions: fast path, upgrade, refusal, newer-than-code, concurrent starts."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

import tracehound
from tracehound.exceptions import SchemaError
from tracehound.store import current_revision, ensure_schema, head_revision, make_engine, upgrade
from tracehound.store._engine import sqlite_path
from tracehound.store._migrate import downgrade

SRC = str(Path(tracehound.__file__).resolve().parents[1])


def _python(code: str) -> list[str]:
    """A command running ``code`` in a fresh interpreter that imports this tracehound."""
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {SRC!r}); {code}"]


def _set_version(url: str, version: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    from sqlalchemy import inspect

    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_new_database_is_created_at_head(store_url: str) -> None:
    assert current_revision(store_url) is None
    ensure_schema(store_url)
    assert current_revision(store_url) == head_revision()
    assert {"spans", "events", "metrics", "sessions", "alembic_version"} <= _tables(store_url)


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'a' / 'b' / 'c.db').as_posix()}"
    ensure_schema(url)
    assert (tmp_path / "a" / "b" / "c.db").exists()


def test_relative_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ensure_schema("sqlite:///trace/tracehound.db")
    assert (tmp_path / "trace" / "tracehound.db").exists()


def test_ensure_schema_at_head_is_idempotent(store_url: str) -> None:
    ensure_schema(store_url)
    ensure_schema(store_url)
    ensure_schema(store_url, auto_upgrade=False)
    assert current_revision(store_url) == head_revision()


def test_fast_path_imports_neither_alembic_nor_sqlalchemy(sqlite_url: str) -> None:
    ensure_schema(sqlite_url)
    code = (
        "from tracehound.store._migrate import ensure_schema; "
        "before = 'sqlalchemy' in sys.modules; "
        f"ensure_schema({sqlite_url!r}, auto_upgrade=False); "
        "print('alembic' in sys.modules, before or 'sqlalchemy' not in sys.modules)"
    )
    out = subprocess.run(_python(code), capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "True"]


def test_behind_without_auto_upgrade_refuses_and_says_what_to_run(store_url: str) -> None:
    with pytest.raises(SchemaError, match="tracehound db upgrade"):
        ensure_schema(store_url, auto_upgrade=False)
    assert current_revision(store_url) is None


def test_behind_database_is_upgraded(store_url: str) -> None:
    ensure_schema(store_url)
    downgrade(store_url, "base")  # back to an empty schema: "behind"
    assert current_revision(store_url) is None
    assert "spans" not in _tables(store_url)
    with pytest.raises(SchemaError, match="tracehound db upgrade"):
        ensure_schema(store_url, auto_upgrade=False)
    ensure_schema(store_url)
    assert current_revision(store_url) == head_revision()
    assert "spans" in _tables(store_url)


def test_database_newer_than_the_code_is_refused(store_url: str) -> None:
    ensure_schema(store_url)
    _set_version(store_url, "9999")
    for auto_upgrade in (True, False):
        with pytest.raises(SchemaError, match="newer"):
            ensure_schema(store_url, auto_upgrade=auto_upgrade)
    with pytest.raises(SchemaError, match="newer"):
        upgrade(store_url)


def test_failed_upgrade_is_a_schema_error(sqlite_url: str) -> None:
    path = sqlite_path(sqlite_url)
    assert path is not None
    path.parent.mkdir(parents=True)
    import sqlite3

    with sqlite3.connect(path) as conn:  # a table in the way, not managed by alembic
        conn.execute("CREATE TABLE spans (x)")
    with pytest.raises(SchemaError, match="upgrade of the schema"):
        ensure_schema(sqlite_url)


def test_concurrent_starts_in_threads(store_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            ensure_schema(store_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert current_revision(store_url) == head_revision()


def test_concurrent_starts_in_processes(sqlite_url: str) -> None:
    code = f"from tracehound.store import ensure_schema; ensure_schema({sqlite_url!r})"
    procs = [subprocess.Popen(_python(code)) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert current_revision(sqlite_url) == head_revision()


def test_password_is_not_shown_in_errors() -> None:
    from tracehound.store._migrate import _display

    assert _display("postgresql://user:s3cret@host:5432/db") == "postgresql://user:***@host:5432/db"
    assert _display("sqlite:///x.db") == "sqlite:///x.db"
