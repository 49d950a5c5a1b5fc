"""Safe serialization of hostile values into JSON-safe data.

:func:`sanitize` turns *any* Python value into something ``orjson.dumps`` accepts without
options — ``str``, ``int`` (64-bit), finite ``float``, ``bool``, ``None``, ``dict`` with ``str``
keys and ``list`` — and never raises. It runs in the background worker on every record, so
the common cases (short strings, numbers, small dicts and lists of them) take a fast path.

Rules, briefly (the tests pin each one down):

* strings longer than ``max_string_length`` keep that many characters plus
  ``"…[truncated N chars]"`` (N = characters dropped); lone surrogates become U+FFFD; ``str``
  subclasses become plain ``str``;
* NaN/±Inf → ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; ints outside the 64-bit range → text;
  ``int``/``float`` subclasses → plain numbers; enums → their sanitized value;
* bytes-likes → ``"<bytes len=N>"`` (plus ``b64=…`` when N ≤ 64);
* dates and times → ISO-8601; timedelta → seconds; UUID, Decimal, paths → text;
* mappings → ``dict`` with ``str`` keys (non-``str`` keys by ``repr``), at most ``max_items``
  entries plus ``"…": "[N more items]"``; lists, tuples, deques, sets (sorted) → ``list``, at
  most ``max_items`` items plus ``"…[N more items]"``;
* dataclasses, named tuples, pydantic models → ``dict``; exceptions →
  ``{"type": name, "message": str(exc)}``; generators and iterators are never consumed;
* anything else → ``repr()`` (truncated); if even that fails → ``"<unrepresentable Type>"``;
* cycles → ``"<cycle>"``; containers nested deeper than ``max_depth`` → ``"<max depth>"``
  (``max_depth`` is clamped to :data:`HARD_MAX_DEPTH`, so no setting can exhaust the stack).

With a ``redactor`` (:class:`tracehound.pipeline._redact.Redactor`), the value under a secret
mapping key becomes ``"[REDACTED]"`` and every string value goes through ``redactor.scrub``
(after truncation; keys are not scrubbed).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import io
import sys
import types
import uuid
from collections import deque
from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from decimal import Decimal
from enum import Enum
from itertools import islice
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "CYCLE",
    "DEFAULT_LIMITS",
    "DROPPED_ATTRIBUTES_KEY",
    "HARD_MAX_DEPTH",
    "MAX_DEPTH",
    "MORE_ITEMS_KEY",
    "REDACTED",
    "Limits",
    "SecretRedactor",
    "sanitize",
    "sanitize_attributes",
]

#: No ``max_depth`` setting goes beyond this (each level costs a few Python frames, and orjson
#: refuses nesting deeper than 255).
HARD_MAX_DEPTH: Final = 200
CYCLE: Final = "<cycle>"
MAX_DEPTH: Final = "<max depth>"
REDACTED: Final = "[REDACTED]"
MORE_ITEMS_KEY: Final = "…"
DROPPED_ATTRIBUTES_KEY: Final = "tracehound.dropped_attributes"
#: Characters past the truncation point that are scrubbed too, so that a secret straddling the
#: cut is still recognised (and never leaks as a prefix).
SCRUB_MARGIN: Final = 4096
_BYTES_PREVIEW: Final = 64
_INT_MIN: Final = -(1 << 63)
_INT_MAX: Final = (1 << 64) - 1  # orjson accepts unsigned 64-bit integers
_NAME_LIMIT: Final = 200
_ARRAY_TOLIST_LIMIT: Final = 100_000


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Size limits applied by :func:`sanitize` (defaults match :mod:`tracehound.config`)."""

    max_string_length: int = 65_536
    max_depth: int = 32
    max_items: int = 1_000
    max_attributes: int = 128

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_string_length=settings.max_string_length,
            max_depth=settings.max_depth,
            max_items=settings.max_items,
            max_attributes=settings.max_attributes,
        )


DEFAULT_LIMITS: Final = Limits()


class SecretRedactor(Protocol):
    """What :func:`sanitize` needs of a redactor (see ``tracehound.pipeline._redact``)."""

    def is_secret_key(self, key: str) -> bool: ...

    def scrub(self, text: str) -> str: ...


# --------------------------------------------------------------------------------------------
# Text helpers (never raise on str input)
# --------------------------------------------------------------------------------------------


def _fix_text(s: str) -> str:
    """Replace lone surrogates (which orjson rejects) by U+FFFD; valid pairs are joined."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return s


def _type_name(v: object) -> str:
    try:
        name = type(v).__name__
        if type(name) is not str:
            return "object"
        if len(name) > _NAME_LIMIT:
            name = name[:_NAME_LIMIT]
        return name if name.isascii() else _fix_text(name)
    except Exception:
        return "object"


def _unrepresentable(v: object) -> str:
    return f"<unrepresentable {_type_name(v)}>"


def _unserializable(v: object) -> str:
    return f"<unserializable {_type_name(v)}>"


def _truncate(s: str, maxlen: int) -> str:
    return f"{s[:maxlen]}…[truncated {len(s) - maxlen} chars]"


def _json_sort_key(v: Any) -> bytes:
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS)


_GENERATOR_TYPES: Final[dict[type, str]] = {
    types.GeneratorType: "<generator>",
    types.CoroutineType: "<coroutine>",
    types.AsyncGeneratorType: "<async_generator>",
}


# --------------------------------------------------------------------------------------------
# The walker
# --------------------------------------------------------------------------------------------


class _Walker:
    """One sanitization pass: the limits, the redactor and the containers on the current path."""

    __slots__ = ("active", "maxdepth", "maxitems", "maxlen", "redactor")

    def __init__(self, limits: Limits, redactor: SecretRedactor | None) -> None:
        # Clamped without function calls: a walker is made per sanitize() call.
        n = limits.max_string_length
        self.maxlen = n if n >= 0 else 0
        n = limits.max_depth
        self.maxdepth = n if 0 <= n <= HARD_MAX_DEPTH else (HARD_MAX_DEPTH if n > 0 else 0)
        n = limits.max_items
        self.maxitems = n if n >= 0 else 0
        self.redactor = redactor
        self.active: set[int] = set()

    # -- scalars ---------------------------------------------------------------------------
    def text(self, s: str) -> str:
        """Truncate, repair and scrub an exact ``str``."""
        maxlen = self.maxlen
        n = len(s)
        red = self.redactor
        if n > maxlen:
            if red is None:
                head = s[:maxlen]
                if not head.isascii():
                    head = _fix_text(head)
                return f"{head}…[truncated {n - maxlen} chars]"
            head = s[: maxlen + SCRUB_MARGIN]
            if not head.isascii():
                head = _fix_text(head)
            head = red.scrub(head)
            if not head.isascii():
                head = _fix_text(head)
            return f"{head[:maxlen]}…[truncated {n - maxlen} chars]"
        if not s.isascii():
            s = _fix_text(s)
        if red is None:
            return s
        out = red.scrub(s)
        return s if out is s else self.finish(out)

    def finish(self, s: str) -> str:
        """A scrubbed string, repaired and bounded again (a mask may return anything)."""
        if not s.isascii():
            s = _fix_text(s)
        return _truncate(s, self.maxlen) if len(s) > self.maxlen else s

    def key(self, k: Any) -> str:
        """A mapping key as ``str``: exact keys kept, others by ``repr``; truncated, repaired,
        never scrubbed."""
        try:
            if type(k) is not str:
                if issubclass(type(k), str):
                    k = str.__str__(k)
                else:
                    r = repr(k)
                    k = r if type(r) is str else str.__str__(r)
            if len(k) > self.maxlen:
                k = _truncate(k, self.maxlen)
            return k if k.isascii() else _fix_text(k)
        except Exception:
            return _unrepresentable(k)

    def number(self, v: int) -> int | str:
        """An exact ``int`` outside the 64-bit range, as text."""
        try:
            s = str(v)
        except ValueError:  # more digits than sys.get_int_max_str_digits()
            return f"<int bits={v.bit_length()}>"
        return _truncate(s, self.maxlen) if len(s) > self.maxlen else s

    # -- dispatch --------------------------------------------------------------------------
    def walk(self, v: Any, depth: int) -> Any:
        try:
            t = type(v)
            if t is str:
                if self.redactor is None and len(v) <= self.maxlen and v.isascii():
                    return v
                return self.text(v)
            if t is int:
                return v if _INT_MIN <= v <= _INT_MAX else self.number(v)
            if t is float:
                if v - v == 0.0:
                    return v
                return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
            if t is bool or v is None:
                return v
            if t is dict:
                return self.mapping(v, depth)
            if t is list or t is tuple:
                return self.sequence(v, depth)
            return self.other(v, t, depth)
        except Exception:
            return self.fallback(v)

    def fallback(self, v: Any) -> str:
        """After an unexpected failure: the ``repr`` if it works, else a placeholder."""
        try:
            r = repr(v)
            return self.text(r if type(r) is str else str.__str__(r))
        except Exception:
            return _unrepresentable(v)

    def other(self, v: Any, t: type, depth: int) -> Any:
        """Everything that is not an exact str/int/float/bool/None/dict/list/tuple. Checks are
        made on the *type* (``issubclass``), never on the instance, so hostile ``__class__`` or
        ``__getattr__`` are not consulted."""
        handler = _EXACT.get(t)
        if handler is not None:
            return handler(self, v, depth)
        if issubclass(t, Enum):
            # depth + 1 (and the check) bound a value that is again an enum, and so on.
            return MAX_DEPTH if depth > self.maxdepth else self.walk(v.value, depth + 1)
        if issubclass(t, str):
            return self.text(str.__str__(v))
        if issubclass(t, int):  # IntEnum/IntFlag handled above; bool cannot be subclassed
            return self.walk(int.__index__(v), depth)
        if issubclass(t, float):
            return self.walk(float.__float__(v), depth)
        if issubclass(t, dict):
            return self.mapping(v, depth)
        if issubclass(t, tuple) and hasattr(t, "_fields"):
            return self.named_tuple(v, t, depth)
        if issubclass(t, list | tuple | deque):
            return self.sequence(v, depth)
        if issubclass(t, set | frozenset):
            return self.set_(v, depth)
        if dataclasses.is_dataclass(t):
            return self.dataclass(v, t, depth)
        dumped = self.pydantic(v, t, depth)
        if dumped is not _NOT_PYDANTIC:
            return dumped
        if issubclass(t, Mapping):
            return self.any_mapping(v, depth)
        if issubclass(t, bytes | bytearray | memoryview):
            return self.bytes_(v)
        if issubclass(t, _dt.date | _dt.time):
            return self.text(v.isoformat())
        if issubclass(t, _dt.timedelta):
            return self.walk(v.total_seconds(), depth)
        if issubclass(t, uuid.UUID | Decimal | PurePath):
            return self.text(str(v))
        if issubclass(t, BaseException):
            return self.exception(v, depth)
        if issubclass(t, KeysView | ValuesView | ItemsView):
            return self.sequence(v, depth)
        for gtype, placeholder in _GENERATOR_TYPES.items():
            if issubclass(t, gtype):
                return placeholder
        module = getattr(t, "__module__", None)
        if type(module) is str and module.partition(".")[0] == "numpy":
            return self.numpy(v, depth)
        if hasattr(t, "__next__") and hasattr(t, "__iter__") and not issubclass(t, io.IOBase):
            return f"<iterator {_type_name(v)}>"
        return self.fallback(v)

    # -- containers ------------------------------------------------------------------------
    def mapping(self, d: dict[Any, Any], depth: int) -> Any:
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(d)
        active = self.active
        if ident in active:
            return CYCLE
        active.add(ident)
        try:
            n = dict.__len__(d)
            maxitems = self.maxitems
            # One C call each: a snapshot even if another thread mutates the dict meanwhile.
            items = list(dict.items(d)) if n <= maxitems else list(islice(dict.items(d), maxitems))
            return self.pairs(items, n, depth)
        finally:
            active.discard(ident)

    def pairs(self, items: list[tuple[Any, Any]], total: int, depth: int) -> dict[str, Any]:
        """Build the output dict of (key, value) pairs that belong to a container at ``depth``
        (the caller checked depth and cycles)."""
        out: dict[str, Any] = {}
        red = self.redactor
        maxlen = self.maxlen
        child = depth + 1
        walk = self.walk
        for k, val in items:
            if type(k) is not str or len(k) > maxlen or not k.isascii():
                k = self.key(k)
            if red is not None and red.is_secret_key(k):
                out[k] = REDACTED
                continue
            tv = type(val)
            if tv is str:
                if red is None and len(val) <= maxlen and val.isascii():
                    out[k] = val
                else:
                    out[k] = self.text(val)
            elif (
                (tv is int and _INT_MIN <= val <= _INT_MAX)
                or tv is bool
                or val is None
                or (tv is float and val - val == 0.0)
            ):
                out[k] = val
            else:
                out[k] = walk(val, child)
        if total > len(items):
            out[MORE_ITEMS_KEY] = f"[{total - len(items)} more items]"
        return out

    def any_mapping(self, m: Mapping[Any, Any], depth: int) -> Any:
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(m)
        if ident in self.active:
            return CYCLE
        self.active.add(ident)
        try:
            items = list(islice(m.items(), self.maxitems))
            try:
                total = len(m)
            except Exception:
                total = len(items)
            return self.pairs(items, total, depth)
        finally:
            self.active.discard(ident)

    def sequence(self, seq: Any, depth: int) -> Any:
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(seq)
        active = self.active
        if ident in active:
            return CYCLE
        active.add(ident)
        try:
            n = len(seq)
            maxitems = self.maxitems
            t = type(seq)
            if t is tuple and n <= maxitems:
                items = seq
            elif t is list or t is tuple:
                items = seq[:maxitems]  # a snapshot, taken in one C call
            else:
                items = list(islice(seq, maxitems))
            red = self.redactor
            maxlen = self.maxlen
            child = depth + 1
            walk = self.walk
            out = [
                x
                if type(x) is str and red is None and len(x) <= maxlen and x.isascii()
                else walk(x, child)
                for x in items
            ]
            if n > len(items):
                out.append(f"…[{n - len(items)} more items]")
            return out
        finally:
            active.discard(ident)

    def set_(self, s: set[Any] | frozenset[Any], depth: int) -> Any:
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(s)
        if ident in self.active:
            return CYCLE
        self.active.add(ident)
        try:
            n = len(s)
            child = depth + 1
            out = [self.walk(x, child) for x in islice(s, self.maxitems)]
            try:
                out.sort()
            except Exception:
                out.sort(key=_json_sort_key)
            if n > len(out):
                out.append(f"…[{n - len(out)} more items]")
            return out
        finally:
            self.active.discard(ident)

    def named_tuple(self, v: tuple[Any, ...], t: type, depth: int) -> Any:
        fields = t._fields  # type: ignore[attr-defined]
        if type(fields) is not tuple:
            return self.sequence(v, depth)
        return self.object_pairs(
            v, depth, lambda: list(zip(fields, tuple.__iter__(v), strict=False))
        )

    def dataclass(self, v: Any, t: type, depth: int) -> Any:
        def read() -> list[tuple[Any, Any]]:
            pairs: list[tuple[Any, Any]] = []
            for f in dataclasses.fields(t):
                try:
                    pairs.append((f.name, getattr(v, f.name)))
                except AttributeError:
                    continue  # an unset field (init=False without default)
                except Exception:
                    pairs.append((f.name, "<unreadable>"))
            return pairs

        return self.object_pairs(v, depth, read)

    def object_pairs(self, v: Any, depth: int, read: Any) -> Any:
        """A dict built from an object's (name, value) pairs, with depth and cycle checks."""
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(v)
        if ident in self.active:
            return CYCLE
        self.active.add(ident)
        try:
            items = read()
            n = len(items)
            if n > self.maxitems:
                items = items[: self.maxitems]
            return self.pairs(items, n, depth)
        finally:
            self.active.discard(ident)

    def pydantic(self, v: Any, t: type, depth: int) -> Any:
        """A pydantic model's ``model_dump(mode="json")`` (v2) or ``dict()`` (v1), sanitized;
        :data:`_NOT_PYDANTIC` when ``v`` is not a pydantic model. pydantic is never imported."""
        modules = sys.modules
        if "pydantic" not in modules and "pydantic.v1" not in modules:
            return _NOT_PYDANTIC
        base = getattr(modules.get("pydantic"), "BaseModel", None)
        base_v1 = getattr(modules.get("pydantic.v1"), "BaseModel", None)
        is_v2 = isinstance(base, type) and issubclass(t, base) and hasattr(t, "model_dump")
        is_v1 = not is_v2 and (
            (isinstance(base, type) and issubclass(t, base))
            or (isinstance(base_v1, type) and issubclass(t, base_v1))
        )
        if not (is_v2 or is_v1):
            return _NOT_PYDANTIC
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(v)
        if ident in self.active:
            return CYCLE
        self.active.add(ident)
        try:
            dumped: Any = _NOT_PYDANTIC
            attempts = (
                (lambda: v.model_dump(mode="json"), lambda: v.model_dump()) if is_v2 else (v.dict,)
            )
            for attempt in attempts:
                try:
                    dumped = attempt()
                    break
                except Exception:
                    continue
            if dumped is _NOT_PYDANTIC:
                return self.fallback(v)
            if type(dumped) is dict:
                n = len(dumped)
                items = list(islice(dumped.items(), self.maxitems))
                return self.pairs(items, n, depth)
            return self.walk(dumped, depth + 1)  # RootModel: a list, a str, …
        finally:
            self.active.discard(ident)

    # -- other leaves ----------------------------------------------------------------------
    def bytes_(self, v: bytes | bytearray | memoryview) -> str:
        if type(v) is memoryview:
            n = v.nbytes
            data = v.tobytes() if n <= _BYTES_PREVIEW else b""
        else:
            n = len(v)
            data = bytes(v) if n <= _BYTES_PREVIEW else b""
        if n > _BYTES_PREVIEW:
            return f"<bytes len={n}>"
        red = self.redactor
        if red is not None and data:
            # The preview is trivially decodable: withhold it if the bytes hold a secret.
            as_text = _fix_text(data.decode("utf-8", "replace"))
            if red.scrub(as_text) != as_text:
                return f"<bytes len={n} redacted>"
        return f"<bytes len={n} b64={base64.b64encode(data).decode('ascii')}>"

    def exception(self, e: BaseException, depth: int) -> Any:
        if depth >= self.maxdepth:
            return MAX_DEPTH
        try:
            message = str(e)
            if type(message) is not str:
                message = str.__str__(message)
        except Exception:
            message = _unrepresentable(e)
        else:
            message = self.text(message)
        return {"type": _type_name(e), "message": message}

    def numpy(self, v: Any, depth: int) -> Any:
        """numpy scalars → their Python value; small arrays → nested lists; else ``repr``."""
        ndim = getattr(v, "ndim", None)
        if ndim == 0 and hasattr(v, "item"):
            return MAX_DEPTH if depth > self.maxdepth else self.walk(v.item(), depth + 1)
        size = getattr(v, "size", None)
        if type(size) is int and size <= _ARRAY_TOLIST_LIMIT and hasattr(v, "tolist"):
            if depth >= self.maxdepth:
                return MAX_DEPTH
            return self.walk(v.tolist(), depth)
        return self.fallback(v)


_NOT_PYDANTIC: Final = object()


def _iso(w: _Walker, v: Any, depth: int) -> Any:
    return v.isoformat()


def _text_of(w: _Walker, v: Any, depth: int) -> Any:
    return w.text(str(v))


_EXACT: Final[dict[type, Any]] = {
    _dt.datetime: _iso,
    _dt.date: _iso,
    _dt.time: _iso,
    _dt.timedelta: lambda w, v, d: v.total_seconds(),
    uuid.UUID: lambda w, v, d: str(v),
    Decimal: _text_of,
    bytes: lambda w, v, d: w.bytes_(v),
    bytearray: lambda w, v, d: w.bytes_(v),
    memoryview: lambda w, v, d: w.bytes_(v),
    set: lambda w, v, d: w.set_(v, d),
    frozenset: lambda w, v, d: w.set_(v, d),
    deque: lambda w, v, d: w.sequence(v, d),
    type(PurePath()): _text_of,
    types.GeneratorType: lambda w, v, d: "<generator>",
    types.CoroutineType: lambda w, v, d: "<coroutine>",
    types.AsyncGeneratorType: lambda w, v, d: "<async_generator>",
}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def sanitize(
    value: Any, limits: Limits = DEFAULT_LIMITS, redactor: SecretRedactor | None = None
) -> Any:
    """``value`` as JSON-safe data (see the module docstring). Never raises."""
    t = type(value)
    if t is str:
        if redactor is None and len(value) <= limits.max_string_length and value.isascii():
            return value
    elif t is bool or value is None:
        return value
    elif t is int:
        if _INT_MIN <= value <= _INT_MAX:
            return value
    elif t is float and value - value == 0.0:
        return value
    try:
        return _Walker(limits, redactor).walk(value, 0)
    except Exception:
        return _unserializable(value)


def sanitize_attributes(
    attrs: Mapping[Any, Any] | None,
    limits: Limits = DEFAULT_LIMITS,
    redactor: SecretRedactor | None = None,
) -> dict[str, Any]:
    """An attribute mapping as a ``dict[str, JSON-safe]``: keys as text, at most
    ``max_attributes`` entries (the first ones, in insertion order) plus
    ``"tracehound.dropped_attributes": count`` when some were dropped; values sanitized (at
    depth 1). Never raises; a non-mapping gives ``{"tracehound.invalid_attributes": …}``."""
    walker: _Walker | None = None
    try:
        if attrs is None:
            return {}
        keep = max(int(limits.max_attributes), 0)
        if not isinstance(attrs, dict):
            if not isinstance(attrs, Mapping):
                return {"tracehound.invalid_attributes": sanitize(attrs, limits, redactor)}
            n = len(attrs)
            attrs = dict(islice(attrs.items(), keep))
        else:
            n = dict.__len__(attrs)
        items = list(dict.items(attrs)) if n <= keep else list(islice(dict.items(attrs), keep))
        maxlen = limits.max_string_length
        out: dict[str, Any] = {}
        for k, v in items:
            if type(k) is not str or len(k) > maxlen or not k.isascii():
                if walker is None:
                    walker = _Walker(limits, redactor)
                k = walker.key(k)
            if redactor is not None and redactor.is_secret_key(k):
                out[k] = REDACTED
                continue
            t = type(v)
            if t is str:
                if len(v) <= maxlen and v.isascii():
                    if redactor is None:
                        out[k] = v
                        continue
                    scrubbed = redactor.scrub(v)
                    if scrubbed is v or (scrubbed.isascii() and len(scrubbed) <= maxlen):
                        out[k] = scrubbed
                    else:
                        if walker is None:
                            walker = _Walker(limits, redactor)
                        out[k] = walker.finish(scrubbed)
                    continue
            elif t is bool or v is None:
                out[k] = v
                continue
            elif t is int:
                if _INT_MIN <= v <= _INT_MAX:
                    out[k] = v
                    continue
            elif t is float and v - v == 0.0:
                out[k] = v
                continue
            if walker is None:
                walker = _Walker(limits, redactor)
            out[k] = walker.walk(v, 1)
        if n > len(items):
            out[DROPPED_ATTRIBUTES_KEY] = n - len(items)
        return out
    except Exception:
        return {"tracehound.invalid_attributes": _unserializable(attrs)}
