"""The writing studio's world: users, vaults, request topics, agent domains and text templates.

Everything here is plain data plus small, seeded text builders; nothing is traced.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Final

__all__ = [
    "AGENT_DOMAINS",
    "PLATFORMS",
    "TOPICS",
    "USERS",
    "VAULTS",
    "Topic",
    "paragraph",
    "relevance_reasoning",
]

USERS: Final = ("user-ana", "user-ben", "user-chen", "user-dara", "user-eli", "user-fatima")
VAULTS: Final = ("vault-heist-novel", "vault-tech-blog", "vault-weekly-letter", "vault-memoir")
PLATFORMS: Final = ("medium.example", "linkedin", "substack.example", "ghost.example")

# What each specialist is for, as used in routing explanations ("…, not <domain>").
AGENT_DOMAINS: Final = {
    "ResearcherAgent": "source research",
    "WriterAgent": "drafting new prose",
    "CriticAgent": "editorial review",
    "PsychologistAgent": "character psychology",
    "CoderAgent": "code or technical examples",
    "PublisherAgent": "publishing or distribution",
}


@dataclass(frozen=True, slots=True)
class Topic:
    """A kind of request the studio receives, and how relevant each specialist is to it."""

    key: str
    description: str  # "plot structure": used in relevance reasoning
    deliverable: str
    queries: tuple[str, ...]
    affinity: dict[str, float]


_SUBJECTS: Final = (
    "retrieval-augmented generation",
    "vector databases",
    "Python's asyncio",
    "rate limiting in public APIs",
    "carbon-aware computing",
    "the history of the printing press",
    "remote-first team rituals",
    "small language models on laptops",
)
_CITIES: Final = ("Lisbon", "Osaka", "Montreal", "Marrakesh", "Prague")
_CHARACTERS: Final = ("Mara Quill", "Teodor Vance", "Iris Okafor", "Jun Harlow")
_CODE_TOPICS: Final = (
    "parsing CSV files with the csv module",
    "retrying HTTP calls with exponential backoff",
    "writing a tiny LRU cache",
    "streaming large JSON files",
)

TOPICS: Final = (
    Topic(
        "plot_structure",
        "plot structure",
        "chapter outline",
        (
            "Outline a three-act structure for a heist novel set in {city}.",
            "My second act sags. Restructure chapters 9-14 so the midpoint twist lands earlier.",
            "Give me a beat sheet for the vault-break sequence in {city}.",
        ),
        {
            "ResearcherAgent": 0.25,
            "WriterAgent": 0.9,
            "CriticAgent": 0.78,
            "PsychologistAgent": 0.3,
            "CoderAgent": 0.05,
            "PublisherAgent": 0.12,
        },
    ),
    Topic(
        "character",
        "character motivation",
        "character study",
        (
            "Why would {character} betray her mentor in chapter 7? Make the motivation believable.",
            "Is {character}'s sudden forgiveness in the finale earned? Rewrite the scene if not.",
        ),
        {
            "ResearcherAgent": 0.18,
            "WriterAgent": 0.72,
            "CriticAgent": 0.5,
            "PsychologistAgent": 0.93,
            "CoderAgent": 0.04,
            "PublisherAgent": 0.08,
        },
    ),
    Topic(
        "research_article",
        "a sourced long-form article",
        "article",
        (
            "Write a 1,500-word explainer on {subject} with citations.",
            "Draft a myth-busting post about {subject}; every claim needs a source.",
        ),
        {
            "ResearcherAgent": 0.93,
            "WriterAgent": 0.86,
            "CriticAgent": 0.62,
            "PsychologistAgent": 0.08,
            "CoderAgent": 0.22,
            "PublisherAgent": 0.58,
        },
    ),
    Topic(
        "code_tutorial",
        "a programming tutorial with runnable code",
        "tutorial",
        (
            "Create a beginner tutorial on {code_topic} with runnable examples and publish it.",
            "Turn my notes on {code_topic} into a tutorial; test every snippet.",
        ),
        {
            "ResearcherAgent": 0.32,
            "WriterAgent": 0.7,
            "CriticAgent": 0.42,
            "PsychologistAgent": 0.04,
            "CoderAgent": 0.94,
            "PublisherAgent": 0.56,
        },
    ),
    Topic(
        "publish",
        "publishing and distribution",
        "published post",
        (
            "Publish the finished essay on {subject} to {platform} and schedule a teaser thread.",
            "The {subject} piece is approved - push it to {platform} at peak time.",
        ),
        {
            "ResearcherAgent": 0.08,
            "WriterAgent": 0.28,
            "CriticAgent": 0.6,
            "PsychologistAgent": 0.04,
            "CoderAgent": 0.05,
            "PublisherAgent": 0.96,
        },
    ),
    Topic(
        "critique",
        "editorial feedback on an existing draft",
        "critique",
        (
            "Critique my opening paragraph for pacing and voice.",
            "Be harsh: what's wrong with the dialogue in the {city} chase scene?",
        ),
        {
            "ResearcherAgent": 0.12,
            "WriterAgent": 0.35,
            "CriticAgent": 0.95,
            "PsychologistAgent": 0.52,
            "CoderAgent": 0.04,
            "PublisherAgent": 0.08,
        },
    ),
    Topic(
        "newsletter",
        "the weekly newsletter",
        "newsletter issue",
        (
            "Draft this week's newsletter on {subject} and send it to subscribers.",
            "Write and ship the Friday digest: three links on {subject} with commentary.",
        ),
        {
            "ResearcherAgent": 0.8,
            "WriterAgent": 0.88,
            "CriticAgent": 0.4,
            "PsychologistAgent": 0.08,
            "CoderAgent": 0.1,
            "PublisherAgent": 0.86,
        },
    ),
)

_POSITIVE: Final = (
    "Query asks for {topic}, which needs {domain}",
    "Request needs {domain} to deliver {topic}",
    "{Topic} depends on {domain}",
)
_NEGATIVE: Final = (
    "Query is about {topic}, not {domain}",
    "Request concerns {topic}; nothing here calls for {domain}",
    "{Topic} does not need {domain} at this step",
)


def relevance_reasoning(rng: random.Random, topic: Topic, agent: str, relevant: bool) -> str:
    """A one-sentence reason for a relevance decision, e.g. "Query is about plot structure,
    not character psychology"."""
    template = rng.choice(_POSITIVE if relevant else _NEGATIVE)
    return template.format(
        topic=topic.description,
        Topic=topic.description[:1].upper() + topic.description[1:],
        domain=AGENT_DOMAINS[agent],
    )


def fill_query(rng: random.Random, topic: Topic, platform: str) -> tuple[str, str, str]:
    """A user query for ``topic``, its subject and the character it concerns (if any)."""
    subject = rng.choice(_SUBJECTS)
    fields = {
        "subject": subject,
        "city": rng.choice(_CITIES),
        "character": rng.choice(_CHARACTERS),
        "code_topic": rng.choice(_CODE_TOPICS),
        "platform": platform,
    }
    query = rng.choice(topic.queries).format(**fields)
    main = fields["code_topic"] if topic.key == "code_tutorial" else subject
    if topic.key in ("plot_structure", "critique"):
        main = f"the heist novel set in {fields['city']}"
    elif topic.key == "character":
        main = fields["character"]
    return query, main, fields["character"]


_SENTENCES: Final = (
    "The strongest version of {s} starts from the reader's question, not the author's answer.",
    "Most accounts of {s} skip the trade-offs, so this piece names them early.",
    "A concrete example anchors {s}: one case, followed from first step to consequence.",
    "Tension in {s} comes from what the reader knows and the characters do not.",
    "Each section ends on an open question that the next one answers.",
    "The evidence on {s} is mixed, and the draft says so instead of smoothing it over.",
    "Short sentences carry the action; longer ones slow the reader down for the reveal.",
    "Cut the second example: it repeats the first without raising the stakes.",
    "The conclusion returns to the opening image, now seen differently.",
)


def paragraph(rng: random.Random, subject: str, sentences: int) -> str:
    """A paragraph of template sentences about ``subject``."""
    picks = [rng.choice(_SENTENCES).format(s=subject) for _ in range(sentences)]
    return " ".join(picks)


def system_prompt(agent: str, role: str) -> str:
    return (
        f"You are {agent}, the {role} of a small writing studio. "
        f"Your specialty is {AGENT_DOMAINS.get(agent, 'routing requests to specialists')}. "
        "Answer only with a JSON object matching the schema you are given. Keep the house "
        "style: plain words, active voice, no filler, cite sources as [n]. Never invent "
        "quotes, statistics or sources; if the vault notes and the previous work do not "
        "support a claim, say so. Prefer concrete examples over abstractions, keep paragraphs "
        "under 120 words, and match the tone the author used in the vault's style guide. "
        "When unsure what the author wants, state your assumption in one sentence."
    )


def vault_excerpts(rng: random.Random, vault_id: str, subject: str, count: int) -> list[str]:
    """Notes retrieved from the user's vault, used as LLM context."""
    return [
        f"[{vault_id}/notes/{rng.randint(100, 999)}.md] "
        + paragraph(rng, subject, rng.randint(4, 8))
        for _ in range(count)
    ]


def to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
