"""Results as plain immutable records, and their renderings."""

from vmsim.metrics.results import ProcessResult, RunResult, Step

__all__ = ["ProcessResult", "RunResult", "Step"]
