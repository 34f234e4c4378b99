"""Clock, compiled: a domain's circle is its frames in order (pages join behind the hand as frames
fill, and a new page takes its victim's place), so the hand is a frame index going round. With no
reference bits (none set on a hit or a load) the hand takes every frame in turn: FIFO."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.clock import Clock
from vmsim.vm.jit.driver import Kernel, count_fault, domains, evict, load

POLICY = Clock
LOCAL = True


@njit(cache=True, nogil=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, ref, base, size, used, hand, local, on_hit, on_load):  # type: ignore[no-untyped-def]
    # Every compiled loop (here, lru.py, sieve.py, opt.py, s3fifo.py, arc.py) opens alike on purpose
    # (look the id up; on a fault count it, evict, load): the shared steps are inlined helpers
    # (driver.py), but the hit test stays written out in each: as a helper returning the frame it
    # cost the FIFO loop 25-50% (zipf10m, 100k frames, measured in-process).
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        if f >= 0:
            ref[f] = on_hit
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


class ClockKernel(Kernel):
    """Clock's compiled loop and state; ``on_hit``/``on_load``: whether a hit / a load sets the
    page's reference bit (both off: FIFO)."""

    def __init__(self, frames: int, quotas: list[int] | None, on_hit: bool = True, on_load: bool = True) -> None:
        super().__init__(frames)
        self.ref = np.zeros(frames, np.uint8)
        self.base, self.size, self.local = domains(frames, quotas)
        self.used = np.zeros(len(self.size), np.int64)
        self.hand = np.zeros(len(self.size), np.int64)
        self.on_hit = np.uint8(on_hit)
        self.on_load = np.uint8(on_load)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        """Reference bits, each domain's frames and hand, and the two ref-bit settings."""
        return self.ref, self.base, self.size, self.used, self.hand, self.local, self.on_hit, self.on_load


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled Clock over ``frames`` frames (``ref_bit_on_load`` as the Python policy's;
    ``quotas``: each process's, by dense index, under local scope)."""
    return ClockKernel(frames, quotas, on_load=bool(params.get("ref_bit_on_load", True)))
