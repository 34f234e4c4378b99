"""Sizes and durations with units: ``4KiB``, ``64MiB``, ``100ns``, ``5ms``."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

from vmsim.limits import MAX_BYTES, MAX_DURATION_NS, describe

_SIZE = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_NS = {"": 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "µs": 10**3, "ns": 1, "min": 60 * 10**9}
_NUM = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Zµ]*)\s*$")


def parse_size(value: object) -> int:
    """Bytes from an int or a string such as ``4KiB`` (binary) or ``4KB`` (decimal)."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes or a string like 4KiB")
    n: float | int | None = None
    if isinstance(value, int | float):
        n = value
    elif isinstance(value, str):
        m = _NUM.match(value)
        if m and m.group(2).lower() in _SIZE:
            n = float(m.group(1)) * _SIZE[m.group(2).lower()]
    if n is None:
        raise ValueError(f"{value!r} is not a size (write e.g. 4096, 4KiB, 64MiB, 1GB)")
    if not (isinstance(n, int) or math.isfinite(n)) or abs(n) > MAX_BYTES:
        raise ValueError(f"{value!r} is larger than the largest size vmsim accepts, {describe(MAX_BYTES)} bytes (256 TiB)")
    if isinstance(n, float) and not n.is_integer():
        raise ValueError(f"{value!r} is not a whole number of bytes")
    return int(n)


def parse_duration(value: object) -> int:
    """Whole nanoseconds from seconds (a number) or a string such as ``100ns``, ``5ms``, ``2s``.

    Simulated time is kept in integer nanoseconds, so sums are exact and runs reproducible.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 5ms")
    ns: float | None = None
    if isinstance(value, int | float):
        ns = value * 10**9 if isinstance(value, int) else float(value) * 1e9
    elif isinstance(value, str):
        m = _NUM.match(value)
        if m and m.group(2) in _NS:
            ns = float(m.group(1)) * _NS[m.group(2)]
    if ns is None:
        raise ValueError(f"{value!r} is not a duration (write e.g. 100ns, 5us, 5ms, 2s)")
    if not (isinstance(ns, int) or math.isfinite(ns)) or abs(ns) > MAX_DURATION_NS:
        raise ValueError(f"{value!r} is longer than the longest duration vmsim accepts, {MAX_DURATION_NS:,} ns (11.6 days)")
    return round(ns)


Size = Annotated[int, BeforeValidator(parse_size)]
#: Whole nanoseconds; written as ``"<n>ns"`` in JSON, so a configuration echo reads back the same.
Duration = Annotated[int, BeforeValidator(parse_duration), PlainSerializer(lambda v: f"{v}ns", return_type=str, when_used="json")]
