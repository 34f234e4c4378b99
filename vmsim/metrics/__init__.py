"""Results as plain immutable records, and their renderings."""

from vmsim.metrics.results import ProcessCounters, RunResult, Step

__all__ = ["ProcessCounters", "RunResult", "Step"]
