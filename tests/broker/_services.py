"""Private NATS JetStream and PostgreSQL servers for the broker tests (and the benchmark).

Each runs on a free port with its data in a temporary directory, so tests may stop, kill and
restart them; the machine's shared servers are never touched. PostgreSQL's ``initdb`` refuses
to run as root: it runs as the ``postgres`` user (``runuser``) in a directory owned by it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

NATS_SERVER = os.environ.get("TRACEHOUND_TEST_NATS_SERVER", "/usr/sbin/nats-server")
PG_BIN = Path(os.environ.get("TRACEHOUND_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0, *, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def nats_available() -> str | None:
    """``None`` if a private nats-server can run, else why not."""
    if not (Path(NATS_SERVER).exists() or shutil.which(NATS_SERVER)):
        return f"{NATS_SERVER} not found"
    try:
        import nats  # noqa: F401
    except ImportError as exc:
        return f"nats-py is not installed ({exc})"
    return None


def pg_available() -> str | None:
    for tool in ("initdb", "pg_ctl"):
        if not (PG_BIN / tool).exists():
            return f"{PG_BIN / tool} not found"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    return None


class NatsServer:
    """A private nats-server with JetStream (file storage in its own directory)."""

    def __init__(self, base: Path, port: int | None = None) -> None:
        self.dir = base
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "nats.log"

    def start(self) -> NatsServer:
        conf = self.dir / "nats.conf"
        store = (self.dir / "js").as_posix()
        conf.write_text(f'listen: "127.0.0.1:{self.port}"\njetstream {{ store_dir: "{store}" }}\n')
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [NATS_SERVER, "-c", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while True:
            try:
                wait_port(self.port, 0.5)
                break
            except TimeoutError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"nats-server did not start: {self.log.read_text()[-2000:]}"
                    ) from None
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self, downtime: float = 0.0, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        time.sleep(downtime)
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class PgServer:
    """A private PostgreSQL cluster (trust auth, no fsync) run as the ``postgres`` user."""

    def __init__(self, port: int | None = None, settings: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        #: extra server settings (``-c name=value``), over the defaults below
        self.settings = dict(settings or {})
        self.dir = Path(tempfile.mkdtemp(prefix="tracehound-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.logfile = self.dir / "pg.log"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._root = os.geteuid() == 0
        if self._root:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> PgServer:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        return self

    def start(self) -> PgServer:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=50 -c shared_buffers=128MB -c track_commit_timestamp=on"
        )
        opts += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )
        wait_port(self.port)
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
