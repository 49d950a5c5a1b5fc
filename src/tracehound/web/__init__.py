"""The web dashboard that ``tracehound serve`` shows at ``/``.

``router`` (a FastAPI :class:`~fastapi.APIRouter`, included by the server's ``create_app``)
serves the page, its static assets (plain HTML, CSS and JavaScript modules shipped in this
package: no Node, no build step, nothing fetched from a CDN) and the JSON the page reads under
``/ui/api/`` behind the server's API-key auth. See ``docs/dashboard.md``.
"""

from __future__ import annotations

from ._router import STATIC_DIR, router

__all__ = ["STATIC_DIR", "router"]
