"""Safe serialization of hostile values into JSON-safe data.

:func:`sanitize` turns *any* Python value into something ``orjson.dumps`` accepts without
options — ``str``, ``int`` (64-bit), finite ``float``, ``bool``, ``None``, ``dict`` with ``str``
keys and ``list`` — and never raises. It runs in the background worker on every record, so
the common cases (short strings, numbers, small dicts and lists of them) take a fast path
(:class:`Sanitizer`, which gives the general walker's results exactly, and falls back to it on
anything else).

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
  (``max_depth`` is clamped to :data:`HARD_MAX_DEPTH`, so no setting can exhaust the stack);
* at most ``max_nodes`` nodes (containers and scalars, the value itself included) per call, so
  that repeated references (``a = [a, a]`` again and again: a few objects, exponentially many
  paths) cost bounded time and give bounded output. A container's items are counted when it is
  expanded, in order (depth first); the items that no longer fit are dropped and counted
  (``"…[N more items, max nodes reached]"``, in a mapping under ``"…"`` as well), and a
  container met once the budget is spent becomes ``"<max nodes>"``. In
  :func:`sanitize_attributes` the budget is shared by all the values. Exceptions, whose
  ``{"type", "message"}`` is fixed and small, count as one node;
* likewise at most ``max_text`` characters (never less than ``max_string_length``) in the
  strings longer than 256 characters (values, keys, ``repr``, …), counted as they are kept:
  once it is spent, such a string keeps what is left, and its marker reads
  ``"…[truncated N chars, max text reached]"``. With the node budget, this bounds the size of
  the result (and the scrubbing time) whatever the value shares.

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
    "DEFAULT_MAX_NODES",
    "DEFAULT_MAX_TEXT",
    "DROPPED_ATTRIBUTES_KEY",
    "HARD_MAX_DEPTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MORE_ITEMS_KEY",
    "PLAIN_MAX_DEPTH",
    "REDACTED",
    "Limits",
    "Sanitizer",
    "SecretRedactor",
    "sanitize",
    "sanitize_attributes",
]

#: No ``max_depth`` setting goes beyond this (each level costs a few Python frames, and orjson
#: refuses nesting deeper than 255).
HARD_MAX_DEPTH: Final = 200
CYCLE: Final = "<cycle>"
MAX_DEPTH: Final = "<max depth>"
MAX_NODES: Final = "<max nodes>"
#: Nodes (containers and scalars) one :func:`sanitize` call may produce. Far above what a trace
#: record holds (50 × the default ``max_items``: e.g. 1000 objects of 49 fields each, a few MB
#: of JSON), and small enough that the worst case, a structure of repeated references that the
#: walker expands up to the budget (about 1 µs a node), takes tens of milliseconds. Not a
#: setting of :mod:`tracehound.config`; see :class:`Limits`.
DEFAULT_MAX_NODES: Final = 50_000
#: Characters one :func:`sanitize` call may keep in strings longer than :data:`_SHORT_TEXT`
#: (128 strings of the default ``max_string_length``). Not a setting either.
DEFAULT_MAX_TEXT: Final = 8 * 1024 * 1024
#: Strings up to this long are not counted in ``max_text`` (the node budget bounds them).
_SHORT_TEXT: Final = 256
_MAX_NODES_NOTE: Final = ", max nodes reached"
_MAX_TEXT_NOTE: Final = ", max text reached"
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
    """Size limits applied by :func:`sanitize` (defaults match :mod:`tracehound.config`;
    ``max_nodes`` and ``max_text`` are not settings there: :data:`DEFAULT_MAX_NODES`, clamped
    to at least 1, and :data:`DEFAULT_MAX_TEXT`, raised to at least ``max_string_length``)."""

    max_string_length: int = 65_536
    max_depth: int = 32
    max_items: int = 1_000
    max_attributes: int = 128
    max_nodes: int = DEFAULT_MAX_NODES
    max_text: int = DEFAULT_MAX_TEXT

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


def _truncate(s: str, maxlen: int, note: str = "") -> str:
    return f"{s[:maxlen]}…[truncated {len(s) - maxlen} chars{note}]"


def _text(s: str, maxlen: int, red: SecretRedactor | None, note: str = "") -> str:
    """An exact ``str`` truncated (to ``maxlen`` ≥ 0, the marker ending with ``note``),
    repaired and scrubbed."""
    n = len(s)
    if n > maxlen:
        if red is None or not maxlen:  # (nothing kept: nothing to scrub)
            head = s[:maxlen]
            if not head.isascii():
                head = _fix_text(head)
            return f"{head}…[truncated {n - maxlen} chars{note}]"
        head = s[: maxlen + SCRUB_MARGIN]
        if not head.isascii():
            head = _fix_text(head)
        head = red.scrub(head)
        if not head.isascii():
            head = _fix_text(head)
        return f"{head[:maxlen]}…[truncated {n - maxlen} chars{note}]"
    if not s.isascii():
        s = _fix_text(s)
    if red is None:
        return s
    out = red.scrub(s)
    return s if out is s else _finish(out, maxlen)


def _finish(s: str, maxlen: int) -> str:
    """A scrubbed string, repaired and bounded again (a mask may return anything)."""
    if not s.isascii():
        s = _fix_text(s)
    return _truncate(s, maxlen) if len(s) > maxlen else s


def _more(dropped: int, budget: bool) -> str:
    """The count of a container's items left out (after ``"…"``): by ``max_items``, or because
    the node budget was spent."""
    return f"[{dropped} more items{_MAX_NODES_NOTE if budget else ''}]"


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
    """One sanitization pass: the limits, the redactor, the containers on the current path and
    what is left of the budgets (``left``: nodes not counted yet; ``text_left``: characters)."""

    __slots__ = (
        "active",
        "left",
        "maxdepth",
        "maxitems",
        "maxlen",
        "plainlen",
        "redactor",
        "text_left",
    )

    def __init__(self, limits: Limits, redactor: SecretRedactor | None, spent: int = 1) -> None:
        """``spent``: nodes already counted (by default the value given to sanitize)."""
        # Clamped without function calls: a walker is made per sanitize() call.
        n = limits.max_string_length
        self.maxlen = n if n >= 0 else 0
        n = limits.max_depth
        self.maxdepth = n if 0 <= n <= HARD_MAX_DEPTH else (HARD_MAX_DEPTH if n > 0 else 0)
        n = limits.max_items
        self.maxitems = n if n >= 0 else 0
        n = limits.max_nodes
        self.left = (int(n) if n >= 1 else 1) - spent
        n = limits.max_text
        self.text_left = int(n) if n >= self.maxlen else self.maxlen
        # Strings up to this long are kept as they are (when ASCII, and without a redactor);
        # longer ones go through text() or key(), which count them.
        self.plainlen = self.maxlen if self.maxlen <= _SHORT_TEXT else _SHORT_TEXT
        self.redactor = redactor
        self.active: set[int] = set()

    def cap(self) -> int:
        """How many items of the container being expanded are walked: ``max_items``, or what is
        left of the node budget when that is less (never negative). The caller counts the
        items it takes (``left -= len(items)``) before walking them; a container with items
        and a cap of 0 below ``max_items`` becomes :data:`MAX_NODES`."""
        left = self.left
        maxitems = self.maxitems
        return maxitems if maxitems <= left else (left if left > 0 else 0)

    def room(self, n: int) -> int:
        """The length a string of ``n`` > :data:`_SHORT_TEXT` characters keeps:
        ``max_string_length``, or what is left of the text budget when that is less (never
        negative); counts what it keeps."""
        left = self.text_left
        maxlen = self.maxlen
        cut = maxlen if maxlen <= left else (left if left > 0 else 0)
        self.text_left = left - (n if n < cut else cut)
        return cut

    # -- scalars ---------------------------------------------------------------------------
    def text(self, s: str) -> str:
        """Truncate, repair and scrub an exact ``str``."""
        n = len(s)
        if n <= _SHORT_TEXT:
            return _text(s, self.maxlen, self.redactor)
        cut = self.room(n)
        return _text(s, cut, self.redactor, _MAX_TEXT_NOTE if cut < self.maxlen else "")

    def bounded(self, s: str) -> str:
        """A ``str`` truncated like :meth:`text`, neither repaired nor scrubbed."""
        n = len(s)
        if n <= _SHORT_TEXT:
            return _truncate(s, self.maxlen) if n > self.maxlen else s
        cut = self.room(n)
        if n <= cut:
            return s
        return _truncate(s, cut, _MAX_TEXT_NOTE if cut < self.maxlen else "")

    def finish(self, s: str) -> str:
        """A scrubbed string, repaired and bounded again (a mask may return anything)."""
        return _finish(s, self.maxlen)

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
            k = self.bounded(k)
            return k if k.isascii() else _fix_text(k)
        except Exception:
            return _unrepresentable(k)

    def number(self, v: int) -> int | str:
        """An exact ``int`` outside the 64-bit range, as text."""
        try:
            s = str(v)
        except ValueError:  # more digits than sys.get_int_max_str_digits()
            return f"<int bits={v.bit_length()}>"
        return self.bounded(s)

    # -- dispatch --------------------------------------------------------------------------
    def walk(self, v: Any, depth: int) -> Any:
        try:
            t = type(v)
            if t is str:
                if self.redactor is None and len(v) <= self.plainlen and v.isascii():
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
        n = dict.__len__(d)
        cap = self.cap()
        if cap == 0 and n and self.maxitems:
            return MAX_NODES
        active.add(ident)
        try:
            # One C call each: a snapshot even if another thread mutates the dict meanwhile.
            items = list(dict.items(d)) if n <= cap else list(islice(dict.items(d), cap))
            if len(items) > cap:  # it grew meanwhile
                del items[cap:]
            self.left -= len(items)
            return self.pairs(items, n, depth, cap < self.maxitems)
        finally:
            active.discard(ident)

    def pairs(
        self, items: list[tuple[Any, Any]], total: int, depth: int, budget: bool = False
    ) -> dict[str, Any]:
        """Build the output dict of (key, value) pairs that belong to a container at ``depth``
        (the caller checked depth and cycles, and counted the items; ``budget``: whether they
        were cut by the node budget rather than by ``max_items``)."""
        out: dict[str, Any] = {}
        red = self.redactor
        plainlen = self.plainlen
        child = depth + 1
        walk = self.walk
        for k, val in items:
            if type(k) is not str or len(k) > plainlen or not k.isascii():
                k = self.key(k)
            if red is not None and red.is_secret_key(k):
                out[k] = REDACTED
                continue
            tv = type(val)
            if tv is str:
                if red is None and len(val) <= plainlen and val.isascii():
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
            out[MORE_ITEMS_KEY] = _more(total - len(items), budget)
        return out

    def any_mapping(self, m: Mapping[Any, Any], depth: int) -> Any:
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(m)
        if ident in self.active:
            return CYCLE
        self.active.add(ident)
        try:
            cap = self.cap()
            items = list(islice(m.items(), cap))
            try:
                total = len(m)
            except Exception:
                total = len(items)
            if cap == 0 and total and self.maxitems:
                return MAX_NODES
            self.left -= len(items)
            return self.pairs(items, total, depth, cap < self.maxitems)
        finally:
            self.active.discard(ident)

    def sequence(self, seq: Any, depth: int) -> Any:
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(seq)
        active = self.active
        if ident in active:
            return CYCLE
        n = len(seq)
        cap = self.cap()
        if cap == 0 and n and self.maxitems:
            return MAX_NODES
        active.add(ident)
        try:
            t = type(seq)
            if t is tuple and n <= cap:
                items = seq
            elif t is list or t is tuple:
                items = seq[:cap]  # a snapshot, taken in one C call
            else:
                items = list(islice(seq, cap))
            self.left -= len(items)
            red = self.redactor
            plainlen = self.plainlen
            child = depth + 1
            walk = self.walk
            out = [
                x
                if type(x) is str and red is None and len(x) <= plainlen and x.isascii()
                else walk(x, child)
                for x in items
            ]
            if n > len(items):
                out.append(MORE_ITEMS_KEY + _more(n - len(items), cap < self.maxitems))
            return out
        finally:
            active.discard(ident)

    def set_(self, s: set[Any] | frozenset[Any], depth: int) -> Any:
        if depth >= self.maxdepth:
            return MAX_DEPTH
        ident = id(s)
        if ident in self.active:
            return CYCLE
        n = len(s)
        cap = self.cap()
        if cap == 0 and n and self.maxitems:
            return MAX_NODES
        self.active.add(ident)
        try:
            items = list(islice(s, cap))
            self.left -= len(items)
            child = depth + 1
            out = [self.walk(x, child) for x in items]
            try:
                out.sort()
            except Exception:
                out.sort(key=_json_sort_key)
            if n > len(out):
                out.append(MORE_ITEMS_KEY + _more(n - len(out), cap < self.maxitems))
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
            cap = self.cap()
            if cap == 0 and n and self.maxitems:
                return MAX_NODES
            if n > cap:
                items = items[:cap]
            self.left -= len(items)
            return self.pairs(items, n, depth, cap < self.maxitems)
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
                cap = self.cap()
                if cap == 0 and n and self.maxitems:
                    return MAX_NODES
                items = list(islice(dumped.items(), cap))
                self.left -= len(items)
                return self.pairs(items, n, depth, cap < self.maxitems)
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
            if size and self.left <= 0 < self.maxitems:
                return MAX_NODES  # what the (non-empty) list would give, without making it
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
# The fast path: plain JSON-like data
# --------------------------------------------------------------------------------------------

#: Containers nested this deep (or ``max_depth`` deep, if less) leave the fast path. A cycle
#: always gets there, so the fast path needs no cycle bookkeeping; the bound also caps the work
#: thrown away when the walker has to start over.
PLAIN_MAX_DEPTH: Final = 16
_KEY_CACHE_SIZE: Final = 4096
_CLEAN_CACHE_SIZE: Final = 1024
#: Keys and strings remembered as plain are this short at most: never counted in max_text.
_CACHED_TEXT_LENGTH: Final = _SHORT_TEXT
_SANITIZER_CACHE_SIZE: Final = 64


class _NotPlain(Exception):
    """Raised inside the fast path: the value needs the general walker."""


# Where a fast-path container is: inside another one, the attribute mapping, the value given to
# sanitize.
_NESTED: Final = 0
_ATTRIBUTES: Final = 1
_TOP: Final = 2


class Sanitizer:
    """:func:`sanitize` and :func:`sanitize_attributes` for one ``(limits, redactor)`` pair, with
    a fast path for plain JSON-like data. Results are identical to the general walker's for
    every input; reusable and thread-safe (its caches are plain sets, bounded).

    The fast path takes exact ``dict`` (exact ``str`` keys, ASCII and at most
    ``max_string_length`` long; at most ``max_items`` entries, ``max_attributes`` for the
    attribute mapping itself), exact ``list`` and ``tuple`` (at most ``max_items`` items), nested
    less than ``min(max_depth, PLAIN_MAX_DEPTH)`` deep, holding exact ``str`` (all of them: the
    ones that need truncating, repairing or scrubbing go through the walker's own text
    function), ``int`` in the 64-bit range, ``float`` (non-finite ones as the walker spells
    them), ``bool`` and ``None``; a secret key's value becomes ``"[REDACTED]"`` whatever it is.
    On anything else it gives up and the walker starts over from the top. That may call the
    redactor twice for a value, so the fast path is used only without a redactor or with one
    whose ``pure`` attribute is ``True`` (no user code runs); strings shorter than its
    ``unchanged_below`` attribute are not scrubbed at all, and short strings that scrubbing left
    unchanged are remembered.

    It counts nodes and long strings as the walker does (a container's items when it is
    expanded, a string longer than 256 characters when it is kept) and gives up where a budget
    would cut something; a value handed to the walker at the top starts from the budgets left
    at that point, and what it spends is counted.

    Like the walker, it never returns the caller's containers: every ``dict`` and ``list`` of
    the result is new (a copy taken in one C call, then completed in place), so the caller may
    mutate its data afterwards.
    """

    __slots__ = (
        "_clean",
        "_depth",
        "_fast",
        "_keep",
        "_keys",
        "_maxitems",
        "_maxlen",
        "_nodes",
        "_plain_len",
        "_text",
        "limits",
        "redactor",
    )

    def __init__(
        self, limits: Limits = DEFAULT_LIMITS, redactor: SecretRedactor | None = None
    ) -> None:
        self.limits = limits
        self.redactor = redactor
        self._fast = False
        self._keys: set[str] = set()
        self._clean: set[str] | None = None
        self._maxlen = self._depth = self._maxitems = self._keep = self._plain_len = 0
        self._nodes = self._text = 1
        try:
            maxlen = limits.max_string_length
            depth = limits.max_depth
            maxitems = limits.max_items
            keep = limits.max_attributes
            nodes = limits.max_nodes
            if not (
                type(maxlen) is int
                and type(depth) is int
                and type(maxitems) is int
                and type(keep) is int
                and type(nodes) is int
            ):
                return  # odd limits: the walker alone decides what they mean
            maxlen = max(maxlen, 0)
            if redactor is None:
                below = maxlen + 1
            else:
                below = getattr(redactor, "unchanged_below", 0)
                if getattr(redactor, "pure", False) is not True or type(below) is not int:
                    return
                if below <= maxlen:
                    self._clean = set()
            self._maxlen = maxlen
            # longer strings go through _str, which counts them in the text budget
            self._plain_len = min(maxlen, below - 1, _SHORT_TEXT)
            self._depth = min(max(depth, 0), HARD_MAX_DEPTH, PLAIN_MAX_DEPTH)
            self._maxitems = max(maxitems, 0)
            self._keep = max(keep, 0)
            self._nodes = max(nodes, 1)
            text = limits.max_text
            if type(text) is not int:
                return
            self._text = max(text, maxlen)
            self._fast = True
        except Exception:
            self._fast = False

    def value(self, value: Any) -> Any:
        """:func:`sanitize` of ``value``."""
        if self._fast:
            t = type(value)
            try:
                # [nodes not counted yet (the value itself is one), characters]
                left = [self._nodes - 1, self._text]
                if t is dict:
                    return self._dict(value, 0, self._maxitems, left, _TOP)
                if t is list or t is tuple:
                    return self._list(value, 0, left, _TOP)
                if t is str:
                    if len(value) <= self._plain_len and value.isascii():
                        return value
                    return self._str(value, left)
            except Exception:
                pass
        return _sanitize_slow(value, self.limits, self.redactor)

    def attributes(self, attrs: Mapping[Any, Any] | None) -> dict[str, Any]:
        """:func:`sanitize_attributes` of ``attrs``."""
        if self._fast and type(attrs) is dict:
            try:
                # Like a mapping at depth 0 (its values at depth 1) cut at max_attributes; with
                # max_depth 0, the depth check sends it to the walker, which gets it right.
                return self._dict(attrs, 0, self._keep, [self._nodes, self._text], _ATTRIBUTES)
            except Exception:
                pass
        return _sanitize_attributes_slow(attrs, self.limits, self.redactor)

    # -- the fast path ---------------------------------------------------------------------
    # Nested containers (top=_NESTED) raise _NotPlain (or anything) when the walker must do
    # it, and the whole value goes to the walker. At the top (the attribute mapping, or the
    # value given to sanitize), a value that is not plain is handed to the walker alone
    # (_rescue), exactly as the walker would have seen it from there; only the container
    # itself (its size, its keys, its depth) sends everything to the walker.
    #
    # ``left`` is a list shared by the whole call: the nodes not counted yet, and the
    # characters. A container counts its items before it walks them, as the walker does; one
    # that the node budget would cut is not plain, nor is a long string once the text budget
    # is below max_string_length. At the top, an attempt at a value that gives up is undone
    # (``mark``) before the walker takes the value.

    def _dict(
        self, d: dict[Any, Any], depth: int, limit: int, left: list[int], top: int = _NESTED
    ) -> dict[str, Any]:
        if depth >= self._depth or len(d) > limit:
            raise _NotPlain
        out = d.copy()  # a snapshot, taken in one C call
        n = len(out)
        if n > limit:  # grew in another thread meanwhile
            raise _NotPlain
        n = left[0] - n
        if n < 0:
            raise _NotPlain
        left[0] = n
        # Completed in place: only values are replaced, so the iteration stays valid.
        keys = self._keys
        plain = self._plain_len
        child = depth + 1
        for k, v in out.items():
            if type(k) is not str:
                raise _NotPlain
            if k not in keys and not self._key(k, left):
                out[k] = REDACTED
                continue
            t = type(v)
            if t is str:
                if len(v) > plain or not v.isascii():
                    out[k] = self._str(v, left)
            elif t is int:
                if not _INT_MIN <= v <= _INT_MAX:
                    out[k] = self._rescue(v, child, d, top, left)
            elif t is bool or v is None:
                pass
            elif t is float:
                if v - v != 0.0:
                    out[k] = "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
            elif t is dict or t is list or t is tuple:
                out[k] = self._nested(v, t is dict, child, d, top, left)
            else:
                out[k] = self._rescue(v, child, d, top, left)
        return out

    def _list(
        self, seq: list[Any] | tuple[Any, ...], depth: int, left: list[int], top: int = _NESTED
    ) -> list[Any]:
        maxitems = self._maxitems
        if depth >= self._depth or len(seq) > maxitems:
            raise _NotPlain
        out = list(seq)
        n = len(out)
        if n > maxitems:
            raise _NotPlain
        n = left[0] - n
        if n < 0:
            raise _NotPlain
        left[0] = n
        child = depth + 1
        plain = self._plain_len
        for i, x in enumerate(out):
            t = type(x)
            if t is str:
                if len(x) > plain or not x.isascii():
                    out[i] = self._str(x, left)
            elif t is int:
                if not _INT_MIN <= x <= _INT_MAX:
                    out[i] = self._rescue(x, child, seq, top, left)
            elif t is bool or x is None:
                pass
            elif t is float:
                if x - x != 0.0:
                    out[i] = "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")
            elif t is dict or t is list or t is tuple:
                out[i] = self._nested(x, t is dict, child, seq, top, left)
            else:
                out[i] = self._rescue(x, child, seq, top, left)
        return out

    def _nested(
        self, v: Any, is_dict: bool, child: int, container: Any, top: int, left: list[int]
    ) -> Any:
        """A nested plain container; below the top, giving up (``_NotPlain``) goes on up to
        the top, at the top the walker takes over this value from the budgets left before."""
        if top == _NESTED:
            return (
                self._dict(v, child, self._maxitems, left)
                if is_dict
                else self._list(v, child, left)
            )
        mark = left[0]
        tmark = left[1]
        try:
            return (
                self._dict(v, child, self._maxitems, left)
                if is_dict
                else self._list(v, child, left)
            )
        except Exception:
            left[0] = mark
            left[1] = tmark
            return self._rescue(v, child, container, top, left)

    def _rescue(self, v: Any, child: int, container: Any, top: int, left: list[int]) -> Any:
        """A value of ``container`` that the fast path cannot take: inside the fast path, give
        up (raise); at the top, the walker's result for it. The walker walks each value of a
        container from the same state: the container itself on its path (for the value given
        to sanitize), or nothing (for the attribute mapping, which is not on the path), and
        the budgets left; what it spends is counted."""
        if top == _NESTED:
            raise _NotPlain
        walker = _Walker(self.limits, self.redactor)
        walker.left = left[0]
        walker.text_left = left[1]
        if top == _TOP:
            walker.active.add(id(container))
        out = walker.walk(v, child)
        left[0] = walker.left
        left[1] = walker.text_left
        return out

    def _long(self, n: int, left: list[int]) -> None:
        """Count a string of ``n`` > :data:`_SHORT_TEXT` characters (at most max_string_length
        of them are kept); raise when the text budget might cut it."""
        room = left[1]
        maxlen = self._maxlen
        if room < maxlen:
            raise _NotPlain
        left[1] = room - (n if n < maxlen else maxlen)

    def _key(self, k: str, left: list[int]) -> bool:
        """An exact ``str`` key not known to be plain: False when secret; raises when it is not
        kept as is (too long, not ASCII)."""
        n = len(k)
        if n > self._maxlen or not k.isascii():
            raise _NotPlain
        if n > _SHORT_TEXT:
            self._long(n, left)
        red = self.redactor
        if red is not None and red.is_secret_key(k):
            return False
        if len(k) <= _CACHED_TEXT_LENGTH:
            keys = self._keys
            if len(keys) >= _KEY_CACHE_SIZE:
                keys.clear()
            keys.add(k)
        return True

    def _str(self, s: str, left: list[int]) -> str:
        """An exact ``str`` that is not plain, exactly as the walker's ``text``."""
        n = len(s)
        if n > _SHORT_TEXT:
            self._long(n, left)
        clean = self._clean
        if clean is None:
            return _text(s, self._maxlen, self.redactor)
        short = n <= _CACHED_TEXT_LENGTH
        if short and s in clean:
            return s
        out = _text(s, self._maxlen, self.redactor)
        if out is s and short:  # valid, not too long, and nothing to scrub
            if len(clean) >= _CLEAN_CACHE_SIZE:
                clean.clear()
            clean.add(s)
        return out


_SANITIZERS: dict[tuple[int, int], Sanitizer] = {}


def _sanitizer(limits: Limits, redactor: SecretRedactor | None) -> Sanitizer:
    """The cached :class:`Sanitizer` of these very objects (held, so their ids stay unique)."""
    key = (id(limits), id(redactor))
    found = _SANITIZERS.get(key)
    if found is None or found.limits is not limits or found.redactor is not redactor:
        if len(_SANITIZERS) >= _SANITIZER_CACHE_SIZE:
            _SANITIZERS.clear()
        found = _SANITIZERS[key] = Sanitizer(limits, redactor)
    return found


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def sanitize(
    value: Any, limits: Limits = DEFAULT_LIMITS, redactor: SecretRedactor | None = None
) -> Any:
    """``value`` as JSON-safe data (see the module docstring). Never raises."""
    t = type(value)
    if t is dict or t is list or t is tuple:
        try:
            return _sanitizer(limits, redactor).value(value)
        except Exception:
            pass
    return _sanitize_slow(value, limits, redactor)


def sanitize_attributes(
    attrs: Mapping[Any, Any] | None,
    limits: Limits = DEFAULT_LIMITS,
    redactor: SecretRedactor | None = None,
) -> dict[str, Any]:
    """An attribute mapping as a ``dict[str, JSON-safe]``: keys as text, at most
    ``max_attributes`` entries (the first ones, in insertion order) plus
    ``"tracehound.dropped_attributes": count`` when some were dropped; values sanitized (at
    depth 1). Never raises; a non-mapping gives ``{"tracehound.invalid_attributes": …}``."""
    if type(attrs) is dict and attrs:
        try:
            return _sanitizer(limits, redactor).attributes(attrs)
        except Exception:
            pass
    return _sanitize_attributes_slow(attrs, limits, redactor)


# --------------------------------------------------------------------------------------------
# The general path
# --------------------------------------------------------------------------------------------


def _sanitize_slow(
    value: Any, limits: Limits = DEFAULT_LIMITS, redactor: SecretRedactor | None = None
) -> Any:
    """:func:`sanitize` by the general walker alone (the reference for the fast path)."""
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


def _sanitize_attributes_slow(
    attrs: Mapping[Any, Any] | None,
    limits: Limits = DEFAULT_LIMITS,
    redactor: SecretRedactor | None = None,
) -> dict[str, Any]:
    """:func:`sanitize_attributes` by the general walker alone (the reference for the fast
    path)."""
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
        # The node budget is shared by all the values (the mapping itself is not a node): the
        # attributes kept are counted first, then what the walker spends on them.
        budget = limits.max_nodes
        budget = int(budget) if budget >= 1 else 1
        keep = min(keep, budget)
        items = list(dict.items(attrs)) if n <= keep else list(islice(dict.items(attrs), keep))
        del items[keep:]  # grew meanwhile
        spent = len(items)
        maxlen = limits.max_string_length
        plainlen = min(maxlen, _SHORT_TEXT)  # longer strings are counted by the walker
        out: dict[str, Any] = {}
        for k, v in items:
            if type(k) is not str or len(k) > plainlen or not k.isascii():
                if walker is None:
                    walker = _Walker(limits, redactor, spent)
                k = walker.key(k)
            if redactor is not None and redactor.is_secret_key(k):
                out[k] = REDACTED
                continue
            t = type(v)
            if t is str:
                if len(v) <= plainlen and v.isascii():
                    if redactor is None:
                        out[k] = v
                        continue
                    scrubbed = redactor.scrub(v)
                    if scrubbed is v or (scrubbed.isascii() and len(scrubbed) <= maxlen):
                        out[k] = scrubbed
                    else:
                        if walker is None:
                            walker = _Walker(limits, redactor, spent)
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
                walker = _Walker(limits, redactor, spent)
            out[k] = walker.walk(v, 1)
        if n > len(items):
            out[DROPPED_ATTRIBUTES_KEY] = n - len(items)
        return out
    except Exception:
        return {"tracehound.invalid_attributes": _unserializable(attrs)}
