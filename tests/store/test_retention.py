"""Retention on SQLite and PostgreSQL: policies, dry runs, archives, idempotency, partitions,
pruning while ingestion goes on, the CLI."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tracehound.exceptions import ConfigError
from tracehound.model import Record
from tracehound.store import StoreReader
from tracehound.store._retention import (
    RetentionConfig,
    RetentionPolicy,
    iter_archive,
    prune,
)

from ._support import make_event, make_metric, make_span

DAY = 86_400 * 10**9
NOW = time.time_ns()


def _exporter(url: str) -> Any:
    if url.startswith("sqlite"):
        from tracehound.store import SQLiteExporter

        return SQLiteExporter(url)
    from tracehound.store._postgres import PostgresExporter

    return PostgresExporter(url)


@pytest.fixture
def write(store_url: str) -> Iterator[Any]:
    exporter = _exporter(store_url)
    yield exporter.export
    exporter.shutdown()


def _ids(url: str) -> dict[str, set[str]]:
    with StoreReader(url) as reader:
        return {
            "spans": {s.id for s in reader.iter_spans()},
            "events": {e.id for e in reader.iter_events()},
            "metrics": {m.id for m in reader.iter_metrics()},
            "sessions": {s["id"] for s in reader.list_sessions(limit=1000)},
        }


def ago(days: float) -> int:
    return NOW - int(days * DAY)


def dataset() -> list[Record]:
    """Two projects, records of various ages; session s-old only has old records."""
    return [
        make_span(id="sp-40", session_id="s-old", start_time=ago(40), end_time=ago(40) + 5),
        make_span(id="sp-20", start_time=ago(20), end_time=ago(20) + 5),
        make_span(id="sp-1", start_time=ago(1), end_time=ago(1) + 5),
        make_span(id="tool-debug-40", kind="tool", start_time=ago(40), end_time=ago(40) + 5,
                  attributes={"debug_mode": True}),
        make_span(id="tool-debug-20", kind="tool", start_time=ago(20), end_time=ago(20) + 5,
                  attributes={"debug_mode": True}),
        make_span(id="tool-prod-40", kind="tool", start_time=ago(40), end_time=ago(40) + 5,
                  attributes={"debug_mode": False}),
        make_event(id="ev-40", session_id="s-old", timestamp=ago(40)),
        make_event(id="ev-debug-40", level="DEBUG", timestamp=ago(40)),
        make_event(id="ev-debug-20", level="DEBUG", timestamp=ago(20)),
        make_event(id="act-debug-40", type="decision", timestamp=ago(40),
                   data={"action_details": {}, "debug_mode": True}),
        make_event(id="ev-1", timestamp=ago(1)),
        make_metric(id="m-40", timestamp=ago(40)),
        make_metric(id="m-1", timestamp=ago(1)),
        # project "other"
        make_span(id="o-sp-40", session_id="s-other", project="other", start_time=ago(40),
                  end_time=ago(40) + 5),
        make_span(id="o-sp-1", session_id="s-other", project="other", start_time=ago(1),
                  end_time=ago(1) + 5),
        make_event(id="o-ev-40", session_id="s-other", project="other", timestamp=ago(40)),
    ]  # fmt: skip


ALL = {
    "spans": {"sp-40", "sp-20", "sp-1", "tool-debug-40", "tool-debug-20", "tool-prod-40",
              "o-sp-40", "o-sp-1"},
    "events": {"ev-40", "ev-debug-40", "ev-debug-20", "act-debug-40", "ev-1", "o-ev-40"},
    "metrics": {"m-40", "m-1"},
    "sessions": {"session-1", "s-old", "s-other"},
}  # fmt: skip


def test_default_policy_removes_only_old_debug_records(store_url: str, write: Any) -> None:
    write(dataset())
    assert _ids(store_url) == ALL
    result = prune(store_url)
    gone = {"tool-debug-40", "ev-debug-40", "act-debug-40"}
    assert result.deleted == {"spans": 1, "events": 2, "metrics": 0, "sessions": 0}
    left = _ids(store_url)
    assert left["spans"] == ALL["spans"] - gone
    assert left["events"] == ALL["events"] - gone
    assert left["metrics"] == ALL["metrics"]


def test_max_age_applies_to_every_kind_and_sessions(store_url: str, write: Any) -> None:
    write(dataset())
    config = RetentionConfig().with_max_age(10)
    dry = prune(store_url, config, dry_run=True)
    assert _ids(store_url) == ALL  # a dry run changes nothing
    result = prune(store_url, config)
    assert result.deleted == dry.deleted
    assert result.deleted == {"spans": 6, "events": 5, "metrics": 1, "sessions": 1}
    assert _ids(store_url) == {
        "spans": {"sp-1", "o-sp-1"},
        "events": {"ev-1"},
        "metrics": {"m-1"},
        "sessions": {"session-1", "s-other"},
    }
    again = prune(store_url, config)  # idempotent
    assert again.total == 0


def test_per_project_and_per_kind_policies(store_url: str, write: Any) -> None:
    write(dataset())
    config = RetentionConfig(
        default=RetentionPolicy(debug_days=None),  # default: keep everything
        projects={"other": RetentionPolicy(spans_days=5, debug_days=None)},
    )
    result = prune(store_url, config)
    assert result.deleted["spans"] == 1
    left = _ids(store_url)
    assert left["spans"] == ALL["spans"] - {"o-sp-40"}
    assert left["events"] == ALL["events"]  # events of "other" have no age: kept
    only = prune(store_url, RetentionConfig().with_max_age(10), project="other")
    assert only.deleted["events"] == 1
    left = _ids(store_url)
    assert "ev-40" in left["events"] and "sp-40" in left["spans"]  # project default untouched
    assert "o-ev-40" not in left["events"]


def test_archive_holds_exactly_what_was_deleted(store_url: str, write: Any, tmp_path: Path) -> None:
    records = dataset()
    write(records)
    before = _full(store_url)
    result = prune(store_url, RetentionConfig().with_max_age(10), archive_dir=tmp_path / "arch")
    archived: dict[str, dict[str, dict[str, Any]]] = {}
    for path in result.archives:
        assert path.name.endswith(".jsonl.gz") and path.parent == tmp_path / "arch"
        table = path.name.split("-", 1)[0]
        archived[table] = {row["id"]: row for row in iter_archive(path)}
    deleted = {t: ALL[t] - ids for t, ids in _ids(store_url).items()}
    for table in ("spans", "events", "metrics", "sessions"):
        assert set(archived.get(table, {})) == deleted[table], table
    for table in ("spans", "events", "metrics"):
        for rid, row in archived[table].items():
            assert row == before[table][rid], rid  # the record, field by field
    assert archived["sessions"]["s-old"]["project"] == "default"


def _full(url: str) -> dict[str, dict[str, dict[str, Any]]]:
    with StoreReader(url) as reader:
        return {
            "spans": {s.id: _jsonish(s._asdict()) for s in reader.iter_spans()},
            "events": {e.id: _jsonish(e._asdict()) for e in reader.iter_events()},
            "metrics": {m.id: _jsonish(m._asdict()) for m in reader.iter_metrics()},
        }


def _jsonish(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(value))
    return out


def test_pruning_while_ingestion_goes_on(store_url: str, write: Any) -> None:
    old = [make_span(id=f"old-{i}", start_time=ago(60) + i * 1000) for i in range(3000)]
    write(old)
    stop = threading.Event()
    written: list[str] = []
    errors: list[BaseException] = []
    exporter = _exporter(store_url)

    def ingest() -> None:
        i = 0
        try:
            while not stop.is_set():
                batch = [make_span(id=f"new-{i + k}", start_time=time.time_ns()) for k in range(50)]
                exporter.export(batch)
                written.extend(r.id for r in batch)
                i += 50
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        time.sleep(0.2)
        result = prune(store_url, RetentionConfig().with_max_age(30), batch_size=100)
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join(60)
        exporter.shutdown()
    assert errors == []
    assert result.deleted["spans"] == 3000
    left = _ids(store_url)["spans"]
    assert left == set(written)
    assert len(written) >= 50


# -- PostgreSQL partitions --------------------------------------------------------------------


def test_whole_partitions_are_dropped_and_archived(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    from tracehound.store._postgres import (
        PostgresExporter,
        detach_partition,
        libpq_url,
        list_partitions,
    )

    exporter = PostgresExporter(pg_url)
    exporter.export(
        [make_span(id=f"today-{i}", start_time=NOW + i) for i in range(10)]
        + [make_event(id="ev-today", timestamp=NOW), make_metric(id="m-today", timestamp=NOW)]
        + [make_span(id="old", start_time=ago(400))]  # history partition
    )
    exporter.export([make_span(id="tomorrow", start_time=NOW + DAY)])
    exporter.shutdown()
    later = datetime.now(UTC) + timedelta(days=45)  # "today" is 45 days old then
    today = datetime.now(UTC).strftime("%Y%m%d")
    config = RetentionConfig().with_max_age(30)

    dry = prune(pg_url, config, now=later, dry_run=True)
    assert f"spans_p{today}" in dry.dropped_partitions
    assert dry.deleted["spans"] == 12
    assert len(_ids(pg_url)["spans"]) == 12

    # A partition detached by an interrupted earlier run is finished too.
    with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        (part,) = [p for p in list_partitions(conn) if p.name == f"metrics_p{today}"]
        detach_partition(conn, part)
    result = prune(pg_url, config, now=later, archive_dir=tmp_path)
    assert {f"spans_p{today}", f"events_p{today}", f"metrics_p{today}"} <= set(
        result.dropped_partitions
    )
    assert result.deleted["spans"] == 12 and result.deleted["metrics"] == 1
    assert result.created_partitions  # a week ahead of `later`
    assert _ids(pg_url)["spans"] == set()
    archived = {
        row["id"] for path in result.archives for row in iter_archive(path) if "spans" in path.name
    }
    assert archived == {f"today-{i}" for i in range(10)} | {"old", "tomorrow"}
    with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        names = {p.name for p in list_partitions(conn)}
        leftovers = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'tracehound_partitions' AND c.relkind IN ('r', 'p')"
            " AND NOT c.relispartition"
        ).fetchone()
    assert f"spans_p{today}" not in names
    assert leftovers == (0,)
    assert prune(pg_url, config, now=later).total == 0


def test_no_partition_is_dropped_while_a_project_keeps_records_longer(pg_url: str) -> None:
    from tracehound.store._postgres import PostgresExporter

    exporter = PostgresExporter(pg_url)
    exporter.export(
        [
            make_span(id="a", project="short", session_id="s1", start_time=NOW),
            make_span(id="b", project="long", session_id="s2", start_time=NOW),
        ]
    )
    exporter.shutdown()
    config = RetentionConfig(
        default=RetentionPolicy(max_age_days=30),
        projects={"long": RetentionPolicy(max_age_days=365)},
    )
    result = prune(pg_url, config, now=datetime.now(UTC) + timedelta(days=45))
    assert not [p for p in result.dropped_partitions if p.startswith("spans")]
    assert _ids(pg_url)["spans"] == {"b"}  # row by row instead


# -- configuration ----------------------------------------------------------------------------


def test_policy_files(tmp_path: Path) -> None:
    toml = tmp_path / "retention.toml"
    toml.write_text(
        "[default]\nmax_age_days = 90\n\n[projects.noisy]\nmax_age_days = 7\nevents_days = 2\n"
    )
    config = RetentionConfig.from_file(toml)
    assert config.default.age("spans") == 90 and config.default.debug_age("events") == 30
    noisy = config.policy("noisy")
    assert (noisy.age("spans"), noisy.age("events"), noisy.debug_age("events")) == (7, 2, 2)
    assert config.policy("unknown") is config.default
    js = tmp_path / "retention.json"
    js.write_text(json.dumps({"default": {"debug_days": 10}}))
    assert RetentionConfig.from_file(js).default.debug_days == 10
    for bad in ('{"default": {"max_age": 3}}', '{"x": {}}', '{"default": {"debug_days": -1}}'):
        js.write_text(bad)
        with pytest.raises(ConfigError):
            RetentionConfig.from_file(js)
    with pytest.raises(ConfigError):
        RetentionConfig.from_file(tmp_path / "missing.toml")


# -- CLI --------------------------------------------------------------------------------------


def test_cli_db_and_prune(store_url: str, write: Any, tmp_path: Path) -> None:
    from tracehound.cli import app

    runner = CliRunner()
    up = runner.invoke(app, ["db", "upgrade", "--store", store_url])
    assert up.exit_code == 0, up.output
    assert "empty → 0" in up.output
    up = runner.invoke(app, ["db", "upgrade", "--store", store_url])
    assert up.exit_code == 0 and "nothing to do" in up.output, up.output
    cur = runner.invoke(app, ["db", "current", "--store", store_url])
    assert cur.exit_code == 0, cur.output
    assert "up to date" in cur.output
    write(dataset())
    dry = runner.invoke(app, ["prune", "--dry-run", "--older-than", "10", "--store", store_url])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "13" in dry.output
    assert _ids(store_url) == ALL
    real = runner.invoke(
        app,
        ["prune", "--older-than", "10", "--archive", str(tmp_path / "a"), "--store", store_url],
    )
    assert real.exit_code == 0, real.output
    assert "archive:" in real.output
    assert _ids(store_url)["spans"] == {"sp-1", "o-sp-1"}
    bad = runner.invoke(
        app, ["prune", "--policy", str(tmp_path / "nope.toml"), "--store", store_url]
    )
    assert bad.exit_code == 1 and "cannot read policy file" in bad.output


def test_cli_db_on_a_new_database(tmp_path: Path) -> None:
    from tracehound.cli import app

    url = f"sqlite:///{tmp_path / 'new.db'}"
    runner = CliRunner()
    cur = runner.invoke(app, ["db", "current", "--store", url])
    assert cur.exit_code == 0 and "no tracehound schema" in cur.output
    refused = runner.invoke(app, ["prune", "--store", url])
    assert refused.exit_code == 1 and "tracehound db upgrade" in refused.output
    up = runner.invoke(app, ["db", "upgrade", "--store", url])
    assert up.exit_code == 0 and "empty →" in up.output
