"""The writing-studio workload: conversations routed by a planner to specialist agents,
published posts drawing an audience, and the framework's own system events, milestones and
metrics around them."""

from __future__ import annotations

import os
import platform as _platform
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import tracehound

from . import _content as content
from ._agents import AGENT_CLASSES, Job, Outcome, Relevance, StudioAgent
from ._llm import ProviderOverloadedError, RateLimitError, chat
from ._recorder import Recorder

__all__ = ["RELEVANCE_THRESHOLD", "DemoSummary", "run_demo"]

RELEVANCE_THRESHOLD: Final = 0.5
PLANNER_MODEL: Final = "gpt-4o-mini"
CHECKPOINT_EVERY: Final = 10
_VAULTS_BY_TOPIC: Final = {
    "plot_structure": ("vault-heist-novel",),
    "character": ("vault-heist-novel", "vault-memoir"),
    "research_article": ("vault-tech-blog",),
    "code_tutorial": ("vault-tech-blog",),
    "publish": ("vault-tech-blog", "vault-weekly-letter"),
    "critique": ("vault-heist-novel", "vault-memoir"),
    "newsletter": ("vault-weekly-letter",),
}


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`run_demo` recorded (counted as it was recorded, not read back)."""

    session_id: str
    seed: int
    conversations: int
    traces: int
    spans: int
    events: int
    metrics: int
    agents: tuple[str, ...]
    agent_runs: int
    skipped: int
    llm_calls: int
    input_tokens: int
    output_tokens: int
    tool_calls: int
    failed_tool_calls: int
    posts_published: int
    interactions: int
    elapsed_s: float
    # agent -> error type -> count (the agent whose own execution failed or timed out)
    failures_by_agent: dict[str, dict[str, int]] = field(default_factory=dict)
    # conversation id -> trace id
    trace_ids: dict[str, str] = field(default_factory=dict)
    # trace id -> ["PublisherAgent: PlatformRateLimitError", ...] for traces with a failure
    failed_traces: dict[str, list[str]] = field(default_factory=dict)
    span_kinds: dict[str, int] = field(default_factory=dict)
    event_types: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return sum(sum(v.values()) for v in self.failures_by_agent.values())


def run_demo(
    *,
    conversations: int = 40,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
    speed: float = 200.0,
) -> DemoSummary:
    """Run the simulated writing studio through the tracehound SDK (configured by the caller)
    and flush. ``conversations`` traces are recorded; the same ``seed`` gives the same
    structure (names, statuses, token counts). Simulated latencies are slept at ``1/speed``
    of their length. ``progress(done, total)`` is called after each conversation."""
    if conversations < 0:
        raise ValueError("conversations must not be negative")
    if speed <= 0:
        raise ValueError("speed must be positive")
    rec = Recorder(speed)
    started = time.perf_counter()
    agents = [cls(rec) for cls in AGENT_CLASSES]
    _startup(rec, seed, conversations, agents)
    rec.event(
        "milestone",
        "simulation_start",
        message=f"Simulation started: {conversations} conversations, seed {seed}",
        conversations=conversations,
        seed=seed,
        phase="warmup",
    )
    trace_ids: dict[str, str] = {}
    failed_traces: dict[str, list[str]] = {}
    outcomes: list[Outcome] = []
    posts = interactions = 0
    phase = "warmup"
    for i in range(conversations):
        new_phase = _phase(i, conversations)
        if new_phase != phase:
            rec.event(
                "milestone",
                "phase_transition",
                message=f"Phase transition: {phase} -> {new_phase}",
                from_phase=phase,
                to_phase=new_phase,
                conversation_index=i,
            )
            phase = new_phase
        job = _make_job(seed, i)
        trace_id, conv_outcomes, published, engaged = _conversation(rec, job, agents)
        trace_ids[job.conversation_id] = trace_id
        outcomes.extend(conv_outcomes)
        posts += published
        interactions += engaged
        failed = [
            f"{o.agent}: {o.error_type}" for o in conv_outcomes if o.status in ("failed", "timeout")
        ]
        if failed:
            failed_traces[trace_id] = failed
        done = i + 1
        if done % CHECKPOINT_EVERY == 0 or done == conversations:
            _checkpoint(rec, done, conversations, outcomes, agents, started)
        if progress is not None:
            progress(done, conversations)
    elapsed = time.perf_counter() - started
    failures: dict[str, dict[str, int]] = {}
    for o in outcomes:
        if o.status in ("failed", "timeout") and o.error_type:
            by_type = failures.setdefault(o.agent, {})
            by_type[o.error_type] = by_type.get(o.error_type, 0) + 1
    ran = [o for o in outcomes if o.ran]
    rec.event(
        "milestone",
        "simulation_end",
        message=f"Simulation finished: {conversations} conversations in {elapsed:.1f}s",
        conversations=conversations,
        agent_runs=len(ran),
        failures=sum(sum(v.values()) for v in failures.values()),
        posts_published=posts,
        llm_calls=rec.llm_calls,
        total_tokens=rec.input_tokens + rec.output_tokens,
    )
    rec.event(
        "system",
        "shutdown",
        message="Studio shutting down; flushing traces",
        level="INFO",
        component="framework",
    )
    tracehound.flush(timeout=30)
    stats = tracehound.stats()
    return DemoSummary(
        session_id=str(stats.get("session_id", "")),
        seed=seed,
        conversations=conversations,
        traces=len(trace_ids),
        spans=rec.spans,
        events=rec.events,
        metrics=rec.metrics,
        agents=("planner", *(a.name for a in agents)),
        agent_runs=len(ran),
        skipped=sum(1 for o in outcomes if not o.ran),
        llm_calls=rec.llm_calls,
        input_tokens=rec.input_tokens,
        output_tokens=rec.output_tokens,
        tool_calls=rec.tool_calls,
        failed_tool_calls=rec.failed_tools,
        posts_published=posts,
        interactions=interactions,
        elapsed_s=round(elapsed, 3),
        failures_by_agent=failures,
        trace_ids=trace_ids,
        failed_traces=failed_traces,
        span_kinds=dict(rec.span_kinds),
        event_types=dict(rec.event_types),
    )


def _phase(i: int, total: int) -> str:
    if i < max(1, total // 5):
        return "warmup"
    if i < total - max(1, total // 5):
        return "steady_state"
    return "evaluation"


def _make_job(seed: int, i: int) -> Job:
    # One generator per conversation: its draws never depend on other conversations' timing.
    rng = random.Random(f"tracehound-demo/{seed}/{i}")
    topic = rng.choice(content.TOPICS)
    platform = rng.choice(content.PLATFORMS)
    query, subject, character = content.fill_query(rng, topic, platform)
    return Job(
        index=i,
        conversation_id=f"conv-{i + 1:03d}",
        user_id=rng.choice(content.USERS),
        vault_id=rng.choice(_VAULTS_BY_TOPIC[topic.key]),
        topic=topic,
        query=query,
        subject=subject,
        character=character,
        platform=platform,
        rng=rng,
    )


def _startup(rec: Recorder, seed: int, conversations: int, agents: list[StudioAgent]) -> None:
    rec.event(
        "system",
        "initialization",
        message="Writing studio framework initialized",
        component="framework",
        framework_version=tracehound.__version__,
        python_version=_platform.python_version(),
        pid=os.getpid(),
        agents=len(agents) + 1,
    )
    rec.event(
        "system",
        "configuration",
        message="Configuration loaded",
        component="config",
        relevance_threshold=RELEVANCE_THRESHOLD,
        planner_model=PLANNER_MODEL,
        models={a.name: a.model if a.name != "WriterAgent" else list(a.arms) for a in agents},
        max_llm_attempts=3,
        seed=seed,
        conversations=conversations,
    )
    for agent in agents:
        rec.event(
            "system",
            "module_loading",
            level="DEBUG",
            message=f"Loaded agent module studio.agents.{agent.role} ({agent.name})",
            module=f"studio.agents.{agent.role}",
            agent_class=agent.name,
        )
    rec.event(
        "system",
        "module_loading",
        level="DEBUG",
        message="Loaded tool registry: web_search, read_file, write_file, run_code, publish_post",
        module="studio.tools",
        tools=["web_search", "read_file", "write_file", "run_code", "publish_post"],
    )


def _route(rec: Recorder, job: Job, agents: list[StudioAgent]) -> dict[str, Relevance]:
    """The planner's routing call: score every specialist against the query."""
    rng = job.rng
    scores = {
        a.name: round(
            min(0.99, max(0.01, job.topic.affinity[a.name] + rng.uniform(-0.15, 0.15))), 2
        )
        for a in agents
    }
    reasons = {
        name: content.relevance_reasoning(rng, job.topic, name, score >= RELEVANCE_THRESHOLD)
        for name, score in scores.items()
    }
    catalogue = "\n".join(f"- {a.name}: {content.AGENT_DOMAINS[a.name]}" for a in agents)
    messages = [
        {"role": "system", "content": content.system_prompt("planner", "orchestrator")},
        {
            "role": "user",
            "content": f"Query: {job.query}\n\nSpecialists:\n{catalogue}\n\n"
            "Score each specialist's relevance from 0 to 1 and explain in one sentence.",
        },
    ]
    answer = {n: {"score": scores[n], "reasoning": reasons[n]} for n in scores}
    try:
        chat(
            rec,
            rng,
            model=PLANNER_MODEL,
            messages=messages,
            response=content.to_json(answer),
            max_tokens=600,
            temperature=0.0,
            purpose="route",
        )
    except (RateLimitError, ProviderOverloadedError):
        rec.event(
            "decision",
            "fallback_routing",
            level="WARNING",
            message="Routing model unavailable; using the keyword router",
            reasoning="All routing attempts failed",
        )
    return {n: Relevance(scores[n], scores[n] >= RELEVANCE_THRESHOLD, reasons[n]) for n in scores}


def _conversation(
    rec: Recorder, job: Job, agents: list[StudioAgent]
) -> tuple[str, list[Outcome], int, int]:
    """One conversation = one trace, rooted at the planner's agent span."""
    outcomes: list[Outcome] = []
    published = engaged = 0
    with rec.span(
        "planner",
        kind="agent",
        agent="planner",
        agent_role="orchestrator",
        agent_id="planner_001",
        conversation_id=job.conversation_id,
        user_id=job.user_id,
        vault_id=job.vault_id,
        method="route",
        execution_step="plan",
        action_type="route_query",
        execution_status="RUNNING",
        topic=job.topic.key,
    ) as root:
        trace_id = root.trace_id
        root.set_input({"query": job.query, "vault_id": job.vault_id, "user_id": job.user_id})
        _state(rec, job, "received", "routing", "user_message")
        relevance = _route(rec, job, agents)
        chosen = [a.name for a in agents if relevance[a.name].should_respond]
        if not chosen:  # never leave a user without an answer: take the best match
            best = max(agents, key=lambda a: relevance[a.name].score)
            r = relevance[best.name]
            relevance[best.name] = Relevance(r.score, True, f"Best available match ({r.score:.2f})")
            chosen = [best.name]
        rec.event(
            "decision",
            "route",
            message=f"Routing {job.conversation_id} to {', '.join(chosen)}",
            decision_type="agent_selection",
            selected=chosen,
            candidates=[{"agent": n, "score": r.score} for n, r in relevance.items()],
            threshold=RELEVANCE_THRESHOLD,
            reasoning=f"Query is about {job.topic.description}",
        )
        _state(rec, job, "routing", "executing", "route_decided")
        previous: tuple[StudioAgent, Outcome] | None = None
        for agent in agents:
            rel = relevance[agent.name]
            if rel.should_respond and previous is not None and previous[1].ok:
                _collaboration(rec, job, previous[0], agent)
            outcome = agent.run(job, rel)
            outcomes.append(outcome)
            if outcome.ran:
                previous = (agent, outcome)
        post = job.artifacts.get("post")
        if post is not None:
            published = 1
            engaged = _audience(rec, job, post)
        failed = [o for o in outcomes if o.status in ("failed", "timeout")]
        result = "partial" if failed else "completed"
        root.set_attributes(
            {
                "agents_selected": chosen,
                "agents_skipped": [o.agent for o in outcomes if not o.ran],
                "failed_agents": [o.agent for o in failed],
                "outcome": result,
                "current_stage": "COMPLETE",
                "execution_status": "SUCCESS",
            }
        )
        root.set_output(
            {
                "outcome": result,
                "delivered": sorted(k for k in job.artifacts if k != "tone"),
                "failed_agents": {o.agent: o.error_type for o in failed},
            }
        )
        _state(rec, job, "executing", result, "agents_finished")
    return trace_id, outcomes, published, engaged


def _state(rec: Recorder, job: Job, old: str, new: str, trigger: str) -> None:
    rec.event(
        "state_change",
        "conversation_state",
        level="DEBUG",
        message=f"{job.conversation_id}: {old} -> {new}",
        old_state={"phase": old},
        new_state={"phase": new},
        trigger=trigger,
    )


def _collaboration(rec: Recorder, job: Job, src: StudioAgent, dst: StudioAgent) -> None:
    source, target = src.name, dst.name
    artifact = {
        "ResearcherAgent": "research notes",
        "PsychologistAgent": "character analysis",
        "CoderAgent": "verified code samples",
        "WriterAgent": "draft",
        "CriticAgent": "review",
    }.get(source, "result")
    rec.event(
        "interaction",
        "collaboration",
        message=f"{source} handed {artifact} to {target}",
        agent=source,
        agent_role=src.role,
        agent_id=src.agent_id,
        interaction_type="collaboration",
        from_agent=source,
        to_agent=target,
        artifact=artifact,
        conversation_id=job.conversation_id,
    )


def _audience(rec: Recorder, job: Job, post: dict[str, Any]) -> int:
    """Readers react to a published post: likes, comments, shares and reshare cascades."""
    rng = job.rng
    content_id = str(post["post_id"])
    viral = rng.random() < 0.2
    count = 0
    with rec.span(
        "audience_engagement",
        kind="operation",
        agent="AudienceSimulator",
        agent_role="audience",
        agent_id="audience_001",
        content_id=content_id,
        platform=post["platform"],
    ) as sp:
        sp.set_input({"content_id": content_id, "title": post["title"]})

        def interact(kind: str, actor: str, level: str = "INFO", **data: Any) -> None:
            nonlocal count
            count += 1
            rec.event(
                "interaction",
                kind,
                level=level,
                message=f"{actor} {kind}d {data.get('content_id', content_id)}"
                if kind in ("like", "share", "reshare")
                else f"{actor} commented on {content_id}",
                interaction_type=kind,
                actor_id=actor,
                platform=post["platform"],
                **({"content_id": content_id} | data),
            )

        for _ in range(rng.randint(3, 12) * (3 if viral else 1)):
            interact("like", f"reader_{rng.randint(1, 400):03d}", level="DEBUG")
        for _ in range(rng.randint(0, 4)):
            sentiment = rng.choice(["positive", "positive", "neutral", "critical"])
            interact("comment", f"reader_{rng.randint(1, 400):03d}", sentiment=sentiment)
        # Reshare cascade: each share may be reshared again, one level deeper.
        frontier = [(content_id, 0)]
        reach = 0
        depth_max = 0
        branch_p = 0.55 if viral else 0.3
        while frontier and reach < 60:
            parent, depth = frontier.pop(0)
            shares = (
                rng.randint(1, 4)
                if depth == 0
                else int(rng.random() < branch_p) + int(rng.random() < branch_p / 2)
            )
            for k in range(shares):
                child = f"{parent}.rs{k + 1}"
                reach += 1
                depth_max = max(depth_max, depth + 1)
                interact(
                    "share" if depth == 0 else "reshare",
                    f"reader_{rng.randint(1, 400):03d}",
                    content_id=child,
                    parent_content_id=parent,
                    cascade_root=content_id,
                    depth=depth + 1,
                )
                if depth + 1 < 5:
                    frontier.append((child, depth + 1))
        sp.set_output({"interactions": count, "shares": reach, "cascade_depth": depth_max})
        rec.metric("content.reach", float(reach), unit="shares", content_id=content_id)
        if reach >= 10:
            rec.event(
                "milestone",
                "content_went_viral",
                message=f"{content_id} went viral: {reach} shares, cascade depth {depth_max}",
                content_id=content_id,
                shares=reach,
                cascade_depth=depth_max,
            )
    return count


def _checkpoint(
    rec: Recorder,
    done: int,
    total: int,
    outcomes: list[Outcome],
    agents: list[StudioAgent],
    started: float,
) -> None:
    import psutil

    elapsed = max(time.perf_counter() - started, 1e-9)
    proc = psutil.Process()
    rec.metric("throughput.conversations_per_s", round(done / elapsed, 3), unit="1/s")
    rec.metric("process.cpu_percent", float(proc.cpu_percent(interval=None)), unit="%")
    rec.metric("process.memory_rss_mb", round(proc.memory_info().rss / 1e6, 2), unit="MB")
    rec.metric("process.threads", float(proc.num_threads()), unit="threads")
    ids = {a.name: a.agent_id for a in agents}
    ran = [o for o in outcomes if o.ran]
    bad = Counter(o.agent for o in ran if o.status in ("failed", "timeout"))
    runs = Counter(o.agent for o in ran)
    rec.event(
        "milestone",
        "checkpoint",
        message=f"Checkpoint: {done}/{total} conversations, {sum(bad.values())} failed agent runs",
        conversations_done=done,
        agent_runs=len(ran),
        failures=dict(bad),
        llm_calls=rec.llm_calls,
        total_tokens=rec.input_tokens + rec.output_tokens,
    )
    for agent, n in sorted(runs.items()):
        rate = bad[agent] / n
        if n >= 3 and rate > 0.25:
            rec.event(
                "alert",
                "high_failure_rate",
                level="WARNING",
                message=f"{agent} failed {bad[agent]} of {n} runs ({rate:.0%}), above the 25% threshold",
                agent=agent,
                agent_id=ids[agent],
                failure_rate=round(rate, 3),
                runs=n,
                threshold=0.25,
            )
