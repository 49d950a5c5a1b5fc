"""Database URLs and SQLAlchemy engines.

URLs are given as ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
``postgresql://user@host:port/db`` (``postgres://`` too); PostgreSQL is reached through the
psycopg 3 driver. SQLAlchemy is imported only when an engine is made, so the light helpers
here serve the SQLite ingest path and the schema check without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["BUSY_TIMEOUT_S", "dialect_of", "make_engine", "sqlalchemy_url", "sqlite_path"]

BUSY_TIMEOUT_S: Final = 10.0
_PG_PREFIXES: Final = ("postgresql://", "postgres://", "postgresql+psycopg://")


def dialect_of(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``; :class:`ValueError` for anything else."""
    lowered = url.lower()
    if lowered.startswith("sqlite:"):
        return "sqlite"
    if lowered.startswith(_PG_PREFIXES):
        return "postgresql"
    raise ValueError(
        f"unsupported database URL {url!r}: expected sqlite:///path.db or postgresql://…"
    )


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL (``None`` for other databases).

    In-memory databases are refused: every connection would see a different one.
    """
    if dialect_of(url) != "sqlite":
        return None
    rest = url[len("sqlite:") :]
    if not rest.startswith("///"):
        raise ValueError(f"expected sqlite:///path.db, got {url!r}")
    path = unquote(rest[3:].split("?", 1)[0])
    if not path or path == ":memory:":
        raise ValueError(f"an in-memory SQLite database cannot be a store: {url!r}")
    return Path(path)


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy gets: plain ``postgresql://`` mapped to the psycopg 3 driver."""
    if dialect_of(url) == "postgresql":
        _scheme, _, rest = url.partition("://")
        return "postgresql+psycopg://" + rest
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for a tracehound database URL.

    SQLite connections get a busy timeout (several processes write to one file) and
    transactional DDL; the SQLite file's directory is created if missing.
    """
    from sqlalchemy import create_engine, event

    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", BUSY_TIMEOUT_S)
        engine = create_engine(sqlalchemy_url(url), connect_args=connect_args, **kwargs)

        # Let SQLAlchemy, not the sqlite3 module, delimit transactions, so DDL (migrations)
        # is transactional too: the driver in autocommit mode, BEGIN emitted on begin.
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(sqlalchemy_url(url), **kwargs)
