"""The studio's specialist agents.

Each run is an ``agent`` span (seed 003's execution) with one ``stage`` span per execution
stage (``INIT`` … ``COMPLETE``), the agent's LLM and tool calls inside the stages, and the
agent's decisions, learning signals and errors as events. A relevance check that says "no"
ends the run at ``SHOULD_RESPOND`` with status ``skipped``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final

from . import _content as content
from ._llm import LLMReply, chat
from ._recorder import Recorder
from ._tools import ToolContext, publish_post, read_file, run_code, web_search, write_file

if TYPE_CHECKING:
    from ._content import Topic
    from ._recorder import SpanHandle

__all__ = ["AGENT_CLASSES", "Job", "Outcome", "Relevance", "StudioAgent"]

STAGES: Final = (
    "INIT",
    "SHOULD_RESPOND",
    "PRE_PROCESS",
    "LLM_PREPARE",
    "LLM_CALL",
    "LLM_PARSE",
    "POST_PROCESS",
    "COMPLETE",
)
_STAGE_TEXT: Final = {
    "INIT": "Agent initialized",
    "SHOULD_RESPOND": "Checking relevance",
    "PRE_PROCESS": "Gathering context",
    "LLM_PREPARE": "Preparing LLM request",
    "LLM_CALL": "Calling the model",
    "LLM_PARSE": "Parsing the model's JSON response",
    "POST_PROCESS": "Processing the result",
    "COMPLETE": "Finished",
}


@dataclass(frozen=True, slots=True)
class Relevance:
    score: float
    should_respond: bool
    reasoning: str


@dataclass(slots=True)
class Job:
    """One conversation's request and what the agents produced for it so far."""

    index: int
    conversation_id: str
    user_id: str
    vault_id: str
    topic: Topic
    query: str
    subject: str
    character: str
    platform: str
    rng: random.Random
    artifacts: dict[str, Any] = field(default_factory=dict)

    @property
    def tools(self) -> ToolContext:
        return ToolContext(self.vault_id)


@dataclass(frozen=True, slots=True)
class Outcome:
    agent: str
    status: str  # success, failed, timeout, skipped
    error_type: str | None = None
    error_message: str | None = None
    simulated_ms: float = 0.0

    @property
    def ran(self) -> bool:
        return self.status != "skipped"

    @property
    def ok(self) -> bool:
        return self.status == "success"


@dataclass(slots=True)
class Learning:
    """An epsilon-greedy bandit over the agent's strategies plus a toy training curve."""

    arms: tuple[str, ...]
    epsilon: float = 0.3
    values: dict[str, float] = field(default_factory=dict)
    pulls: dict[str, int] = field(default_factory=dict)
    cumulative_reward: float = 0.0
    step: int = 0
    loss: float = 1.2
    stage: str = "exploration"

    def choose(self, rng: random.Random) -> tuple[str, bool]:
        explore = rng.random() < self.epsilon
        pick = rng.choice(self.arms)
        if not explore:
            pick = max(self.arms, key=lambda a: (self.values.get(a, 0.0), -self.arms.index(a)))
        return pick, explore

    def update(self, arm: str, reward: float) -> None:
        n = self.pulls.get(arm, 0) + 1
        self.pulls[arm] = n
        old = self.values.get(arm, 0.0)
        self.values[arm] = old + (reward - old) / n
        self.cumulative_reward = round(self.cumulative_reward + reward, 4)
        self.epsilon = round(max(0.05, self.epsilon * 0.92), 4)


class StudioAgent:
    """The execution pipeline shared by every specialist; subclasses fill in the hooks."""

    name: ClassVar[str]
    role: ClassVar[str]
    method: ClassVar[str]
    action_type: ClassVar[str]
    arms: ClassVar[tuple[str, ...]]
    model: ClassVar[str] = "gpt-4o-mini"
    stream: ClassVar[bool] = False
    max_tokens: ClassVar[int] = 1024
    call_reason: ClassVar[str] = "Handle the {deliverable} about {subject}"

    def __init__(self, rec: Recorder, number: int = 1) -> None:
        self.rec = rec
        self.agent_id = f"{self.role}_{number:03d}"
        self.learning = Learning(self.arms)
        self.runs = 0
        self._current_stage: str | None = None
        self._strategy: str | None = None

    # -- the pipeline ----------------------------------------------------------------------
    def run(self, job: Job, relevance: Relevance) -> Outcome:
        rec, rng = self.rec, job.rng
        reason = self.call_reason.format(
            deliverable=job.topic.deliverable,
            subject=job.subject,
            platform=job.platform,
            character=job.character,
        )
        with rec.span(
            f"{self.name}.{self.method}",
            kind="agent",
            agent=self.name,
            agent_role=self.role,
            agent_id=self.agent_id,
            vault_id=job.vault_id,
            method=self.method,
            execution_step="execute",
            action_type=self.action_type,
            call_reason=reason,
            execution_status="RUNNING",
        ) as sp:
            sp.set_input(
                {"query": job.query, "vault_id": job.vault_id, "artifacts": sorted(job.artifacts)}
            )
            simulated = [0.0]
            try:
                with self._stage(sp, "INIT") as st:
                    st.set_output({"agent_id": self.agent_id, "model": self.model})
                with self._stage(sp, "SHOULD_RESPOND") as st:
                    sp.set_attributes(
                        {
                            "should_respond": relevance.should_respond,
                            "relevance_score": relevance.score,
                            "relevance_reasoning": relevance.reasoning,
                        }
                    )
                    st.set_output(
                        {"should_respond": relevance.should_respond, "score": relevance.score}
                    )
                    rec.event(
                        "decision",
                        "should_respond",
                        level="INFO" if relevance.should_respond else "DEBUG",
                        message=(
                            f"{self.name} will respond"
                            if relevance.should_respond
                            else f"{self.name} declined"
                        )
                        + f" (relevance {relevance.score:.2f}): {relevance.reasoning}",
                        decision="respond" if relevance.should_respond else "skip",
                        relevance_score=relevance.score,
                        reasoning=relevance.reasoning,
                    )
                if not relevance.should_respond:
                    sp.set_status("skipped", relevance.reasoning)
                    sp.set_attribute("execution_status", "SKIPPED")
                    return Outcome(self.name, "skipped")
                self.runs += 1
                self._strategy = None
                outcome = self._execute(sp, job, rng, simulated)
            except TimeoutError as exc:
                sp.record_exception(exc)
                sp.set_status("timeout", f"TimeoutError: {exc}")
                sp.set_attribute("execution_status", "TIMEOUT")
                outcome = self._failed(job, exc, "timeout", simulated[0])
            except Exception as exc:
                sp.record_exception(exc)
                sp.set_status("failed", f"{type(exc).__name__}: {exc}")
                sp.set_attribute("execution_status", "FAILED")
                outcome = self._failed(job, exc, "failed", simulated[0])
            sp.set_attribute("simulated_duration_ms", round(outcome.simulated_ms, 1))
            rec.metric(
                "agent.duration_ms",
                round(outcome.simulated_ms, 1),
                unit="ms",
                status=outcome.status,
            )
            return outcome

    def _execute(
        self, sp: SpanHandle, job: Job, rng: random.Random, simulated: list[float]
    ) -> Outcome:
        rec = self.rec
        strategy, explored = self.learning.choose(rng)
        self._strategy = strategy
        rec.event(
            "learning.explore",
            "strategy_selected",
            level="DEBUG",
            message=f"{'Exploring' if explored else 'Exploiting'} strategy {strategy!r}",
            action_selected=strategy,
            exploration=explored,
            epsilon=self.learning.epsilon,
            learning_type="bandit",
        )
        with self._stage(sp, "PRE_PROCESS") as st:
            context = self.pre_process(job, rng)
            simulated[0] += float(context.pop("_simulated_ms", 0.0))
            st.set_output(context)
        with self._stage(sp, "LLM_PREPARE") as st:
            excerpts = content.vault_excerpts(rng, job.vault_id, job.subject, rng.randint(2, 6))
            previous = {k: v for k, v in sorted(job.artifacts.items()) if k != "tone"}
            messages = [
                {"role": "system", "content": content.system_prompt(self.name, self.role)},
                {
                    "role": "user",
                    "content": f"Request: {job.query}\n\nStrategy: {strategy}\n\nContext:\n"
                    + "\n".join(excerpts)
                    + "\n\nPrevious work: "
                    + content.to_json(previous)[:6000],
                },
            ]
            st.set_output({"message_count": len(messages), "context_excerpts": len(excerpts)})
        with self._stage(sp, "LLM_CALL") as st:
            sp.set_attribute("execution_status", "LLM_REQUEST")
            reply = self.call_llm(job, rng, messages, strategy)
            simulated[0] += reply.simulated_ms
            sp.set_attribute("execution_status", "LLM_RESPONSE")
            st.set_output(
                {
                    "model": reply.model,
                    "finish_reason": reply.finish_reason,
                    "attempts": reply.attempts,
                }
            )
        with self._stage(sp, "LLM_PARSE") as st:
            parsed = self.parse(reply)
            st.set_output({"keys": sorted(parsed)})
        with self._stage(sp, "POST_PROCESS") as st:
            output = self.post_process(job, rng, parsed, strategy)
            simulated[0] += float(output.pop("_simulated_ms", 0.0))
            st.set_output({"keys": sorted(output)})
        with self._stage(sp, "COMPLETE"):
            sp.set_output(output)
            sp.set_status("success")
            sp.set_attribute("execution_status", "SUCCESS")
        simulated[0] += rng.uniform(20, 80)  # framework overhead
        reward = round(min(1.0, 0.45 + rng.random() * 0.55), 3)
        self._learn(job, strategy, reward, success=True)
        return Outcome(self.name, "success", simulated_ms=simulated[0])

    def _failed(self, job: Job, exc: BaseException, status: str, simulated: float) -> Outcome:
        self.rec.event(
            "error",
            "agent_failed" if status == "failed" else "agent_timeout",
            level="ERROR",
            message=f"{self.name} {status}: {type(exc).__name__}: {exc}",
            error_type=type(exc).__name__,
            error_message=str(exc),
            stage=self._current_stage,
            conversation_id=job.conversation_id,
        )
        arm = self._strategy or self.learning.arms[0]
        self._learn(job, arm, -1.0 if status == "failed" else -0.5, success=False)
        return Outcome(self.name, status, type(exc).__name__, str(exc), simulated)

    @contextmanager
    def _stage(self, agent_span: SpanHandle, name: str) -> Iterator[SpanHandle]:
        self._current_stage = name
        agent_span.set_attribute("current_stage", name)
        with self.rec.span(name, kind="stage", description=_STAGE_TEXT[name]) as st:
            try:
                yield st
            except TimeoutError as exc:
                st.set_status("timeout", str(exc))
                raise

    def _learn(self, job: Job, arm: str, reward: float, *, success: bool) -> None:
        rec, lrn = self.rec, self.learning
        lrn.update(arm, reward)
        rec.event(
            "learning.reward",
            "reward",
            message=f"{self.name} reward {reward:+.3f} (cumulative {lrn.cumulative_reward:+.3f})",
            action_id=f"{job.conversation_id}:{self.name}",
            action=arm,
            reward=reward,
            cumulative_reward=lrn.cumulative_reward,
        )
        lrn.step += 1
        lrn.loss = round(max(0.05, lrn.loss * 0.9 + (0.0 if success else 0.15)), 4)
        accuracy = round(min(0.99, 1.0 - lrn.loss * 0.5), 4)
        rec.event(
            "learning.step",
            "training_step",
            level="DEBUG",
            message=f"{self.name} policy step {lrn.step}: loss {lrn.loss:.3f}, accuracy {accuracy:.3f}",
            step=lrn.step,
            loss=lrn.loss,
            accuracy=accuracy,
            learning_rate=0.001,
            learning_type="bandit",
            model_state={"epsilon": lrn.epsilon, "arm_values": dict(lrn.values)},
        )
        if lrn.stage == "exploration" and lrn.step >= 6:
            lrn.stage = "exploitation"
            rec.event(
                "state_change",
                "learning_stage",
                message=f"{self.name} moved from exploration to exploitation",
                old_state={"learning_stage": "exploration"},
                new_state={"learning_stage": "exploitation", "epsilon": lrn.epsilon},
                trigger="step_threshold_reached",
            )

    # -- hooks -----------------------------------------------------------------------------
    def pre_process(self, job: Job, rng: random.Random) -> dict[str, Any]:
        return {"context": "query only"}

    def respond(self, job: Job, rng: random.Random, strategy: str) -> dict[str, Any]:
        raise NotImplementedError

    def call_llm(
        self, job: Job, rng: random.Random, messages: list[dict[str, str]], strategy: str
    ) -> LLMReply:
        answer = content.to_json(self.respond(job, rng, strategy))
        return chat(
            self.rec,
            rng,
            model=self.model_for(strategy),
            messages=messages,
            response=answer,
            stream=self.stream,
            max_tokens=self.max_tokens,
            purpose=self.method,
        )

    def model_for(self, strategy: str) -> str:
        return self.model

    def parse(self, reply: LLMReply) -> dict[str, Any]:
        parsed = json.loads(reply.text)
        if not isinstance(parsed, dict):
            raise ValueError(
                f"expected a JSON object from {reply.model}, got {type(parsed).__name__}"
            )
        return parsed

    def post_process(
        self, job: Job, rng: random.Random, parsed: dict[str, Any], strategy: str
    ) -> dict[str, Any]:
        return parsed

    # -- helpers for subclasses ------------------------------------------------------------
    def vault_lookup(self, job: Job, rng: random.Random, what: str) -> tuple[int, float]:
        """Search the vault index (an ``operation`` span). Returns (hits, simulated ms)."""
        took = rng.uniform(40, 260)
        scanned = rng.randint(200, 4000)
        hits = rng.randint(0, 8)
        with self.rec.span(
            "vault_context_lookup",
            kind="operation",
            vault_id=job.vault_id,
            index="bm25+embeddings",
            documents_scanned=scanned,
            simulated_latency_ms=round(took, 1),
        ) as sp:
            sp.set_input({"query": what, "top_k": 8})
            self.rec.sleep_simulated(took)
            sp.set_output({"hits": hits})
        self.rec.metric("vault.lookup_ms", round(took, 1), unit="ms", vault_id=job.vault_id)
        return hits, took

    def read_note(self, job: Job, rng: random.Random, path: str) -> dict[str, Any] | None:
        """Read a vault note; a missing note is logged and skipped, not fatal."""
        try:
            return read_file(self.rec, rng, job.tools, path)
        except FileNotFoundError as exc:
            self.rec.event(
                "log",
                "note_missing",
                level="WARNING",
                message=f"{self.name}: {path} is missing ({exc.strerror}); continuing without it",
                file_path=path,
            )
            return None


class ResearcherAgent(StudioAgent):
    name = "ResearcherAgent"
    role = "researcher"
    method = "research"
    action_type = "gather_sources"
    arms = ("breadth_first", "depth_first")
    model = "gemini-1.5-pro"
    call_reason = "Gather sources on {subject} before drafting the {deliverable}"

    def pre_process(self, job: Job, rng: random.Random) -> dict[str, Any]:
        found: dict[str, Any] | None = None
        for attempt in (1, 2):
            try:
                found = web_search(self.rec, rng, job.tools, job.subject)
                break
            except ConnectionResetError as exc:
                self.rec.event(
                    "error",
                    "tool_retry",
                    level="WARNING",
                    message=f"web_search failed ({exc.strerror}); "
                    + ("retrying once" if attempt == 1 else "continuing with vault notes only"),
                    tool_name="web_search",
                    attempt=attempt,
                )
        note = self.read_note(job, rng, "research/index.md")
        hits, took = self.vault_lookup(job, rng, job.subject)
        return {
            "web_results": found["count"] if found else 0,
            "index_note": note is not None,
            "vault_hits": hits,
            "_simulated_ms": took,
        }

    def respond(self, job: Job, rng: random.Random, strategy: str) -> dict[str, Any]:
        n = rng.randint(3, 5)
        return {
            "summary": content.paragraph(rng, job.subject, 3),
            "sources": [
                {
                    "title": f"{job.subject.title()}: evidence {i + 1}",
                    "url": f"https://journal.example/{rng.getrandbits(24):06x}",
                    "claim": content.paragraph(rng, job.subject, 1),
                }
                for i in range(n)
            ],
        }

    def post_process(
        self, job: Job, rng: random.Random, parsed: dict[str, Any], strategy: str
    ) -> dict[str, Any]:
        job.artifacts["research"] = parsed
        self.rec.event(
            "success",
            "sources_collected",
            message=f"Collected {len(parsed['sources'])} sources on {job.subject}",
            source_count=len(parsed["sources"]),
        )
        return {"summary": parsed["summary"], "source_count": len(parsed["sources"])}


class PsychologistAgent(StudioAgent):
    name = "PsychologistAgent"
    role = "psychologist"
    method = "analyze_character"
    action_type = "analyze_character"
    arms = ("goal_conflict", "attachment_theory")
    model = "claude-3-5-haiku-20241022"
    call_reason = "Check that {character}'s motivation is psychologically consistent"

    def pre_process(self, job: Job, rng: random.Random) -> dict[str, Any]:
        slug = job.character.lower().replace(" ", "-")
        profile = self.read_note(job, rng, f"characters/{slug}.md")
        hits, took = self.vault_lookup(job, rng, f"scenes featuring {job.character}")
        return {"profile_found": profile is not None, "scenes": hits, "_simulated_ms": took}

    def post_process(
        self, job: Job, rng: random.Random, parsed: dict[str, Any], strategy: str
    ) -> dict[str, Any]:
        job.artifacts["character_analysis"] = parsed
        return parsed

    def respond(self, job: Job, rng: random.Random, strategy: str) -> dict[str, Any]:
        return {
            "character": job.character,
            "core_want": "to be trusted without having to ask",
            "core_fear": "being replaced by someone younger and bolder",
            "consistency_score": round(rng.uniform(0.4, 0.95), 2),
            "notes": [content.paragraph(rng, job.subject, 2) for _ in range(2)],
        }


class CoderAgent(StudioAgent):
    name = "CoderAgent"
    role = "engineer"
    method = "write_code"
    action_type = "generate_examples"
    arms = ("example_first", "doctest_first")
    model = "gpt-4o"
    call_reason = "Produce and verify runnable examples for {subject}"

    def respond(self, job: Job, rng: random.Random, strategy: str) -> dict[str, Any]:
        names = rng.sample(["basic_usage", "error_handling", "streaming", "benchmark"], 2)
        return {
            "snippets": [
                {"name": n, "code": f"def {n}():\n    ...  # {job.subject}\n\n\n{n}()\n"}
                for n in names
            ],
            "explanation": content.paragraph(rng, job.subject, 2),
        }

    def post_process(
        self, job: Job, rng: random.Random, parsed: dict[str, Any], strategy: str
    ) -> dict[str, Any]:
        results = []
        for snippet in parsed["snippets"]:
            results.append(run_code(self.rec, rng, job.tools, snippet["code"], snippet["name"]))
        write_file(
            self.rec,
            rng,
            job.tools,
            "examples/tutorial.py",
            "\n".join(s["code"] for s in parsed["snippets"]),
        )
        job.artifacts["code"] = parsed["snippets"]
        self.rec.event(
            "success",
            "snippets_verified",
            message=f"{len(results)} snippets ran cleanly",
            snippet_count=len(results),
        )
        return {
            "snippets": [s["name"] for s in parsed["snippets"]],
            "_simulated_ms": sum(r["duration_ms"] for r in results),
        }


class WriterAgent(StudioAgent):
    name = "WriterAgent"
    role = "writer"
    method = "draft"
    action_type = "create_content"
    # The writer's bandit picks the model: claude by default, gpt-4o when exploring.
    arms = ("claude-3-5-sonnet-20241022", "gpt-4o")
    model = "claude-3-5-sonnet-20241022"
    stream = True
    max_tokens = 900
    call_reason = "Draft the {deliverable} about {subject}"

    def model_for(self, strategy: str) -> str:
        return strategy

    def pre_process(self, job: Job, rng: random.Random) -> dict[str, Any]:
        outline = self.read_note(job, rng, "outlines/current.md")
        hits, took = self.vault_lookup(job, rng, job.subject)
        tone = rng.choice(["warm", "wry", "urgent", "plain"])
        self.rec.event(
            "decision",
            "choose_tone",
            message=f"Writing in a {tone} tone",
            decision_type="tone",
            decision_data={"tone": tone},
            reasoning="Matches the vault's style guide and the last three published pieces",
        )
        job.artifacts["tone"] = tone
        return {"outline_found": outline is not None, "vault_hits": hits, "_simulated_ms": took}

    def respond(self, job: Job, rng: random.Random, strategy: str) -> dict[str, Any]:
        # Long drafts overrun max_tokens: the streamed JSON is cut off mid-string.
        overlong = rng.random() < 0.14
        count = rng.randint(8, 10) if overlong else rng.randint(2, 4)
        paragraphs = [content.paragraph(rng, job.subject, rng.randint(4, 6)) for _ in range(count)]
        draft = "\n\n".join(paragraphs)
        return {
            "title": f"{job.topic.deliverable.title()}: {job.subject}",
            "draft": draft,
            "word_count": len(draft.split()),
            "tone": job.artifacts.get("tone", "plain"),
        }

    def post_process(
        self, job: Job, rng: random.Random, parsed: dict[str, Any], strategy: str
    ) -> dict[str, Any]:
        content_id = f"draft-{job.conversation_id}"
        write_file(self.rec, rng, job.tools, f"drafts/{content_id}.md", parsed["draft"])
        job.artifacts["draft"] = {
            "title": parsed["title"],
            "content_id": content_id,
            "body": parsed["draft"],
        }
        self.rec.event(
            "action",
            "create_content",
            message=f"Created {job.topic.deliverable} {content_id}",
            action_type="create_content",
            action_data={
                "content_type": job.topic.deliverable,
                "content_id": content_id,
                "word_count": parsed["word_count"],
                "model": strategy,
            },
            decision_context={"topic": job.topic.key, "tone": parsed["tone"]},
        )
        self.rec.event(
            "content",
            "content_generated",
            message=f"Generated {parsed['word_count']} words for {content_id}",
            content_id=content_id,
            content_type=job.topic.deliverable,
            word_count=parsed["word_count"],
        )
        return {
            "title": parsed["title"],
            "content_id": content_id,
            "word_count": parsed["word_count"],
        }


class CriticAgent(StudioAgent):
    name = "CriticAgent"
    role = "critic"
    method = "critique"
    action_type = "review_draft"
    arms = ("structural", "line_edit")
    model = "gpt-4o"
    call_reason = "Review the draft for structure, pacing and voice"

    def pre_process(self, job: Job, rng: random.Random) -> dict[str, Any]:
        draft = job.artifacts.get("draft")
        if draft is None:
            self.read_note(job, rng, "drafts/latest.md")
        return {"reviewing": draft["content_id"] if draft else "drafts/latest.md"}

    def call_llm(
        self, job: Job, rng: random.Random, messages: list[dict[str, str]], strategy: str
    ) -> LLMReply:
        # A cheap first pass on the in-house model, then the full critique.
        lint = {
            "issues": ["passive voice in paragraph 2", "sentence over 40 words"],
            "readability": round(rng.uniform(55, 80), 1),
        }
        first = chat(
            self.rec,
            rng,
            model="studio-local-7b",
            messages=messages,
            response=content.to_json(lint),
            max_tokens=256,
            temperature=0.0,
            purpose="style_lint",
        )
        second = super().call_llm(job, rng, messages, strategy)
        return LLMReply(
            second.text,
            second.model,
            second.input_tokens,
            second.output_tokens,
            second.finish_reason,
            first.simulated_ms + second.simulated_ms,
            second.attempts,
        )

    def respond(self, job: Job, rng: random.Random, strategy: str) -> dict[str, Any]:
        score = rng.randint(4, 9)
        return {
            "score": score,
            "verdict": "approve" if score >= 6 else "revise",
            "issues": [content.paragraph(rng, job.subject, 1) for _ in range(rng.randint(1, 3))],
        }

    def post_process(
        self, job: Job, rng: random.Random, parsed: dict[str, Any], strategy: str
    ) -> dict[str, Any]:
        verdict = parsed["verdict"]
        self.rec.event(
            "decision",
            "approve_or_revise",
            message=f"Critic verdict: {verdict} (score {parsed['score']}/10)",
            decision_type="review_verdict",
            decision_data={"verdict": verdict, "score": parsed["score"]},
            reasoning="Structure holds; pacing issues are local"
            if verdict == "approve"
            else "The middle section repeats the opening argument without new evidence",
        )
        job.artifacts["critique"] = parsed
        return parsed


class PublisherAgent(StudioAgent):
    name = "PublisherAgent"
    role = "publisher"
    method = "publish"
    action_type = "publish_content"
    arms = ("schedule_peak", "post_now")
    model = "gpt-4o-mini"
    call_reason = "Publish the approved {deliverable} to {platform}"

    def respond(self, job: Job, rng: random.Random, strategy: str) -> dict[str, Any]:
        draft = job.artifacts.get("draft")
        title = draft["title"] if draft else f"Notes on {job.subject}"
        return {
            "title": title,
            "teaser": content.paragraph(rng, job.subject, 1),
            "hashtags": ["#writing", "#" + job.subject.split()[0].strip("'s").lower()],
        }

    def post_process(
        self, job: Job, rng: random.Random, parsed: dict[str, Any], strategy: str
    ) -> dict[str, Any]:
        when = "2025-01-15T18:00:00Z" if strategy == "schedule_peak" else "now"
        self.rec.event(
            "decision",
            "content_timing",
            message=f"Publishing {'at 18:00 UTC' if when != 'now' else 'immediately'}",
            decision_type="content_timing",
            decision_data={"scheduled_time": when, "platform": job.platform},
            reasoning="Peak audience activity time"
            if when != "now"
            else "Time-sensitive topic; waiting loses the news cycle",
        )
        draft = job.artifacts.get("draft")
        body = draft["body"] if draft else parsed["teaser"]
        result = publish_post(
            self.rec,
            rng,
            job.tools,
            platform=job.platform,
            title=parsed["title"],
            body=body,
            scheduled_for=when,
        )
        job.artifacts["post"] = {**result, "title": parsed["title"], "platform": job.platform}
        self.rec.event(
            "success",
            "post_published",
            message=f"Published {result['post_id']} to {job.platform}",
            content_id=result["post_id"],
            platform=job.platform,
            url=result["url"],
        )
        return result


# Execution order inside a conversation (dependencies first).
AGENT_CLASSES: Final[tuple[type[StudioAgent], ...]] = (
    ResearcherAgent,
    PsychologistAgent,
    CoderAgent,
    WriterAgent,
    CriticAgent,
    PublisherAgent,
)
