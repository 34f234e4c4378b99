"""SIEVE, compiled: the Python policy's queue of frames (new end, old end, hand) in arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.sieve import Sieve
from vmsim.vm.jit.driver import Kernel, count_fault, evict, load

POLICY = Sieve


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, ref, newer, older, st):  # type: ignore[no-untyped-def]
    used, new_end, old_end, hand, n = st[0], st[1], st[2], st[3], len(id_in)
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
            f = hand if hand >= 0 else old_end
            while ref[f]:
                ref[f] = 0
                f = newer[f]
                if f < 0:
                    f = old_end
            a, b = newer[f], older[f]  # unlink f; the hand stays at the next newer page
            hand = a
            if a < 0:
                new_end = b
            else:
                older[a] = b
            if b < 0:
                old_end = a
            else:
                newer[b] = a
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        ref[f] = 0  # the loading access does not count as a visit
        older[f] = new_end
        newer[f] = -1
        if new_end < 0:
            old_end = f
        else:
            newer[new_end] = f
        new_end = f
    st[0], st[1], st[2], st[3] = used, new_end, old_end, hand


class _Sieve(Kernel):
    def __init__(self, frames: int) -> None:
        super().__init__(frames)
        self.ref = np.zeros(frames, np.uint8)
        self.newer = np.full(frames, -1, np.int64)
        self.older = np.full(frames, -1, np.int64)
        self.st = np.array([0, -1, -1, -1], np.int64)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.ref, self.newer, self.older, self.st


def make(frames: int, params: dict[str, Any]) -> Kernel:
    """The compiled SIEVE over ``frames`` frames."""
    return _Sieve(frames)
