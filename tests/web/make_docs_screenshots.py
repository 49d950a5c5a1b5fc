"""Refresh docs/screenshots/ from a running dashboard (not a test).

    tracehound demo && tracehound serve --no-auth &
    python tests/web/make_docs_screenshots.py http://127.0.0.1:4318 [API_KEY]

Saves one viewport-sized PNG per page (and a trace with a failed agent selected).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = ["overview", "executions", "agents", "errors", "cost", "learning", "interactions"]


def _failed_agent(base: str, key: str | None) -> tuple[str, str]:
    req = urllib.request.Request(f"{base}/ui/api/spans?kind=agent&status=error&page_size=1")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=30) as res:
        item = json.load(res)["items"][0]
    return item["trace_id"], item["id"]


def main(base: str, key: str | None = None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    trace_id, span_id = _failed_agent(base, key)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        if key:
            context.add_init_script(f"localStorage.setItem('tracehound.apiKey', {key!r});")
        page = context.new_page()
        routes = [(name, name) for name in PAGES]
        routes.insert(2, ("trace", f"trace/{trace_id}?span={span_id}"))
        for name, route in routes:
            page.goto(f"{base}/#/{route}")
            page.wait_for_selector(".page[data-ready=true]", timeout=20_000)
            page.wait_for_timeout(500)
            # the trace page shows the selected failure below the fold: keep the whole page
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=name == "trace")
            print(OUT / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
