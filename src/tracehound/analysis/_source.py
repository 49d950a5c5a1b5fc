"""Where analysis reads a session from: the seed-000 files or the database.

Both sources stream records (nothing is loaded whole) and answer the same three questions:
every record of the session, the records of one agent, and the records around a moment. The
files are read with :func:`tracehound.pipeline.exporters._files.read_records`; the database
with SQLAlchemy Core on :mod:`tracehound.store`'s tables. The store keeps microseconds, so
every time is truncated to the microsecond here: both sources then give identical records.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

from ..config import Settings
from ..exceptions import ValidationError
from ..model import Event, Metric, Record, Span
from ..sdk import _runtime

__all__ = ["FileSource", "Progress", "RecordSource", "StoreSource", "open_source"]

Progress = Callable[[int, "int | None"], None]
"""``progress(done, total)``: called while a full pass runs (``total`` may be an estimate)."""

_STEP: Final = 20_000
_SESSION_PREFIX: Final = "session_"


def us(ns: int) -> int:
    """Nanoseconds truncated to the microsecond (what the store keeps)."""
    return ns - ns % 1000


def normalize(rec: Record) -> Record:
    """The record with its times truncated to microseconds."""
    if type(rec) is Span:
        start, end = rec.start_time, rec.end_time
        if start % 1000 or (end is not None and end % 1000):
            return rec._replace(start_time=us(start), end_time=None if end is None else us(end))
        return rec
    if type(rec) is Event:
        if rec.timestamp % 1000:
            return rec._replace(timestamp=us(rec.timestamp))
        return rec
    assert type(rec) is Metric
    if rec.timestamp % 1000:
        return rec._replace(timestamp=us(rec.timestamp))
    return rec


class RecordSource(Protocol):
    """A session's records."""

    kind: str
    description: str
    session_id: str | None
    location: str

    def records(self, progress: Progress | None = None) -> Iterator[Record]: ...

    def agent_records(self, agent: str, files: Iterable[str] = ()) -> Iterator[Record]: ...

    def window(self, start_ns: int, end_ns: int) -> Iterator[Record]: ...


def _agent_match(rec: Record, agent: str) -> bool:
    if type(rec) is Metric:
        return rec.agent_name == agent
    return rec.agent_name == agent or rec.agent_id == agent  # type: ignore[union-attr]


def _in_window(rec: Record, start: int, end: int) -> bool:
    if type(rec) is Span:
        if rec.start_time > end:
            return False
        return rec.end_time is None or rec.end_time >= start
    ts = rec.timestamp  # type: ignore[union-attr]
    return start <= ts <= end


# -- files ---------------------------------------------------------------------------------


class FileSource:
    """A session of the seed-000 layout: a ``session_<id>`` directory (with its parent's
    category files), a whole ``trace/`` directory filtered to one session, or one log file."""

    kind = "files"

    def __init__(self, path: str | Path, session_id: str | None = None) -> None:
        self.path = Path(path)
        self.session_id = session_id
        if session_id is None and self.path.name.startswith(_SESSION_PREFIX):
            self.session_id = self.path.name[len(_SESSION_PREFIX) :]
        self.location = str(self.path)
        self.description = f"files {self.path}"
        self.stats: Any = None

    def _files(self) -> list[Path]:
        p = self.path
        if p.is_file():
            return [p]
        out = [f for f in (p / "agents").glob("*.log*") if f.is_file()] if p.is_dir() else []
        parent = p.parent if p.name.startswith(_SESSION_PREFIX) else p
        for d in parent.iterdir() if parent.is_dir() else []:
            if d.is_dir() and not d.name.startswith((_SESSION_PREFIX, ".")):
                out.extend(f for f in d.glob(f"{d.name}.log*") if f.is_file())
        return out

    def _read(self, stats: Any = None) -> Iterator[Record]:
        from ..pipeline.exporters._files import ReadStats, read_records

        st = stats if stats is not None else ReadStats()
        self.stats = st
        want = None if self.path.name.startswith(_SESSION_PREFIX) else self.session_id
        for rec in read_records(self.path, session_id=want, stats=st):
            yield normalize(rec)

    def _estimate_lines(self) -> int | None:
        files = self._files()
        total = 0
        sample_bytes = sample_lines = 0
        for f in files:
            try:
                size = f.stat().st_size
            except OSError:
                continue
            total += size
            if sample_lines < 200 and size:
                try:
                    with open(f, "rb") as fh:
                        chunk = fh.read(65_536)
                except OSError:
                    continue
                sample_bytes += len(chunk)
                sample_lines += chunk.count(b"\n")
        if not total:
            return None
        per_line = sample_bytes / sample_lines if sample_lines else 400.0
        return max(int(total / per_line), 1)

    def records(self, progress: Progress | None = None) -> Iterator[Record]:
        from ..pipeline.exporters._files import ReadStats

        if progress is None:
            yield from self._read()
            return
        stats = ReadStats()
        total = self._estimate_lines()
        progress(0, total)
        last = 0
        for rec in self._read(stats):
            lines = stats.lines
            if lines - last >= _STEP:
                last = lines
                if total is not None and lines > total:
                    total = int(lines * 1.05)
                progress(lines, total)
            yield rec
        progress(stats.lines, stats.lines)

    def agent_records(self, agent: str, files: Iterable[str] = ()) -> Iterator[Record]:
        """The agent's records. A session directory has one file per agent (named by the
        agent id, else the agent name): only those files are read — ``agent`` and ``files``
        (the agent's other ids) name them. Without such files, every record is scanned."""
        from ..pipeline.exporters._files import read_records, safe_name
        from ..pipeline.exporters._rotating import backup_paths

        agents_dir = self.path / "agents"
        paths: list[Path] = []
        if self.path.name.startswith(_SESSION_PREFIX) and agents_dir.is_dir():
            for name in dict.fromkeys([agent, *files]):
                log = agents_dir / f"{safe_name(name)}.log"
                paths.extend(backup_paths(log))
                if log.is_file():
                    paths.append(log)
        if not paths:
            for rec in self._read():
                if _agent_match(rec, agent):
                    yield rec
            return
        found: dict[tuple[str, str], Record] = {}
        for path in paths:
            for rec in read_records(path):
                if not _agent_match(rec, agent):
                    continue
                key = (rec.record_type, rec.id)
                cur = found.get(key)
                if cur is None or (type(rec) is Span and rec.end_time is not None):
                    found[key] = normalize(rec)
        yield from found.values()

    def window(self, start_ns: int, end_ns: int) -> Iterator[Record]:
        """Events from ``start_ns`` to ``end_ns`` and the spans open then. Lines are skipped
        by their leading ``timestamp`` (an event's time, a span's end) before any decoding,
        so a window late in a long session reads little more than the window itself."""
        from ..pipeline.exporters._files import decode_line, safe_name

        floor = _iso_prefix(start_ns - 1000)
        want = self.session_id
        wanted = {want, safe_name(want)} if want is not None else None
        seen: dict[tuple[str, str], Record] = {}
        for path in self._files():
            try:
                fh = open(path, "rb")  # noqa: SIM115 - closed below
            except OSError:
                continue
            with fh:
                for raw in fh:
                    if raw.startswith(b'{"timestamp":"') and raw[14:40] < floor:
                        continue
                    try:
                        rec = decode_line(raw)
                    except (ValueError, TypeError):
                        continue
                    if wanted is not None and rec.session_id not in wanted:
                        continue
                    if not _in_window(rec, start_ns, end_ns):
                        continue
                    key = (rec.record_type, rec.id)
                    cur = seen.get(key)
                    if cur is None or (
                        type(rec) is Span
                        and rec.end_time is not None
                        and getattr(cur, "end_time", None) is None
                    ):
                        seen[key] = normalize(rec)
        yield from seen.values()


def _iso_prefix(ns: int) -> bytes:
    """The first 26 bytes of the seed-000 line ``timestamp`` of ``ns`` (text order = time)."""
    sec, frac = divmod(max(ns, 0), 1_000_000_000)
    head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{head}.{frac // 1000:06d}".encode()


def _latest_file_session(trace_dir: Path) -> str | None:
    best: tuple[float, str] | None = None
    try:
        entries = list(trace_dir.iterdir())
    except OSError:
        return None
    for d in entries:
        if (
            not d.is_dir()
            or not d.name.startswith(_SESSION_PREFIX)
            or len(d.name) == len(_SESSION_PREFIX)
        ):
            continue
        try:
            mtime = max(
                (f.stat().st_mtime for f in d.rglob("*") if f.is_file()), default=d.stat().st_mtime
            )
        except OSError:
            continue
        key = (mtime, d.name)
        if best is None or key > best:
            best = key
    return None if best is None else best[1][len(_SESSION_PREFIX) :]


# -- database ------------------------------------------------------------------------------


class StoreSource:
    """A session in the database at ``url`` (the latest one when ``session_id`` is None)."""

    kind = "store"

    def __init__(self, url: str, session_id: str | None = None, *, engine: Any = None) -> None:
        from ..store._engine import make_engine

        self.url = url
        self.engine = engine if engine is not None else make_engine(url)
        self.location = url
        self.session_id = session_id if session_id is not None else self._latest_session()
        self.description = f"database {url}"

    def close(self) -> None:
        self.engine.dispose()

    def _latest_session(self) -> str | None:
        from sqlalchemy import func, select

        from ..store._schema import events, sessions, spans

        with self.engine.connect() as conn:
            row = conn.execute(
                select(sessions.c.id)
                .order_by(sessions.c.last_seen_at.desc(), sessions.c.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                return str(row[0])
            best: tuple[datetime, str] | None = None
            for table, col in ((events, events.c.timestamp), (spans, spans.c.start_time)):
                r = conn.execute(
                    select(table.c.session_id, func.max(col).label("t"))
                    .group_by(table.c.session_id)
                    .order_by(func.max(col).desc())
                    .limit(1)
                ).first()
                if r is not None and r[1] is not None:
                    key = (r[1], str(r[0]))
                    if best is None or key > best:
                        best = key
            return None if best is None else best[1]

    def _queries(
        self, extra: Callable[[Any], list[Any]] | None = None
    ) -> list[tuple[type[Any], Any, Any]]:
        from sqlalchemy import select

        from ..store._schema import events, metrics, spans

        out = []
        for cls, table in ((Span, spans), (Event, events), (Metric, metrics)):
            query = select(*(table.c[name] for name in cls._fields))
            if self.session_id is not None:
                query = query.where(table.c.session_id == self.session_id)
            if extra is not None:
                conds = extra(table)
                if conds is None:
                    continue
                for cond in conds:
                    query = query.where(cond)
            out.append((cls, table, query))
        return out

    def _run(
        self,
        queries: list[tuple[type[Any], Any, Any]],
        progress: Progress | None = None,
        total: int | None = None,
    ) -> Iterator[Record]:
        from ..store._time import datetime_to_ns

        done = 0
        last = 0
        with self.engine.connect() as conn:
            for cls, _table, query in queries:
                result = conn.execution_options(yield_per=5000).execute(query)
                if cls is Span:
                    for row in result:
                        values = list(row)
                        values[8] = datetime_to_ns(values[8])
                        if values[9] is not None:
                            values[9] = datetime_to_ns(values[9])
                        if values[22] is None:
                            values[22] = {}
                        done += 1
                        if progress is not None and done - last >= _STEP:
                            last = done
                            progress(done, total)
                        yield Span(*values)
                elif cls is Event:
                    for row in result:
                        values = list(row)
                        values[5] = datetime_to_ns(values[5])
                        if values[13] is None:
                            values[13] = {}
                        done += 1
                        if progress is not None and done - last >= _STEP:
                            last = done
                            progress(done, total)
                        yield Event(*values)
                else:
                    for row in result:
                        values = list(row)
                        values[3] = datetime_to_ns(values[3])
                        if values[7] is None:
                            values[7] = {}
                        done += 1
                        if progress is not None and done - last >= _STEP:
                            last = done
                            progress(done, total)
                        yield Metric(*values)
        if progress is not None:
            progress(done, done)

    def count(self) -> int:
        from sqlalchemy import func, select

        total = 0
        with self.engine.connect() as conn:
            for _cls, table, _q in self._queries():
                query = select(func.count()).select_from(table)
                if self.session_id is not None:
                    query = query.where(table.c.session_id == self.session_id)
                total += int(conn.execute(query).scalar_one())
        return total

    def records(self, progress: Progress | None = None) -> Iterator[Record]:
        total = None
        if progress is not None:
            total = self.count()
            progress(0, total)
        return self._run(self._queries(), progress, total)

    def agent_records(self, agent: str, files: Iterable[str] = ()) -> Iterator[Record]:
        from sqlalchemy import or_

        def where(table: Any) -> list[Any]:
            if "agent_id" in table.c:
                return [or_(table.c.agent_name == agent, table.c.agent_id == agent)]
            return [table.c.agent_name == agent]

        return self._run(self._queries(where))

    def window(self, start_ns: int, end_ns: int) -> Iterator[Record]:
        from sqlalchemy import or_

        def where(table: Any) -> list[Any]:
            if "start_time" in table.c:
                return [
                    table.c.start_time <= end_ns,
                    or_(table.c.end_time.is_(None), table.c.end_time >= start_ns),
                ]
            return [table.c.timestamp >= start_ns, table.c.timestamp <= end_ns]

        return self._run(self._queries(where))


# -- choosing ------------------------------------------------------------------------------


def _is_url(text: str) -> bool:
    return text.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+psycopg:"))


def _db_url(path: Path) -> str:
    return "sqlite:///" + path.resolve().as_posix()


def _looks_like_db(path: Path) -> bool:
    if path.suffix.lower() in (".db", ".sqlite", ".sqlite3"):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _store_url_of(settings: Settings) -> str | None:
    url = settings.store_url
    if url is None:
        return None
    if url.startswith("sqlite:"):
        from ..store._engine import sqlite_path

        path = sqlite_path(url)
        if path is None or not path.is_file():
            return None
    return url


def open_source(
    session: str | os.PathLike[str] | None = None,
    *,
    trace_dir: str | os.PathLike[str] | None = None,
    store: str | os.PathLike[str] | None = None,
    session_id: str | None = None,
) -> RecordSource:
    """The source of a session:

    * ``store``: a database URL or SQLite file (``session_id`` or ``session``, else its
      latest session);
    * ``session``: a ``session_<id>`` directory, a ``trace/`` directory (its latest session,
      or ``session_id``), a ``.log`` file, a database URL or file, or a session id (looked up in
      ``trace_dir``, then in its database);
    * nothing: the current session (of the running tracehound, flushed first), else the
      latest session in ``trace_dir`` (default: the ``trace_dir`` setting), else the latest
      one in its database.

    Raises :class:`~tracehound.exceptions.ValidationError` when nothing is found.
    """
    if session is not None and not isinstance(session, str | os.PathLike):
        raise ValidationError(
            f"session: expected a path, a session id or a database URL, got {type(session).__name__}",
            field="session",
        )
    if store is not None:
        text = os.fspath(store)
        url = text if _is_url(text) else _db_url(Path(text))
        if not _is_url(text) and not Path(text).is_file():
            raise ValidationError(f"store: no database at {text}", field="store")
        sid = session_id or (
            os.fspath(session) if isinstance(session, str) and not _is_url(session) else None
        )
        return StoreSource(url, sid)

    rt = _runtime._runtime
    settings = rt.settings if rt is not None else Settings.load()
    root = Path(trace_dir) if trace_dir is not None else settings.trace_dir

    if session is not None:
        text = os.fspath(session)
        if _is_url(text):
            return StoreSource(text, session_id)
        path = Path(text)
        if path.is_file():
            if _looks_like_db(path):
                return StoreSource(_db_url(path), session_id)
            return FileSource(path, session_id)
        if path.is_dir():
            if path.name.startswith(_SESSION_PREFIX):
                return FileSource(path)
            sid = session_id or _latest_file_session(path)
            if sid is not None and (path / f"{_SESSION_PREFIX}{sid}").is_dir():
                return FileSource(path / f"{_SESSION_PREFIX}{sid}")
            if sid is not None:
                return FileSource(path, sid)
            db = path / "tracehound.db"
            if db.is_file():
                return StoreSource(_db_url(db), session_id)
            raise ValidationError(f"session: no session found under {path}", field="session")
        # a session id
        if (root / f"{_SESSION_PREFIX}{text}").is_dir():
            return FileSource(root / f"{_SESSION_PREFIX}{text}")
        found = (
            _store_url_of(settings)
            if trace_dir is None
            else _store_url_of(settings.replace(trace_dir=root, store=None))
        )
        if found is not None:
            return StoreSource(found, text)
        raise ValidationError(
            f"session: {text!r} is neither a path nor a session in {root}", field="session"
        )

    if rt is not None and rt.enabled and trace_dir is None:
        try:
            from ..loggers._performance import flush_loggers

            flush_loggers()
            rt.flush(10.0)
        except Exception:
            pass
        sid = rt.session_id
        if "files" in rt.settings.exporters and (root / f"{_SESSION_PREFIX}{sid}").is_dir():
            return FileSource(root / f"{_SESSION_PREFIX}{sid}")
        current = _store_url_of(rt.settings) if "store" in rt.settings.exporters else None
        if current is not None:
            return StoreSource(current, sid)
    sid = session_id or _latest_file_session(root)
    if sid is not None and (root / f"{_SESSION_PREFIX}{sid}").is_dir():
        return FileSource(root / f"{_SESSION_PREFIX}{sid}")
    db = root / "tracehound.db"
    if db.is_file():
        return StoreSource(_db_url(db), session_id)
    raise ValidationError(
        f"no session to analyze: {root} has no session directory and no database "
        "(record something first, or pass a session directory or database)",
        field="session",
    )
