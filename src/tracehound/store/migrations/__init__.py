"""Alembic migrations of the tracehound store (run through :mod:`tracehound.store._migrate`)."""
