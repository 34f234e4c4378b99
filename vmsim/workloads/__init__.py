"""Generators of reference chunks: trace readers, reference strings, the synthetic generators and
the AI workloads (CNN training, LLM serving, embedding lookups, data loaders). The readers' names
below load on first use, so that the command line starts without NumPy's readers."""

from __future__ import annotations

from typing import Any

from vmsim.workloads.formats import FORMATS

__all__ = ["FORMATS", "TraceSource", "detect_format", "open_trace", "parse_refs"]


def __getattr__(name: str) -> Any:
    if name == "parse_refs":
        from vmsim.workloads.refstring import parse_refs

        return parse_refs
    if name in ("TraceSource", "detect_format", "open_trace"):
        from vmsim.workloads import traces

        return getattr(traces, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
