"""The studio's tools. Each call is a ``tool`` span: the parameters are its input
(``tool_parameters``), the result its output (``tool_result``), plus the seed-004 context
attributes. Failures are real exceptions raised from the tool's code."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ._recorder import Recorder

if TYPE_CHECKING:
    from ._recorder import SpanHandle

__all__ = [
    "PlatformRateLimitError",
    "ToolContext",
    "publish_post",
    "read_file",
    "run_code",
    "web_search",
    "write_file",
]

PROJECT: Final = "writing-studio"
SANDBOX_TIMEOUT_S: Final = 30


class PlatformRateLimitError(RuntimeError):
    """A publishing platform refused the request with HTTP 429."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    vault_id: str

    @property
    def working_directory(self) -> str:
        return f"/srv/studio/vaults/{self.vault_id}"


@contextmanager
def _tool(
    rec: Recorder, name: str, ctx: ToolContext, params: dict[str, Any], simulated_ms: float
) -> Iterator[SpanHandle]:
    rec.tool_calls += 1
    with rec.span(
        name,
        kind="tool",
        tool_name=name,
        project_name=PROJECT,
        project_path="/srv/studio",
        working_directory=ctx.working_directory,
        debug_mode=False,
        simulated_latency_ms=round(simulated_ms, 1),
    ) as sp:
        sp.set_input(params)
        rec.sleep_simulated(simulated_ms)
        rec.metric("tool.latency_ms", round(simulated_ms, 1), unit="ms", tool=name)
        try:
            yield sp
        except BaseException:
            rec.failed_tools += 1
            raise


def web_search(rec: Recorder, rng: random.Random, ctx: ToolContext, query: str) -> dict[str, Any]:
    """Search the web; about one call in twelve hits a dropped connection."""
    dropped = rng.random() < 0.08
    hits = rng.randint(3, 6)
    params = {"query": query, "max_results": 5, "safe_search": True}
    with _tool(rec, "web_search", ctx, params, rng.uniform(350, 1400)) as sp:
        if dropped:
            raise ConnectionResetError(
                104, "Connection reset by peer while reading search.example/v1/search"
            )
        results = [
            {
                "title": f"{query[:40]} — source {i + 1}",
                "url": f"https://news.example/{rng.getrandbits(32):08x}",
                "snippet": f"Finding {i + 1} on {query[:30]}: figures from the {2019 + i} survey.",
            }
            for i in range(min(hits, 5))
        ]
        result = {"results": results, "count": len(results)}
        sp.set_output(result)
        return result


def read_file(rec: Recorder, rng: random.Random, ctx: ToolContext, path: str) -> dict[str, Any]:
    """Read a vault file; some notes the index points at were moved or deleted."""
    missing = rng.random() < 0.12
    size = rng.randint(800, 12_000)
    with _tool(rec, "read_file", ctx, {"file_path": path}, rng.uniform(15, 90)) as sp:
        if missing:
            raise FileNotFoundError(
                2, "No such file or directory", f"{ctx.working_directory}/{path}"
            )
        result = {"file_path": path, "bytes": size, "line_count": size // 62}
        sp.set_output(result)
        return result


def write_file(
    rec: Recorder, rng: random.Random, ctx: ToolContext, path: str, content: str
) -> dict[str, Any]:
    params = {"file_path": path, "content_length": len(content)}
    with _tool(rec, "write_file", ctx, params, rng.uniform(20, 120)) as sp:
        result = {"success": True, "bytes_written": len(content.encode())}
        sp.set_output(result)
        return result


def run_code(
    rec: Recorder, rng: random.Random, ctx: ToolContext, code: str, snippet: str
) -> dict[str, Any]:
    """Run a snippet in the sandbox. Snippets that touch the network hang until the sandbox's
    30 s limit: the span ends ``timeout`` and :class:`TimeoutError` propagates."""
    hangs = rng.random() < 0.3
    took = SANDBOX_TIMEOUT_S * 1000.0 if hangs else rng.uniform(180, 2600)
    params = {
        "language": "python",
        "snippet": snippet,
        "code": code,
        "timeout_s": SANDBOX_TIMEOUT_S,
    }
    with _tool(rec, "run_code", ctx, params, took) as sp:
        if hangs:
            sp.set_status("timeout", f"sandbox limit of {SANDBOX_TIMEOUT_S}s exceeded")
            _wait_for_sandbox(snippet)
        result = {
            "exit_code": 0,
            "stdout": f"ok: {snippet} passed 3 checks",
            "duration_ms": round(took),
        }
        sp.set_output(result)
        return result


def _wait_for_sandbox(snippet: str) -> None:
    raise TimeoutError(
        f"run_code: snippet {snippet!r} did not finish within the {SANDBOX_TIMEOUT_S}s sandbox "
        "limit (blocked on an outbound HTTP request)"
    )


def publish_post(
    rec: Recorder,
    rng: random.Random,
    ctx: ToolContext,
    *,
    platform: str,
    title: str,
    body: str,
    scheduled_for: str,
) -> dict[str, Any]:
    """Publish to a platform. The studio shares one platform account across all vaults, so
    publishing is often rate limited; the LinkedIn OAuth grant also expires now and then."""
    draw = rng.random()
    post_id = f"post-{rng.getrandbits(32):08x}"
    params = {
        "platform": platform,
        "title": title,
        "body_length": len(body),
        "scheduled_for": scheduled_for,
    }
    with _tool(rec, "publish_post", ctx, params, rng.uniform(600, 2200)) as sp:
        if draw < 0.33:
            raise PlatformRateLimitError(
                f"{platform} returned 429 Too Many Requests for account 'studio-main' "
                "(limit 10 posts/hour; retry after 1800s)"
            )
        if draw < 0.41:
            raise PermissionError(
                f"{platform} rejected the request: OAuth grant for 'studio-main' has expired; "
                "re-authorize the publishing integration"
            )
        result = {
            "post_id": post_id,
            "url": f"https://{platform}/studio/{post_id}",
            "status": "scheduled" if scheduled_for != "now" else "published",
        }
        sp.set_output(result)
        return result
