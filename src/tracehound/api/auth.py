"""API keys per project, and rate limiting.

A key looks like ``thk_<id>_<secret>``: ``id`` is 12 hex digits (the public part, shown by
``tracehound keys list``), ``secret`` 32 random bytes (URL-safe base64). The store keeps only
the SHA-256 of the whole key (a high-entropy secret needs no slow hash) in the ``api_keys``
table; a presented key is looked up by its id and its hash compared with
:func:`hmac.compare_digest` (constant time; an unknown id is compared against a dummy hash so
timing does not tell ids apart). The project comes only from the key's row.

Lookups are cached for ``cache_ttl`` seconds (default 5): a key revoked by
``tracehound keys revoke`` in another process stops working within that time.

Rate limiting is a token bucket per key (``rate`` requests per second, bursts of ``burst``);
failed authentications are limited per client address. Both answer 429 with
``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Engine, insert, select, update

from ..store._schema import api_keys

__all__ = [
    "ApiKey",
    "CreatedKey",
    "KeyStore",
    "Principal",
    "RateLimiter",
    "generate_key",
    "hash_key",
    "validate_project",
]

KEY_PREFIX: Final = "thk_"
_KEY_RE: Final = re.compile(r"thk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_PROJECT_RE: Final = re.compile(r"[^\x00-\x1f\x7f]{1,200}")
_DUMMY_HASH: Final = hashlib.sha256(b"tracehound-dummy-key").hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the project (from the key, or the server's project when auth is off)
    and the key id (``None`` when auth is off)."""

    project: str
    key_id: str | None


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    project: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: str
    """The full key: shown once, never stored."""
    info: ApiKey


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def generate_key() -> tuple[str, str]:
    """A new ``(key, key_id)``."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{key_id}_{secret}", key_id


def validate_project(project: Any) -> str:
    if not isinstance(project, str) or not _PROJECT_RE.fullmatch(project):
        raise ValueError(
            "project: expected 1-200 characters without control characters, "
            f"got {str(project)[:40]!r}"
        )
    return project


class KeyStore:
    """API keys in the store's ``api_keys`` table (the schema must exist)."""

    def __init__(self, engine: Engine, *, cache_ttl: float = 5.0) -> None:
        self.engine = engine
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, str | None, str | None]] = {}
        self._lock = threading.Lock()

    # -- management ------------------------------------------------------------------------
    def create(self, project: str, name: str | None = None) -> CreatedKey:
        validate_project(project)
        if name is not None and (len(name) > 200 or any(ord(c) < 32 for c in name)):
            raise ValueError("name: at most 200 characters, no control characters")
        key, key_id = generate_key()
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    project=project,
                    name=name,
                    key_hash=hash_key(key),
                    created_at=now,
                    revoked_at=None,
                )
            )
        return CreatedKey(key, ApiKey(key_id, project, name, now, None))

    def list(self, project: str | None = None, *, include_revoked: bool = True) -> list[ApiKey]:
        query = select(
            api_keys.c.id,
            api_keys.c.project,
            api_keys.c.name,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).order_by(api_keys.c.project, api_keys.c.created_at, api_keys.c.id)
        if project is not None:
            query = query.where(api_keys.c.project == project)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [ApiKey(r.id, r.project, r.name, r.created_at, r.revoked_at) for r in rows]

    def revoke(self, key_id: str, project: str | None = None) -> bool:
        """Revoke a key by id (or by the full key). ``False`` if no active key matched."""
        match = _KEY_RE.fullmatch(key_id)
        if match is not None:
            key_id = match.group(1)
        where = [api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)]
        if project is not None:
            where.append(api_keys.c.project == project)
        with self.engine.begin() as conn:
            done = conn.execute(update(api_keys).where(*where).values(revoked_at=datetime.now(UTC)))
        with self._lock:
            self._cache.pop(key_id, None)
        return bool(done.rowcount)

    # -- verification ------------------------------------------------------------------------
    def _lookup(self, key_id: str) -> tuple[str | None, str | None]:
        """``(project, hash)`` of an active key id; ``(None, None)`` when unknown/revoked."""
        now = time.monotonic()
        hit = self._cache.get(key_id)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(api_keys.c.project, api_keys.c.key_hash, api_keys.c.revoked_at).where(
                    api_keys.c.id == key_id
                )
            ).first()
        found: tuple[str | None, str | None] = (None, None)
        if row is not None and row.revoked_at is None:
            found = (str(row.project), str(row.key_hash))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now + self.cache_ttl, *found)
        return found

    def verify(self, presented: str) -> Principal | None:
        """The principal of a valid, active key; ``None`` otherwise."""
        match = _KEY_RE.fullmatch(presented)
        if match is None:
            hmac.compare_digest(hash_key(presented[:200]), _DUMMY_HASH)
            return None
        key_id = match.group(1)
        project, stored = self._lookup(key_id)
        ok = hmac.compare_digest(hash_key(presented), stored or _DUMMY_HASH)
        if not ok or project is None:
            return None
        return Principal(project, key_id)


class RateLimiter:
    """Token buckets by key: ``rate`` tokens per second, at most ``burst``. ``rate <= 0``
    disables it."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000) -> None:
        self.rate = float(rate)
        self.burst = float(max(burst, 1))
        self.max_keys = max_keys
        self._buckets: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens: ``0.0`` when allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._buckets.clear()
                bucket = self._buckets[key] = [self.burst, now]
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            if tokens >= cost:
                bucket[0] = tokens - cost
                return 0.0
            bucket[0] = tokens
            return (cost - tokens) / self.rate
