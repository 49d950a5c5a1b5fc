"""PostgreSQL killed (``kill -9``) and stopped during a load: nothing lost, nothing twice.

The test runs its own PostgreSQL: ``initdb`` into a temporary directory (as the ``postgres``
user when run as root — ``initdb`` refuses root), started with ``pg_ctl`` on a free port.
The machine's shared server is never touched. Spans go through the SDK pipeline with
``exporters=["store"]``; a ledger of the ids handed out is compared with the table.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tracehound

from ..conftest import need_service

BIN_CANDIDATES = [
    os.environ.get("TRACEHOUND_PG_BIN", ""),
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/14/bin",
]


def _bindir() -> Path | None:
    for candidate in BIN_CANDIDATES:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary directory."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="tracehound-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            runuser = shutil.which("runuser")
            if runuser is None:
                need_service("PostgreSQL", "running as root without runuser to become postgres")
            self.as_user = [runuser, "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, check=check, timeout=120
        )

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c shared_buffers=32MB -c max_connections=20"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def kill9(self) -> None:
        """SIGKILL the postmaster and every backend: a crash, recovery on the next start."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                children.append(int(entry.name))
        for victim in [pid, *children]:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            alive = []
            for victim in [pid, *children]:
                try:
                    os.kill(victim, 0)
                    alive.append(victim)
                except ProcessLookupError:
                    pass
            if not alive:
                return
            time.sleep(0.05)
        raise AssertionError("PostgreSQL did not die")

    def cleanup(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop",
            check=False,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    bindir = _bindir()
    if bindir is None:
        need_service("PostgreSQL", "initdb / pg_ctl not found (set TRACEHOUND_PG_BIN)")
    assert bindir is not None
    pg = PrivatePostgres(bindir)
    try:
        try:
            pg.init()
            pg.start()
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            need_service("PostgreSQL", f"cannot start a private PostgreSQL: {detail}")
        yield pg
    finally:
        pg.cleanup()


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_and_restart_during_a_load_loses_nothing(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    import psycopg

    tracehound.configure(
        store=private_pg.url,
        exporters=["store"],
        trace_dir=tmp_path / "trace",
        project="restart",
        flush_interval=0.02,
        batch_size=500,
        export_retries=1,
        retry_backoff=0.05,
        retry_backoff_max=0.3,
    )
    ledger: list[str] = []
    stop = threading.Event()

    def load() -> None:
        i = 0
        while not stop.is_set():
            with tracehound.span("work", kind="tool", seq=i) as sp:
                ledger.append(sp.span_id)
            i += 1
            if i % 200 == 0:
                time.sleep(0.005)  # ~ tens of thousands of spans per second at most

    def exported() -> int:
        return int(tracehound.stats()["exporters"]["postgres"]["exported"])

    thread = threading.Thread(target=load)
    thread.start()
    try:
        _wait(lambda: exported() > 2000, 60, "the first exports")
        private_pg.kill9()  # crash
        _wait(lambda: tracehound.stats()["spooled"] > 0, 30, "records to be spooled")
        time.sleep(0.5)
        private_pg.start()  # crash recovery
        _wait(lambda: not tracehound.stats()["exporters"]["postgres"]["down"], 60, "reconnect")
        before = exported()
        _wait(lambda: exported() > before + 2000, 60, "exports after the restart")
        private_pg.stop("fast")  # a clean shutdown, too
        time.sleep(0.5)
        private_pg.start()
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(60)

    def drained() -> bool:
        s = tracehound.stats()
        return (
            s["queue_depth"] == 0
            and not s["exporters"]["postgres"]["down"]
            and s["replayed"] >= s["spooled"]
        )

    tracehound.flush(30)
    _wait(drained, 120, "the spool to drain")
    stats = tracehound.stats()
    tracehound.shutdown()

    assert stats["dropped"] == 0, stats
    assert stats["spooled"] > 0, "the outage never reached the pipeline"
    with psycopg.connect(private_pg.url, autocommit=True) as conn:
        rows = conn.execute("SELECT id FROM spans WHERE project = 'restart'").fetchall()
        (distinct,) = conn.execute(
            "SELECT count(DISTINCT id) FROM spans WHERE project = 'restart'"
        ).fetchone() or (0,)
    stored = [r[0] for r in rows]
    assert len(ledger) > 5000
    assert len(stored) == distinct, "duplicated spans"
    missing = set(ledger) - set(stored)
    assert not missing, f"{len(missing)} of {len(ledger)} spans lost"
    assert len(stored) == len(ledger)
