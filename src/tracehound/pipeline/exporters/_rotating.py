"""Append-only, size-rotated log files that several processes can share.

:class:`RotatingFile` keeps a raw file descriptor opened with ``O_APPEND`` and writes each
batch of complete lines with a single ``os.write`` call. On Linux local filesystems a
``write(2)`` to a regular file holds the inode lock for the whole call and ``O_APPEND``
positions it at the end atomically, so concurrent writers (threads or processes) never
interleave *inside* a batch: readers only ever see whole lines. (A write is split only when
the kernel returns a short count — disk full, a signal, an NFS mount; the reader skips the
torn line that can result, and the next write here starts on a fresh line. A concurrent
*reader* may see a write half-done: the file grows page by page during the call.)

Sizes are tracked in memory and refreshed with one ``stat`` of the path per batch, which also
notices a rotation made by another process (the inode changed) and reopens the new file.
Rotation renames ``x.log`` → ``x.log.1`` → … → ``x.log.N`` and drops the oldest; it runs
under an ``flock`` on a hidden ``.x.log.lock`` file next to the log so two processes never
rotate the same file twice. With one writer a file never exceeds ``max_bytes`` (a batch is cut
on line boundaries; a single larger line gets a file of its own); with several writers the
size check and the write are not one atomic step, so a file can exceed it by about one batch
of each other writer.

There are no user-space buffers: the batch *is* the buffer. Nothing can therefore be written
twice through a descriptor inherited across ``fork``; :meth:`RotatingFile.close` in the child
(see ``FileExporter.after_fork``) drops the inherited descriptor and the next write reopens.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["RotatingFile", "backup_paths", "file_lock"]

try:  # pragma: no cover - platform dependent
    import fcntl as _fcntl

    _flock: Any = _fcntl.flock
    _LOCK_EX: int = _fcntl.LOCK_EX
    _LOCK_UN: int = _fcntl.LOCK_UN
except ImportError:  # pragma: no cover - Windows: no cross-process rotation lock
    _flock = None
    _LOCK_EX = _LOCK_UN = 0

_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def backup_paths(path: Path, backups: int | None = None) -> list[Path]:
    """The rotated backups of ``path`` that exist, oldest first (``x.log.N`` … ``x.log.1``).

    With ``backups=None`` every numeric suffix present is returned.
    """
    found: list[tuple[int, Path]] = []
    prefix = path.name + "."
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix):
            continue
        suffix = name[len(prefix) :]
        if suffix.isdigit() and (backups is None or int(suffix) <= backups):
            found.append((int(suffix), entry))
    found.sort(reverse=True)
    return [p for _, p in found]


@contextlib.contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    if _flock is None:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        _flock(fd, _LOCK_EX)
        try:
            yield
        finally:
            _flock(fd, _LOCK_UN)
    finally:
        os.close(fd)


class RotatingFile:
    """One append-only log file with size-based rotation (``max_bytes <= 0`` disables it)."""

    __slots__ = ("_dev", "_ino", "_newline", "backups", "fd", "max_bytes", "path", "size")

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = max(0, backups)
        self.fd = -1
        self.size = 0
        self._dev = -1
        self._ino = -1
        self._newline = False  # the file ends with a torn line: start the next write with \n

    # -- descriptors ---------------------------------------------------------------------
    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, _OPEN_FLAGS, 0o644)
        st = os.fstat(fd)
        self.fd, self._dev, self._ino, self.size = fd, st.st_dev, st.st_ino, st.st_size
        # No "does the file end with a newline?" probe here: readers (fstat, pread) do not take
        # the inode lock, so they can observe another process's write half-way and the probe
        # would add stray blank lines. A tail torn by a crashed writer is recovered by the
        # reader instead (it salvages the complete record glued after a torn fragment).
        self._newline = False

    def close(self) -> None:
        """Close the descriptor (the next write reopens the path)."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _sync(self) -> None:
        """Reopen if the path was rotated or removed by someone else; refresh the size."""
        if self.fd < 0:
            self._open()
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.close()
            self._open()
            return
        if st.st_ino != self._ino or st.st_dev != self._dev:
            self.close()
            self._open()
            return
        self.size = st.st_size

    # -- writing -------------------------------------------------------------------------
    def write(self, data: bytes | bytearray, sep: bytes = b"\n") -> None:
        """Append complete records (each ending with ``sep``), rotating when the file would
        exceed ``max_bytes``. Without a rotation the whole of ``data`` is one ``write`` call;
        with one, ``data`` is cut after a ``sep`` so no record straddles two files (a single
        record larger than ``max_bytes`` gets a file of its own)."""
        total = len(data)
        if not total:
            return
        self._sync()
        view = memoryview(data)
        pos = 0
        stuck = False  # rotated and still nothing fits: write one record regardless
        while self.max_bytes > 0 and self.size + (total - pos) > self.max_bytes:
            room = self.max_bytes - self.size
            cut = data.rfind(sep, pos, pos + room) if room > 0 else -1
            if cut >= 0:
                end = cut + len(sep)
            elif self.size == 0 or stuck:
                first = data.find(sep, pos)
                end = total if first < 0 else first + len(sep)
            else:
                end = pos
            if end > pos:
                self._write(view[pos:end])
                pos = end
                stuck = False
                if pos == total:
                    return
            else:
                stuck = True
            self._rotate()
        self._write(view[pos:])

    def _write(self, view: memoryview) -> None:
        if self._newline:
            view = memoryview(b"\n" + view)
        done = 0
        try:
            while done < len(view):
                done += os.write(self.fd, view[done:])
        except OSError:
            if done:
                self._newline = True
                self.size += done
            raise
        self._newline = False
        self.size += done

    def _rotate(self) -> None:
        """Shift the backups and start a new file, unless another process just did."""
        lock = self.path.with_name(f".{self.path.name}.lock")
        with file_lock(lock):
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_ino == self._ino and st.st_dev == self._dev:
                self.close()
                if self.backups == 0:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path)
                else:
                    base = str(self.path)
                    for i in range(self.backups - 1, 0, -1):
                        with contextlib.suppress(FileNotFoundError):
                            os.replace(f"{base}.{i}", f"{base}.{i + 1}")
                    os.replace(base, f"{base}.1")
            self.close()
            self._open()
