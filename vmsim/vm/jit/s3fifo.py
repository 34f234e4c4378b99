"""S3-FIFO, compiled: the Python policy's small and main FIFOs as rings of frames, its ghost FIFO
as a doubly linked list over ids (a ghost hit unlinks it from the middle)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.s3fifo import S3FIFO
from vmsim.vm.jit.driver import Kernel, append, count_fault, evict, load, unlink
from vmsim.vm.jit.ids import grow

POLICY = S3FIFO

# st: used, evicted, small head, small len, main head, main len, ghost head, ghost tail, ghost len
_USED, _EVICTED, _SH, _SL, _MH, _ML, _GH, _GT, _GL = range(9)


@njit(inline="always")
def _push(q, head, length, n, f):  # type: ignore[no-untyped-def]
    q[(head + length) % n] = f
    return length + 1


@njit(inline="always")
def _ghost_remove(x, gprev, gnext, st):  # type: ignore[no-untyped-def]
    unlink(x, gprev, gnext, st, _GH, _GT)
    gprev[x] = -2  # not in the ghost
    gnext[x] = -1
    st[_GL] -= 1


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, count, small, main, gprev, gnext, st, caps):  # type: ignore[no-untyped-def]
    # Opens like every compiled loop, on purpose (clock.py says why).
    n = len(id_in)
    small_cap, main_cap, ghost_cap, threshold = caps[0], caps[1], caps[2], caps[3]
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        if f >= 0:
            if w:
                dirty[f] = 1
            count[f] += 1
            continue
        count_fault(x, pidx[i], seen, cnt)
        if st[_USED] < n:
            f = st[_USED]
            st[_USED] += 1
        else:
            st[_EVICTED] = 1
            f = -1
            while f < 0:
                if st[_ML] > main_cap or st[_SL] == 0:
                    while True:
                        g = main[st[_MH]]
                        st[_MH] = (st[_MH] + 1) % n
                        st[_ML] -= 1
                        c = count[g]
                        if c == 0:
                            f = g
                            break
                        count[g] = (3 if c > 3 else c) - 1
                        st[_ML] = _push(main, st[_MH], st[_ML], n, g)
                    break
                while st[_SL] > 0:
                    g = small[st[_SH]]
                    st[_SH] = (st[_SH] + 1) % n
                    st[_SL] -= 1
                    if count[g] >= threshold:
                        count[g] = 0
                        st[_ML] = _push(main, st[_MH], st[_ML], n, g)
                        continue
                    if ghost_cap > 0:  # the evicted page's id joins the ghost's tail
                        append(id_in[g], gprev, gnext, st, _GH, _GT)
                        st[_GL] += 1
                    f = g
                    break
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        count[f] = 0
        if gprev[x] != -2:
            _ghost_remove(x, gprev, gnext, st)
            st[_ML] = _push(main, st[_MH], st[_ML], n, f)
        elif st[_EVICTED] == 0 and st[_SL] >= small_cap:
            st[_ML] = _push(main, st[_MH], st[_ML], n, f)
        else:
            st[_SL] = _push(small, st[_SH], st[_SL], n, f)
        if st[_GL] > ghost_cap:
            _ghost_remove(st[_GH], gprev, gnext, st)


class _S3FIFO(Kernel):
    def __init__(self, frames: int, small_ratio: float, ghost_ratio: float, threshold: int) -> None:
        super().__init__(frames)
        small_cap = int(frames * small_ratio)  # as the Python policy's _resize, in the same float arithmetic
        self.caps = np.array([small_cap, frames - small_cap, int(frames * ghost_ratio), threshold], np.int64)
        self.count = np.zeros(frames, np.int64)
        self.small = np.zeros(frames, np.int32)
        self.main = np.zeros(frames, np.int32)
        self.gprev = np.full(len(self.frame_of), -2, np.int32)
        self.gnext = np.full(len(self.frame_of), -1, np.int32)
        self.st = np.array([0, 0, 0, 0, 0, 0, -1, -1, 0], np.int64)

    loop = staticmethod(_loop)

    def room(self, ids: int) -> None:
        super().room(ids)
        if ids > len(self.gprev):
            self.gprev = grow(self.gprev, ids, -2)
            self.gnext = grow(self.gnext, ids, -1)

    def extra(self) -> tuple[Any, ...]:
        return self.count, self.small, self.main, self.gprev, self.gnext, self.st, self.caps


def make(frames: int, params: dict[str, Any]) -> Kernel:
    """The compiled S3-FIFO over ``frames`` frames, with the Python policy's parameters."""
    return _S3FIFO(
        frames, float(params.get("small_ratio", 0.1)), float(params.get("ghost_ratio", 0.9)), int(params.get("threshold", 2))
    )
