"""Clock, compiled: the circle is the frames in order (pages join behind the hand as frames fill,
and a new page takes its victim's place), so the hand is a frame index going round."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.clock import Clock
from vmsim.vm.jit.driver import Kernel, count_fault, evict, load

POLICY = Clock


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, ref, st, on_load):  # type: ignore[no-untyped-def]
    used, hand, n = st[0], st[1], len(id_in)
    # Each compiled loop opens alike on purpose (look the id up; on a fault count it, evict, load):
    # the shared steps are inlined helpers (driver.py); the loop itself stays the policy's own.
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        if f >= 0:
            ref[f] = 1
            if w:
                dirty[f] = 1
            continue
        count_fault(x, pidx[i], seen, cnt)
        if used < n:
            f = used
            used += 1
        else:
            while ref[hand]:
                ref[hand] = 0
                hand = hand + 1 if hand + 1 < n else 0
            f = hand
            hand = hand + 1 if hand + 1 < n else 0
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        ref[f] = on_load
    st[0], st[1] = used, hand


class _Clock(Kernel):
    def __init__(self, frames: int, ref_bit_on_load: bool) -> None:
        super().__init__(frames)
        self.ref = np.zeros(frames, np.uint8)
        self.st = np.zeros(2, np.int64)
        self.on_load = np.uint8(1 if ref_bit_on_load else 0)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.ref, self.st, self.on_load


def make(frames: int, params: dict[str, Any]) -> Kernel:
    """The compiled Clock over ``frames`` frames (``ref_bit_on_load`` as the Python policy's)."""
    return _Clock(frames, bool(params.get("ref_bit_on_load", True)))
