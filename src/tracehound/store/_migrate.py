"""Schema version checks and upgrades.

:func:`ensure_schema` is cheap when the database is current: it reads ``alembic_version``
with plain SQL (stdlib ``sqlite3`` for SQLite, so neither Alembic nor SQLAlchemy is
imported) and returns. Otherwise it upgrades under a lock so that several processes starting
at once are safe: an ``fcntl`` lock on ``<db>.lock`` for SQLite, a transaction-scoped
``pg_advisory_xact_lock`` for PostgreSQL (the upgrade runs inside that transaction, and
PostgreSQL DDL is transactional).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..exceptions import SchemaError
from ._engine import BUSY_TIMEOUT_S, dialect_of, make_engine, sqlite_path

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own locking must do
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "HEAD",
    "REVISIONS",
    "current_revision",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "upgrade",
]

#: Every revision the code knows, oldest first (a test pins this to the migration scripts).
REVISIONS: Final = ("0001", "0002", "0003", "0004")
HEAD: Final = REVISIONS[-1]
SQLITE_PAGE_SIZE: Final = 8192
MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key: b"tracehnd" as a signed 64-bit integer.
_PG_LOCK_KEY: Final = int.from_bytes(b"tracehnd", "big", signed=True)
_PASSWORD: Final = re.compile(r"(://[^:/@]*:)[^@]*@")


def head_revision() -> str:
    """The schema revision this code writes and reads."""
    return HEAD


def _display(url: str) -> str:
    return _PASSWORD.sub(r"\1***@", url)


def _sqlite_revision(path: Path) -> str | None:
    if not path.exists():
        return None
    con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)
    try:
        found = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if found is None:
            return None
        rows = con.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        con.close()
    return _one(rows, str(path))


def _connection_revision(conn: Connection) -> str | None:
    from sqlalchemy import text

    if conn.dialect.name == "postgresql":
        exists = conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
    else:
        exists = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
        ).scalar()
    if not exists:
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    return _one(rows, conn.engine.url.render_as_string(hide_password=True))


def _one(rows: Sequence[Sequence[Any]], where: str) -> str | None:
    if not rows:
        return None
    if len(rows) > 1:
        heads = ", ".join(str(row[0]) for row in rows)
        raise SchemaError(f"{where}: several schema heads in alembic_version: {heads}")
    return str(rows[0][0])


def current_revision(url: str) -> str | None:
    """The schema revision of the database at ``url``; ``None`` when it has none (new)."""
    path = sqlite_path(url)
    if path is not None:
        return _sqlite_revision(path)
    engine = make_engine(url, poolclass=_null_pool())
    try:
        with engine.connect() as conn:
            return _connection_revision(conn)
    finally:
        engine.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool


def _check_not_newer(revision: str | None, url: str) -> None:
    if revision is not None and revision not in REVISIONS:
        raise SchemaError(
            f"the database {_display(url)} has schema revision {revision!r}, newer than this "
            f"tracehound knows (head {HEAD!r}): upgrade the tracehound package"
        )


def ensure_schema(url: str, *, auto_upgrade: bool = True) -> None:
    """Make sure the database at ``url`` has the current schema.

    At head: returns after one small query. Behind (or empty): upgrades when
    ``auto_upgrade``, else raises :class:`SchemaError` naming the command to run. Newer than
    this code: raises :class:`SchemaError`.
    """
    revision = current_revision(url)
    if revision == HEAD:
        return
    _check_not_newer(revision, url)
    if not auto_upgrade:
        state = "has no tracehound schema" if revision is None else f"is at {revision!r}"
        raise SchemaError(
            f"the database {_display(url)} {state}; this tracehound needs schema {HEAD!r}: "
            f"run `tracehound db upgrade` (or allow automatic upgrades)"
        )
    upgrade(url)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(f"{path}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest), under the
    migration lock. Several processes may call this at once; the others wait, then find the
    work done."""
    _migrate(url, "upgrade", revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``"base"``: drop every table)."""
    _migrate(url, "downgrade", revision)


def _migrate(url: str, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = make_engine(url, poolclass=_null_pool())
    path = sqlite_path(url)
    try:
        with _file_lock(path) if path is not None else _no_lock(), engine.begin() as conn:
            if dialect_of(url) == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            else:
                # Takes effect only on a new, empty file: larger pages make ingest ~8% faster.
                conn.exec_driver_sql(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
            # Re-read under the lock: another process may have upgraded meanwhile.
            found = _connection_revision(conn)
            _check_not_newer(found, url)
            if action == "upgrade" and found == HEAD and revision == "head":
                return
            config.attributes["connection"] = conn
            if action == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    except SchemaError:
        raise
    except Exception as exc:
        raise SchemaError(f"{action} of the schema of {_display(url)} failed: {exc}") from exc
    finally:
        engine.dispose()


@contextmanager
def _no_lock() -> Iterator[None]:
    yield
