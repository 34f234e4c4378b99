"""Generators of reference chunks: trace readers, reference strings, the synthetic generators and
the AI workloads (CNN training, LLM serving, embedding lookups, data loaders)."""

from vmsim.workloads.refstring import parse_refs
from vmsim.workloads.traces import FORMATS, TraceSource, detect_format, open_trace

__all__ = ["FORMATS", "TraceSource", "detect_format", "open_trace", "parse_refs"]
