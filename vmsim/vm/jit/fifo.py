"""FIFO, compiled: frames filled in order, then replaced round the ring (load order)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.fifo import FIFO
from vmsim.vm.jit.driver import Kernel, count_fault, evict, load

POLICY = FIFO


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, st):  # type: ignore[no-untyped-def]
    used, ptr, n = st[0], st[1], len(id_in)
    # Each compiled loop opens alike on purpose (look the id up; on a fault count it, evict, load):
    # the shared steps are inlined helpers (driver.py); the loop itself stays the policy's own.
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        if f >= 0:
            if w:
                dirty[f] = 1
            continue
        count_fault(x, pidx[i], seen, cnt)
        if used < n:
            f = used
            used += 1
        else:
            f = ptr
            ptr = ptr + 1 if ptr + 1 < n else 0
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
    st[0], st[1] = used, ptr


class _FIFO(Kernel):
    def __init__(self, frames: int) -> None:
        super().__init__(frames)
        self.st = np.zeros(2, np.int64)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return (self.st,)


def make(frames: int, params: dict[str, Any]) -> Kernel:
    """The compiled FIFO over ``frames`` frames."""
    return _FIFO(frames)
