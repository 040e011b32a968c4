"""Compact JSON for the delivery engine's hot path: orjson, with the
standard library behind it.

A worker decodes every claimed event's data and encodes every call's body:
with the standard library that was about a tenth of its CPU per delivery
(profiled), with orjson a few per cent. Where orjson would refuse or change
what the standard library handles, the standard library does the work, so
nothing that used to encode or decode fails now:

* integers beyond 64 bits (orjson refuses to write them, and reads them as
  floats, losing digits);
* non-string keys, which JSON writes as strings;
* lone surrogates (an API client may send ``"\\ud800"``): written as that
  escape, where UTF-8 cannot carry them.

Both write compact UTF-8 JSON; a float may be spelled differently (``1e-07``
or ``1e-7``), never with another value. Not-a-number and the infinities,
which JSON has no word for, are written as ``null`` (the standard library
wrote ``NaN`` and ``Infinity``, which strict parsers refuse).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ESCAPED = json.JSONEncoder(separators=(",", ":"))
# 19 digits in a row may be an integer beyond 64 bits (or only a long string
# of digits: the standard library reads those right too, a little slower).
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{19}")


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON, keys in their order."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # raises again below if the stdlib cannot either
        pass
    try:
        return _COMPACT.encode(value).encode()
    except UnicodeEncodeError:  # a lone surrogate: only an escape carries it
        return _ESCAPED.encode(value).encode()


def loads(text: str | bytes) -> Any:
    """The value of a JSON document (the JSON columns' deserializer)."""
    long_digits = (_LONG_DIGITS_BYTES.search(text) if isinstance(text, bytes)
                   else _LONG_DIGITS.search(text))
    if long_digits is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # NaN and the like: the stdlib decides
            pass
    return json.loads(text)
