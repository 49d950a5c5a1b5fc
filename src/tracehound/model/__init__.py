"""Records, ids, the JSON codec and safe serialization."""

from ._codec import CODEC_VERSION, decode, decode_dict, encode, encode_dict, parse_time
from ._ids import format_id, new_id, new_id_int
from ._records import (
    EVENT_TYPES,
    LEVELS,
    SPAN_KINDS,
    SPAN_STATUSES,
    Event,
    Metric,
    Record,
    Span,
)

__all__ = [
    "CODEC_VERSION",
    "EVENT_TYPES",
    "LEVELS",
    "SPAN_KINDS",
    "SPAN_STATUSES",
    "Event",
    "Metric",
    "Record",
    "Span",
    "decode",
    "decode_dict",
    "encode",
    "encode_dict",
    "format_id",
    "new_id",
    "new_id_int",
    "parse_time",
]
