"""sanitize / sanitize_attributes: every hostile value gives JSON-safe data, never an exception."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import math
import pathlib
import sys
import time
import uuid
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracehound.config import Settings
from tracehound.model import _safe
from tracehound.model._safe import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_NODES,
    DEFAULT_MAX_TEXT,
    HARD_MAX_DEPTH,
    MAX_NODES,
    PLAIN_MAX_DEPTH,
    Limits,
    Sanitizer,
    _sanitize_attributes_slow,
    _sanitize_slow,
    sanitize,
    sanitize_attributes,
)
from tracehound.pipeline._redact import Redactor

OPENAI_KEY = "sk-proj-Abcdefghij1234567890_XYZ-abcdefghij"


def safe(value: Any, limits: Limits = DEFAULT_LIMITS, redactor: Any = None) -> Any:
    """sanitize, and check the result is accepted by orjson without options."""
    out = sanitize(value, limits, redactor)
    orjson.dumps(out)
    return out


# -- hostile helpers --------------------------------------------------------------------------


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


class RaisingEverything:
    """``__repr__``, ``__str__``, ``__class__`` and ``__getattr__`` all raise."""

    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __str__(self) -> str:
        raise RuntimeError("str")

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("class")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"getattr {name}")


class ReprReturnsNonStr:
    def __repr__(self) -> Any:
        return 42


class StrException(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


class Color(enum.Enum):
    RED = "red"
    NESTED = (1, float("nan"))


class Num(enum.IntEnum):
    ONE = 1


class Text(str):
    def __str__(self) -> str:
        return "overridden"


class Integer(int):
    def __index__(self) -> int:
        return 99


class Real(float):
    pass


class Point(NamedTuple):
    x: int
    label: str


@dataclasses.dataclass
class Node:
    name: str
    child: Any = None
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Unset:
    a: int = 1
    late: int = dataclasses.field(init=False)


class Model(pydantic.BaseModel):
    name: str
    when: dt.datetime
    ratio: float = 0.5
    api_key: str = "none"


class BadDumpModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    thing: Any = None

    def model_dump(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("dump failed")


class FakeNumpyScalar:
    """Looks like a numpy scalar (module ``numpy``, ``ndim == 0``, ``.item()``)."""

    __module__ = "numpy"
    ndim = 0

    def item(self) -> float:
        return 2.5


# -- scalars ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "hello", 0, -5, 2**63 - 1, 1.5, True, False, None])
def test_primitives_unchanged(value: Any) -> None:
    out = safe(value)
    assert out == value and type(out) is type(value)


def test_primitive_fast_path_returns_same_object() -> None:
    s = "x" * 100
    assert sanitize(s) is s


@pytest.mark.parametrize(
    ("value", "expected"),
    [(float("nan"), "NaN"), (float("inf"), "Infinity"), (-math.inf, "-Infinity")],
)
def test_non_finite_floats(value: float, expected: str) -> None:
    assert safe(value) == expected
    assert safe([value]) == [expected]
    assert safe({"v": value}) == {"v": expected}
    assert sanitize_attributes({"v": value}) == {"v": expected}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2**64 - 1, 2**64 - 1),
        (-(2**63), -(2**63)),
        (2**64, str(2**64)),
        (-(2**63) - 1, str(-(2**63) - 1)),
        (10**30, "1" + "0" * 30),
    ],
)
def test_int_range(value: int, expected: Any) -> None:
    assert safe(value) == expected
    assert safe([value]) == [expected]
    assert sanitize_attributes({"n": value}) == {"n": expected}


def test_int_beyond_str_digit_limit() -> None:
    huge = (
        10 ** (sys.get_int_max_str_digits() + 10) if hasattr(sys, "get_int_max_str_digits") else 0
    )
    if not huge:
        pytest.skip("no int digit limit")
    assert safe(huge) == f"<int bits={huge.bit_length()}>"


def test_subclasses_become_plain() -> None:
    s = safe(Text("abc"))
    assert s == "abc" and type(s) is str
    i = safe(Integer(7))
    assert i == 7 and type(i) is int
    f = safe(Real(1.25))
    assert f == 1.25 and type(f) is float
    assert safe(Real("nan")) == "NaN"
    assert safe(Num.ONE) == 1 and type(safe(Num.ONE)) is int
    assert safe(Color.RED) == "red"
    assert safe(Color.NESTED) == [1, "NaN"]
    assert safe({Text("k"): Text("v")}) == {"k": "v"}
    assert type(next(iter(safe({Text("k"): 1})))) is str


def test_numpy_like_scalar() -> None:
    assert safe(FakeNumpyScalar()) == 2.5


def test_bool_stays_bool() -> None:
    assert safe([True, False]) == [True, False]
    assert safe({"b": True})["b"] is True


# -- strings ----------------------------------------------------------------------------------


def test_long_string_truncated_with_marker() -> None:
    out = safe("x" * 100, Limits(max_string_length=10))
    assert out == "x" * 10 + "…[truncated 90 chars]"


def test_10mb_string_truncated_fast() -> None:
    big = "a" * (10 * 1024 * 1024 + 65_536)
    start = time.perf_counter()
    out = safe(big)
    elapsed = time.perf_counter() - start
    assert out == "a" * 65_536 + "…[truncated 10485760 chars]"
    assert elapsed < 0.05


def test_10mb_string_with_redactor_is_truncated_before_scrubbing() -> None:
    big = "b" * (10 * 1024 * 1024)
    start = time.perf_counter()
    out = safe({"prompt": big}, redactor=Redactor())
    assert time.perf_counter() - start < 0.05
    assert out == {"prompt": "b" * 65_536 + f"…[truncated {len(big) - 65_536} chars]"}


def test_lone_surrogates_replaced() -> None:
    assert safe("a\ud800b") == "a\ufffdb"
    assert safe("\udfff") == "\ufffd"
    # A valid pair written as two surrogates is joined into the real character.
    assert safe("\ud83d\ude00") == "\U0001f600"
    assert safe({"k\ud800": ["v\udc00"]}) == {"k\ufffd": ["v\ufffd"]}
    assert sanitize_attributes({"k": "x\ud800"}) == {"k": "x\ufffd"}
    assert safe("é" * 3) == "ééé"


def test_truncation_never_splits_into_a_lone_surrogate() -> None:
    out = safe("\ud83d\ude00" * 10, Limits(max_string_length=3))
    assert out == "\U0001f600\ufffd…[truncated 17 chars]"


def test_key_truncated_and_not_redacted_by_value() -> None:
    out = safe({"k" * 20: 1}, Limits(max_string_length=5))
    assert out == {"kkkkk…[truncated 15 chars]": 1}


# -- bytes, dates and friends -----------------------------------------------------------------


def test_bytes() -> None:
    assert safe(b"hello") == "<bytes len=5 b64=aGVsbG8=>"
    assert safe(bytearray(b"hello")) == "<bytes len=5 b64=aGVsbG8=>"
    assert safe(memoryview(b"hello")) == "<bytes len=5 b64=aGVsbG8=>"
    assert safe(b"") == "<bytes len=0 b64=>"
    assert safe(b"x" * 64).startswith("<bytes len=64 b64=")
    assert safe(b"x" * 65) == "<bytes len=65>"
    assert safe(bytes(10 * 1024 * 1024)) == "<bytes len=10485760>"


def test_bytes_preview_withheld_when_it_holds_a_secret() -> None:
    assert (
        safe(OPENAI_KEY.encode(), redactor=Redactor()) == f"<bytes len={len(OPENAI_KEY)} redacted>"
    )
    assert safe(b"hello", redactor=Redactor()) == "<bytes len=5 b64=aGVsbG8=>"


def test_dates_and_times() -> None:
    tz = dt.timezone(dt.timedelta(hours=2))
    assert (
        safe(dt.datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=tz))
        == "2024-01-02T03:04:05.006000+02:00"
    )
    assert safe(dt.date(2024, 1, 2)) == "2024-01-02"
    assert safe(dt.time(1, 2, 3)) == "01:02:03"
    assert safe(dt.timedelta(minutes=1, milliseconds=500)) == 60.5


def test_uuid_decimal_path() -> None:
    assert safe(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert safe(Decimal("1.10")) == "1.10"
    assert safe(Decimal("NaN")) == "NaN"
    assert safe(pathlib.Path("/tmp/x")) == "/tmp/x"
    assert safe(pathlib.PurePosixPath("a/b")) == "a/b"


# -- containers -------------------------------------------------------------------------------


def test_tuples_deques_views() -> None:
    assert safe((1, "a", (2,))) == [1, "a", [2]]
    assert safe(collections.deque([1, 2])) == [1, 2]
    assert safe({"a": 1}.keys()) == ["a"]
    assert safe({"a": 1}.values()) == [1]
    assert safe({"a": 1}.items()) == [["a", 1]]


def test_sets_sorted_when_possible() -> None:
    assert safe({3, 1, 2}) == [1, 2, 3]
    assert safe(frozenset({"b", "a"})) == ["a", "b"]
    # Mixed types cannot be compared: a deterministic order (by JSON text) instead.
    assert safe({1, "a"}) == ["a", 1]
    assert safe({(1, 2), (0, 3)}) == [[0, 3], [1, 2]]
    assert safe({frozenset({1}), 2}) == [2, [1]]


def test_named_tuple_becomes_dict() -> None:
    assert safe(Point(1, "p")) == {"x": 1, "label": "p"}


def test_mapping_subclasses_and_non_str_keys() -> None:
    assert safe(collections.OrderedDict(a=1)) == {"a": 1}
    assert safe(collections.defaultdict(list, a=[1])) == {"a": [1]}
    assert safe(collections.Counter("aab")) == {"a": 2, "b": 1}
    assert safe({1: "a", (1, 2): "b", None: "c", 1.5: "d", False: "e"}) == {
        "1": "a",
        "(1, 2)": "b",
        "None": "c",
        "1.5": "d",
        "False": "e",
    }
    assert safe({RaisingRepr(): 1}) == {"<unrepresentable RaisingRepr>": 1}
    assert safe({Color.RED: 1}) == {"<Color.RED: 'red'>": 1}


def test_max_items_list_and_dict() -> None:
    limits = Limits(max_items=3)
    assert safe(list(range(10)), limits) == [0, 1, 2, "…[7 more items]"]
    assert safe(tuple(range(4)), limits) == [0, 1, 2, "…[1 more items]"]
    assert safe({str(i): i for i in range(5)}, limits) == {
        "0": 0,
        "1": 1,
        "2": 2,
        "…": "[2 more items]",
    }
    assert safe(set(range(5)), limits)[-1] == "…[2 more items]"
    assert safe(list(range(3)), limits) == [0, 1, 2]


def test_big_containers_are_cut_fast() -> None:
    big = list(range(1_000_000))
    start = time.perf_counter()
    out = safe(big)
    assert time.perf_counter() - start < 0.2
    assert len(out) == 1001 and out[-1] == "…[999000 more items]"


def test_cycles() -> None:
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    assert safe(d) == {"a": 1, "self": "<cycle>"}
    lst: list[Any] = [1]
    lst.append(lst)
    assert safe(lst) == [1, "<cycle>"]
    outer: dict[str, Any] = {"inner": {"items": []}}
    outer["inner"]["items"].append(outer)
    assert safe(outer) == {"inner": {"items": ["<cycle>"]}}
    node = Node("root")
    node.child = Node("kid", child=node)
    assert safe(node) == {
        "name": "root",
        "child": {"name": "kid", "child": "<cycle>", "tags": []},
        "tags": [],
    }


def test_shared_non_cyclic_reference_is_not_a_cycle() -> None:
    shared = [1]
    assert safe({"a": shared, "b": shared}) == {"a": [1], "b": [1]}


def test_depth_cap() -> None:
    assert safe([[[1]]], Limits(max_depth=2)) == [["<max depth>"]]
    assert safe({"a": {"b": {}}}, Limits(max_depth=2)) == {"a": {"b": "<max depth>"}}
    assert safe([1], Limits(max_depth=0)) == "<max depth>"
    assert safe(Point(1, "a"), Limits(max_depth=0)) == "<max depth>"


def test_10k_deep_nesting_no_recursion_error() -> None:
    deep_list: list[Any] = []
    deep_dict: dict[str, Any] = {}
    cur_l, cur_d = deep_list, deep_dict
    for _ in range(10_000):
        nl: list[Any] = []
        cur_l.append(nl)
        cur_l = nl
        nd: dict[str, Any] = {}
        cur_d["k"] = nd
        cur_d = nd
    out = safe(deep_list)
    depth = 0
    while isinstance(out, list):
        out = out[0]
        depth += 1
    assert depth == 32 and out == "<max depth>"
    assert "<max depth>" in orjson.dumps(safe(deep_dict)).decode()


def test_max_depth_clamped_to_hard_limit() -> None:
    deep: list[Any] = []
    cur = deep
    for _ in range(5000):
        nxt: list[Any] = []
        cur.append(nxt)
        cur = nxt
    out = safe(deep, Limits(max_depth=10**9))
    depth = 0
    while isinstance(out, list):
        out = out[0]
        depth += 1
    assert depth == HARD_MAX_DEPTH and out == "<max depth>"


def test_negative_limits_do_not_raise() -> None:
    assert safe(["abc", {"a": 1}], Limits(max_string_length=-1, max_items=-1, max_depth=-1)) == (
        "<max depth>"
    )
    assert safe("abc", Limits(max_string_length=-5)) == "…[truncated 3 chars]"


# -- objects ----------------------------------------------------------------------------------


def test_dataclass_uses_fields_not_asdict() -> None:
    assert safe(Node("n", child=RaisingRepr(), tags=["t"])) == {
        "name": "n",
        "child": "<unrepresentable RaisingRepr>",
        "tags": ["t"],
    }
    assert safe(Unset()) == {"a": 1}  # the unset init=False field is skipped


def test_dataclass_class_itself_is_not_expanded() -> None:
    assert safe(Node).startswith("<class ")


def test_pydantic_model() -> None:
    m = Model(name="n", when=dt.datetime(2024, 1, 1), ratio=float("inf"), api_key=OPENAI_KEY)
    assert safe(m) == {
        "name": "n",
        "when": "2024-01-01T00:00:00",
        "ratio": "Infinity",  # pydantic's json mode gives inf; sanitized again
        "api_key": OPENAI_KEY,
    }
    assert safe(m, redactor=Redactor())["api_key"] == "[REDACTED]"
    assert safe([m, m]) == [safe(m), safe(m)]


def test_pydantic_model_with_failing_dump_falls_back_to_repr() -> None:
    out = safe(BadDumpModel(thing=1))
    assert out == "BadDumpModel(thing=1)"


def test_pydantic_root_model() -> None:
    root = pydantic.RootModel[list[int]]([1, 2])
    assert safe(root) == [1, 2]


def test_exceptions() -> None:
    assert safe(ValueError("bad value")) == {"type": "ValueError", "message": "bad value"}
    assert safe(StrException("x")) == {
        "type": "StrException",
        "message": "<unrepresentable StrException>",
    }
    assert safe(KeyError("k")) == {"type": "KeyError", "message": "'k'"}


def test_generators_and_iterators_not_consumed() -> None:
    def gen() -> Any:
        yield 1

    g = gen()
    assert safe(g) == "<generator>"
    assert next(g) == 1
    it = iter([1, 2])
    assert safe(it) == "<iterator list_iterator>"
    assert next(it) == 1
    m = map(str, [1])
    assert safe(m) == "<iterator map>"
    assert list(m) == ["1"]

    async def coro() -> None:
        return None

    c = coro()
    assert safe(c) == "<coroutine>"
    c.close()


def test_raising_repr_and_hostile_objects() -> None:
    assert safe(RaisingRepr()) == "<unrepresentable RaisingRepr>"
    assert safe(RaisingEverything()) == "<unrepresentable RaisingEverything>"
    assert safe([RaisingEverything(), 1]) == ["<unrepresentable RaisingEverything>", 1]
    assert safe({"x": RaisingEverything()}) == {"x": "<unrepresentable RaisingEverything>"}
    assert sanitize_attributes({"x": RaisingEverything()}) == {
        "x": "<unrepresentable RaisingEverything>"
    }
    assert safe(ReprReturnsNonStr()) == "<unrepresentable ReprReturnsNonStr>"


def test_other_objects_by_repr_truncated() -> None:
    class Long:
        def __repr__(self) -> str:
            return "L" * 50

    assert safe(Long(), Limits(max_string_length=5)) == "LLLLL…[truncated 45 chars]"
    assert safe(1 + 2j) == "(1+2j)"
    assert safe(range(3)) == "range(0, 3)"


def test_repr_is_scrubbed() -> None:
    class Client:
        def __repr__(self) -> str:
            return f"Client(key={OPENAI_KEY!r})"

    assert safe(Client(), redactor=Redactor()) == "Client(key='[REDACTED:openai_key]')"


def test_hostile_type_name() -> None:
    class Meta(type):
        @property
        def __name__(cls) -> str:  # type: ignore[override]
            raise RuntimeError("no name")

    class Nameless(metaclass=Meta):
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert safe(Nameless()) == "<unrepresentable object>"
    assert safe([Nameless()]) == ["<unrepresentable object>"]


def test_dict_mutated_concurrently_is_snapshotted() -> None:
    class Sneaky:
        def __init__(self, target: dict[str, Any]) -> None:
            self.target = target

        def __repr__(self) -> str:
            self.target["new"] = 1  # mutates the dict being walked
            return "sneaky"

    d: dict[str, Any] = {}
    d["a"] = Sneaky(d)
    d["b"] = 2
    assert safe(d) == {"a": "sneaky", "b": 2}


# -- attributes -------------------------------------------------------------------------------


def test_sanitize_attributes_basic() -> None:
    assert sanitize_attributes({}) == {}
    assert sanitize_attributes(None) == {}
    assert sanitize_attributes({"a": 1, 2: "b", "c": [1, (2,)]}) == {
        "a": 1,
        "2": "b",
        "c": [1, [2]],
    }


def test_sanitize_attributes_drops_beyond_max_attributes() -> None:
    attrs = {f"k{i}": i for i in range(10)}
    out = sanitize_attributes(attrs, Limits(max_attributes=3))
    assert out == {"k0": 0, "k1": 1, "k2": 2, "tracehound.dropped_attributes": 7}


def test_sanitize_attributes_non_dict_inputs() -> None:
    assert sanitize_attributes(collections.OrderedDict(a=1)) == {"a": 1}
    assert sanitize_attributes(
        collections.ChainMap({"a": 1}, {"b": 2}), Limits(max_attributes=1)
    ) in (
        {"a": 1, "tracehound.dropped_attributes": 1},
        {"b": 2, "tracehound.dropped_attributes": 1},
    )
    assert sanitize_attributes([1, 2]) == {"tracehound.invalid_attributes": [1, 2]}  # type: ignore[arg-type]


def test_sanitize_attributes_values_at_depth_one() -> None:
    assert sanitize_attributes({"a": [[1]]}, Limits(max_depth=2)) == {"a": ["<max depth>"]}


def test_limits_from_settings() -> None:
    s = Settings(max_string_length=10, max_depth=3, max_items=4, max_attributes=5)
    assert Limits.from_settings(s) == Limits(10, 3, 4, 5)


# -- redaction through sanitize ---------------------------------------------------------------


def test_redaction_in_nested_input_output() -> None:
    red = Redactor()
    value = {
        "messages": [
            {"role": "system", "content": f"Use key {OPENAI_KEY} to call the API."},
            {"role": "user", "content": "hi"},
        ],
        "headers": {"Authorization": "Bearer abc123def456", "X-Request-Id": "r1"},
        "config": Node("cfg", child={"password": "hunter2", "retries": 3}),
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        "session_id": "s-1",
        "token": {"nested": "anything"},
    }
    assert safe(value, redactor=red) == {
        "messages": [
            {"role": "system", "content": "Use key [REDACTED:openai_key] to call the API."},
            {"role": "user", "content": "hi"},
        ],
        "headers": {"Authorization": "[REDACTED]", "X-Request-Id": "r1"},
        "config": {"name": "cfg", "child": {"password": "[REDACTED]", "retries": 3}, "tags": []},
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        "session_id": "s-1",
        "token": "[REDACTED]",
    }


def test_redaction_in_attributes() -> None:
    red = Redactor()
    out = sanitize_attributes(
        {
            "api_key": "abc",
            "prompt": f"my key is {OPENAI_KEY}",
            "input_tokens": 7,
            "conversation_id": "c1",
            "cookie": None,
        },
        redactor=red,
    )
    assert out == {
        "api_key": "[REDACTED]",
        "prompt": "my key is [REDACTED:openai_key]",
        "input_tokens": 7,
        "conversation_id": "c1",
        "cookie": "[REDACTED]",
    }


def test_secret_straddling_the_truncation_point_is_redacted() -> None:
    text = "x" * 94 + " " + OPENAI_KEY
    out = safe(text, Limits(max_string_length=100), Redactor())
    assert OPENAI_KEY[:5] not in out
    assert out == "x" * 94 + " [REDA" + f"…[truncated {len(text) - 100} chars]"
    # Without the margin the cut would leave "sk-pr", too short to be recognised.
    assert safe(text[:100], Limits(max_string_length=100), Redactor()) == text[:100]


def test_truncated_pem_block_is_redacted() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 10_000 + "\n-----END RSA PRIVATE KEY-----"
    out = safe("key: " + pem, Limits(max_string_length=200), Redactor())
    assert out == "key: [REDACTED:private_key]" + f"…[truncated {len(pem) + 5 - 200} chars]"


def test_mask_output_is_repaired_and_bounded() -> None:
    red = Redactor(mask=lambda s: s + "\ud800" * 20)
    assert (
        safe("abc", Limits(max_string_length=10), red)
        == "abc" + "\ufffd" * 7 + "…[truncated 13 chars]"
    )


def test_mask_error_withholds_value() -> None:
    def bad(_: str) -> str:
        raise ValueError("boom")

    assert safe({"a": "plain", "b": ["x"]}, redactor=Redactor(mask=bad)) == {
        "a": "[REDACTED:mask-error]",
        "b": ["[REDACTED:mask-error]"],
    }
    assert sanitize_attributes({"a": "plain"}, redactor=Redactor(mask=bad)) == {
        "a": "[REDACTED:mask-error]"
    }


def test_mask_called_once_per_string_value() -> None:
    calls: list[str] = []

    def mask(text: str) -> str:
        calls.append(text)
        return text.upper() + "é"

    red = Redactor(mask=mask)
    assert sanitize_attributes({"a": "x", "b": 1}, redactor=red) == {"a": "Xé", "b": 1}
    assert safe({"a": "y", "b": ["z"]}, redactor=red) == {"a": "Yé", "b": ["Zé"]}
    assert calls == ["x", "y", "z"]


def test_keys_are_not_scrubbed() -> None:
    assert safe({OPENAI_KEY: 1}, redactor=Redactor()) == {OPENAI_KEY: 1}


# -- properties -------------------------------------------------------------------------------

_text = st.one_of(
    st.text(max_size=40),
    # "Cs": lone surrogates, which orjson rejects.
    st.text(st.characters(categories=["Cs", "L", "N", "P", "S", "Z", "Cc"]), max_size=40),
    st.sampled_from([OPENAI_KEY, f"Bearer abc123def456 {OPENAI_KEY}", "x" * 60]),
)
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    st.binary(max_size=100),
    st.datetimes(),
    st.dates(),
    st.timedeltas(),
    st.uuids(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(RaisingRepr),
    st.builds(RaisingEverything),
    st.builds(ValueError, st.just("v")),
    st.sampled_from(list(Color) + list(Num)),
    st.builds(Text, _text),
)
_hashable = st.one_of(
    st.none(), st.booleans(), st.integers(), _text, st.floats(), st.builds(RaisingRepr)
)


def _with_cycle(xs: list[Any]) -> list[Any]:
    xs.append(xs)
    return xs


_values = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(_hashable, children, max_size=5),
        st.frozensets(_hashable, max_size=5),
        st.builds(Node, _text, children),
        st.builds(Point, st.integers(), _text),
        st.lists(children, max_size=3).map(_with_cycle),
        st.lists(children, max_size=3).map(collections.deque),
    ),
    max_leaves=30,
)
_limits = st.builds(
    Limits,
    max_string_length=st.integers(0, 50),
    max_depth=st.integers(0, 6),
    max_items=st.integers(0, 4),
    max_attributes=st.integers(0, 4),
    max_nodes=st.one_of(st.just(DEFAULT_MAX_NODES), st.integers(-1, 30)),
    max_text=st.one_of(st.just(DEFAULT_MAX_TEXT), st.integers(-1, 200)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_values, limits=_limits, redact=st.booleans())
def test_property_never_raises_and_always_serializable(
    value: Any, limits: Limits, redact: bool
) -> None:
    red = Redactor() if redact else None
    out = sanitize(value, limits, red)
    orjson.dumps(out)
    out_default = sanitize(value)
    orjson.dumps(out_default)
    attrs = sanitize_attributes({"v": value, 1: value, "password": value}, limits, red)
    assert isinstance(attrs, dict)
    orjson.dumps(attrs)


@settings(max_examples=200, deadline=None)
@given(value=_values)
def test_property_idempotent_on_sanitized_output(value: Any) -> None:
    once = sanitize(value)
    assert sanitize(once) == once


# -- the fast path (plain JSON-like data) gives exactly the walker's results -----------------
#
# ``_sanitize_slow`` / ``_sanitize_attributes_slow`` are the general walker alone: the reference.
# Results are compared through ``orjson.dumps`` as well as ``==``, which tells ``1``, ``1.0`` and
# ``True`` apart and sees the order of keys.


_REDACTORS: dict[str, Any] = {
    "none": None,
    "default": Redactor(),
    "disabled": Redactor(enabled=False),
    "patterns": Redactor(extra_patterns=[r"ab+c", r"x*"], extra_keys=["project"]),
    "mask": Redactor(mask=lambda s: s.upper()),
}


def _same(got: Any, want: Any) -> None:
    assert got == want
    assert orjson.dumps(got) == orjson.dumps(want)


def _check_both(value: Any, limits: Limits = DEFAULT_LIMITS, redactor: Any = None) -> Any:
    """sanitize and sanitize_attributes (public, and a reused Sanitizer) against the walker."""
    want = _sanitize_slow(value, limits, redactor)
    _same(sanitize(value, limits, redactor), want)
    san = Sanitizer(limits, redactor)
    _same(san.value(value), want)
    _same(san.value(value), want)  # again, with warm caches
    attrs = {"v": value, "w": [value], "password": value}
    want_attrs = _sanitize_attributes_slow(attrs, limits, redactor)
    _same(sanitize_attributes(attrs, limits, redactor), want_attrs)
    _same(san.attributes(attrs), want_attrs)
    _same(san.attributes(attrs), want_attrs)
    return want


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


class DictSub(dict):  # type: ignore[type-arg]
    def items(self) -> Any:  # the walker reads dict.items, not this
        return [("fake", 1)]


class ListSub(list):  # type: ignore[type-arg]
    pass


_LIMITS = Limits(max_string_length=8, max_depth=4, max_items=3, max_attributes=3)


@pytest.mark.parametrize("redactor", list(_REDACTORS), ids=list(_REDACTORS))
@pytest.mark.parametrize(
    "value",
    [
        # sizes: exactly at max_items, then one over
        {"a": 1, "b": 2, "c": 3},
        {"a": 1, "b": 2, "c": 3, "d": 4},
        [1, 2, 3],
        [1, 2, 3, 4],
        (1, "x", None),
        (1, 2, 3, 4),
        # strings and keys: exactly max_string_length, then one over
        {"k": "12345678"},
        {"k": "123456789"},
        {"12345678": 1},
        {"123456789": 1},
        ["12345678", "123456789", "", "é", "x\ud800y", "\ud83d\ude00"],
        {"é": 1},
        {"k\ud800": 1},
        # depth: max_depth is 4 (a container at depth 4 is "<max depth>")
        _nested(3),
        _nested(4),
        _nested(5),
        [[[["deep"]]]],
        [[[[["deeper"]]]]],
        # numbers
        {"n": [float("nan"), float("inf"), -math.inf, -0.0, 1e308, 2**64 - 1, -(2**63)]},
        {"n": {"m": {"o": float("nan")}}},
        {"n": 2**64},
        {"n": [-(2**63) - 1]},
        {"b": [True, False, None], "i": 0},
        # not plain: subclasses, other types, hostile values, non-str keys
        {"d": DictSub(a=1)},
        {"l": ListSub([1])},
        {"s": Text("abc")},
        {"i": Integer(5)},
        {"f": Real(1.5)},
        {"e": Color.RED, "n": Num.ONE},
        {"p": Point(1, "x")},
        {"set": {1, 2}},
        {"b": b"bytes"},
        {1: "int key", None: "none key", (1, 2): "tuple key"},
        {"x": RaisingRepr(), "password": RaisingEverything()},
        {"password": "hunter2", "api_key": {"deep": [1]}, "token_count": 3},
        {"when": dt.datetime(2024, 1, 2, 3, 4, 5)},
        # redaction by value: short strings cannot hold a built-in secret, long ones can
        ["Bearer abc1234", "Bearer abc12345", "abbbc", "xx", OPENAI_KEY],
        {"msg": f"key {OPENAI_KEY} end"},
    ],
)
def test_fast_path_boundaries_match_the_walker(value: Any, redactor: str) -> None:
    _check_both(value, _LIMITS, _REDACTORS[redactor])
    _check_both(value, DEFAULT_LIMITS, _REDACTORS[redactor])


@pytest.mark.parametrize("redactor", list(_REDACTORS), ids=list(_REDACTORS))
def test_fast_path_cycles_and_shared_references(redactor: str) -> None:
    red = _REDACTORS[redactor]
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    lst: list[Any] = [1]
    lst.append({"back": lst})
    shared = {"x": [1, 2]}
    for value in (d, lst, {"one": shared, "two": shared}, [shared, (shared,)]):
        _check_both(value, _LIMITS, red)
        _check_both(value, DEFAULT_LIMITS, red)
    assert sanitize(d)["self"] == "<cycle>"


@pytest.mark.parametrize("max_depth", [0, 1, 2, PLAIN_MAX_DEPTH, 32, HARD_MAX_DEPTH + 50])
def test_fast_path_depth_limits(max_depth: int) -> None:
    limits = Limits(max_depth=max_depth)
    for depth in (0, 1, 2, PLAIN_MAX_DEPTH - 1, PLAIN_MAX_DEPTH, PLAIN_MAX_DEPTH + 1, 40):
        for leaf in (1, [1], "x"):
            _check_both(_nested(depth, leaf), limits, None)
            _check_both(_nested(depth, leaf), limits, _REDACTORS["default"])


def test_fast_path_attribute_limits() -> None:
    limits = Limits(max_attributes=2, max_items=5)
    for attrs in ({"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}, {}, {"a": {"b": {"c": 1}}}):
        want = _sanitize_attributes_slow(attrs, limits)
        _same(sanitize_attributes(attrs, limits), want)
        _same(Sanitizer(limits).attributes(attrs), want)
    assert sanitize_attributes({"a": 1, "b": 2, "c": 3}, limits) == {
        "a": 1,
        "b": 2,
        "tracehound.dropped_attributes": 1,
    }
    # the mapping itself is not subject to max_depth, its values are
    assert Sanitizer(Limits(max_depth=0)).attributes({"a": 1, "b": {}}) == {
        "a": 1,
        "b": "<max depth>",
    }
    assert Sanitizer().attributes(None) == {}
    assert Sanitizer().attributes(collections.OrderedDict(a=1)) == {"a": 1}
    assert Sanitizer().attributes([1]) == {"tracehound.invalid_attributes": [1]}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "limits",
    [
        Limits(max_string_length=-1, max_depth=-1, max_items=-1, max_attributes=-1),
        Limits(max_string_length=0, max_depth=0, max_items=0, max_attributes=0),
        Limits(max_string_length=True, max_depth=2, max_items=2, max_attributes=2),  # odd types
        Limits(max_string_length=5.5, max_depth=2, max_items=2, max_attributes=2),  # type: ignore[arg-type]
    ],
)
def test_fast_path_odd_limits(limits: Limits) -> None:
    for value in ({"a": "xyz", "b": [1, {"c": "d"}]}, ["", "a"], {"": ""}, {}):
        _check_both(value, limits, None)
        _check_both(value, limits, _REDACTORS["default"])


def test_fast_path_returns_new_containers_the_caller_may_mutate() -> None:
    inner: dict[str, Any] = {"candidates": 2, "names": ["a", "b"]}
    data: dict[str, Any] = {"details": inner, "pair": ("x", {"y": 1}), "n": 1}
    for out in (sanitize(data), sanitize_attributes(data), Sanitizer(_LIMITS).value(data)):
        assert out is not data
        assert out["details"] is not inner
        assert out["details"]["names"] is not inner["names"]
        assert type(out["pair"]) is list
    out = sanitize(data, redactor=Redactor())
    inner["candidates"] = 3
    inner["names"].append("c")
    data["n"] = 2
    assert out == {
        "details": {"candidates": 2, "names": ["a", "b"]},
        "pair": ["x", {"y": 1}],
        "n": 1,
    }
    lst = [1, [2]]
    out_list = sanitize(lst)
    assert out_list == lst and out_list is not lst and out_list[1] is not lst[1]


def test_fast_path_taken_for_plain_data_and_not_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shapes the SDK logs all the time never reach the walker (a speed guarantee)."""
    calls: list[str] = []

    def slow(*args: Any) -> Any:
        calls.append("value")
        return _sanitize_slow(*args)

    def slow_attrs(*args: Any) -> Any:
        calls.append("attributes")
        return _sanitize_attributes_slow(*args)

    monkeypatch.setattr(_safe, "_sanitize_slow", slow)
    monkeypatch.setattr(_safe, "_sanitize_attributes_slow", slow_attrs)
    data = {
        "action_details": {
            "decision_context": {"candidates": 2},
            "decision_result": {"selected": "agent-b"},
        },
        "project_name": "bench",
        "project_path": "/home/someone/projects/a-rather-long-project-name",
        "working_directory": "/work/main",
        "debug_mode": True,
        "duration_ms": 1.5,
        "tags": ["a", "b"],
        "ratio": float("nan"),
        "note": "ünïcode",
    }
    for red in (None, Redactor(), Redactor(enabled=False), Redactor(extra_patterns=["zz"])):
        if red is not None and red.enabled:
            data["api_key"] = object()  # a secret key's value is never looked at
        else:
            data.pop("api_key", None)
        san = Sanitizer(DEFAULT_LIMITS, red)
        assert san.attributes(data)["ratio"] == "NaN"
        san.value({"file_path": "/x.py", "i": 0})
        san.value([data, (1, 2)])
        sanitize(data, DEFAULT_LIMITS, red)
        sanitize_attributes(data, DEFAULT_LIMITS, red)
    assert calls == []
    # Values the fast path cannot take are walked alone (below); the container itself (its
    # keys, its size, its depth) sends everything to the walker.
    for value in ({"s": {1}}, [DictSub()], _nested(PLAIN_MAX_DEPTH + 1)):
        Sanitizer().value(value)
        Sanitizer().attributes({"v": value})
    assert calls == []
    for value in ({1: 2}, {"é": 1}, {str(i): i for i in range(1001)}, list(range(1001))):
        Sanitizer().value(value)
    Sanitizer(Limits(max_attributes=1)).attributes({"a": 1, "b": 2})
    Sanitizer(Limits(max_depth=0)).value({"a": 1})
    assert calls == ["value"] * 4 + ["attributes", "value"]
    # a user mask runs user code: never called twice, so the walker does everything
    Sanitizer(redactor=Redactor(mask=str.upper)).attributes({"a": "b"})
    assert calls[-1] == "attributes"


def test_fast_path_hands_only_the_odd_value_to_the_walker(monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[Any] = []

    class Recording(_safe._Walker):
        def walk(self, v: Any, depth: int) -> Any:
            walked.append(v)
            return super().walk(v, depth)

    monkeypatch.setattr(_safe, "_Walker", Recording)
    odd = {"when": dt.date(2024, 1, 2)}
    plain = {"a": [1, {"b": "c"}]}
    when = odd["when"]
    data = {"plain": plain, "odd": odd, "big": 2**70, "text": "x"}
    want = {"plain": plain, "odd": {"when": "2024-01-02"}, "big": str(2**70), "text": "x"}
    for call in (
        lambda: sanitize(data),
        lambda: sanitize_attributes(data),
        lambda: sanitize([plain, odd, 2**70, "x"]),
    ):
        out = call()
        assert list(out.values() if isinstance(out, dict) else out) == list(want.values())
        assert walked == [odd, when, 2**70]  # odd's own fast attempt gave up at the date
        walked.clear()


def test_fast_path_rescue_sees_cycles_as_the_walker_does() -> None:
    attrs: dict[str, Any] = {"a": 1}
    attrs["me"] = attrs
    attrs["deep"] = {"x": {"y": attrs}}
    lst: list[Any] = [1]
    lst.append(lst)
    lst.append({"up": [lst]})
    for red in (None, Redactor()):
        for value in (attrs, lst, {"l": lst}, [attrs]):
            _check_both(value, DEFAULT_LIMITS, red)
            _check_both(value, _LIMITS, red)
    # the attribute mapping is not on the walker's path: it is expanded once inside itself
    assert sanitize_attributes(attrs)["me"] == {
        "a": 1,
        "me": "<cycle>",
        "deep": {"x": {"y": "<cycle>"}},
    }
    assert sanitize(attrs)["me"] == "<cycle>"
    assert sanitize(lst) == [1, "<cycle>", {"up": ["<cycle>"]}]


def test_fast_path_never_calls_a_mask_twice() -> None:
    seen: list[str] = []

    def mask(text: str) -> str:
        seen.append(text)
        return text

    red = Redactor(mask=mask)
    # "zz" comes first; the set at the end is not plain.
    assert sanitize({"a": "zz", "b": {1, 2}}, redactor=red) == {"a": "zz", "b": [1, 2]}
    assert sanitize_attributes({"a": "yy", "b": {3}}, redactor=red) == {"a": "yy", "b": [3]}
    assert seen == ["zz", "yy"]


def test_fast_path_caches_stay_bounded() -> None:
    san = Sanitizer(redactor=Redactor())
    for i in range(3 * _safe._KEY_CACHE_SIZE):
        san.attributes({f"key-{i}": f"value number {i:08d}", "x" * 300: 1})
    assert len(san._keys) <= _safe._KEY_CACHE_SIZE
    assert san._clean is not None and len(san._clean) <= _safe._CLEAN_CACHE_SIZE
    assert "x" * 300 not in san._keys  # long keys are not remembered
    for i in range(3 * _safe._SANITIZER_CACHE_SIZE):
        sanitize({"a": 1}, Limits(max_items=i))
    assert len(_safe._SANITIZERS) <= _safe._SANITIZER_CACHE_SIZE


def test_clean_string_cache_does_not_hide_secrets() -> None:
    san = Sanitizer(redactor=Redactor())
    text = "call the API with abcdefghijklmnop"
    assert san.value({"a": text}) == {"a": text}
    assert san.value({"a": text}) == {"a": text}  # remembered as clean
    secret = f"call the API with {OPENAI_KEY}"
    for _ in range(2):
        assert san.value({"a": secret}) == {"a": "call the API with [REDACTED:openai_key]"}
        assert san.value([secret]) == ["call the API with [REDACTED:openai_key]"]
    assert secret not in (san._clean or set())


_json_text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(categories=["Cs", "L", "N", "P", "Zs"]), max_size=12),
    st.sampled_from(["", "x" * 8, "x" * 9, "Bearer abc12345", OPENAI_KEY, "abbbc", "/work/main"]),
    # longer than 256: counted in max_text
    st.sampled_from(["L" * 257, "L" * 300, "é" * 280, "x\ud800" * 150, f"{OPENAI_KEY} " * 8]),
)
_json_key = st.one_of(
    _json_text,
    st.sampled_from(["password", "api_key", "token", "input_tokens", "session_id", "project"]),
)
_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.floats(allow_nan=True, allow_infinity=True),
    _json_text,
)
_json = st.recursive(
    _json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(_json_key, children, max_size=5),
    ),
    max_leaves=25,
)
# Mostly plain values, sometimes with something that is not (and sends them to the walker).
_mostly_json = st.one_of(
    _json,
    _json,
    _json,
    st.recursive(
        st.one_of(_json_leaf, _leaf),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.one_of(_json_key, _hashable), children, max_size=4),
            st.lists(children, max_size=3).map(_with_cycle),
        ),
        max_leaves=15,
    ),
)
_fast_limits = st.builds(
    Limits,
    max_string_length=st.one_of(st.integers(-1, 25), st.sampled_from([256, 257, 300, 400])),
    max_depth=st.integers(-1, 6),
    max_items=st.integers(-1, 6),
    max_attributes=st.integers(-1, 6),
    max_nodes=st.one_of(st.just(DEFAULT_MAX_NODES), st.integers(-1, 40)),
    max_text=st.one_of(st.just(DEFAULT_MAX_TEXT), st.integers(-1, 1500)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=_mostly_json,
    limits=st.one_of(st.just(DEFAULT_LIMITS), _fast_limits),
    redactor=st.sampled_from(sorted(_REDACTORS)),
)
def test_property_fast_path_matches_the_walker(value: Any, limits: Limits, redactor: str) -> None:
    _check_both(value, limits, _REDACTORS[redactor])


# -- the budgets of one call (max_nodes, max_text) -------------------------------------------
#
# Repeated references to one object (a DAG, not a cycle) are expanded on every path: without a
# budget on the whole value, a few dozen objects would take hours.


def _dag(levels: int, leaf: Any = 0, as_dict: bool = False) -> Any:
    """levels + 1 objects, 2 ** (levels + 1) - 1 nodes once expanded."""
    value = [leaf]
    for _ in range(levels):
        value = {"l": value, "r": value} if as_dict else [value, value]  # type: ignore[assignment]
    return value


def _nodes(out: Any) -> int:
    """Nodes of a sanitized value, not counting the "more items" markers."""
    if isinstance(out, dict):
        return 1 + sum(_nodes(v) for k, v in out.items() if k != "…")
    if isinstance(out, list):
        return 1 + sum(_nodes(v) for v in out if not (isinstance(v, str) and v.startswith("…[")))
    return 1


def _with_nodes(n: int, last: Any = 0) -> list[Any]:
    """A plain list of lists of ``last`` (within the default max_items) with exactly n nodes."""
    sublists = -(-(n - 1) // 1001)  # each sublist: itself and up to 1000 items
    items = n - 1 - sublists
    value = [[last] * 1000 for _ in range(items // 1000)]
    if items % 1000:
        value.append([last] * (items % 1000))
    assert len(value) == sublists and _nodes(value) == n
    return value


@pytest.mark.parametrize("as_dict", [False, True], ids=["lists", "dicts"])
@pytest.mark.parametrize("levels", [18, 32], ids=["19-objects", "33-objects"])
def test_repeated_references_are_bounded(levels: int, as_dict: bool) -> None:
    value = _dag(levels, as_dict=as_dict)
    # (call, nodes of the result that are not counted: the attribute mapping itself)
    for call, extra in (
        (lambda: sanitize(value), 0),
        (lambda: _sanitize_slow(value), 0),
        (lambda: sanitize(value, redactor=Redactor()), 0),
        (lambda: sanitize_attributes({"a": value, "b": value}), 1),  # one budget for both
    ):
        start = time.perf_counter()
        out = call()
        elapsed = time.perf_counter() - start
        assert elapsed < 1.0  # about 50 ms; hours (33 objects) without the budget
        text = orjson.dumps(out)
        assert b'"<max nodes>"' in text
        assert len(text) < 50 * DEFAULT_MAX_NODES
        assert _nodes(out) <= DEFAULT_MAX_NODES + extra
    assert sanitize(value) == _sanitize_slow(value)


def test_value_at_the_budget_is_untouched_and_one_node_more_is_cut() -> None:
    at = _with_nodes(DEFAULT_MAX_NODES)
    assert _check_both(at) == at
    over = _with_nodes(DEFAULT_MAX_NODES + 1)
    out = _check_both(over)
    assert out[:-1] == over[:-1]
    assert out[-1] == [*over[-1][:-1], "…[1 more items, max nodes reached]"]
    assert _nodes(out) == DEFAULT_MAX_NODES
    # the same with something the fast path does not take (the walker alone)
    slow = _with_nodes(DEFAULT_MAX_NODES, last=dt.date(2024, 1, 2))
    assert sanitize(slow)[-1][-1] == "2024-01-02"
    slow[-1].append(slow[-1][0])
    assert sanitize(slow)[-1][-1] == "…[1 more items, max nodes reached]"


def test_wide_legitimate_values_are_untouched() -> None:
    records = [{f"field{j}": f"value {i}.{j}" for j in range(10)} for i in range(1000)]
    rows = [list(range(10)) for _ in range(1000)]
    for value in (records, rows, {"records": records, "rows": rows}):
        assert sanitize(value) == value
        assert sanitize(value, redactor=Redactor()) == value
        assert _sanitize_slow(value) == value
        assert sanitize_attributes({"v": value}) == {"v": value}


@pytest.mark.parametrize("max_nodes", [-5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10])
def test_budget_cuts_each_kind_of_container(max_nodes: int) -> None:
    limits = Limits(max_nodes=max_nodes)
    values = [
        [[1, 2], [3, 4]],
        ([1, 2], (3, 4)),
        {"a": {"x": 1, "y": 2}, "b": {"z": 3}},
        [collections.deque([1, 2]), {3, 4}, frozenset({5})],
        [Point(1, "p"), Node("n", tags=["t"]), collections.OrderedDict(a=1, b=2)],
        [collections.ChainMap({"a": 1}, {"b": 2}), {"a": 1}.items()],
        [Model(name="m", when=dt.datetime(2024, 1, 1)), pydantic.RootModel[list[int]]([1, 2])],
        [[], {}, (), [[]], "s", 1],
    ]
    for value in values:
        for red in (None, Redactor()):
            out = _check_both(value, limits, red)
            assert _nodes(out) <= max(max_nodes, 1)


def test_budget_marks_what_it_cut() -> None:
    value = [[1, 2], [3, 4]]  # 7 nodes
    assert sanitize(value, Limits(max_nodes=7)) == value
    assert sanitize(value, Limits(max_nodes=6)) == [
        [1, 2],
        [3, "…[1 more items, max nodes reached]"],
    ]
    assert sanitize(value, Limits(max_nodes=5)) == [[1, 2], MAX_NODES]
    assert sanitize(value, Limits(max_nodes=3)) == [MAX_NODES, MAX_NODES]
    assert sanitize(value, Limits(max_nodes=2)) == [
        MAX_NODES,
        "…[1 more items, max nodes reached]",
    ]
    assert sanitize(value, Limits(max_nodes=1)) == MAX_NODES
    assert sanitize("scalar", Limits(max_nodes=0)) == "scalar"  # the value itself always fits
    # max_items and the budget: the smaller one cuts, and the count is of every item left out
    limits = Limits(max_items=3, max_nodes=3)
    assert sanitize(list(range(10)), limits) == [0, 1, "…[8 more items, max nodes reached]"]
    assert sanitize({str(i): i for i in range(10)}, limits) == {
        "0": 0,
        "1": 1,
        "…": "[8 more items, max nodes reached]",
    }
    assert sanitize(list(range(10)), Limits(max_items=3, max_nodes=4)) == [
        0,
        1,
        2,
        "…[7 more items]",
    ]
    # nothing left, but nothing to cut either
    assert sanitize([[1], [], {}, "x"], Limits(max_nodes=6)) == [[1], [], {}, "x"]


def test_attributes_share_one_budget() -> None:
    limits = Limits(max_nodes=6)
    attrs = {"a": [1, 2], "b": [3, 4], "c": "text"}  # 3 attributes + 4 items
    assert _check_both(attrs["a"], limits) == [1, 2]
    assert sanitize_attributes(attrs, limits) == {
        "a": [1, 2],
        "b": [3, "…[1 more items, max nodes reached]"],
        "c": "text",
    }
    assert sanitize_attributes(attrs, Limits(max_nodes=2)) == {
        "a": MAX_NODES,
        "b": MAX_NODES,
        "tracehound.dropped_attributes": 1,
    }
    for red in (None, Redactor()):
        for max_nodes in range(0, 9):
            limits = Limits(max_nodes=max_nodes)
            want = _sanitize_attributes_slow(attrs, limits, red)
            _same(sanitize_attributes(attrs, limits, red), want)
            _same(Sanitizer(limits, red).attributes(attrs), want)


def test_fast_path_hands_over_the_budget_left() -> None:
    """A value the walker takes at the top starts from the budget the fast path left, and the
    fast path goes on from what the walker left."""
    odd = [collections.deque([1, 2, 3])]
    for max_nodes in range(1, 16):
        limits = Limits(max_nodes=max_nodes)
        for value in (
            [[1, 2], odd, [3, 4], 2**70, [5]],
            {"a": [1, 2], "b": odd, "c": {"d": 3}, "e": {}},
            [_dag(3), _dag(2, as_dict=True), _dag(1, leaf={1})],
        ):
            _check_both(value, limits)
            _check_both(value, limits, Redactor())


def test_repeated_long_strings_are_bounded() -> None:
    """The node budget alone would still let 50 000 copies of a long string through (GBs)."""
    for leaf, red in (("x" * 10_000_000, None), ("word " * 2_000_000, Redactor())):
        value = _dag(18, leaf)
        start = time.perf_counter()
        out = sanitize(value, redactor=red)
        assert time.perf_counter() - start < 1.0  # seconds and GBs with nodes counted only
        text = orjson.dumps(out)
        assert len(text) < DEFAULT_MAX_TEXT + 20 * DEFAULT_MAX_NODES
        assert b"chars, max text reached]" in text
        assert out == _sanitize_slow(value, DEFAULT_LIMITS, red)
    keys = {"k" * 60_000: 1, "j" * 60_000: 2}
    value = [keys] * 1000
    out = _check_both(value)
    assert len(orjson.dumps(out)) < 2 * DEFAULT_MAX_TEXT
    assert out[0] == keys and "max text reached" in str(list(out[-1]))


def test_text_budget_boundaries() -> None:
    limits = Limits(max_string_length=1000, max_text=1000)
    at = ["a" * 300, {"b" * 300: "c" * 400}]
    assert _check_both(at, limits) == at
    assert _check_both(at, limits, Redactor()) == at
    over = ["a" * 300, {"b" * 300: "c" * 401}]
    assert _check_both(over, limits) == [
        "a" * 300,
        {"b" * 300: "c" * 400 + "…[truncated 1 chars, max text reached]"},
    ]
    assert _check_both(["a" * 1000, "b" * 300], limits) == [
        "a" * 1000,
        "…[truncated 300 chars, max text reached]",
    ]
    # strings up to 256 characters are not counted (the node budget bounds them)
    short = ["s" * 256] * 100
    assert _check_both(short, limits) == short
    # one string never: the budget is at least max_string_length
    assert sanitize("x" * 5000, Limits(max_string_length=2000, max_text=10)) == (
        "x" * 2000 + "…[truncated 3000 chars]"
    )
    # the attributes share it
    attrs = {"a": "a" * 600, "b": ["b" * 600], "c": 2**2000}
    assert sanitize_attributes(attrs, limits) == {
        "a": "a" * 600,
        "b": ["b" * 400 + "…[truncated 200 chars, max text reached]"],
        "c": "…[truncated 603 chars, max text reached]",
    }
    for red in (None, Redactor()):
        _same(
            Sanitizer(limits, red).attributes(attrs), _sanitize_attributes_slow(attrs, limits, red)
        )


# -- speed (generous bounds; the report has the real numbers) ---------------------------------


def _per_call_us(fn: Any, n: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def test_speed_small_attributes() -> None:
    attrs = {
        "model": "gpt-4o",
        "input_tokens": 120,
        "temperature": 0.7,
        "stream": False,
        "agent": "p",
    }
    red = Redactor()
    assert _per_call_us(lambda: sanitize_attributes(attrs), 20_000) < 5 * 2.0
    assert _per_call_us(lambda: sanitize_attributes(attrs, redactor=red), 20_000) < 5 * 4.0
