"""FIFO, compiled: Clock's loop with no reference bits, so each replacement domain's frames are
filled in order, then replaced round its ring (load order)."""

from __future__ import annotations

from typing import Any

from vmsim.policies.fifo import FIFO
from vmsim.vm.jit.clock import ClockKernel
from vmsim.vm.jit.driver import Kernel

POLICY = FIFO
LOCAL = True


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled FIFO over ``frames`` frames (``quotas``: each process's, by dense index, under
    local scope)."""
    return ClockKernel(frames, quotas, on_hit=False, on_load=False)
