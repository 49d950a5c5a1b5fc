"""Seed 000's quick functions: ``analyze_session()`` and ``debug_issue(description)``."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ..exceptions import ValidationError
from ._analyzer import LogAnalyzer
from ._items import clock

__all__ = ["Report", "analyze_session", "debug_issue", "parse_description"]

_NS: Final = 1_000_000_000

_STOP: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "without",
        "and",
        "or",
        "but",
        "not",
        "no",
        "nor",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "our",
        "your",
        "their",
        "my",
        "me",
        "us",
        "do",
        "does",
        "did",
        "doing",
        "done",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "just",
        "very",
        "too",
        "also",
        "so",
        "than",
        "then",
        "there",
        "here",
        "when",
        "while",
        "why",
        "how",
        "what",
        "which",
        "who",
        "whom",
        "after",
        "before",
        "during",
        "since",
        "until",
        "about",
        "into",
        "over",
        "under",
        "again",
        "once",
        "any",
        "all",
        "some",
        "each",
        "every",
        "agent",
        "agents",
        "issue",
        "problem",
        "session",
        "seems",
        "seem",
        "keep",
        "keeps",
        "kept",
        "getting",
        "get",
        "got",
    ]
)
_ERROR_WORDS: Final = {
    "error": "error",
    "errors": "error",
    "fail": "failure",
    "fails": "failure",
    "failed": "failure",
    "failing": "failure",
    "failure": "failure",
    "failures": "failure",
    "crash": "crash",
    "crashed": "crash",
    "crashes": "crash",
    "crashing": "crash",
    "exception": "exception",
    "exceptions": "exception",
    "timeout": "timeout",
    "timeouts": "timeout",
    "timed": "timeout",
    "stuck": "stuck",
    "hang": "stuck",
    "hangs": "stuck",
    "hanging": "stuck",
    "frozen": "stuck",
    "slow": "slow",
    "latency": "slow",
    "missing": "missing",
    "lost": "missing",
    "wrong": "wrong",
    "invalid": "wrong",
    "not": "not happening",
    "never": "not happening",
    "stopped": "not happening",
    "nothing": "not happening",
}
_SYMPTOM_TOPICS: Final = {
    "content": "content",
    "generating": "content",
    "generate": "content",
    "generation": "content",
    "post": "content",
    "posting": "content",
    "learning": "learning",
    "learn": "learning",
    "reward": "learning",
    "rewards": "learning",
    "converge": "learning",
    "converging": "learning",
    "training": "learning",
    "share": "interactions",
    "shares": "interactions",
    "viral": "interactions",
    "interaction": "interactions",
    "interactions": "interactions",
    "slow": "performance",
    "latency": "performance",
    "timeout": "performance",
    "performance": "performance",
}
_TIME: Final = re.compile(
    r"\b(?:at|around|about|after|before|since)?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\b"
)
_ISO: Final = re.compile(
    r"\b(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)\b"
)
_LAST: Final = re.compile(
    r"\blast\s+(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b", re.I
)
_WORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z]")
_AGENT_LIKE: Final = re.compile(r"\b[A-Za-z][A-Za-z]*[_-]\d+\b|\b[A-Za-z]+Agent\b")


class Report(str):
    """A readable text report (print it) with the structured answer in :attr:`data`."""

    data: dict[str, Any]

    def __new__(cls, text: str, data: dict[str, Any]) -> Report:
        obj = super().__new__(cls, text)
        obj.data = data
        return obj


def _num(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def _hms(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h {m:02d}m {s:02d}s"
    if m:
        return f"{m}m {s:02d}s"
    return f"{s}s"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def _ts_clock(iso_text: str | None) -> str:
    if not iso_text:
        return "-"
    return iso_text[11:23]


def _open(analyzer: LogAnalyzer | None, session: Any, kwargs: dict[str, Any]) -> LogAnalyzer:
    if analyzer is not None:
        if not isinstance(analyzer, LogAnalyzer):
            raise ValidationError("analyzer: expected a LogAnalyzer", field="analyzer")
        return analyzer
    return LogAnalyzer(session, **kwargs)


# -- analyze_session ---------------------------------------------------------------------------


def analyze_session(
    session: str | os.PathLike[str] | None = None,
    *,
    analyzer: LogAnalyzer | None = None,
    **kwargs: Any,
) -> Report:
    """A readable report of a session (the current one by default; see :class:`LogAnalyzer`
    for ``session``, ``trace_dir``, ``store``, ``session_id``): time span, agents, errors,
    learning, interactions and the slowest operations."""
    an = _open(analyzer, session, kwargs)
    ov = an.overview()
    lines: list[str] = []
    lines.append(f"Session {ov['session_id'] or '?'} ({ov['source']}: {ov['location']})")
    if ov["first"]:
        lines.append(
            f"  {ov['first'][:19].replace('T', ' ')} → {ov['last'][11:19]} UTC ({_hms(ov['duration_s'] or 0)}), "
            f"{_num(ov['records'])} records: {_num(ov['spans'])} spans, {_num(ov['events'])} events, "
            f"{_num(ov['metrics'])} metrics; {_num(ov['traces'])} traces"
        )
    else:
        lines.append("  no records")
    agents = {a: an.analyze_agent_activity(a) for a in ov["agents"]}
    if agents:
        lines.append("")
        lines.append(f"Agents ({len(agents)})")
        width = max(len(a) for a in agents)
        lines.append(
            f"  {'agent'.ljust(width)}  {'role':<12} {'logs':>7} {'actions':>8} {'decisions':>9} {'errors':>6}  last seen"
        )
        for name, act in sorted(agents.items(), key=lambda kv: (-kv[1]["total_logs"], kv[0])):
            actions = sum(act["action_counts"].values())
            lines.append(
                f"  {name.ljust(width)}  {(act['agent_role'] or '-'):<12} {act['total_logs']:>7,} {actions:>8,} "
                f"{act['decisions']:>9,} {act['errors']:>6,}  {_ts_clock(act['last_seen'])}"
            )
    patterns = an.find_error_patterns()
    lines.append("")
    if patterns["total_errors"]:
        lines.append(
            f"Errors: {patterns['total_errors']} ({len(patterns['by_type'])} types; "
            f"by agent: {', '.join(f'{k} {v}' for k, v in list(patterns['by_agent'].items())[:5])})"
        )
        for message, count in patterns["most_common_messages"][:5]:
            lines.append(f"  {count}× {message}")
        last = an.get_errors()[-1]
        lines.append(
            f"  most recent: {_ts_clock(last['timestamp'])} {last.get('agent') or '-'}: {last.get('message')}"
        )
    else:
        lines.append("Errors: none")
    learners = [
        a for a in agents if an.summary().agents[a].steps or len(an.summary().agents[a].rewards)
    ]
    if learners:
        lines.append("")
        lines.append("Learning")
        for a in learners:
            lp = an.analyze_learning_progress(a)
            rate = lp["exploration_rate"]
            conv = lp["convergence"]["converged_metrics"]
            lines.append(
                f"  {a}: {lp['total_training_steps']:,} training steps, {lp['reward_count']:,} rewards "
                f"(total {lp['total_rewards']:g}, {lp['reward_trend']['direction']})"
                + (f", exploration {rate:.0%}" if rate is not None else "")
                + (f", converged: {', '.join(conv)}" if conv else "")
            )
    inter = an.analyze_interactions()
    if inter["total_interactions"]:
        lines.append("")
        kinds = ", ".join(f"{k} {v}" for k, v in list(inter["by_type"].items())[:6])
        lines.append(f"Interactions: {inter['total_interactions']:,} ({kinds})")
        for c in inter["top_viral_content"][:3]:
            lines.append(
                f"  {c['content_id']} by {c['owner'] or '?'}: reach {c['reach']:,}, depth {c['max_depth']}, "
                f"{c['reshares'] + c['shares']} shares, {c['interactions']} interactions"
            )
    perf = an.analyze_performance()
    if perf["operations"]:
        lines.append("")
        lines.append("Slowest operations (total time)")
        for op in perf["bottlenecks"][:5]:
            lines.append(
                f"  {op['operation']}: {op['count']:,}× mean {op['mean_ms']:.1f} ms, max {op['max_ms']:.1f} ms"
                + (f", {op['errors']} failed" if op["errors"] else "")
            )
    if patterns["total_errors"]:
        lines.append("")
        lines.append(
            'Next: tracehound errors · tracehound debug "<what went wrong>" · tracehound journey <agent>'
        )
    data = {
        "overview": ov,
        "agents": agents,
        "errors": patterns,
        "interactions": inter,
        "performance": perf,
    }
    return Report("\n".join(lines), data)


# -- debug_issue -------------------------------------------------------------------------------


def _parse_times(text: str, first_ns: int | None, last_ns: int | None) -> tuple[int, int] | None:
    """A time window the description mentions (UTC), or ``None``."""
    if first_ns is None or last_ns is None:
        return None
    m = _LAST.search(text)
    if m:
        n = int(m.group(1))
        unit = m.group(2).lower()
        seconds = n * (3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1)
        return last_ns - seconds * _NS, last_ns
    m2 = _ISO.search(text)
    if m2:
        try:
            dt = datetime.fromisoformat(m2.group(1).replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            dt = None
        if dt is not None:
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            center = int(dt.timestamp()) * _NS + dt.microsecond * 1000
            return center - 120 * _NS, center + 120 * _NS
    m3 = _TIME.search(text)
    if m3:
        hh, mm, ss = int(m3.group(1)), int(m3.group(2)), int(m3.group(3) or 0)
        if hh < 24 and mm < 60 and ss < 60:
            day = datetime.fromtimestamp(first_ns / _NS, tz=UTC).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            for offset in (0, 1):
                dt = day + timedelta(days=offset, hours=hh, minutes=mm, seconds=ss)
                center = int(dt.timestamp()) * _NS
                if first_ns - 600 * _NS <= center <= last_ns + 600 * _NS:
                    span = 60 if m3.group(3) else 120
                    return center - span * _NS, center + span * _NS
    return None


def parse_description(description: str, analyzer: LogAnalyzer) -> dict[str, Any]:
    """What a description refers to: known agents, unknown agent-like names, error words,
    topics, other keywords and a time window."""
    s = analyzer.summary()
    known: dict[str, str] = {}
    for key, stats in s.agents.items():
        known[key.lower()] = key
        for other in stats.ids:
            known.setdefault(other.lower(), key)
    roles: dict[str, list[str]] = {}
    for key, stats in s.agents.items():
        for role in stats.roles:
            roles.setdefault(role.lower(), []).append(key)
        # "the curator" names curator_002, "the publisher" PublisherAgent
        low_key = key.lower()
        for base in (re.sub(r"[_\-]?\d+$", "", low_key), low_key.removesuffix("agent")):
            if base and base != low_key and len(base) >= 3:
                roles.setdefault(base, [])
                if key not in roles[base]:
                    roles[base].append(key)
    words = _WORD.findall(description)
    agents: list[str] = []
    unknown: list[str] = []
    error_words: list[str] = []
    topics: list[str] = []
    keywords: list[str] = []
    low_text = description.lower()
    for key_low, key in sorted(known.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"(?<![\w]){re.escape(key_low)}(?![\w])", low_text) and key not in agents:
            agents.append(key)
    for w in words:
        low = w.lower()
        if low in known:
            continue
        if low in _ERROR_WORDS and _ERROR_WORDS[low] not in error_words:
            error_words.append(_ERROR_WORDS[low])
        if low in _SYMPTOM_TOPICS and _SYMPTOM_TOPICS[low] not in topics:
            topics.append(_SYMPTOM_TOPICS[low])
        if low not in _STOP and low not in _ERROR_WORDS and len(low) > 2 and low not in keywords:
            keywords.append(low)
    if not agents:
        for w in words:
            low = w.lower()
            stem = low[:-1] if low.endswith("s") else low
            for role in (low, stem):
                for key in roles.get(role, []):
                    if key not in agents:
                        agents.append(key)
    for m in _AGENT_LIKE.finditer(description):
        name = m.group(0)
        if name.lower() not in known and name not in unknown:
            unknown.append(name)
    window = _parse_times(description, s.first, s.last)
    return {
        "agents": agents,
        "unknown_agents": unknown,
        "error_words": error_words,
        "topics": topics,
        "keywords": keywords,
        "window": window,
    }


def _relevance(err: dict[str, Any], parsed: dict[str, Any]) -> float:
    text = " ".join(
        str(err.get(k) or "")
        for k in ("message", "error_type", "error_message", "name", "event_type")
    ).lower()
    data = err.get("data")
    if isinstance(data, dict):
        for k in ("action_type", "update_type", "context", "function"):
            v = data.get(k)
            if isinstance(v, str):
                text += " " + v.lower()
    score = 0.0
    for kw in parsed["keywords"]:
        if kw in text:
            score += 1.0
        elif len(kw) > 4 and kw[:5] in text:
            score += 0.5
    if err.get("agent") in parsed["agents"]:
        score += 3.0
    return score


def debug_issue(
    description: str,
    session: str | os.PathLike[str] | None = None,
    *,
    analyzer: LogAnalyzer | None = None,
    lookback_seconds: float = 60,
    **kwargs: Any,
) -> Report:
    """A debug report for a problem described in words ("Agent creator_001 not generating
    content"): the agents, errors and time window it refers to, the agents' recent activity,
    the most relevant errors, the likely causal chain of the most relevant one, and where to
    look next."""
    if not isinstance(description, str) or not description.strip():
        raise ValidationError("description: expected a non-empty string", field="description")
    an = _open(analyzer, session, kwargs)
    ov = an.overview()
    parsed = parse_description(description, an)
    window = parsed["window"]
    lines: list[str] = [f'Debug report: "{description.strip()}"']
    lines.append(
        f"Session {ov['session_id'] or '?'} ({ov['source']}: {ov['location']}), {ov['records']:,} records"
    )
    if ov["first"]:
        lines.append(f"  {ov['first'][:19].replace('T', ' ')} → {ov['last'][11:19]} UTC")
    understood = []
    if parsed["agents"]:
        understood.append("agents " + ", ".join(parsed["agents"]))
    if parsed["error_words"]:
        understood.append("symptoms " + ", ".join(parsed["error_words"]))
    if parsed["topics"]:
        understood.append("about " + ", ".join(parsed["topics"]))
    if parsed["keywords"]:
        understood.append("matching " + ", ".join(parsed["keywords"][:8]))
    if window:
        understood.append(f"time {clock(window[0])}–{clock(window[1])} UTC")
    lines.append(
        "Understood: "
        + (
            "; ".join(understood)
            if understood
            else "no agent or time named — looking at the whole session"
        )
    )
    for name in parsed["unknown_agents"]:
        lines.append(
            f"  ! no agent named {name!r} in this session (agents: {', '.join(ov['agents'][:10]) or 'none'})"
        )

    # the agents' activity
    notes: list[str] = []
    activities = {}
    for agent in parsed["agents"]:
        act = an.analyze_agent_activity(agent)
        activities[agent] = act
        lines.append("")
        lines.append(
            f"Agent {agent} ({act['agent_role'] or '-'}): {_plural(act['total_logs'], 'log')}, "
            f"{_plural(act['errors'], 'error')}, {_plural(act['warnings'], 'warning')}; "
            f"active {_ts_clock(act['first_seen'])}–{_ts_clock(act['last_seen'])}"
        )
        runs = act["runs"]
        if runs:
            total_runs = sum(runs.values())
            bad_runs = runs.get("failed", 0) + runs.get("timeout", 0)
            lines.append(
                f"  runs: {total_runs} (" + ", ".join(f"{n} {k}" for k, n in runs.items()) + ")"
            )
            if bad_runs:
                notes.append(f"{agent}: {bad_runs} of {total_runs} runs failed")
        if act["errors"]:
            types = act["error_types"]
            lines.append("  error types: " + ", ".join(f"{k} ×{v}" for k, v in types.items()))
            top_type, top_n = next(iter(types.items()))
            if top_n >= 2:
                notes.append(
                    f"{agent}: {top_type} happened {top_n} times — a recurring failure: fix its cause "
                    "(see the causal chain) rather than retrying"
                )
        if act["action_counts"]:
            parts = []
            for name, n in list(act["action_counts"].items())[:6]:
                st = act["actions_by_status"].get(name, {})
                extra = ""
                if st:
                    ok = st.get("success", 0)
                    bad = st.get("failed", 0) + st.get("timeout", 0)
                    extra = f" ({ok} ok, {bad} failed)" if bad else f" ({ok} ok)"
                    if bad:
                        notes.append(f"{agent}: {bad} of {sum(st.values())} {name} actions failed")
                parts.append(f"{name} ×{n}{extra}")
            lines.append("  actions: " + ", ".join(parts))
        elif not runs:
            lines.append("  actions: none recorded")
            notes.append(f"{agent} recorded no actions or runs")
        if act["decisions"]:
            lines.append(
                "  decisions: "
                + ", ".join(f"{k} ×{v}" for k, v in list(act["decision_types"].items())[:6])
            )
        content = act["content_generated"]
        lc = act["last_content"]
        lines.append(
            f"  content generated: {content}"
            + (f" (last {lc['content_type']} at {_ts_clock(lc['timestamp'])})" if lc else "")
        )
        if "content" in parsed["topics"]:
            tries = sum(
                n
                for k, n in act["action_counts"].items()
                if "content" in k or "create" in k or "generat" in k
            )
            if content == 0:
                notes.append(
                    f"{agent} generated no content at all"
                    + (f" in {tries} attempts" if tries else "")
                )
            elif tries > content:
                notes.append(
                    f"{agent}: {tries} content actions but only {content} pieces of content generated"
                )
            gap = _seconds_between(lc["timestamp"] if lc else None, act["last_seen"])
            if lc and gap is not None and gap >= 1.0:
                notes.append(
                    f"{agent}: no content since {_ts_clock(lc['timestamp'])} (still active until {_ts_clock(act['last_seen'])})"
                )
        if "learning" in parsed["topics"]:
            lp = an.analyze_learning_progress(agent)
            lines.append(
                f"  learning: {lp['total_training_steps']} steps, rewards {lp['total_rewards']:g} "
                f"({lp['reward_trend']['direction']}), exploration {lp['exploration_rate'] if lp['exploration_rate'] is not None else '-'}"
            )
            if lp["reward_trend"]["direction"] == "decreasing":
                notes.append(f"{agent}: rewards are decreasing")
        if act["last_error"]:
            e = act["last_error"]
            lines.append(f"  last error: {_ts_clock(e['timestamp'])} {e.get('message')}")

    # the errors
    errors = an.get_errors()
    if parsed["agents"]:
        keys = set()
        for agent in parsed["agents"]:
            keys.update(an.summary().keys_for(agent))
        scoped = [e for e in errors if e.get("agent") in keys]
        # errors of agents they interacted with matter too, after their own
        if not scoped:
            partners: set[str] = set()
            for agent in parsed["agents"]:
                partners.update(an.interacting_agents(agent))
            scoped = [e for e in errors if e.get("agent") in partners]
            if scoped:
                notes.append(
                    "no errors of the agent itself; showing errors of agents it interacted with"
                )
        if not scoped:
            scoped = [e for e in errors if e.get("agent") is None]
    else:
        scoped = list(errors)
    if window:
        in_window = [e for e in scoped if window[0] <= e["timestamp_ns"] <= window[1]]
        if in_window or not scoped:
            scoped = in_window
        else:
            notes.append("no matching error in the time mentioned; showing the nearest ones")
            mid = (window[0] + window[1]) // 2
            scoped = sorted(scoped, key=lambda e: abs(e["timestamp_ns"] - mid))[:10]
    ranked = sorted(scoped, key=lambda e: (-_relevance(e, parsed), -e["timestamp_ns"], e["id"]))
    lines.append("")
    if ranked:
        lines.append(f"Related errors ({len(ranked)}, most relevant first):")
        for e in ranked[:8]:
            where = f" [{e.get('event_type') or e.get('type')}]"
            lines.append(
                f"  {_ts_clock(e['timestamp'])} {e['level']} {e.get('agent') or '-'}{where} {e.get('message')}"
            )
        if len(ranked) > 8:
            lines.append(f"  … {len(ranked) - 8} more (tracehound errors)")
    else:
        lines.append("Related errors: none")
        if parsed["agents"] and errors:
            lines.append(
                f"  (the session has {len(errors)} errors of other agents: tracehound errors)"
            )

    chain: list[dict[str, Any]] = []
    primary = ranked[0] if ranked else None
    if primary is not None:
        chain = an.find_causality_chain(primary, lookback_seconds=lookback_seconds, limit=10)
        lines.append("")
        lines.append(
            f"Likely causal chain of the {_ts_clock(primary['timestamp'])} error "
            f"({primary.get('error_type') or primary.get('type')}), {lookback_seconds:g}s lookback, in time order:"
        )
        if chain:
            for c in sorted(chain, key=lambda c: (c["timestamp_ns"], c["id"])):
                lines.append(
                    f"  #{c['rank']:<2} {_ts_clock(c['timestamp'])} {c['level']:<7} {c.get('agent') or '-'} "
                    f"{c['type']} {c['message']}"
                )
                lines.append(f"       why: {c['reason']} (score {c['score']:g})")
        else:
            lines.append("  nothing related was recorded before it in that window")
        lines.append(
            f"  → the error: {_ts_clock(primary['timestamp'])} {primary.get('agent') or '-'} {primary.get('message')}"
        )
        tb = primary.get("traceback")
        if isinstance(tb, str) and tb.strip():
            tail = [ln for ln in tb.strip().splitlines() if ln.strip()][-4:]
            lines.append("  traceback (last lines):")
            lines.extend("    " + ln.rstrip() for ln in tail)

    if notes:
        lines.append("")
        lines.append("Findings:")
        lines.extend(f"  - {n}" for n in notes)

    lines.append("")
    lines.append("Where to look next:")
    nexts: list[str] = []
    for agent in parsed["agents"][:3]:
        nexts.append(f"tracehound journey {agent}    (everything {agent} did, in order)")
    if primary is not None:
        agent = primary.get("agent")
        nexts.append(
            "tracehound errors"
            + (f" --agent {agent}" if agent else "")
            + "    (all errors, with types)"
        )
        if primary.get("trace_id"):
            nexts.append(f"tracehound show {primary['trace_id']}    (the whole trace of the error)")
    if an.source.kind == "files":
        loc = an.source.location
        for agent in parsed["agents"][:2]:
            nexts.append(f"{loc}/agents/{agent}.log")
        nexts.append(
            f"{os.path.dirname(loc.rstrip('/')) or '.'}/errors/errors.txt    (errors with tracebacks)"
        )
    if not primary and not parsed["agents"]:
        nexts.append("tracehound analyze    (session overview)")
    lines.extend(f"  - {n}" for n in nexts)
    data = {
        "description": description,
        "parsed": {**parsed, "window": [window[0], window[1]] if window else None},
        "agents": activities,
        "errors": ranked,
        "primary_error": primary,
        "causal_chain": chain,
        "findings": notes,
        "next_steps": nexts,
    }
    return Report("\n".join(lines), data)
