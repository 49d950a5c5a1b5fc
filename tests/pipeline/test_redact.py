"""Redactor: secret keys (with tracehound's own allowlist), value detectors, user patterns, mask."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tracehound.config import Settings
from tracehound.exceptions import ConfigError
from tracehound.pipeline._redact import (
    ALLOWED_KEYS,
    MASK_ERROR,
    REDACTED,
    Redactor,
)

# Fake credentials, assembled at run time so that no literal token sits in the source.
OPENAI = "sk-" + "A1b2C3d4E5" * 4 + "F6g7H8i9"
OPENAI_PROJ = "sk-" + "proj-" + "Abcdefghij1234567890_XYZ-abcdefghij" + "KLMNOP0987654321"
ANTHROPIC = "sk-" + "ant-api03-" + "Zy9_Xw8-Vu7" * 6 + "AA"
AWS = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_TEMP = "ASIA" + "Y34FZKBOKMUTVV7A"
GITHUB = "ghp" + "_" + "a1B2c3D4e5" * 3 + "F6g7H8"
GITHUB_OAUTH = "gho" + "_" + "Z" * 36
GITHUB_PAT = "github" + "_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123"
SLACK = "xox" + "b-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER = "xox" + "p-1234567890-abcdefABCDEF"
JWT = (
    "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
PEM = (
    "-----BEGIN " + "PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "yq3nZbB1pW9Qx2v7aQ==\n"
    "-----END PRIVATE KEY-----"
)
PEM_RSA = (
    "-----BEGIN RSA "
    + "PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
    "-----END RSA PRIVATE KEY-----"
)
PEM_OPENSSH = (
    "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"
    "-----END OPENSSH PRIVATE KEY-----"
)

SECRETS: list[tuple[str, str]] = [
    (OPENAI, "[REDACTED:openai_key]"),
    (OPENAI_PROJ, "[REDACTED:openai_key]"),
    (ANTHROPIC, "[REDACTED:anthropic_key]"),
    (AWS, "[REDACTED:aws_access_key]"),
    (AWS_TEMP, "[REDACTED:aws_access_key]"),
    (GITHUB, "[REDACTED:github_token]"),
    (GITHUB_OAUTH, "[REDACTED:github_token]"),
    (GITHUB_PAT, "[REDACTED:github_token]"),
    (SLACK, "[REDACTED:slack_token]"),
    (SLACK_USER, "[REDACTED:slack_token]"),
    (JWT, "[REDACTED:jwt]"),
    (PEM, "[REDACTED:private_key]"),
    (PEM_RSA, "[REDACTED:private_key]"),
    (PEM_OPENSSH, "[REDACTED:private_key]"),
    ("Bearer abc123def456ghi", "Bearer [REDACTED:bearer]"),
    ("bearer abc.123-def_456~x/y+z==", "bearer [REDACTED:bearer]"),
    ("BEARER ABC123DEF456", "BEARER [REDACTED:bearer]"),
]
SECRET_IDS = [marker.strip("[]").split(":")[-1] + f"-{i}" for i, (_, marker) in enumerate(SECRETS)]

LONG_PROMPT = (
    "You are a helpful planning agent. Consider the user's request carefully, think step by "
    "step, and answer with a short plan. Do not reveal internal notes. "
) * 60  # ~10 KB, beyond the short-text path


@pytest.fixture
def red() -> Redactor:
    return Redactor()


# -- value detectors --------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "marker"), SECRETS, ids=SECRET_IDS)
def test_detector_plain(red: Redactor, secret: str, marker: str) -> None:
    assert red.scrub(secret) == marker


@pytest.mark.parametrize(("secret", "marker"), SECRETS, ids=SECRET_IDS)
def test_detector_embedded_in_short_text(red: Redactor, secret: str, marker: str) -> None:
    text = f"use this: {secret} (do not share)"
    assert red.scrub(text) == f"use this: {marker} (do not share)"


@pytest.mark.parametrize(("secret", "marker"), SECRETS, ids=SECRET_IDS)
def test_detector_embedded_in_long_prompt(red: Redactor, secret: str, marker: str) -> None:
    half = len(LONG_PROMPT) // 2
    text = LONG_PROMPT[:half] + "\nconfig: " + secret + "\n" + LONG_PROMPT[half:]
    assert red.scrub(text) == LONG_PROMPT[:half] + "\nconfig: " + marker + "\n" + LONG_PROMPT[half:]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'{{"api_key": "{OPENAI}"}}', '{"api_key": "[REDACTED:openai_key]"}'),
        (f"OPENAI_API_KEY={OPENAI}", "OPENAI_API_KEY=[REDACTED:openai_key]"),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer [REDACTED:jwt]"),
        (f"Authorization: Bearer {OPENAI}", "Authorization: Bearer [REDACTED:openai_key]"),
        (
            f"aws {AWS} then {GITHUB} and {SLACK}",
            "aws [REDACTED:aws_access_key] then [REDACTED:github_token] and [REDACTED:slack_token]",
        ),
        (f"{AWS}{AWS}", f"{AWS}{AWS}"),  # not a 20-character key on its own
        (f"x{AWS}", f"x{AWS}"),
    ],
)
def test_detector_contexts(red: Redactor, text: str, expected: str) -> None:
    assert red.scrub(text) == expected


def test_truncated_pem_block_redacted_to_the_end(red: Redactor) -> None:
    text = "key:\n" + PEM[:60]
    assert red.scrub(text) == "key:\n[REDACTED:private_key]"


def test_pem_block_keeps_surrounding_text(red: Redactor) -> None:
    text = f"before\n{PEM}\nmiddle\n{PEM_RSA}\nafter"
    assert red.scrub(text) == (
        "before\n[REDACTED:private_key]\nmiddle\n[REDACTED:private_key]\nafter"
    )


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog, said the agent.",
        "I thought the agent might be right, though it was high.",
        "risk-assessment-framework-v2-final-report",
        "task-1234567890abcdefghijklmnop",
        "bearer instruments are risky",  # no digit: prose, not a token
        "Bearer authentication is described in RFC 6750",
        "the eyJ prefix marks base64 JSON",
        "AKIA is the prefix of AWS access keys",
        "see https://github.com/org/repo/pull/12",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "",
        "short",
    ],
)
def test_no_false_positives(red: Redactor, text: str) -> None:
    assert red.scrub(text) is text


def test_identifier_prefix_does_not_hide_a_generated_key(red: Redactor) -> None:
    # "xsk-…" continues an identifier, but the body is clearly a generated key.
    assert red.scrub("x" + OPENAI) == "x[REDACTED:openai_key]"


def test_scrub_is_idempotent(red: Redactor) -> None:
    text = " ".join(secret for secret, _ in SECRETS)
    once = red.scrub(text)
    assert red.scrub(once) == once
    for secret, _ in SECRETS:
        assert secret not in once


# -- key rules --------------------------------------------------------------------------------

SECRET_KEYS = [
    "password",
    "Password",
    "DB_PASSWORD",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "client_secret",
    "clientSecret",
    "aws_secret_access_key",
    "token",
    "access_token",
    "accessToken",
    "refresh-token",
    "id_token",
    "X-Auth-Token",
    "csrftoken",
    "github_token",
    "HF_TOKEN",
    "tokenValue",
    "access_tokens",
    "api_tokens",
    "api_key",
    "apiKey",
    "API-KEY",
    "x-api-key",
    "apikey",
    "Api Key",
    "access_key",
    "accessKey",
    "Authorization",
    "proxy-authorization",
    "auth",
    "Auth",
    "x-auth",
    "basic_auth",
    "cookie",
    "Cookie",
    "Set-Cookie",
    "cookies",
    "session",
    "session_token",
    "sessionToken",
    "session_key",
    "sessionid",
    "SESSIONID",
    "JSESSIONID",
    "PHPSESSID",
    "credential",
    "credentials",
    "gcp_credentials",
    "private_key",
    "privateKey",
    "private.key",
    "credit_card",
    "creditCardNumber",
    "card_number",
    "cardNumber",
    "cvv",
    "ssn",
    "user_ssn",
    "jwt",
]

NOT_SECRET_KEYS = [
    # token counts written by tracehound and by LLM SDKs
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "max_tokens",
    "tokens_used",
    "token_count",
    "prompt_tokens",
    "completion_tokens",
    "max_completion_tokens",
    "inputTokens",
    "maxTokens",
    "promptTokenCount",
    "tokens",
    "tokens_per_second",
    "token_usage",
    "token_limit",
    "time_to_first_token_ms",
    "cost_per_token",
    "tokenizer",
    "token_type",
    "token_id",
    "detokenize",
    # tracehound's own ids and attribute conventions
    "session_id",
    "sessionId",
    "Session-ID",
    "session.id",
    "user_session_id",
    "session_count",
    "conversation_id",
    "trace_id",
    "span_id",
    "parent_id",
    "agent_id",
    "user_id",
    "external_user_id",
    "completion_id",
    "vault_id",
    "execution_status",
    "current_stage",
    "relevance_score",
    "call_reason",
    "call_type",
    "cost_source",
    "is_streaming",
    "chunks_count",
    "input_cost",
    "process_name",  # contains "ssn" across a word boundary
    "project_path",
    "working_directory",
    # everyday keys
    "author",
    "authors",
    "authority",
    "oauth_provider",
    "model",
    "role",
    "content",
    "prompt",
    "response",
    "key",
    "primary_key",
    "keyboard",
    "compass",
    "",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_keys(red: Redactor, key: str) -> None:
    assert red.is_secret_key(key) is True


@pytest.mark.parametrize("key", NOT_SECRET_KEYS)
def test_not_secret_keys(red: Redactor, key: str) -> None:
    assert red.is_secret_key(key) is False


def test_allowlist_is_explicit() -> None:
    assert {"session_id", "conversation_id"} <= ALLOWED_KEYS


def test_extra_keys_are_normalised_substrings() -> None:
    red = Redactor(extra_keys=["Internal-ID", "tenant"])
    assert red.is_secret_key("customer_internal_id")
    assert red.is_secret_key("customerInternalId")
    assert red.is_secret_key("TENANT")
    assert not red.is_secret_key("customer_id")


def test_extra_keys_override_the_allowlist() -> None:
    red = Redactor(extra_keys=["session_id", "input_tokens"])
    assert red.is_secret_key("session_id")
    assert red.is_secret_key("input_tokens")
    assert not Redactor().is_secret_key("session_id")


def test_key_cache_is_bounded(red: Redactor) -> None:
    for i in range(10_000):
        red.is_secret_key(f"key_{i}")
    assert len(red._cache) <= 4096
    long_key = "k" * 10_000
    assert not red.is_secret_key(long_key) and long_key not in red._cache
    assert red.is_secret_key("x" * 10_000 + "_password")
    assert red.is_secret_key("password") and not red.is_secret_key("key_1")


# -- user patterns, mask, switches ------------------------------------------------------------


def test_extra_patterns() -> None:
    red = Redactor(extra_patterns=[r"ACME-\d{6}", r"(?i)employee #\d+"])
    assert red.scrub("order ACME-123456 shipped") == "order [REDACTED:custom] shipped"
    assert red.scrub("ACME-000001") == "[REDACTED:custom]"  # short strings too
    assert red.scrub("ask EMPLOYEE #42 and employee #7") == (
        "ask [REDACTED:custom] and [REDACTED:custom]"
    )
    assert red.scrub(f"{OPENAI} ACME-123456") == "[REDACTED:openai_key] [REDACTED:custom]"


def test_extra_pattern_matching_empty_string_inserts_nothing() -> None:
    red = Redactor(extra_patterns=[r"x*"])
    text = "abc"
    assert red.scrub(text) is text
    assert red.scrub("axxb") == "a[REDACTED:custom]b"


@pytest.mark.parametrize("pattern", ["(unclosed", "*bad", "[z-a]"])
def test_invalid_pattern_is_config_error(pattern: str) -> None:
    with pytest.raises(ConfigError, match="redact_patterns"):
        Redactor(extra_patterns=[pattern])


def test_mask_applied_after_detectors() -> None:
    seen: list[str] = []

    def mask(text: str) -> str:
        seen.append(text)
        return text.replace("alice", "<user>")

    red = Redactor(mask=mask)
    assert red.scrub(f"alice uses {OPENAI}") == "<user> uses [REDACTED:openai_key]"
    assert seen == ["alice uses [REDACTED:openai_key]"]
    assert red.scrub("alice") == "<user>"  # short strings too


def test_raising_mask_fails_closed() -> None:
    def mask(text: str) -> str:
        raise RuntimeError("mask bug")

    red = Redactor(mask=mask)
    assert red.scrub("nothing secret here") == MASK_ERROR == "[REDACTED:mask-error]"


@pytest.mark.parametrize("result", [None, 42, b"bytes", ["x"]])
def test_non_str_mask_result_fails_closed(result: Any) -> None:
    red = Redactor(mask=lambda text: result)
    assert red.scrub("value") == MASK_ERROR


def test_mask_str_subclass_becomes_str() -> None:
    class S(str):
        pass

    out = Redactor(mask=lambda text: S(text.upper())).scrub("abc")
    assert out == "ABC" and type(out) is str


def test_mask_must_be_callable() -> None:
    with pytest.raises(ConfigError):
        Redactor(mask="nope")  # type: ignore[arg-type]


def test_disabled_redactor_does_nothing() -> None:
    calls: list[str] = []
    red = Redactor(
        extra_keys=["x"],
        extra_patterns=["abc"],
        mask=lambda t: calls.append(t) or t,  # type: ignore[func-returns-value]
        enabled=False,
    )
    assert red.is_secret_key("password") is False
    assert red.scrub(OPENAI) == OPENAI
    assert red.scrub("abc") == "abc"
    assert calls == []


def test_from_settings() -> None:
    settings = Settings.load(
        env={},
        redact_keys="tenant,internal_id",
        redact_patterns=[r"ACME-\d+"],
        mask=lambda t: t.replace("bob", "B."),
    )
    red = Redactor.from_settings(settings)
    assert red.enabled
    assert red.is_secret_key("tenant_name")
    assert red.scrub("bob ACME-1") == "B. [REDACTED:custom]"
    off = Redactor.from_settings(Settings.load(env={}, redact=False))
    assert not off.enabled and off.scrub(OPENAI) == OPENAI
    with pytest.raises(ConfigError):
        Redactor.from_settings(Settings.load(env={}, redact_patterns=["(bad"]))


def test_redacted_constant() -> None:
    assert REDACTED == "[REDACTED]"


# -- speed (generous bounds; the report has the real numbers) ---------------------------------


def _per_call_us(fn: Any, n: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def test_speed(red: Redactor) -> None:
    short = "The quick brown fox jumps over the lazy dog, said the agent."
    assert _per_call_us(lambda: red.scrub(short), 20_000) < 5.0
    assert _per_call_us(lambda: red.scrub(LONG_PROMPT), 200) < 1000.0
    assert _per_call_us(lambda: red.is_secret_key("input_tokens"), 20_000) < 2.0
