from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import tracehound
from tracehound.testing import InMemoryExporter

from ..conftest import flushed


def test_span_records_fields_and_attributes(memory: InMemoryExporter) -> None:
    with tracehound.span("plan", kind="agent", agent="planner", query="q", n=3) as sp:
        sp.set_input({"question": "why?"})
        sp.set_output(["a", "b"])
        sp.set_attribute("extra", 1.5)
    (rec,) = flushed(memory).spans
    assert rec.name == "plan" and rec.kind == "agent" and rec.agent_name == "planner"
    assert rec.status == "success"
    assert rec.attributes == {"query": "q", "n": 3, "extra": 1.5}
    assert rec.input == {"question": "why?"} and rec.output == ["a", "b"]
    assert rec.parent_id is None and rec.trace_id == rec.id
    assert rec.end_time is not None and rec.end_time >= rec.start_time
    assert rec.duration_ms == pytest.approx((rec.end_time - rec.start_time) / 1e6)
    assert len(rec.id) == 36 and rec.id[14] == "7"  # UUIDv7 layout
    assert rec.session_id and rec.project == "default"


def test_nesting_sets_parent_trace_and_inherits_agent(memory: InMemoryExporter) -> None:
    with tracehound.span("run", kind="agent", agent="writer", conversation_id="c1") as outer:
        with tracehound.span("call", kind="llm", model="m", input_tokens=3) as inner:
            assert tracehound.current_span() is inner
        assert tracehound.current_span() is outer
    assert not tracehound.current_span().is_recording
    spans = {s.name: s for s in flushed(memory).spans}
    assert spans["call"].parent_id == spans["run"].id
    assert spans["call"].trace_id == spans["run"].trace_id == spans["run"].id
    assert spans["call"].agent_name == "writer"
    assert spans["call"].conversation_id == "c1"
    assert spans["call"].model == "m" and spans["call"].input_tokens == 3
    assert spans["call"].total_tokens == 3
    assert "model" not in spans["call"].attributes


def test_exception_marks_failed_and_reraises_unchanged(memory: InMemoryExporter) -> None:
    err = KeyError("missing")
    with pytest.raises(KeyError) as info, tracehound.span("boom"):
        raise err
    assert info.value is err
    (rec,) = flushed(memory).spans
    assert rec.status == "failed"
    assert rec.error_type == "KeyError"
    assert rec.error_message == "'missing'"
    assert rec.error_traceback is not None and "raise err" in rec.error_traceback


def test_set_status_and_record_exception(memory: InMemoryExporter) -> None:
    with tracehound.span("a") as sp:
        sp.set_status("skipped", "not relevant")
    with tracehound.span("b") as sp:
        sp.set_status("completed")
        try:
            raise ValueError("handled")
        except ValueError as exc:
            sp.record_exception(exc)
    with tracehound.span("c") as sp:
        sp.set_status("no-such-status")
    spans = {s.name: s for s in flushed(memory).spans}
    assert spans["a"].status == "skipped" and spans["a"].status_message == "not relevant"
    assert spans["b"].status == "success" and spans["b"].error_type == "ValueError"
    assert spans["c"].status == "success"
    assert spans["c"].attributes["tracehound.invalid_status"] == "'no-such-status'"


def test_decorators_sync_async_generators(memory: InMemoryExporter) -> None:
    @tracehound.span("sync", kind="tool")
    def f(x: int) -> int:
        assert tracehound.current_span().name == "sync"
        return x + 1

    @tracehound.span("async")
    async def g(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    @tracehound.span("gen")
    def gen(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            assert tracehound.current_span().name == "gen"
            yield i

    @tracehound.span("agen")
    async def agen(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            await asyncio.sleep(0)
            assert tracehound.current_span().name == "agen"
            yield i

    @tracehound.span
    def bare() -> str:
        return "ok"

    assert f(1) == 2
    assert asyncio.run(g(2)) == 4
    with tracehound.span("consumer"):
        assert list(gen(3)) == [0, 1, 2]
        # between items the consumer's span is current, not the generator's

    async def consume() -> list[int]:
        return [i async for i in agen(2)]

    assert asyncio.run(consume()) == [0, 1]
    assert bare() == "ok"
    names = {s.name: s for s in flushed(memory).spans}
    assert set(names) == {"sync", "async", "gen", "agen", "consumer", f"{bare.__qualname__}"}
    assert names["sync"].kind == "tool"
    assert names["gen"].parent_id == names["consumer"].id


def test_decorated_failure_is_recorded(memory: InMemoryExporter) -> None:
    @tracehound.span("fails")
    async def bad() -> None:
        raise RuntimeError("nope")

    with pytest.raises(RuntimeError):
        asyncio.run(bad())
    (rec,) = flushed(memory).spans
    assert rec.status == "failed" and rec.error_message == "nope"


def test_asyncio_tasks_and_gather_keep_parentage(memory: InMemoryExporter) -> None:
    async def child(i: int) -> None:
        with tracehound.span(f"child{i}"):
            await asyncio.sleep(0.001 * (3 - i))
            with tracehound.span(f"grandchild{i}"):
                await asyncio.sleep(0)

    async def main() -> None:
        with tracehound.span("root"):
            await asyncio.gather(*(child(i) for i in range(3)))
            await asyncio.create_task(child(9))

    asyncio.run(main())
    spans = {s.name: s for s in flushed(memory).spans}
    for i in (0, 1, 2, 9):
        assert spans[f"child{i}"].parent_id == spans["root"].id
        assert spans[f"grandchild{i}"].parent_id == spans[f"child{i}"].id
        assert spans[f"grandchild{i}"].trace_id == spans["root"].id


def test_threads_and_executors(memory: InMemoryExporter) -> None:
    def work(i: int) -> None:
        with tracehound.span(f"work{i}"):
            pass

    with tracehound.span("root"):
        with tracehound.TracingThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(work, range(4)))
        t = threading.Thread(target=tracehound.propagate(work), args=(10,))
        t.start()
        t.join()

        async def via_loop() -> None:
            loop = asyncio.get_running_loop()
            with tracehound.TracingThreadPoolExecutor(max_workers=1) as pool:
                await loop.run_in_executor(pool, work, 11)

        asyncio.run(via_loop())
    with ThreadPoolExecutor(max_workers=1) as plain:  # no helper: a new root
        plain.submit(work, 99).result()
    spans = {s.name: s for s in flushed(memory).spans}
    for i in (0, 1, 2, 3, 10, 11):
        assert spans[f"work{i}"].parent_id == spans["root"].id, i
    assert spans["work99"].parent_id is None


def test_many_threads_with_nested_spans(memory: InMemoryExporter) -> None:
    def agent(i: int) -> None:
        with tracehound.span(f"a{i}", agent=f"agent{i}"):
            for j in range(20):
                with tracehound.span(f"a{i}.s{j}"):
                    with tracehound.span(f"a{i}.s{j}.t"):
                        pass

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spans = {s.name: s for s in flushed(memory).spans}
    assert len(spans) == 8 * 41
    for i in range(8):
        root = spans[f"a{i}"]
        for j in range(20):
            assert spans[f"a{i}.s{j}"].parent_id == root.id
            assert spans[f"a{i}.s{j}.t"].parent_id == spans[f"a{i}.s{j}"].id
            assert spans[f"a{i}.s{j}.t"].trace_id == root.id
            assert spans[f"a{i}.s{j}.t"].agent_name == f"agent{i}"


def test_events_and_metrics(memory: InMemoryExporter) -> None:
    tracehound.event("system", "startup", message="booting", version=2)
    with tracehound.span("run", agent="critic", agent_role="reviewer") as sp:
        tracehound.event("decision", "route", level="warning", target="x")
        tracehound.metric("latency", 12.5, unit="ms", op="fetch")
    mem = flushed(memory)
    events = {e.name: e for e in mem.events}
    assert events["startup"].trace_id is None and events["startup"].message == "booting"
    assert events["startup"].data == {"version": 2}
    route = events["route"]
    assert route.level == "WARNING" and route.type == "decision"
    assert route.span_id == sp.span_id and route.trace_id == sp.trace_id
    assert route.agent_name == "critic" and route.agent_role == "reviewer"
    assert route.data == {"target": "x"}
    (m,) = mem.metrics
    assert (m.name, m.value, m.unit, m.tags, m.agent_name) == (
        "latency",
        12.5,
        "ms",
        {"op": "fetch"},
        "critic",
    )
    assert m.span_id == sp.span_id


def test_disabled_is_a_noop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mem = InMemoryExporter()
    tracehound.configure(enabled=False, trace_dir=tmp_path, exporters=(), extra_exporters=(mem,))
    with tracehound.span("x") as sp:
        sp.set_attribute("a", 1)
        tracehound.event("log", "y")

    @tracehound.span("deco")
    def f() -> int:
        return 1

    assert f() == 1
    assert sp is tracehound.span("z")  # the shared no-op
    assert tracehound.flush(timeout=1)
    assert mem.records == []


def test_env_configuration(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACEHOUND_PROJECT", "envproj")
    monkeypatch.setenv("TRACEHOUND_EXPORTERS", "")
    monkeypatch.setenv("TRACEHOUND_TRACE_DIR", str(tmp_path / "t"))
    mem = InMemoryExporter()
    tracehound.configure(extra_exporters=(mem,))
    with tracehound.span("x"):
        pass
    assert tracehound.flush(5)
    assert mem.spans[0].project == "envproj"
    monkeypatch.setenv("TRACEHOUND_MAX_DEPTH", "deep")
    with pytest.raises(tracehound.ConfigError, match="TRACEHOUND_MAX_DEPTH"):
        tracehound.configure()
    monkeypatch.delenv("TRACEHOUND_MAX_DEPTH")
    with pytest.raises(tracehound.ConfigError, match="unknown option 'nope'"):
        tracehound.configure(nope=1)


def test_sampling_keeps_whole_traces(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mem = InMemoryExporter()
    tracehound.configure(sample_rate=0.5, trace_dir=tmp_path, exporters=(), extra_exporters=(mem,))
    for i in range(200):
        with tracehound.span(f"r{i}"):
            with tracehound.span(f"c{i}"):
                pass
    assert tracehound.flush(5)
    names = {s.name for s in mem.spans}
    roots = {n for n in names if n.startswith("r")}
    assert 40 < len(roots) < 160
    assert {n for n in names if n.startswith("c")} == {"c" + r[1:] for r in roots}


def test_capture_logging_option_routes_stdlib_logging_into_the_trace(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import logging

    from tracehound.integrations.logging import uninstrument_logging

    mem = InMemoryExporter()
    tracehound.configure(
        capture_logging=True, trace_dir=tmp_path, exporters=(), extra_exporters=(mem,)
    )
    try:
        log = logging.getLogger("app.capture")
        log.setLevel(logging.INFO)
        with tracehound.span("job", agent="worker") as sp:
            log.warning("disk almost full: %d%%", 93)
        assert tracehound.flush(5)
        (ev,) = [e for e in mem.events if e.type == "log"]
        assert ev.span_id == sp.span_id and ev.level == "WARNING"
        assert ev.message == "disk almost full: 93%" and ev.agent_name == "worker"
    finally:
        uninstrument_logging()
