"""A local on-disk spool for records an exporter could not take.

One directory per exporter. Records are appended to segment files as lines
``<crc32 hex> <wire JSON>\\n``; a torn or corrupted line (a crash mid-write, a disk error)
fails its checksum and is skipped on replay, and counted.

Segments: ``<ts>-<pid>-<n>.open`` while a process writes it, renamed ``.seg`` when closed.
Replay claims a segment by renaming it ``.<pid>.replaying`` (atomic), so several processes
sharing a spool never replay the same segment; an ``.open`` or ``.replaying`` segment whose
process is dead (SIGKILL) is claimable too. A segment is deleted once every record in it was
exported; records exported before a failure mid-segment are sent again later, which the
idempotent sinks absorb.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Final

import orjson

from ..model._codec import decode_dict, encode_dict
from ..model._records import Record

__all__ = ["Spool"]

_SEGMENT_BYTES: Final = 16 * 1024 * 1024


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def encode_line(record: Record) -> bytes:
    body = orjson.dumps(encode_dict(record))
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode_line(line: bytes) -> Record | None:
    """The record of a spool line, or ``None`` if the line is torn or corrupt."""
    if len(line) < 11 or not line.endswith(b"\n") or line[8:9] != b" ":
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        return decode_dict(orjson.loads(body))
    except Exception:
        return None


class Spool:
    """The spool of one exporter. Thread-safe."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._written = 0
        self._seq = 0
        self._size: int | None = None  # bytes on disk, measured lazily
        self.spooled = 0
        self.replayed = 0
        self.dropped = 0
        self.corrupt = 0

    # -- writing ---------------------------------------------------------------------------
    def _disk_size(self) -> int:
        if self._size is None:
            total = 0
            if self.directory.is_dir():
                for p in self.directory.iterdir():
                    try:
                        total += p.stat().st_size
                    except OSError:
                        pass
            self._size = total
        return self._size

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._seq += 1
            name = f"{time.time_ns():020d}-{os.getpid()}-{self._seq}.open"
            self._path = self.directory / name
            self._file = open(self._path, "ab")  # noqa: SIM115 - kept open across calls
            self._written = 0
        return self._file

    def write(self, records: Sequence[Record]) -> int:
        """Append records; returns how many were written (the rest hit the cap: dropped)."""
        if not records:
            return 0
        with self._lock:
            lines = []
            room = self.max_bytes - self._disk_size()
            size = 0
            for rec in records:
                try:
                    line = encode_line(rec)
                except Exception:
                    self.dropped += 1
                    continue
                if size + len(line) > room:
                    self.dropped += 1
                    continue
                lines.append(line)
                size += len(line)
            if not lines:
                return 0
            fh = self._open()
            fh.write(b"".join(lines))
            fh.flush()  # in the OS page cache: survives a SIGKILL of this process
            self._written += size
            self._size = self._disk_size() + size
            self.spooled += len(lines)
            if self._written >= _SEGMENT_BYTES:
                self._close_segment()
            return len(lines)

    def _close_segment(self) -> None:
        if self._file is not None and self._path is not None:
            try:
                self._file.close()
                os.replace(self._path, self._path.with_suffix(".seg"))
            except OSError:
                pass
        self._file = None
        self._path = None

    def close(self) -> None:
        with self._lock:
            self._close_segment()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's open segment (the parent owns it)."""
        self._lock = threading.Lock()
        self._file = None
        self._path = None
        self._size = None

    # -- replay ----------------------------------------------------------------------------
    def pending(self) -> bool:
        """Whether segments (of any process) wait to be replayed."""
        try:
            return any(
                p.suffix in (".seg", ".open", ".replaying") and p != self._path
                for p in self.directory.iterdir()
            )
        except OSError:
            return False

    def _claimable(self) -> Iterator[Path]:
        me = os.getpid()
        try:
            entries = sorted(self.directory.iterdir())
        except OSError:
            return
        for p in entries:
            if p == self._path:
                continue
            name = p.name
            if p.suffix == ".seg":
                yield p
            elif p.suffix == ".open":
                try:
                    pid = int(name.split("-")[1])
                except (IndexError, ValueError):
                    continue
                if pid != me and not _pid_alive(pid):
                    yield p
            elif p.suffix == ".replaying":
                try:
                    pid = int(name.rsplit(".", 2)[-2])
                except (IndexError, ValueError):
                    continue
                if not _pid_alive(pid):
                    yield p

    def replay(
        self,
        export: Callable[[Sequence[Record]], None],
        *,
        batch_size: int = 2048,
        deadline: float | None = None,
    ) -> bool:
        """Export spooled records of closed or orphaned segments. Returns ``True`` when the
        spool was drained, ``False`` if an export failed or the deadline passed (the rest
        stays spooled). ``export`` raising stops the replay."""
        with self._lock:
            if self._written:
                self._close_segment()
        for seg in self._claimable():
            if deadline is not None and time.monotonic() > deadline:
                return False
            stem = seg.name.split(".", 1)[0]
            claimed = seg.with_name(f"{stem}.{os.getpid()}.replaying")
            try:
                os.replace(seg, claimed)
            except OSError:
                continue  # another process claimed it
            try:
                ok = self._replay_file(claimed, export, batch_size)
            except Exception:
                ok = False
            if ok:
                try:
                    size = claimed.stat().st_size
                    claimed.unlink()
                    with self._lock:
                        if self._size is not None:
                            self._size = max(0, self._size - size)
                except OSError:
                    pass
            else:
                try:
                    os.replace(claimed, claimed.with_name(f"{stem}.seg"))
                except OSError:
                    pass
                return False
        return True

    def _replay_file(
        self, path: Path, export: Callable[[Sequence[Record]], None], batch_size: int
    ) -> bool:
        batch: list[Record] = []
        with open(path, "rb") as fh:
            for line in fh:
                rec = decode_line(line)
                if rec is None:
                    self.corrupt += 1
                    continue
                batch.append(rec)
                if len(batch) >= batch_size:
                    export(batch)
                    self.replayed += len(batch)
                    batch = []
        if batch:
            export(batch)
            self.replayed += len(batch)
        return True
