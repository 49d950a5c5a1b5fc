"""Fixtures of the dashboard tests: a store with the demo session, a hostile (XSS) trace and a
10k-span trace; the server (``create_app``) on a free port in a thread; Chromium."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tests.conftest import ROOT
from tracehound.demo import DemoSummary, run_demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
BIG_TRACE_SPANS = 10_000
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


@dataclass(frozen=True)
class Store:
    url: str
    path: Path
    demo: DemoSummary
    xss_trace: str
    big_trace: str

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.path)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()


def _reset_runtime() -> None:
    tracehound.shutdown(timeout=5)
    from tracehound.sdk import _runtime

    _runtime._pending_settings[0] = None


def record_xss_trace() -> str:
    """A failed agent whose names, prompt, response, error and events carry markup."""
    with tracehound.span(
        f"EvilAgent.run {XSS}",
        kind="agent",
        agent=f"EvilAgent{XSS}",
        conversation_id="conv-xss",
        relevance_score=0.9,
    ) as root:
        root.set_input({"query": f"Summarize this page: {XSS}<b>bold</b>", "html": XSS})
        tracehound.event(
            "decision", "should_respond", message=f"Responding to {XSS}", reasoning=XSS
        )
        with tracehound.span(
            "chat gpt-4o-mini",
            kind="llm",
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=120,
            output_tokens=40,
        ) as llm:
            llm.set_input(
                [
                    {"role": "system", "content": "You are careful."},
                    {
                        "role": "user",
                        "content": f"Render this: {XSS}<iframe src=javascript:alert(1)>",
                    },
                ]
            )
            llm.set_output(f"Sure: {XSS}")
        try:
            with tracehound.span(f"render {XSS}", kind="tool"):
                raise ValueError(f"bad markup {XSS}")
        except ValueError:
            pass
        root.set_status("failed", f"tool failed on {XSS}")
        trace_id = root.trace_id
    return trace_id


def record_big_trace(n: int) -> str:
    """One trace of ``n`` spans: a root, 100 batches, and leaves under them."""
    per_batch = (n - 1) // 100 - 1
    made = 1
    with tracehound.span("big pipeline", kind="agent", agent="BulkAgent") as root:
        for b in range(100):
            with tracehound.span(f"batch {b:03d}", kind="stage"):
                made += 1
                for i in range(per_batch):
                    with tracehound.span(f"item {b:03d}.{i:03d}", kind="tool" if i % 7 else "task"):
                        pass
                    made += 1
        while made < n:
            with tracehound.span(f"tail {made}", kind="task"):
                pass
            made += 1
        trace_id = root.trace_id
    return trace_id


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The demo session (24 conversations), the XSS trace and the 10k-span trace, in SQLite."""
    d = tmp_path_factory.mktemp("web-store")
    path = d / "trace" / "tracehound.db"
    _reset_runtime()
    tracehound.configure(trace_dir=d / "trace", exporters="files,store")
    summary = run_demo(conversations=24, seed=7, speed=2000.0)
    xss = record_xss_trace()
    assert tracehound.flush(timeout=30)
    _reset_runtime()
    # the big trace goes to the database only (the seed-000 files would just cost time)
    tracehound.configure(trace_dir=d / "trace", exporters="store")
    big = record_big_trace(BIG_TRACE_SPANS)
    assert tracehound.flush(timeout=60)
    _reset_runtime()
    yield Store(f"sqlite:///{path}", path, summary, xss, big)


class ServerThread:
    """uvicorn serving an app on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="web-test-server", daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass(frozen=True)
class Served:
    url: str
    key: str
    app: Any


@pytest.fixture(scope="session")
def served(store: Store) -> Iterator[Served]:
    """The real server (``tracehound.api.create_app``, auth on) over the test store, with an
    API key of the demo's project."""
    from tracehound.api import create_app

    app = create_app(store.url, auth=True, host="127.0.0.1", project="default")
    srv = ServerThread(app)
    srv.start()
    key = app.state.tracehound.keys.create("default", name="dashboard tests").key
    try:
        yield Served(srv.url, key, app)
    finally:
        srv.stop()


def need_chromium() -> None:
    if not CHROMIUM.exists():
        from tests.conftest import need_service

        need_service("chromium", f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Page:
    """A Playwright page with the API key set and every console error collected."""

    def __init__(self, context: Any, base: str) -> None:
        self.context = context
        self.page = context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def open(self, route: str, *, ready: bool = True) -> Any:
        self.page.goto(f"{self.base}/#/{route}")
        if ready:
            self.page.wait_for_selector(".page[data-ready=true]", timeout=15_000)
        return self.page

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_no_console_errors(self) -> None:
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Page]:
    # bypass_csp: Playwright's wait_for_function needs eval, which the page's CSP forbids;
    # it also makes the XSS test prove the DOM building itself is safe, not just the CSP.
    context = browser.new_context(viewport={"width": 1500, "height": 950}, bypass_csp=True)
    context.add_init_script(f"window.localStorage.setItem('tracehound.apiKey', {served.key!r});")
    try:
        yield Page(context, served.url)
    finally:
        context.close()
