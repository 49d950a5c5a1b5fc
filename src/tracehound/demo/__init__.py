"""A simulated multi-agent writing studio, traced with the public tracehound SDK.

``run_demo()`` records a realistic, deterministic (seeded) workload: a planner routes each
conversation to specialist agents (researcher, writer, critic, psychologist, coder,
publisher), which run stage by stage, call (fake) LLMs and tools, fail in realistic ways,
learn, and collaborate; published posts draw likes, comments and reshare cascades. It is what
``tracehound demo`` runs, and a fixture for examples and tests.
"""

from __future__ import annotations

from ._scenario import DemoSummary, run_demo

__all__ = ["DemoSummary", "run_demo"]
