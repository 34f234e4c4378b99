"""Clock, compiled: a domain's circle is its frames in order (pages join behind the hand as frames
fill, and a new page takes its victim's place), so the hand is a frame index going round."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.clock import Clock
from vmsim.vm.jit.driver import Kernel, count_fault, domains, evict, load

POLICY = Clock
LOCAL = True


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, ref, base, size, used, hand, local, on_load):  # type: ignore[no-untyped-def]
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        if f >= 0:
            ref[f] = 1
            if w:
                dirty[f] = 1
            continue
        p = pidx[i]
        count_fault(x, p, seen, cnt)
        d = p if local else 0  # the replacement domain: the process's own frames, or all of them
        if used[d] < size[d]:
            f = base[d] + used[d]
            used[d] += 1
        else:
            h = hand[d]
            while ref[base[d] + h]:
                ref[base[d] + h] = 0
                h = h + 1 if h + 1 < size[d] else 0
            f = base[d] + h
            hand[d] = h + 1 if h + 1 < size[d] else 0
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        ref[f] = on_load


class _Clock(Kernel):
    def __init__(self, frames: int, ref_bit_on_load: bool, quotas: list[int] | None) -> None:
        super().__init__(frames)
        self.ref = np.zeros(frames, np.uint8)
        self.base, self.size, self.local = domains(frames, quotas)
        self.used = np.zeros(len(self.size), np.int64)
        self.hand = np.zeros(len(self.size), np.int64)
        self.on_load = np.uint8(1 if ref_bit_on_load else 0)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.ref, self.base, self.size, self.used, self.hand, self.local, self.on_load


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled Clock over ``frames`` frames (``ref_bit_on_load`` as the Python policy's;
    ``quotas``: each process's, by dense index, under local scope)."""
    return _Clock(frames, bool(params.get("ref_bit_on_load", True)), quotas)
