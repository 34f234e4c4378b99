"""SIEVE, compiled: the Python policy's queue of frames (new end, old end, hand) in arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.sieve import Sieve
from vmsim.vm.jit.driver import Kernel, append, count_fault, domains, evict, load, unlink

POLICY = Sieve
LOCAL = True


@njit(cache=True, nogil=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, ref, newer, older, base, size, st, local):  # type: ignore[no-untyped-def]
    # st[d] = (used, new end, old end, hand) of replacement domain d. The loop opens like every
    # compiled loop, on purpose (clock.py says why the hit test is written out in each).
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
        if st[d, 0] < size[d]:
            f = base[d] + st[d, 0]
            st[d, 0] += 1
        else:
            f = st[d, 3] if st[d, 3] >= 0 else st[d, 2]
            while ref[f]:
                ref[f] = 0
                f = newer[f]
                if f < 0:
                    f = st[d, 2]
            st[d, 3] = newer[f]  # the hand stays at the next newer page
            unlink(f, older, newer, st[d], 2, 1)
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        ref[f] = 0  # the loading access does not count as a visit
        append(f, older, newer, st[d], 2, 1)


class _Sieve(Kernel):
    def __init__(self, frames: int, quotas: list[int] | None) -> None:
        super().__init__(frames)
        self.ref = np.zeros(frames, np.uint8)
        self.newer = np.full(frames, -1, np.int32)
        self.older = np.full(frames, -1, np.int32)
        self.base, self.size, self.local = domains(frames, quotas)
        self.st = np.full((len(self.size), 4), -1, np.int64)
        self.st[:, 0] = 0

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.ref, self.newer, self.older, self.base, self.size, self.st, self.local


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled SIEVE over ``frames`` frames (``quotas``: each process's, by dense index, under
    local scope)."""
    return _Sieve(frames, quotas)
