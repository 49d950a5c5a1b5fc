"""The dashboard in Chromium (Playwright): every page loads with the demo session and without
console errors, filters change the list, a trace's waterfall shows all its spans, hostile
content stays text, a 10k-span trace opens in under 2 s and scrolls, the list updates live,
the API key is asked for. Screenshots of every page go to test-artifacts/screenshots/."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

import tracehound

from .conftest import BIG_TRACE_SPANS, XSS, Page, Served, Store

pytestmark = pytest.mark.browser

PAGES = [
    (
        "overview",
        "overview",
        [
            "[data-testid=kpi-executions]",
            "[data-testid=chart-executions] svg",
            "[data-testid=top-errors]",
        ],
    ),
    ("executions", "executions", ["[data-testid=executions-table] tbody tr"]),
    (
        "agents",
        "agents",
        ["[data-testid=agents-table] tbody tr", "[data-testid=why-decisions] tbody tr"],
    ),
    ("errors", "errors", ["[data-testid=patterns] tbody tr", "[data-testid=timeline] li"]),
    (
        "cost",
        "cost",
        ["[data-testid=cost-by-model] tbody tr", "[data-testid=unpriced-calls] tbody tr"],
    ),
    (
        "learning",
        "learning",
        ["[data-testid=learning-table] tbody tr", ".learning-detail svg.chart"],
    ),
    (
        "interactions",
        "interactions",
        ["[data-testid=cascades] tbody tr", "[data-testid=cascade-tree] svg"],
    ),
]


def _text(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.inner_text())


@pytest.mark.parametrize(("name", "route", "selectors"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_loads_with_demo_data_without_console_errors(
    page: Page, name: str, route: str, selectors: list[str]
) -> None:
    p = page.open(route)
    for selector in selectors:
        p.wait_for_selector(selector, timeout=10_000)
    assert p.locator(f".nav-link[data-nav={name}].active").count() == 1
    assert p.locator(".error-box").count() == 0
    p.wait_for_timeout(300)  # let charts settle before the screenshot
    page.shot(name)
    page.assert_no_console_errors()


def test_filters_change_the_list(page: Page, store: Store) -> None:
    p = page.open("executions")
    summary = "[data-testid=list-summary]"

    def total_is(n: int) -> None:
        p.wait_for_function(
            f"document.querySelector('{summary}').dataset.total === '{n}'", timeout=10_000
        )

    def count(sql: str, *args: Any) -> int:
        return int(store.query(sql, *args)[0][0])

    total_is(count("select count(*) from spans where kind = 'agent'"))
    p.select_option("[data-testid=filter-status]", "error")
    total_is(
        count("select count(*) from spans where kind='agent' and status in ('failed','timeout')")
    )
    rows = p.locator("[data-testid=executions-table] tbody tr")
    assert rows.count() == count(
        "select count(*) from spans where kind='agent' and status in ('failed','timeout')"
    )
    p.select_option("[data-testid=filter-agent]", "PublisherAgent")
    total_is(sum(store.demo.failures_by_agent["PublisherAgent"].values()))
    assert "PlatformRateLimitError" in _text(p, "[data-testid=executions-table] tbody")
    p.select_option("[data-testid=filter-status]", "")
    p.select_option("[data-testid=filter-agent]", "")
    p.fill("[data-testid=filter-q]", "Unterminated string")
    total_is(
        count(
            "select count(*) from spans where kind='agent' and error_message like '%Unterminated string%'"
        )
    )
    p.fill("[data-testid=filter-q]", "")
    p.select_option("[data-testid=filter-kind]", "root")
    total_is(count("select count(*) from spans where parent_id is null"))
    # pagination: the second page of agent executions holds other rows
    p.select_option("[data-testid=filter-kind]", "agent")
    total_is(count("select count(*) from spans where kind = 'agent'"))
    first = p.locator("[data-testid=executions-table] tbody tr").first.inner_text()
    p.click("[data-testid=next]")
    p.wait_for_function(
        "document.querySelector('[data-testid=page]').textContent.startsWith('Page 2')"
    )
    assert p.locator("[data-testid=executions-table] tbody tr").first.inner_text() != first
    assert "status=" not in p.url or "page=2" in p.url  # filters live in the address
    page.assert_no_console_errors()


def _collect_rows(p: Any) -> dict[str, dict[str, Any]]:
    """Scroll the virtualized waterfall from top to bottom, collecting every rendered row."""
    return dict(
        p.evaluate(
            """async () => {
              const sc = document.querySelector('[data-testid=waterfall]');
              const seen = new Map();
              const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
              sc.scrollTop = 0;
              await frame();
              for (let guard = 0; guard < 5000; guard++) {
                for (const row of sc.querySelectorAll('.tv-row')) {
                  seen.set(row.dataset.spanId, {bars: row.querySelectorAll('.tv-bar').length,
                                                kind: row.dataset.kind, status: row.dataset.status});
                }
                if (sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 1) break;
                sc.scrollTop += sc.clientHeight;
                await frame();
              }
              return [...seen.entries()];
            }"""
        )
    )


def test_a_trace_opens_and_its_waterfall_shows_every_span(page: Page, store: Store) -> None:
    trace_id, failures = next(iter(store.demo.failed_traces.items()))
    agent = failures[0].split(":")[0]
    ((span_id, error_type),) = store.query(
        "select id, error_type from spans where trace_id = ? and kind = 'agent' and agent_name = ? "
        "and status in ('failed','timeout')",
        trace_id,
        agent,
    )
    p = page.open(f"trace/{trace_id}?span={span_id}")
    waterfall = p.locator("[data-testid=waterfall]")
    expected = {r[0] for r in store.query("select id from spans where trace_id = ?", trace_id)}
    assert waterfall.get_attribute("data-spans") == str(len(expected))
    assert waterfall.get_attribute("data-rows") == str(len(expected))
    rows = _collect_rows(p)
    assert set(rows) == expected
    assert all(r["bars"] == 1 for r in rows.values())
    # the selected failed agent: error, traceback, what came before, what it cost
    details = p.locator("[data-testid=details]")
    p.wait_for_selector("[data-testid=error-detail]")
    assert details.get_attribute("data-span-id") == span_id
    text = details.inner_text()
    assert error_type.rsplit(".", 1)[-1] in text
    assert "Traceback (most recent call last)" in text
    assert "what came before" in text.lower() and p.locator(".before li").count() > 0
    assert p.locator("[data-testid=call-chain] li").count() >= 1
    assert agent in _text(p, "[data-testid=failures]")
    assert "$" in _text(p, ".kpis")
    page.shot("trace")
    # collapse and expand
    p.click("text=Collapse all")
    p.wait_for_function(
        f"document.querySelector('[data-testid=waterfall]').dataset.rows !== '{len(expected)}'"
    )
    assert int(waterfall.get_attribute("data-rows") or 0) < len(expected)
    p.click("text=Expand all")
    p.wait_for_function(
        f"document.querySelector('[data-testid=waterfall]').dataset.rows === '{len(expected)}'"
    )
    # an LLM call shows its prompt, response, tokens and cost
    llm = p.locator(".tv-row[data-kind=llm][data-status=success]").first
    llm.click()
    p.wait_for_selector("[data-testid=details] .messages, [data-testid=details] .pre.prompt")
    llm_text = details.inner_text()
    assert {"prompt", "response", "total tokens"} <= set(llm_text.lower().split("\n"))
    page.shot("trace-llm-call")
    page.assert_no_console_errors()


def test_hostile_trace_content_is_shown_as_text_and_never_runs(page: Page, store: Store) -> None:
    p = page.open(f"trace/{store.xss_trace}")
    p.wait_for_selector("[data-testid=error-detail], [data-testid=details] .dt-head")
    assert XSS in p.locator(".page-header h1").inner_text()
    # the LLM call: its prompt and response hold markup
    p.locator(".tv-row[data-kind=llm]").first.click()
    p.wait_for_selector("[data-testid=prompt]")
    prompt = p.locator("[data-testid=prompt]").inner_text()
    assert XSS in prompt and "<iframe src=javascript:alert(1)>" in prompt
    assert f"Sure: {XSS}" in p.locator("[data-testid=details]").inner_text()
    # the failed tool: the error message holds markup
    p.locator(".tv-row[data-kind=tool]").first.click()
    p.wait_for_selector("[data-testid=error-detail]")
    assert f"bad markup {XSS}" in p.locator("[data-testid=error-detail]").inner_text()
    for route in ("executions?kind=all&q=EvilAgent", "agents", "errors", "overview"):
        page.open(route)
        p.wait_for_timeout(200)
    assert p.evaluate("window.__xss") is None
    assert p.evaluate("document.querySelectorAll('img[src=x], iframe').length") == 0
    assert p.evaluate("document.scripts.length") == 1  # the app's own module only
    page.open(f"trace/{store.xss_trace}")
    assert p.evaluate("window.__xss") is None
    page.shot("xss")
    page.assert_no_console_errors()


def test_a_10k_span_trace_opens_in_under_2s_and_scrolls(page: Page, store: Store) -> None:
    p = page.page
    started = time.perf_counter()
    p.goto(f"{page.base}/#/trace/{store.big_trace}")
    p.wait_for_function(
        f"(() => {{ const w = document.querySelector('[data-testid=waterfall]');"
        f" return w && w.dataset.rows === '{BIG_TRACE_SPANS}'"
        f" && w.querySelectorAll('.tv-row').length > 0; }})()",
        timeout=10_000,
        polling="raf",
    )
    opened = time.perf_counter() - started
    print(f"10k-span trace opened in {opened:.3f}s")
    assert opened < 2.0, f"the 10k-span trace took {opened:.2f}s to open"
    waterfall = p.locator("[data-testid=waterfall]")
    assert waterfall.get_attribute("data-spans") == str(BIG_TRACE_SPANS)
    rendered = p.locator("[data-testid=waterfall] .tv-row").count()
    assert 0 < rendered < 200, "rows are virtualized"
    frames = p.evaluate(
        """async () => {
          const sc = document.querySelector('[data-testid=waterfall]');
          const times = [];
          for (let i = 0; i < 60; i++) {
            const t = performance.now();
            sc.scrollTop += 650;
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            times.push(performance.now() - t);
          }
          return times;
        }"""
    )
    assert statistics.median(frames) < 100, frames
    assert max(frames) < 400, frames
    # the rows under the viewport are the ones at the scroll position
    first = int(waterfall.get_attribute("data-first") or -1)
    top = p.evaluate("document.querySelector('[data-testid=waterfall]').scrollTop")
    assert abs(first - max(0, top // 26 - 12)) <= 1
    p.evaluate(
        "(() => { const sc = document.querySelector('[data-testid=waterfall]'); sc.scrollTop = sc.scrollHeight; })()"
    )
    p.wait_for_function(
        f"document.querySelector('[data-testid=waterfall]').dataset.last === '{BIG_TRACE_SPANS}'"
    )
    assert p.locator("[data-testid=waterfall] .tv-row").count() < 200
    page.shot("trace-10k")
    page.assert_no_console_errors()


def test_the_executions_list_updates_live_when_traces_arrive(
    page: Page, store: Store, tmp_path: Any
) -> None:
    p = page.open("executions?kind=root")
    p.wait_for_selector("#live[data-state=live]", timeout=10_000)
    before = int(p.locator("[data-testid=list-summary]").get_attribute("data-total") or 0)
    tracehound.configure(
        trace_dir=tmp_path / "t", store=store.url, exporters="store", project="default"
    )
    name = f"live trace {time.time_ns()}"
    with tracehound.span(name, kind="agent", agent="LiveAgent"):
        with tracehound.span("step", kind="stage"):
            pass
    assert tracehound.flush(timeout=10)
    tracehound.shutdown(timeout=5)
    # no reload: the stream (GET /v1/stream) tells the page, which refetches the first page
    p.wait_for_selector(
        f"[data-testid=executions-table] tbody tr:has-text('{name}')", timeout=15_000
    )
    p.wait_for_function(
        f"Number(document.querySelector('[data-testid=list-summary]').dataset.total) === {before + 1}"
    )
    assert p.locator("tr.flash").count() >= 1
    page.assert_no_console_errors()


def test_the_page_asks_for_the_api_key(browser: Any, served: Served) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        p = context.new_page()
        p.goto(f"{served.url}/#/overview")
        dialog = p.wait_for_selector("[data-testid=key-dialog][open]", timeout=10_000)
        assert dialog is not None
        p.fill("[data-testid=key-input]", served.key)
        p.click("[data-testid=key-save]")
        p.wait_for_selector(".page[data-ready=true] [data-testid=kpi-executions]", timeout=10_000)
        assert p.evaluate("localStorage.getItem('tracehound.apiKey')") == served.key
        p.wait_for_selector("#live[data-state=live]", timeout=10_000)
    finally:
        context.close()


def test_from_the_overview_to_the_cause_of_a_failure(page: Page, store: Store) -> None:
    """Which agent failed, why, what it cost, and what came before — from the dashboard."""
    p = page.open("overview")
    link = p.locator("[data-testid=top-errors] tbody tr a").first
    link.click()
    p.wait_for_selector("[data-testid=error-detail]")
    details = p.locator("[data-testid=details]").inner_text()
    assert "Traceback" in details
    assert p.locator(".before li").count() > 0
    p.click("text=Causality chain →")
    p.wait_for_selector("[data-testid=timeline] li.tl-item")
    assert p.locator("[data-testid=timeline] li.tl-item").count() >= 2
    assert "the error" in p.locator("[data-testid=timeline]").inner_text()
    page.shot("errors-causality")
    p.goto(f"{page.base}/#/cost")
    p.wait_for_selector("[data-testid=kpi-unpriced]")
    assert "price unknown" in p.locator("[data-testid=cost-by-model]").inner_text()
    page.assert_no_console_errors()


def test_every_page_runs_under_the_strict_csp(browser: Any, served: Served, store: Store) -> None:
    """Without bypassing the CSP (the other tests bypass it for wait_for_function): nothing the
    app does needs inline scripts, inline style attributes or eval."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.add_init_script(f"window.localStorage.setItem('tracehound.apiKey', {served.key!r});")
    try:
        page = Page(context, served.url)
        routes = [name for name, _route, _sel in PAGES]
        routes += [f"trace/{store.xss_trace}", f"trace/{next(iter(store.demo.failed_traces))}"]
        for route in routes:
            page.open(route)
            page.page.wait_for_timeout(150)
        page.page.locator(".tv-row[data-kind=llm]").first.click()
        page.page.wait_for_selector("[data-testid=details] .dt-section")
        page.assert_no_console_errors()
    finally:
        context.close()


def test_every_page_handles_an_empty_store(browser: Any, tmp_path: Any) -> None:
    """A fresh store (auth off, on localhost): every page says there is nothing yet."""
    from tracehound.api import create_app

    from .conftest import ServerThread

    app = create_app(f"sqlite:///{tmp_path / 'empty.db'}", auth=False, host="127.0.0.1")
    srv = ServerThread(app)
    srv.start()
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = Page(context, srv.url)
        for name, route, _selectors in PAGES:
            p = page.open(route)
            assert p.locator(".error-box").count() == 0, name
            if name in ("overview", "errors", "cost", "learning", "interactions"):
                assert p.locator(".empty-state").count() == 1, name
        p = page.open("trace/does-not-exist", ready=False)
        p.wait_for_selector(".error-box")
        assert "404" in p.locator(".error-box").inner_text()
        page.errors = [e for e in page.errors if "404" not in e]  # the missing trace's request
        page.assert_no_console_errors()
    finally:
        context.close()
        srv.stop()
