"""Compare a student's result with the reference's, in the grader's process, on plain decoded JSON.

Results are what autograder/kernel_preamble.py publishes: {"ok": true, "value": ...} or {"ok": false, "error": name,
"message": text}. Values are None, bools, {"int": "..."}, {"float": "..."}, {"str": ...}, {"tuple"|"list": [...]},
{"dict": [[k, v], ...]}, {"array": {"dtype", "shape", "data"}} or {"unsupported": what}.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from autograder.spec import Test

MAX_SHOWN = 120
MAX_DEPTH = 24
MAX_ELEMENTS = 200_000
DTYPES = frozenset(["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
                    "float32", "float64"])
MAX_CALLS_SHOWN = 3


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str


def _short(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def _float(entry: object) -> float:
    if isinstance(entry, dict):
        return float(entry["float"])
    return float(entry)


def describe(value: object) -> str:
    """A short human-readable form of an encoded value."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if not isinstance(value, dict) or len(value) != 1:
        return "(malformed result)"
    (kind, inner), = value.items()
    if kind == "int":
        return inner
    if kind == "float":
        return repr(float(inner))
    if kind == "str":
        return _short(repr(inner))
    if kind in ("tuple", "list"):
        items = ", ".join(describe(v) for v in inner[:8]) + (", ..." if len(inner) > 8 else "")
        return f"({items})" if kind == "tuple" else f"[{items}]"
    if kind == "dict":
        return _short("{" + ", ".join(f"{describe(k)}: {describe(v)}" for k, v in inner[:6]) + "}")
    if kind == "array":
        array = decode_array(inner)
        return _short(f"array(dtype={inner['dtype']}, shape={tuple(inner['shape'])}, "
                      f"{np.array2string(array.ravel()[:8], precision=6, separator=', ')}"
                      + ("..." if array.size > 8 else "") + ")")
    if kind == "unsupported":
        return f"an object of type {inner}"
    return "(malformed result)"


def decode_array(inner: dict) -> np.ndarray:
    if inner.get("dtype") not in DTYPES:
        raise ValueError(f"unsupported array dtype {str(inner.get('dtype'))[:40]!r}")
    dtype = np.dtype(inner["dtype"])
    shape = tuple(int(n) for n in inner["shape"])
    if len(shape) > 32 or any(n < 0 for n in shape) or math.prod(shape) > MAX_ELEMENTS:
        raise ValueError("array shape out of bounds")
    if dtype.kind == "f":
        data = np.array([_float(x) for x in inner["data"]], dtype=np.float64)
    else:
        data = np.array(inner["data"], dtype=dtype)
    if data.size != math.prod(shape):
        raise ValueError("array data does not match its shape")
    return data.reshape(shape)


def _kind(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value))
    return "malformed"


KIND_NAMES = {"None": "None", "bool": "a bool", "int": "an int", "float": "a float", "str": "a str",
              "tuple": "a tuple", "list": "a list", "dict": "a dict", "array": "a NumPy array"}


def _with_type(value: object) -> str:
    """describe(value) followed by its type in words, for results of the wrong type."""
    name = KIND_NAMES.get(_kind(value))
    return describe(value) if name is None or name == "None" else f"{describe(value)} ({name})"


def _is_number(value: object) -> bool:
    return _kind(value) in ("int", "float") or (
        _kind(value) == "array" and value["array"]["shape"] == [] and np.dtype(value["array"]["dtype"]).kind in "iuf")


def _number(value: dict) -> float:
    kind = _kind(value)
    if kind == "int":
        return float(int(value["int"]))
    if kind == "float":
        return float(value["float"])
    return float(decode_array(value["array"]))


def _close(ours: np.ndarray, ref: np.ndarray, test: Test) -> np.ndarray:
    """Elementwise: equal NaN positions, equal infinities, finite values within the tolerance."""
    ours, ref = ours.astype(np.float64), ref.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        within = np.abs(ours - ref) <= test.atol + test.rtol * np.abs(ref)
    return within | (ours == ref) | (np.isnan(ours) & np.isnan(ref))


def compare_values(ours: object, ref: object, test: Test, where: str = "the result") -> str | None:
    """None when ``ours`` matches ``ref``; otherwise what differs, in words."""
    if _is_number(ref) and _is_number(ours) and _kind(ref) != "array":
        a, b = _number(ours), _number(ref)
        if not _close(np.array(a), np.array(b), test):
            return f"{where} should be {describe(ref)}, got {describe(ours)}"
        return None
    kind = _kind(ref)
    if _kind(ours) != kind:
        return f"{where} should be {_with_type(ref)}, got {_with_type(ours)}"
    if kind in ("None", "bool"):
        return None if ours == ref else f"{where} should be {ref!r}, got {ours!r}"
    if kind == "str":
        return None if ours == ref else f"{where} should be {describe(ref)}, got {describe(ours)}"
    if kind in ("tuple", "list", "dict"):
        a, b = ours[kind], ref[kind]
        if len(a) != len(b):
            return f"{where} should have {len(b)} items, got {len(a)}: {describe(ours)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if kind == "dict":
                problem = compare_values(x[0], y[0], test, f"key {i} of {where}") or compare_values(
                    x[1], y[1], test, f"{where}[{describe(y[0])}]")
            else:
                problem = compare_values(x, y, test, f"item {i} of {where}")
            if problem:
                return problem
        return None
    if kind == "array":
        a_meta, b_meta = ours["array"], ref["array"]
        if a_meta["shape"] != b_meta["shape"]:
            return f"{where} should have shape {tuple(b_meta['shape'])}, got {tuple(a_meta['shape'])}"
        if a_meta.get("dtype") not in DTYPES:
            return f"{where} could not be read (an array of dtype {str(a_meta.get('dtype'))[:40]!r})"
        a_dtype, b_dtype = np.dtype(a_meta["dtype"]), np.dtype(b_meta["dtype"])
        if test.check_dtype and a_dtype != b_dtype:
            return f"{where} should have dtype {b_dtype}, got {a_dtype}"
        if a_dtype.kind != b_dtype.kind and not (a_dtype.kind in "iu" and b_dtype.kind in "iu"):
            return f"{where} should hold {b_dtype} values, got {a_dtype}"
        a, b = decode_array(a_meta), decode_array(b_meta)
        close = _close(a, b, test)
        if not close.all():
            bad = np.argwhere(~close)
            first = tuple(int(i) for i in bad[0])
            at = f" at index {first}" if a.ndim else ""
            return (f"{where} differs in {len(bad)} of {a.size} values; first{at}: expected {b[first].item()!r}, "
                    f"got {a[first].item()!r}")
        return None
    if kind == "unsupported":
        return f"the reference returned {describe(ref)}, which cannot be compared (a bug in the test)"
    return f"{where} could not be read"


def well_formed(value: object, max_depth: int = MAX_DEPTH) -> bool:
    """Whether decoded JSON nests no deeper than ``max_depth`` (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return True


def parse_payload(text: object, max_chars: int = 4_100_000) -> dict | None:
    """A published result as a dict, or None when it is too large, too deep or not JSON."""
    if not isinstance(text, str) or len(text) > max_chars:
        return None
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) and well_formed(payload) else None


def _calls(ref: dict) -> list[str]:
    calls = ref.get("calls")
    return [str(c) for c in calls] if isinstance(calls, list) else []


def _compare_with_calls(ours: object, ref: object, test: Test, calls: list[str]) -> str | None:
    """What differs, naming the call behind it: item i of a list result comes from call i when the counts agree."""
    kind = _kind(ref)
    if len(calls) > 1 and kind in ("list", "tuple") and len(ref[kind]) == len(calls) and _kind(ours) == kind \
            and len(ours[kind]) == len(calls):
        for i, (x, y) in enumerate(zip(ours[kind], ref[kind])):
            problem = compare_values(x, y, test)
            if problem:
                return f"call {i + 1} of {len(calls)}, {calls[i]}: {problem}"
        return None
    problem = compare_values(ours, ref, test)
    if problem and calls:
        shown = "; ".join(calls[:MAX_CALLS_SHOWN]) + ("; ..." if len(calls) > MAX_CALLS_SHOWN else "")
        return f"{problem} (the test called {shown})"
    return problem


def judge(ours: dict | None, ref: dict, test: Test) -> Verdict:
    """Pass or fail, with a message that says what was expected and what came back."""
    if ours is None:
        return Verdict(False, "the test did not run (see the notes on the notebook above)")
    calls = _calls(ref)
    if not ref.get("ok"):
        expected = f"{ref['error']}" + (f" mentioning {test.error_match!r}" if test.error_match else "")
        call = f"the call {calls[-1]}" if calls else "the call"
        if ours.get("ok"):
            return Verdict(False, f"expected {expected}, but {call} returned {describe(ours.get('value'))}")
        if ours.get("error") != ref["error"] or not ours.get("is_exception", False):
            return Verdict(False, f"expected {expected} from {call}, got {ours.get('error')}: "
                                  f"{_short(str(ours.get('message')))}")
        if test.error_match and test.error_match not in str(ours.get("message", "")):
            return Verdict(False, f"raised {ours['error']} as expected, but its message "
                                  f"{_short(repr(ours.get('message')))} does not mention {test.error_match!r}")
        return Verdict(True, f"raised {ours['error']} as expected")
    if not ours.get("ok"):
        theirs = _calls(ours)
        during = f" in call {len(theirs)}, {calls[len(theirs) - 1]}" if 0 < len(theirs) <= len(calls) else ""
        if ours.get("error") == "KeyboardInterrupt":
            return Verdict(False, f"ran past the time limit of a test and was interrupted{during} (an endless loop?)")
        return Verdict(False, f"raised {ours.get('error')}{during}: {_short(str(ours.get('message')))}")
    try:
        problem = _compare_with_calls(ours.get("value"), ref["value"], test, calls)
    except (KeyError, TypeError, ValueError, OverflowError, RecursionError) as err:
        problem = f"the result could not be read ({type(err).__name__})"
    return Verdict(problem is None, problem or "matches the reference")
