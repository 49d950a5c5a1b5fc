"""Secrets never reach a file, the spool or the database: each format in inputs, outputs,
attributes, event data and error messages, checked in the written bytes."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tracehound

SECRETS = {
    "openai": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f",
    "anthropic": "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa-98765",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx8fj3kd9slQ2\n-----END RSA PRIVATE KEY-----",
    "bearer": "Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
}


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file() and p.suffix != ".db")


def test_each_secret_format_is_scrubbed_in_files_and_sqlite(tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    tracehound.configure(trace_dir=trace)
    for kind, secret in SECRETS.items():
        with (
            pytest.raises(RuntimeError),
            tracehound.span(
                f"call-{kind}",
                kind="llm",
                agent="leaky",
                header=f"auth is {secret}",
                model="gpt-4o",
            ) as sp,
        ):
            sp.set_input({"prompt": f"Please use {secret} to log in", "password": "hunter2hunter2"})
            sp.set_output(f"The model echoed {secret} back")
            tracehound.event("log", "leak", message=f"got {secret}", note=secret, api_key="plain")
            raise RuntimeError(f"failed with credential {secret}")
    tracehound.shutdown()

    files = _all_bytes(trace)
    assert files  # something was written
    db = sqlite3.connect(trace / "tracehound.db")
    rows = (
        db.execute("SELECT * FROM spans").fetchall() + db.execute("SELECT * FROM events").fetchall()
    )
    stored = repr(rows).encode()
    for kind, secret in SECRETS.items():
        for fragment in {secret, secret.split()[-1], secret[:20]} - {"Bearer"}:
            needle = fragment.encode()
            assert needle not in files, f"{kind} secret in trace files"
            assert needle not in stored, f"{kind} secret in SQLite"
            assert fragment.replace("\n", "\\n").encode() not in files
    assert b"hunter2hunter2" not in files and b"hunter2hunter2" not in stored
    assert b"[REDACTED" in files and b"[REDACTED" in stored
    # surrounding text is kept: only the matched secret is replaced
    assert b"Please use [REDACTED" in stored
    assert b"to log in" in stored


@dataclasses.dataclass
class Point:
    x: int
    y: Point | None = None


class BadRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr for you")


def test_hostile_values_become_placeholders_end_to_end(tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    tracehound.configure(trace_dir=trace)
    cyclic: dict[str, object] = {"name": "loop"}
    cyclic["self"] = cyclic
    deep: list[object] = []
    node = deep
    for _ in range(10_000):
        child: list[object] = []
        node.append(child)
        node = child
    huge = "x" * (10 * 1024 * 1024)
    with tracehound.span(
        "hostile",
        cyc=cyclic,
        bad=BadRepr(),
        nan=math.nan,
        inf=-math.inf,
        raw=b"\x00\xff",
        when=datetime(2025, 1, 15, 10, 30, tzinfo=UTC),
        uid=uuid.UUID(int=1),
        point=Point(1, Point(2)),
    ) as sp:
        sp.set_input(deep)
        sp.set_output(huge)
    tracehound.shutdown()
    db = sqlite3.connect(trace / "tracehound.db")
    (attrs, inp, out) = db.execute("SELECT attributes, input, output FROM spans").fetchone()
    assert '"<cycle>"' in attrs
    assert "<unrepresentable BadRepr>" in attrs
    assert '"NaN"' in attrs and '"-Infinity"' in attrs
    assert "<bytes len=2" in attrs
    assert "2025-01-15T10:30:00+00:00" in attrs
    assert "00000000-0000-0000-0000-000000000001" in attrs
    assert '"x":2' in attrs.replace(" ", "")
    assert "<max depth>" in inp
    assert len(out) < 70_000 and "truncated" in out
