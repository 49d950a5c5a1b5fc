"""Write endpoints: ``POST /v1/ingest`` (tracehound wire records) and ``POST /v1/traces``
(OTLP/HTTP, protobuf or JSON).

Both read the body under the limits of :mod:`tracehound.api.limits`, take the project from
the caller's key (a record's own ``project`` field is ignored), and hand the records to the
single writer; they answer once the records are committed. Ingest is idempotent on record
ids, so retrying after a 503 or a timeout is always safe.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from ...exceptions import CodecError
from ...model import Record, Span, decode_dict
from .._decode import MIN_POOL_BYTES, decode_ingest, decode_otlp
from .._deps import ERRORS, Caller, ServerDep
from .._state import Server
from .._writer import IngestResult, QueueFull, RecordError
from ..errors import ApiError, error_body
from ..limits import has_nul, parse_json, read_body, require_media_type, strip_nul
from ..otlp import decode_json, decode_protobuf, encode_response, encode_status, map_spans
from ..schemas import ErrorBody, IngestOut

__all__ = ["router"]

router = APIRouter(tags=["ingest"])

_MAX_INT: Final = 2**63 - 1
_MAX_INT32: Final = 2**31 - 1
_MAX_NS: Final = 253_402_300_799 * 1_000_000_000
_INT_FIELDS: Final = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "total_tokens",
)
_PROTOBUF: Final = ("application/x-protobuf", "application/protobuf")
_MAX_OTLP_SPANS: Final = 10_000
_DEFAULT_SESSION: Final = "ingest"

WIRE_RECORD_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "A tracehound record in its wire form (see tracehound.model._codec): "
    '{"v": 1, "type": "span"|"event"|"metric", …fields}. Times are integer nanoseconds, '
    "ISO-8601 text or float seconds. `project` is ignored: the API key decides it.",
    "required": ["type", "id"],
    "properties": {
        "v": {"type": "integer", "enum": [1]},
        "type": {"type": "string", "enum": ["span", "event", "metric"]},
        "id": {"type": "string", "maxLength": 800},
        "event_type": {
            "type": "string",
            "description": "An event's own type (action, decision, …).",
        },
        "trace_id": {"type": "string", "maxLength": 800},
        "parent_id": {"type": "string", "maxLength": 800},
        "span_id": {"type": "string", "maxLength": 800},
        "session_id": {"type": "string", "maxLength": 800},
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "status": {"type": "string"},
        "start_time": {},
        "end_time": {},
        "timestamp": {},
        "attributes": {"type": "object"},
        "data": {"type": "object"},
        "input": {},
        "output": {},
    },
    "additionalProperties": True,
}


def _ingest_body_schema() -> dict[str, Any]:
    # Items are documented as any JSON value on purpose: a record that is not a valid wire
    # record (WIRE_RECORD_SCHEMA) is a per-record error in a 207 answer, not a refused request.
    records = {
        "type": "array",
        "description": "At most 1000 wire records (413 beyond). Each should be a wire record: "
        + WIRE_RECORD_SCHEMA["description"],
        "items": {"description": "A wire record (see the WireRecord schema)."},
    }
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        records,
                        {
                            "type": "object",
                            "required": ["records"],
                            "properties": {"records": records},
                        },
                    ]
                },
                "example": [
                    {
                        "v": 1,
                        "type": "span",
                        "id": "4bf92f3577b34da6",
                        "trace_id": "exec_abc123_1704067200",
                        "kind": "agent",
                        "name": "plan",
                        "agent_name": "planner",
                        "start_time": "2026-01-01T10:00:00Z",
                        "end_time": "2026-01-01T10:00:05Z",
                    }
                ],
            }
        },
    }


def _check_record(rec: Record) -> tuple[str, str] | None:
    """Bounds the codec does not check but the databases need."""
    if isinstance(rec, Span):
        if not 0 <= rec.start_time <= _MAX_NS:
            return "start_time", "start_time: out of range"
        if rec.end_time is not None and not 0 <= rec.end_time <= _MAX_NS:
            return "end_time", "end_time: out of range"
        for name in _INT_FIELDS:
            value = getattr(rec, name)
            if value is not None and value > _MAX_INT:
                return name, f"{name}: larger than {_MAX_INT}"
        if rec.chunks_count is not None and rec.chunks_count > _MAX_INT32:
            return "chunks_count", f"chunks_count: larger than {_MAX_INT32}"
        for name in (
            "duration_ms",
            "input_cost",
            "output_cost",
            "total_cost",
            "time_to_first_token_ms",
        ):
            value = getattr(rec, name)
            if value is not None and (not math.isfinite(value) or abs(value) > 1e300):
                return name, f"{name}: not a finite number"
    elif not 0 <= rec.timestamp <= _MAX_NS:
        return "timestamp", "timestamp: out of range"
    return None


_ID_FIELDS: Final = frozenset({"id", "trace_id", "parent_id", "span_id", "session_id"})


def _strip_nul_except_ids(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return strip_nul(obj)
    return {
        (k if k in _ID_FIELDS else strip_nul(k)): (v if k in _ID_FIELDS else strip_nul(v))
        for k, v in obj.items()
    }


def _priced(span: Span, pricer: Any) -> Span:
    """Total tokens and cost of an LLM span that came without them (the SDK prices its own
    spans; hand-written records get the same treatment here)."""
    changes: dict[str, Any] = {}
    inp, out = span.input_tokens, span.output_tokens
    if span.total_tokens is None and (inp is not None or out is not None):
        changes["total_tokens"] = (inp or 0) + (out or 0)
    if span.total_cost is not None:
        if span.cost_source is None:
            changes["cost_source"] = "caller"
    elif span.model and (inp is not None or out is not None) and pricer is not None:
        try:
            got = pricer(
                span.provider, span.model, inp, out, span.cached_tokens, span.reasoning_tokens
            )
        except Exception:
            got = None
        if got is None:
            changes["cost_source"] = "unknown"
        else:
            (
                changes["input_cost"],
                changes["output_cost"],
                changes["total_cost"],
                changes["cost_source"],
            ) = got
    return span._replace(**changes) if changes else span


def decode_records(
    items: list[Any], project: str, pricer: Any = None
) -> tuple[list[Record], list[int], list[RecordError]]:
    """Validate wire records → (records, their positions, per-record errors)."""
    records: list[Record] = []
    indices: list[int] = []
    errors: list[RecordError] = []
    for i, obj in enumerate(items):
        rid = obj.get("id") if isinstance(obj, dict) else None
        shown = rid[:800] if isinstance(rid, str) else None
        try:
            rec = decode_dict(obj, session_id=_DEFAULT_SESSION, project=project)
        except CodecError as exc:
            field = exc.field or "record"
            errors.append(RecordError(i, shown, field, str(exc)[:500]))
            continue
        except (TypeError, ValueError, OverflowError) as exc:
            errors.append(RecordError(i, shown, "record", f"record: {exc}"[:500]))
            continue
        if rec.project != project:
            rec = rec._replace(project=project)
        if not rec.session_id:
            rec = rec._replace(session_id=_DEFAULT_SESSION)
        problem = _check_record(rec)
        if problem is not None:
            errors.append(RecordError(i, shown, problem[0], problem[1]))
            continue
        if type(rec) is Span and rec.kind == "llm":
            rec = _priced(rec, pricer)
        records.append(rec)
        indices.append(i)
    return records, indices, errors


async def store(
    server: Server, project: str, records: list[Record], indices: list[int]
) -> IngestResult:
    """Hand records to the writer and wait until they are committed (503 on backpressure,
    an unavailable store, or a write that takes too long)."""
    if not records:
        return IngestResult()
    writer = server.writer
    if writer is None:
        raise ApiError(
            503,
            f"store: not ready ({server.schema_error or 'starting'})",
            headers={"Retry-After": "5"},
        )
    try:
        future = writer.submit(project, records, indices)
    except QueueFull as exc:
        raise ApiError(
            503, f"ingest queue full ({exc}); retry later", headers={"Retry-After": "1"}
        ) from None
    try:
        result: IngestResult = await asyncio.wait_for(
            asyncio.shield(asyncio.wrap_future(future)), server.limits.write_timeout_s
        )
    except TimeoutError:
        raise ApiError(
            503,
            "store: the write is still running; it will complete (retrying is safe)",
            headers={"Retry-After": "2"},
        ) from None
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        raise ApiError(
            503, f"store: unavailable ({type(exc).__name__}: {text})", headers={"Retry-After": "5"}
        ) from None
    return result


def _ingest_answer(result: IngestResult, errors: list[RecordError]) -> Response:
    all_errors = sorted([*errors, *result.errors], key=lambda e: e.index)
    body = {
        "accepted": result.accepted,
        "rejected": len(all_errors),
        "errors": [
            {"index": e.index, "id": e.id, "field": e.field, "message": e.message}
            for e in all_errors
        ],
    }
    return Response(
        orjson.dumps(body), status_code=207 if all_errors else 200, media_type="application/json"
    )


@router.post(
    "/v1/ingest",
    summary="Store a batch of tracehound records",
    response_model=IngestOut,
    responses={
        **ERRORS,
        207: {
            "model": IngestOut,
            "description": "Some records were rejected (listed); the others are stored.",
        },
        413: {
            "model": ErrorBody,
            "description": "Body over 5 MB (after decompression) or over 1000 records.",
        },
        415: {
            "model": ErrorBody,
            "description": "Not application/json, or an unsupported Content-Encoding.",
        },
    },
    openapi_extra={"requestBody": _ingest_body_schema()},
)
async def ingest(request: Request, server: ServerDep, caller: Caller) -> Response:
    """A JSON array of wire records (or ``{"records": [...]}``), at most 1000, body at most
    5 MB after decompression (``Content-Encoding: gzip`` or ``deflate`` accepted). Idempotent:
    a record already stored is not stored twice. Answers 200 when every record was taken,
    207 with one error per rejected record (the valid ones are stored)."""
    require_media_type(request, ("application/json",))
    limits = server.limits
    body = await read_body(request, limits.max_body_bytes)
    project = caller.project
    pool = server.decode_pool
    decoded = None
    if pool is not None and len(body) >= MIN_POOL_BYTES:
        decoded = await pool.run(
            decode_ingest, body, limits.max_json_depth, limits.max_records, project
        )
    if decoded is not None:
        _, records, indices, errors = decoded
    else:
        records, indices, errors = decode_body(
            body, limits.max_json_depth, limits.max_records, project, server.pricer
        )
    result = await store(server, project, records, indices)
    return _ingest_answer(result, errors)


def decode_body(
    body: bytes, max_depth: int, max_records: int, project: str, pricer: Any
) -> tuple[list[Record], list[int], list[RecordError]]:
    """A ``/v1/ingest`` body → (records, their positions, per-record errors); raises
    :class:`ApiError` for the request as a whole."""
    doc = parse_json(body, max_depth, nul=False)
    nul = has_nul(body)
    if isinstance(doc, dict) and "records" in doc:
        items = doc["records"]
        field = "records"
    else:
        items = doc
        field = "body"
    if not isinstance(items, list):
        raise ApiError(
            422,
            f"{field}: expected a JSON array of records (or an object with a 'records' array)",
            field=field,
        )
    if len(items) > max_records:
        raise ApiError(
            413,
            f"records: {len(items)} records in one batch; at most {max_records}",
            field="records",
        )
    if nul:  # ids keep their NUL (and are rejected for it); other text gets U+FFFD
        items = [_strip_nul_except_ids(obj) for obj in items]
    return decode_records(items, project, pricer)


_OTLP_CONTENT: Final[dict[str, Any]] = {
    "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
    "application/json": {"schema": {"type": "object"}},
}
_OTLP_ERROR_CONTENT: Final[dict[str, Any]] = {
    "application/json": {
        "schema": ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    },
    "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
}


def _otlp_error(status: int, desc: str) -> dict[str, Any]:
    return {"description": desc, "content": _OTLP_ERROR_CONTENT}


@router.post(
    "/v1/traces",
    summary="OTLP/HTTP trace receiver (protobuf or JSON)",
    response_class=Response,
    responses={
        200: {
            "description": "An ExportTraceServiceResponse (partial_success lists rejected spans).",
            "content": {
                "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "partialSuccess": {
                                "type": "object",
                                "properties": {
                                    "rejectedSpans": {"type": "string"},
                                    "errorMessage": {"type": "string"},
                                },
                            }
                        },
                    }
                },
            },
        },
        400: _otlp_error(400, "Not a valid OTLP request."),
        401: {"model": ErrorBody, "description": "Missing, invalid or revoked API key."},
        413: _otlp_error(413, "Body over 5 MB after decompression, or too many spans."),
        415: _otlp_error(415, "Not OTLP protobuf or JSON, or an unsupported Content-Encoding."),
        422: _otlp_error(422, "JSON nested too deeply."),
        429: {"model": ErrorBody, "description": "Rate limit exceeded; see Retry-After."},
        503: _otlp_error(
            503, "The store is unavailable or the ingest queue is full; see Retry-After."
        ),
    },
    openapi_extra={"requestBody": {"required": True, "content": _OTLP_CONTENT}},
)
async def otlp_traces(request: Request, server: ServerDep, caller: Caller) -> Response:
    """OpenTelemetry spans (``ExportTraceServiceRequest``) mapped onto tracehound spans with
    the GenAI semantic conventions (and OpenInference / OpenLLMetry attributes); LLM calls are
    priced from the price table. Point an OTLP/HTTP exporter at ``<server>/v1/traces`` with
    the header ``Authorization: Bearer <key>``."""
    content_type = ""
    try:
        content_type = require_media_type(request, (*_PROTOBUF, "application/json"))
        protobuf = content_type in _PROTOBUF
        limits = server.limits
        body = await read_body(request, limits.max_body_bytes)
        project = caller.project
        pool = server.decode_pool
        decoded = None
        if pool is not None and len(body) >= MIN_POOL_BYTES:
            decoded = await pool.run(decode_otlp, body, protobuf, limits.max_json_depth, project)
        if decoded is not None:
            _, records, problems = decoded
        else:
            records, problems = decode_otlp_body(
                body, protobuf, limits.max_json_depth, project, server.pricer
            )
        result = await store(server, project, records, list(range(len(records))))
    except ApiError as exc:
        if content_type in _PROTOBUF:
            return Response(
                encode_status(_GRPC_CODES.get(exc.status, 2), exc.message),
                status_code=exc.status,
                media_type="application/x-protobuf",
                headers=exc.headers,
            )
        return Response(
            orjson.dumps(error_body(exc.status, exc.message, field=exc.field, code=exc.code)),
            status_code=exc.status,
            media_type="application/json",
            headers=exc.headers,
        )
    rejected_spans = len(problems) + sum(
        1 for e in result.errors if _is_span_index(records, e.index)
    )
    messages = problems + [e.message for e in result.errors]
    message = "; ".join(messages[:5]) + (
        f" (and {len(messages) - 5} more)" if len(messages) > 5 else ""
    )
    return Response(
        encode_response(rejected_spans, message, protobuf=protobuf),
        status_code=200,
        media_type="application/x-protobuf" if protobuf else "application/json",
    )


def decode_otlp_body(
    body: bytes, protobuf: bool, max_depth: int, project: str, pricer: Any
) -> tuple[list[Record], list[str]]:
    """An OTLP body → (records, one problem per span skipped); raises :class:`ApiError`."""
    if protobuf:
        spans = decode_protobuf(body)
        problems: list[str] = []
    else:
        spans, problems = decode_json(parse_json(body, max_depth))
    if len(spans) > _MAX_OTLP_SPANS:
        raise ApiError(
            413,
            f"body: {len(spans)} spans in one request; at most {_MAX_OTLP_SPANS}",
            field="body",
        )
    records, more = map_spans(spans, project, pricer)
    return records, problems + more


def _is_span_index(records: list[Record], index: int) -> bool:
    return 0 <= index < len(records) and isinstance(records[index], Span)


# HTTP status → google.rpc.Code for the Status body of protobuf errors.
_GRPC_CODES: Final = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 422: 3, 429: 8, 503: 14}
