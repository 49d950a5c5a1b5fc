"""Alembic environment of the tracehound store.

Programmatic use (:func:`tracehound.store._migrate.upgrade`) hands over an open connection
in ``config.attributes["connection"]`` — already inside the transaction that holds the
migration lock. Without one (plain ``alembic`` command line), the ``sqlalchemy.url`` option
is used.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tracehound.store._engine import make_engine, sqlalchemy_url
from tracehound.store._schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=sqlalchemy_url(url) if url else None,
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url given to the migrations")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
