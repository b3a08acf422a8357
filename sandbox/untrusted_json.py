"""The one parser for JSON that comes from outside: request bodies, sink bodies, imported state.

``json.loads`` takes documents that the rest of the sandbox cannot: nesting deep enough to hit
Python's recursion limit (in the parser itself, or later in a ``deepcopy`` or a jsonschema walk),
integers with thousands of digits (quadratic to convert, and past 4,300 digits Python refuses to:
a 500), and ``NaN``/``Infinity`` or ``1e400``, which are not JSON numbers and come back out as
``null``. Integers wider than 64 bits but within ``MAX_INT_DIGITS`` are kept: a free-form field may
hold one, and the renderer serves it (``api/render``). ``loads`` refuses all of
them with a ``ValueError`` whose text says what to change; callers word it as a 400.

The one thing a reader might get wrong: the limits are on the *document*, not on a schema. A
field the schema bounds (``maximum``) still needs these limits, because the parser and the
validator walk the whole document before any schema keyword is looked at.
"""

from __future__ import annotations

import json
import math

MAX_DEPTH = 32                      # the deepest real body (a state export) nests 8 levels
MAX_INT_DIGITS = 64                 # no id, count or amount comes near; converting stays cheap


class UntrustedJSONError(ValueError):
    """The document is not JSON, or JSON the sandbox will not take; ``str()`` says which."""


def _parse_int(text: str) -> int:
    # Length before conversion: converting a 100,000-digit string is the cost being avoided.
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise UntrustedJSONError(f"integer {text[:24]}... has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise UntrustedJSONError(f"number {text[:24]} is too large to represent")
    return value


def _parse_constant(name: str):
    raise UntrustedJSONError(f"{name} is not a JSON number")


def depth_of(value, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of a parsed document (a scalar is 0), counted without recursion and stopping
    as soon as ``limit`` is passed."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        for child in (node.values() if isinstance(node, dict) else node):
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return deepest


def loads(text: str | bytes, max_depth: int = MAX_DEPTH):
    """Parse ``text`` within the limits above, or raise ``UntrustedJSONError``."""
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=_parse_constant)
    except UntrustedJSONError:
        raise
    except json.JSONDecodeError as exc:
        raise UntrustedJSONError(f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise UntrustedJSONError(f"is nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # e.g. int() past Python's own digit limit, or bad UTF-8 in bytes
        raise UntrustedJSONError(f"is not valid JSON ({exc})") from None
    if depth_of(value, max_depth) > max_depth:
        raise UntrustedJSONError(f"is nested deeper than {max_depth} levels")
    return value
