"""The public surface: a sorted ``__all__`` whose every name imports, and a light import."""

from __future__ import annotations

import subprocess
import sys

import tracehound

from .conftest import ROOT


def test_all_is_sorted_and_every_name_resolves() -> None:
    names = [n for n in tracehound.__all__ if not n.startswith("__")]

    def isort_style(name: str) -> tuple[int, str]:  # ruff RUF022: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)

    assert names == sorted(names, key=isort_style)
    for name in tracehound.__all__:
        assert getattr(tracehound, name) is not None, name


def test_core_surface() -> None:
    for name in (
        "configure",
        "span",
        "event",
        "metric",
        "current_span",
        "flush",
        "shutdown",
        "stats",
        "propagate",
        "TracingThreadPoolExecutor",
    ):
        assert callable(getattr(tracehound, name)), name


def test_import_is_light_and_silent() -> None:
    code = (
        "import sys, tracehound\n"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'fastapi', 'pydantic', 'nats', 'psycopg',"
        " 'rich', 'typer', 'genai_prices') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert out.stdout.strip() == ""
    assert out.stderr == ""


def test_library_prints_nothing(tmp_path, capfd) -> None:  # type: ignore[no-untyped-def]
    tracehound.configure(trace_dir=tmp_path / "t")
    with tracehound.span("quiet"):
        tracehound.event("log", "x", level="error", message="boom")
    tracehound.shutdown()
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
