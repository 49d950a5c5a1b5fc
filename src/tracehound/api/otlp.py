"""OTLP/HTTP traces (protobuf and JSON) → tracehound records.

Decoding: protobuf with ``opentelemetry-proto`` (``ExportTraceServiceRequest``); JSON per the
OTLP/JSON rules (hex trace/span ids, lowerCamelCase or snake_case keys, 64-bit integers as
strings or numbers, enums as integers or names). Both decode into :class:`OtlpSpan`, then one
mapping applies.

Mapping (the OpenTelemetry GenAI semantic conventions, OpenInference and OpenLLMetry):

* kind: ``gen_ai.operation.name`` = ``invoke_agent``/``create_agent`` → ``agent``,
  ``execute_tool`` → ``tool``, ``chat``/``text_completion``/``generate_content``/
  ``embeddings`` → ``llm``; ``openinference.span.kind`` AGENT/TOOL/LLM/EMBEDDING/CHAIN…;
  ``traceloop.span.kind`` agent/workflow/tool/task; else the span name's first word (``chat
  gpt-4o``, ``invoke_agent planner``, ``execute_tool search``); else ``task``.
* agent: ``gen_ai.agent.name`` / ``agent.name`` / the ``invoke_agent <name>`` span name;
  ``gen_ai.agent.id``; children inherit from their parent within the request.
* ``gen_ai.conversation.id`` (or ``session.id``) → ``conversation_id``; ``user.id`` /
  ``enduser.id`` → ``user_id``; ``session.id`` / resource ``service.instance.id`` →
  ``session_id`` (default ``otlp:<service.name>``).
* LLM: ``gen_ai.provider.name``/``gen_ai.system``/``llm.provider``; ``gen_ai.response.model``/
  ``gen_ai.request.model``/``llm.model_name``; ``gen_ai.usage.input_tokens``/
  ``output_tokens`` (and the older ``prompt_tokens``/``completion_tokens``, cache-read and
  reasoning counts, OpenInference ``llm.token_count.*``); cost from the price table unless
  the span carries one.
* input/output: ``gen_ai.input.messages``/``gen_ai.output.messages`` (JSON), the older
  ``gen_ai.prompt``/``gen_ai.completion`` (and their indexed ``.N.role``/``.N.content`` form),
  OpenInference ``input.value``/``output.value`` and ``llm.input_messages.N.message.*``, tool
  ``gen_ai.tool.call.arguments``/``result``, and the GenAI message events.
* status ERROR → ``failed`` (``status.message``, ``exception.*`` events and ``error.type``
  give the error fields); a span without an end time is ``running``.
* span events → tracehound events (``exception`` → an ERROR ``error`` event).
"""

from __future__ import annotations

import base64
import binascii
import importlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

import orjson

from ..model import Event, Record, Span
from .errors import ApiError

__all__ = ["OtlpSpan", "decode_json", "decode_protobuf", "encode_response", "map_spans"]

_MAX_NS: Final = 253_402_300_799 * 1_000_000_000  # 9999-12-31T23:59:59Z
_MAX_INT: Final = 2**63 - 1
_MAX_TEXT: Final = 65_536
_MAX_NAME: Final = 1_000
_MAX_ATTRS: Final = 256
_MAX_DEPTH: Final = 32
_HEX_RE: Final = re.compile(r"[0-9a-fA-F]*")
_INDEXED_RE: Final = re.compile(r"^(.*?)\.(\d{1,4})\.(.+)$")

_STATUS_ERROR: Final = 2
_SPAN_KINDS: Final = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
_LLM_OPS: Final = frozenset(
    {"chat", "text_completion", "generate_content", "embeddings", "completion", "generate"}
)
_AGENT_OPS: Final = frozenset({"invoke_agent", "create_agent"})
_OI_KINDS: Final = {
    "AGENT": "agent",
    "TOOL": "tool",
    "LLM": "llm",
    "EMBEDDING": "llm",
    "CHAIN": "task",
    "RETRIEVER": "task",
    "RERANKER": "task",
    "GUARDRAIL": "task",
    "EVALUATOR": "task",
}
_TL_KINDS: Final = {"agent": "agent", "workflow": "agent", "tool": "tool", "task": "task"}
_NAME_KINDS: Final = {
    "invoke_agent": "agent",
    "create_agent": "agent",
    "execute_tool": "tool",
    **{op: "llm" for op in _LLM_OPS},
}

_PROVIDER_KEYS: Final = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_MODEL_KEYS: Final = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "llm.response.model",
    "llm.request.model",
)
_INPUT_TOKEN_KEYS: Final = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
)
_OUTPUT_TOKEN_KEYS: Final = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
)
_TOTAL_TOKEN_KEYS: Final = (
    "gen_ai.usage.total_tokens",
    "llm.usage.total_tokens",
    "llm.token_count.total",
)
_CACHED_TOKEN_KEYS: Final = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cached_tokens",
    "llm.token_count.prompt_details.cache_read",
)
_REASONING_TOKEN_KEYS: Final = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
_COST_KEYS: Final = ("gen_ai.usage.cost", "llm.usage.cost", "llm.cost.total")
_LLM_KEYS: Final = frozenset(
    _PROVIDER_KEYS
    + _MODEL_KEYS
    + _INPUT_TOKEN_KEYS
    + _OUTPUT_TOKEN_KEYS
    + _TOTAL_TOKEN_KEYS
    + _CACHED_TOKEN_KEYS
    + _REASONING_TOKEN_KEYS
)
_INDEXED_PREFIXES: Final = (
    "llm.input_messages.",
    "gen_ai.prompt.",
    "llm.output_messages.",
    "gen_ai.completion.",
)
_MESSAGE_EVENTS: Final = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}

Pricer = Callable[..., Any]


class OtlpSpan(NamedTuple):
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int
    start: int
    end: int
    attrs: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]]
    status_code: int
    status_message: str
    resource: dict[str, Any]
    scope: str | None


class _Rejected(Exception):
    """One span cannot be taken (the others still are)."""


# -- text and values ------------------------------------------------------------------------
def _text(value: str, limit: int = _MAX_TEXT) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return value if len(value) <= limit else value[:limit] + "…[truncated]"


def _float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def _key(value: Any) -> str:
    return _text(value if isinstance(value, str) else str(value), 256)


# -- protobuf -------------------------------------------------------------------------------
def _pb() -> Any:
    try:
        return importlib.import_module("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    except ImportError as exc:  # pragma: no cover - the server extra installs it
        raise ApiError(
            415,
            "content-type: OTLP protobuf needs the opentelemetry-proto package on the server; "
            "send application/json",
            field="content-type",
        ) from exc


def _pb_value(v: Any, depth: int) -> Any:
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return _text(v.string_value)
    if which == "bool_value":
        return bool(v.bool_value)
    if which == "int_value":
        return int(v.int_value)
    if which == "double_value":
        return _float(float(v.double_value))
    if which == "bytes_value":
        return base64.b64encode(bytes(v.bytes_value)).decode()
    if depth >= _MAX_DEPTH:
        return "…[too deep]"
    if which == "array_value":
        return [_pb_value(x, depth + 1) for x in v.array_value.values]
    if which == "kvlist_value":
        return {_key(kv.key): _pb_value(kv.value, depth + 1) for kv in v.kvlist_value.values}
    return None


def _pb_attrs(attributes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in attributes:
        if len(out) >= _MAX_ATTRS:
            break
        out[_key(kv.key)] = _pb_value(kv.value, 1)
    return out


def decode_protobuf(body: bytes) -> list[OtlpSpan]:
    """Decode an ``ExportTraceServiceRequest`` (400 naming ``body`` when invalid)."""
    pb = _pb()
    request = pb.ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except Exception as exc:
        raise ApiError(
            400, f"body: not a valid OTLP ExportTraceServiceRequest ({exc})", field="body"
        ) from None
    out: list[OtlpSpan] = []
    for rs in request.resource_spans:
        resource = _pb_attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = _text(ss.scope.name, 256) or None
            for sp in ss.spans:
                events = [
                    (_text(ev.name, _MAX_NAME), int(ev.time_unix_nano), _pb_attrs(ev.attributes))
                    for ev in sp.events
                ]
                out.append(
                    OtlpSpan(
                        bytes(sp.trace_id).hex(),
                        bytes(sp.span_id).hex(),
                        bytes(sp.parent_span_id).hex() or None,
                        _text(sp.name, _MAX_NAME),
                        int(sp.kind),
                        int(sp.start_time_unix_nano),
                        int(sp.end_time_unix_nano),
                        _pb_attrs(sp.attributes),
                        events,
                        int(sp.status.code),
                        _text(sp.status.message, 10_000),
                        resource,
                        scope,
                    )
                )
    return out


def encode_response(rejected: int, message: str, *, protobuf: bool) -> bytes:
    """An ``ExportTraceServiceResponse`` (with ``partial_success`` when spans were
    rejected), as protobuf or OTLP/JSON."""
    if not protobuf:
        if not rejected:
            return b"{}"
        return orjson.dumps(
            {"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}}
        )
    pb = _pb()
    response = pb.ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    data: bytes = response.SerializeToString()
    return data


def encode_status(code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` message (``code``, ``message``) in protobuf wire form: the
    body OTLP/HTTP asks for on errors of protobuf requests."""

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte = n & 0x7F
            n >>= 7
            if n:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                return bytes(out)

    text = message.encode("utf-8", "replace")
    return b"\x08" + varint(code) + b"\x12" + varint(len(text)) + text


# -- JSON -----------------------------------------------------------------------------------
def _get(obj: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in obj:
            return obj[name]
    return None


def _json_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Rejected(f"{where}: expected a list")
    return value


def _json_int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise _Rejected(f"{where}: expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 25:
        return int(value)
    if value is None:
        return 0
    raise _Rejected(f"{where}: expected an integer")


def _json_id(value: Any, size: int, where: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > 2 * size + 8:
        raise _Rejected(f"{where}: expected {2 * size} hex digits")
    if len(value) == 2 * size and _HEX_RE.fullmatch(value):
        return value.lower()
    try:  # tolerate the protobuf JSON mapping's base64
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size:
        return raw.hex()
    raise _Rejected(f"{where}: expected {2 * size} hex digits")


def _json_value(v: Any, depth: int) -> Any:
    if not isinstance(v, dict):
        return None
    if "stringValue" in v or "string_value" in v:
        s = _get(v, "stringValue", "string_value")
        return _text(s) if isinstance(s, str) else None
    if "boolValue" in v or "bool_value" in v:
        return bool(_get(v, "boolValue", "bool_value"))
    if "intValue" in v or "int_value" in v:
        try:
            n = _json_int(_get(v, "intValue", "int_value"), "intValue")
        except _Rejected:
            return None
        return n if -(2**63) <= n <= _MAX_INT else None
    if "doubleValue" in v or "double_value" in v:
        d = _get(v, "doubleValue", "double_value")
        if isinstance(d, int | float) and not isinstance(d, bool):
            return _float(float(d))
        if isinstance(d, str):
            try:
                return _float(float(d))
            except ValueError:
                return None
        return None
    if "bytesValue" in v or "bytes_value" in v:
        b = _get(v, "bytesValue", "bytes_value")
        return b if isinstance(b, str) else None
    if depth >= _MAX_DEPTH:
        return "…[too deep]"
    if "arrayValue" in v or "array_value" in v:
        arr = _get(v, "arrayValue", "array_value")
        values = arr.get("values") if isinstance(arr, dict) else None
        return [_json_value(x, depth + 1) for x in values] if isinstance(values, list) else []
    if "kvlistValue" in v or "kvlist_value" in v:
        kv = _get(v, "kvlistValue", "kvlist_value")
        values = kv.get("values") if isinstance(kv, dict) else None
        return _json_attrs(values, depth + 1) if isinstance(values, list) else {}
    return None


def _json_attrs(items: Any, depth: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(items, list):
        return out
    for kv in items:
        if len(out) >= _MAX_ATTRS:
            break
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[_key(kv["key"])] = _json_value(kv.get("value"), depth)
    return out


_KIND_NAMES: Final = {f"SPAN_KIND_{v}": k for k, v in _SPAN_KINDS.items()}
_STATUS_NAMES: Final = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def _enum(value: Any, names: Mapping[str, int], where: str) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    return _json_int(value, where)


def decode_json(doc: Any) -> tuple[list[OtlpSpan], list[str]]:
    """Decode an OTLP/JSON request → ``(spans, problems)`` (one problem per span that could
    not be read; 400 when the document itself is not a request)."""
    if not isinstance(doc, dict):
        raise ApiError(400, "body: expected an OTLP/JSON object with resourceSpans", field="body")
    resource_spans = _get(doc, "resourceSpans", "resource_spans")
    if resource_spans is None:
        resource_spans = []
    if not isinstance(resource_spans, list):
        raise ApiError(400, "resourceSpans: expected a list", field="resourceSpans")
    out: list[OtlpSpan] = []
    problems: list[str] = []
    for rs in resource_spans:
        if not isinstance(rs, dict):
            problems.append("resourceSpans: an entry is not an object")
            continue
        res = rs.get("resource")
        resource = _json_attrs(res.get("attributes")) if isinstance(res, dict) else {}
        scope_spans = _get(rs, "scopeSpans", "scope_spans", "instrumentationLibrarySpans")
        if not isinstance(scope_spans, list):
            continue
        for ss in scope_spans:
            if not isinstance(ss, dict):
                problems.append("scopeSpans: an entry is not an object")
                continue
            scope_obj = _get(ss, "scope", "instrumentationLibrary")
            scope_name = scope_obj.get("name") if isinstance(scope_obj, dict) else None
            scope = _text(scope_name, 256) if isinstance(scope_name, str) and scope_name else None
            spans_list = ss.get("spans")
            if not isinstance(spans_list, list):
                continue
            for sp in spans_list:
                try:
                    out.append(_json_span(sp, resource, scope))
                except _Rejected as exc:
                    problems.append(str(exc))
    return out, problems


def _json_span(sp: Any, resource: dict[str, Any], scope: str | None) -> OtlpSpan:
    if not isinstance(sp, dict):
        raise _Rejected("spans: an entry is not an object")
    name = sp.get("name")
    if name is not None and not isinstance(name, str):
        raise _Rejected("name: expected a string")
    events: list[tuple[str, int, dict[str, Any]]] = []
    for ev in _json_list(sp.get("events"), "events"):
        if not isinstance(ev, dict):
            continue
        ev_name = ev.get("name")
        events.append(
            (
                _text(ev_name, _MAX_NAME) if isinstance(ev_name, str) else "event",
                _json_int(_get(ev, "timeUnixNano", "time_unix_nano"), "events.timeUnixNano"),
                _json_attrs(ev.get("attributes")),
            )
        )
    status = sp.get("status")
    code = 0
    message = ""
    if isinstance(status, dict):
        code = _enum(status.get("code"), _STATUS_NAMES, "status.code")
        msg = status.get("message")
        message = _text(msg, 10_000) if isinstance(msg, str) else ""
    return OtlpSpan(
        _json_id(_get(sp, "traceId", "trace_id"), 16, "traceId"),
        _json_id(_get(sp, "spanId", "span_id"), 8, "spanId"),
        _json_id(_get(sp, "parentSpanId", "parent_span_id"), 8, "parentSpanId") or None,
        _text(name or "", _MAX_NAME),
        _enum(sp.get("kind"), _KIND_NAMES, "kind"),
        _json_int(_get(sp, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano"),
        _json_int(_get(sp, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano"),
        _json_attrs(sp.get("attributes")),
        events,
        code,
        message,
        resource,
        scope,
    )


# -- mapping --------------------------------------------------------------------------------
def _first(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _str_attr(attrs: Mapping[str, Any], *keys: str) -> str | None:
    value = _first(attrs, keys)
    if value is None:
        return None
    return _text(value if isinstance(value, str) else str(value), 200)


def _count(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    value = _first(attrs, keys)
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= _MAX_INT:
        return value
    return None


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
        if _depth_ok(parsed, _MAX_DEPTH):
            return _clean_json(parsed)
    return value


def _depth_ok(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return True


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_key(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _indexed(attrs: dict[str, Any], prefix: str, consumed: set[str]) -> list[dict[str, Any]]:
    """``prefix.N.field`` attributes → ``[{field: …}, …]`` ordered by N."""
    items: dict[int, dict[str, Any]] = {}
    start = prefix + "."
    for key, value in attrs.items():
        if not key.startswith(start):
            continue
        match = _INDEXED_RE.match(key)
        if match is None or match.group(1) != prefix:
            continue
        field = match.group(3)
        if field.startswith("message."):
            field = field[len("message.") :]
        items.setdefault(int(match.group(2)), {})[field] = _maybe_json(value)
        consumed.add(key)
    return [items[i] for i in sorted(items)]


def _io(
    attrs: dict[str, Any], events: list[tuple[str, int, dict[str, Any]]], consumed: set[str]
) -> tuple[Any, Any]:
    inp: Any = None
    out: Any = None
    for key in (
        "gen_ai.input.messages",
        "gen_ai.prompt",
        "input.value",
        "gen_ai.tool.call.arguments",
    ):
        if key in attrs and attrs[key] is not None:
            inp = _maybe_json(attrs[key])
            consumed.add(key)
            break
    for key in (
        "gen_ai.output.messages",
        "gen_ai.completion",
        "output.value",
        "gen_ai.tool.call.result",
    ):
        if key in attrs and attrs[key] is not None:
            out = _maybe_json(attrs[key])
            consumed.add(key)
            break
    indexed = any(k.startswith(_INDEXED_PREFIXES) for k in attrs)
    if inp is None and indexed:
        listed = _indexed(attrs, "llm.input_messages", consumed) or _indexed(
            attrs, "gen_ai.prompt", consumed
        )
        inp = listed or None
    if out is None and indexed:
        listed = _indexed(attrs, "llm.output_messages", consumed) or _indexed(
            attrs, "gen_ai.completion", consumed
        )
        out = listed or None
    # The older GenAI conventions carry content on span events.
    messages: list[dict[str, Any]] = []
    choices: list[Any] = []
    for name, _ts, ev_attrs in events:
        role = _MESSAGE_EVENTS.get(name)
        if role is not None:
            content = _maybe_json(ev_attrs.get("content", ev_attrs.get("gen_ai.prompt")))
            messages.append({"role": ev_attrs.get("role", role), "content": content})
        elif name == "gen_ai.choice":
            choices.append(_maybe_json(ev_attrs.get("message", ev_attrs.get("content", ev_attrs))))
        elif name == "gen_ai.content.prompt" and inp is None:
            inp = _maybe_json(ev_attrs.get("gen_ai.prompt"))
        elif name == "gen_ai.content.completion" and out is None:
            out = _maybe_json(ev_attrs.get("gen_ai.completion"))
    if inp is None and messages:
        inp = messages
    if out is None and choices:
        out = choices[0] if len(choices) == 1 else choices
    for key in ("input.mime_type", "output.mime_type"):
        if key in attrs:
            consumed.add(key)
    return inp, out


def _kind(sp: OtlpSpan) -> str:
    attrs = sp.attrs
    op = attrs.get("gen_ai.operation.name")
    if isinstance(op, str):
        low = op.lower()
        if low in _AGENT_OPS:
            return "agent"
        if low == "execute_tool":
            return "tool"
        if low in _LLM_OPS:
            return "llm"
    oi = attrs.get("openinference.span.kind")
    if isinstance(oi, str) and oi.upper() in _OI_KINDS:
        return _OI_KINDS[oi.upper()]
    tl = attrs.get("traceloop.span.kind")
    if isinstance(tl, str) and tl.lower() in _TL_KINDS:
        return _TL_KINDS[tl.lower()]
    if "llm.request.type" in attrs:
        return "llm"
    first = sp.name.split(" ", 1)[0].lower()
    if first in _NAME_KINDS:
        return _NAME_KINDS[first]
    if isinstance(op, str) or _first(attrs, _MODEL_KEYS) is not None:
        return (
            "llm" if _first(attrs, _INPUT_TOKEN_KEYS + _OUTPUT_TOKEN_KEYS) is not None else "task"
        )
    return "task"


def _session(sp: OtlpSpan) -> str:
    sid = _str_attr(sp.attrs, "session.id") or _str_attr(
        sp.resource, "session.id", "service.instance.id"
    )
    if sid:
        return sid
    service = _str_attr(sp.resource, "service.name") or "unknown_service"
    return f"otlp:{service}"


def _agent_from_name(name: str) -> str | None:
    head, _, rest = name.partition(" ")
    if head.lower() in _AGENT_OPS and rest.strip():
        return rest.strip()[:200]
    return None


def _check_id(value: str, size: int, field: str) -> str:
    if len(value) != 2 * size or not _HEX_RE.fullmatch(value):
        raise _Rejected(f"{field}: expected {2 * size} hex digits")
    if value.strip("0") == "":
        raise _Rejected(f"{field}: all zeros is not a valid id")
    return value


def _span_record(
    sp: OtlpSpan, project: str, pricer: Pricer | None
) -> tuple[Span, list[Event], dict[str, Any]]:
    trace_id = _check_id(sp.trace_id, 16, "traceId")
    span_id = _check_id(sp.span_id, 8, "spanId")
    parent = sp.parent_id
    if parent is not None and parent.strip("0") == "":
        parent = None
    if not 0 < sp.start <= _MAX_NS:
        raise _Rejected(f"startTimeUnixNano: out of range in span {span_id}")
    end: int | None = sp.end if sp.end > 0 else None
    if end is not None and (end > _MAX_NS or end < sp.start):
        raise _Rejected(f"endTimeUnixNano: before the start or out of range in span {span_id}")
    attrs = dict(sp.attrs)
    consumed: set[str] = set()
    kind = _kind(sp)
    inp, out = _io(attrs, sp.events, consumed)

    error_type = _str_attr(attrs, "error.type")
    error_message: str | None = None
    error_traceback: str | None = None
    out_events: list[Event] = []
    session_id = _session(sp)
    for i, (ev_name, ts, ev_attrs) in enumerate(sp.events):
        if ev_name in _MESSAGE_EVENTS or ev_name.startswith(("gen_ai.choice", "gen_ai.content.")):
            continue
        is_exception = ev_name == "exception"
        if is_exception:
            error_type = error_type or _str_attr(ev_attrs, "exception.type")
            error_message = error_message or _str_attr(ev_attrs, "exception.message")
            tb = ev_attrs.get("exception.stacktrace")
            if isinstance(tb, str) and error_traceback is None:
                error_traceback = _text(tb, 10_000)
        timestamp = ts if 0 < ts <= _MAX_NS else sp.start
        message = _str_attr(ev_attrs, "exception.message", "message", "event.name") or ev_name
        out_events.append(
            Event(
                id=f"{trace_id}-{span_id}-{i}",
                trace_id=trace_id,
                span_id=span_id,
                session_id=session_id,
                project=project,
                timestamp=timestamp,
                type="error" if is_exception else "log",
                name=ev_name or "event",
                level="ERROR" if is_exception else "INFO",
                message=_text(message, 10_000),
                data=ev_attrs,
            )
        )
    failed = sp.status_code == _STATUS_ERROR
    if failed and error_message is None:
        error_message = sp.status_message or None
    status = "failed" if failed else ("success" if end is not None else "running")

    provider = model = None
    input_tokens = output_tokens = total_tokens = cached_tokens = reasoning_tokens = None
    if not attrs.keys().isdisjoint(_LLM_KEYS):
        provider = _str_attr(attrs, *_PROVIDER_KEYS)
        model = _str_attr(attrs, *_MODEL_KEYS)
        input_tokens = _count(attrs, _INPUT_TOKEN_KEYS)
        output_tokens = _count(attrs, _OUTPUT_TOKEN_KEYS)
        total_tokens = _count(attrs, _TOTAL_TOKEN_KEYS)
        if total_tokens is None and (input_tokens is not None or output_tokens is not None):
            total_tokens = (input_tokens or 0) + (output_tokens or 0)
        cached_tokens = _count(attrs, _CACHED_TOKEN_KEYS)
        reasoning_tokens = _count(attrs, _REASONING_TOKEN_KEYS)
    streaming = attrs.get("llm.is_streaming", attrs.get("gen_ai.request.stream"))
    is_streaming = streaming if isinstance(streaming, bool) else None

    input_cost = output_cost = total_cost = None
    cost_source: str | None = None
    given_cost = _first(attrs, _COST_KEYS)
    if isinstance(given_cost, int | float) and not isinstance(given_cost, bool):
        if math.isfinite(given_cost) and given_cost >= 0:
            total_cost, cost_source = float(given_cost), "caller"
    elif kind == "llm" and model and (input_tokens is not None or output_tokens is not None):
        priced = None
        if pricer is not None:
            try:
                priced = pricer(
                    provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens
                )
            except Exception:
                priced = None
        if priced is None:
            cost_source = "unknown"
        else:
            input_cost, output_cost, total_cost, cost_source = priced

    agent_name = _str_attr(attrs, "gen_ai.agent.name", "agent.name")
    if agent_name is None and kind == "agent":
        agent_name = _agent_from_name(sp.name) or _str_attr(attrs, "traceloop.entity.name")
    kept = {k: v for k, v in attrs.items() if k not in consumed}
    kept["otel.span_kind"] = _SPAN_KINDS.get(sp.kind, str(sp.kind))
    if sp.scope:
        kept["otel.scope.name"] = sp.scope
    for key in ("service.name", "service.version", "deployment.environment"):
        value = sp.resource.get(key)
        if value is not None and key not in kept:
            kept[key] = value
    if kind == "llm" and "call_type" not in kept:
        kept["call_type"] = "inference_stream" if is_streaming else "inference"
    if kind == "agent":
        op = attrs.get("gen_ai.operation.name")
        if "execution_step" not in kept:
            kept["execution_step"] = op if isinstance(op, str) else "invoke_agent"
    span = Span(
        id=span_id,
        trace_id=trace_id,
        parent_id=parent,
        session_id=session_id,
        project=project,
        kind=kind,
        name=sp.name or kind,
        status=status,
        start_time=sp.start,
        end_time=end,
        duration_ms=(end - sp.start) / 1e6 if end is not None else None,
        agent_name=agent_name,
        agent_role=_str_attr(attrs, "gen_ai.agent.role", "agent.role"),
        agent_id=_str_attr(attrs, "gen_ai.agent.id", "agent.id"),
        conversation_id=_str_attr(attrs, "gen_ai.conversation.id", "conversation.id", "session.id"),
        user_id=_str_attr(attrs, "user.id", "enduser.id", "gen_ai.user.id"),
        status_message=sp.status_message or None,
        input=inp,
        output=out,
        error_type=error_type if failed or error_type else None,
        error_message=error_message,
        error_traceback=error_traceback,
        attributes=kept,
        provider=provider,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached_tokens,
        reasoning_tokens=reasoning_tokens,
        total_tokens=total_tokens,
        input_cost=input_cost,
        output_cost=output_cost,
        total_cost=total_cost,
        cost_source=cost_source,
        is_streaming=is_streaming,
    )
    return span, out_events, attrs


def map_spans(
    spans: list[OtlpSpan], project: str, pricer: Pricer | None
) -> tuple[list[Record], list[str]]:
    """Records for OTLP spans (events follow their span) and one problem per span skipped."""
    problems: list[str] = []
    built: list[tuple[Span, list[Event]]] = []
    for sp in spans:
        try:
            span, evs, _attrs = _span_record(sp, project, pricer)
        except _Rejected as exc:
            problems.append(str(exc))
            continue
        built.append((span, evs))
    # Agent identity flows from parents to children within the request.
    by_id = {span.id: span for span, _ in built}
    resolved: dict[str, tuple[str | None, str | None, str | None]] = {}

    def identity(span_id: str) -> tuple[str | None, str | None, str | None]:
        chain: list[str] = []
        node: str | None = span_id
        found: tuple[str | None, str | None, str | None] = (None, None, None)
        while node is not None and node in by_id and len(chain) < 10_000:
            if node in resolved:
                found = resolved[node]
                break
            s = by_id[node]
            chain.append(node)
            if s.agent_name is not None:
                found = (s.agent_name, s.agent_role, s.agent_id)
                break
            node = s.parent_id
            if node in chain:
                break
        for n in chain:
            resolved[n] = found
        return found

    records: list[Record] = []
    for span, evs in built:
        if span.agent_name is None:
            name, role, agent_id = identity(span.id)
            if name is not None:
                span = span._replace(
                    agent_name=name,
                    agent_role=span.agent_role or role,
                    agent_id=span.agent_id or agent_id,
                )
        records.append(span)
        if span.agent_name is not None and evs:
            evs = [e._replace(agent_name=span.agent_name) for e in evs]
        records.extend(evs)
    return records, problems
