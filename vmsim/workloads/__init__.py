"""Generators of reference chunks: trace readers and reference strings (AI workloads come later)."""

from vmsim.workloads.refstring import parse_refs
from vmsim.workloads.traces import FORMATS, TraceSource, detect_format, open_trace

__all__ = ["FORMATS", "TraceSource", "detect_format", "open_trace", "parse_refs"]
