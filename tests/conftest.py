from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracehound
from tracehound.testing import InMemoryExporter, configure_for_tests

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def need_service(name: str, reason: str) -> None:
    """Skip locally, fail in CI, when a required service is missing."""
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


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
