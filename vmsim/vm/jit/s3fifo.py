"""S3-FIFO, compiled: the Python policy's small and main FIFOs as rings of frames, its ghost FIFO
as a doubly linked list over ids (a ghost hit unlinks it from the middle)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.s3fifo import S3FIFO
from vmsim.vm.jit.driver import Kernel, append, count_fault, domains, evict, load, unlink
from vmsim.vm.jit.ids import grow

POLICY = S3FIFO
LOCAL = True

# st: used, evicted, small head, small len, main head, main len, ghost head, ghost tail, ghost len
_USED, _EVICTED, _SH, _SL, _MH, _ML, _GH, _GT, _GL = range(9)


@njit(inline="always")
def _push(q, b, head, length, n, f):  # type: ignore[no-untyped-def]
    q[b + (head + length) % n] = f
    return length + 1


@njit(inline="always")
def _ghost_remove(x, gprev, gnext, s):  # type: ignore[no-untyped-def]
    unlink(x, gprev, gnext, s, _GH, _GT)
    gprev[x] = -2  # not in the ghost
    gnext[x] = -1
    s[_GL] -= 1


@njit(cache=True, nogil=True)
def _loop(  # type: ignore[no-untyped-def]
    ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, count, small, main, gprev, gnext, st, caps, base, size, local
):
    # Opens like every compiled loop, on purpose (clock.py says why). Domain d's rings are
    # small/main[base[d] : base[d] + size[d]], its state st[d] and its capacities caps[d].
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        if f >= 0:
            if w:
                dirty[f] = 1
            count[f] += 1
            continue
        p = pidx[i]
        count_fault(x, p, seen, cnt)
        d = p if local else 0  # the replacement domain: the process's own frames, or all of them
        s = st[d]
        b, n = base[d], size[d]
        small_cap, main_cap, ghost_cap, threshold = caps[d, 0], caps[d, 1], caps[d, 2], caps[d, 3]
        if s[_USED] < n:
            f = b + s[_USED]
            s[_USED] += 1
        else:
            s[_EVICTED] = 1
            f = -1
            while f < 0:
                if s[_ML] > main_cap or s[_SL] == 0:
                    while True:
                        g = main[b + s[_MH]]
                        s[_MH] = (s[_MH] + 1) % n
                        s[_ML] -= 1
                        c = count[g]
                        if c == 0:
                            f = g
                            break
                        count[g] = (3 if c > 3 else c) - 1
                        s[_ML] = _push(main, b, s[_MH], s[_ML], n, g)
                    break
                while s[_SL] > 0:
                    g = small[b + s[_SH]]
                    s[_SH] = (s[_SH] + 1) % n
                    s[_SL] -= 1
                    if count[g] >= threshold:
                        count[g] = 0
                        s[_ML] = _push(main, b, s[_MH], s[_ML], n, g)
                        continue
                    if ghost_cap > 0:  # the evicted page's id joins the ghost's tail
                        append(id_in[g], gprev, gnext, s, _GH, _GT)
                        s[_GL] += 1
                    f = g
                    break
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        count[f] = 0
        if gprev[x] != -2:
            _ghost_remove(x, gprev, gnext, s)
            s[_ML] = _push(main, b, s[_MH], s[_ML], n, f)
        elif s[_EVICTED] == 0 and s[_SL] >= small_cap:
            s[_ML] = _push(main, b, s[_MH], s[_ML], n, f)
        else:
            s[_SL] = _push(small, b, s[_SH], s[_SL], n, f)
        if s[_GL] > ghost_cap:
            _ghost_remove(s[_GH], gprev, gnext, s)


class _S3FIFO(Kernel):
    def __init__(self, frames: int, small_ratio: float, ghost_ratio: float, threshold: int, quotas: list[int] | None) -> None:
        super().__init__(frames)
        self.base, self.size, self.local = domains(frames, quotas)
        rows = []
        for c in self.size.tolist():  # as the Python policy's _resize, in the same float arithmetic
            small_cap = int(c * small_ratio)
            rows.append([small_cap, c - small_cap, int(c * ghost_ratio), threshold])
        self.caps = np.array(rows, np.int64)
        self.count = np.zeros(frames, np.int64)
        self.small = np.zeros(frames, np.int32)
        self.main = np.zeros(frames, np.int32)
        self.gprev = np.full(len(self.frame_of), -2, np.int32)
        self.gnext = np.full(len(self.frame_of), -1, np.int32)
        self.st = np.tile(np.array([0, 0, 0, 0, 0, 0, -1, -1, 0], np.int64), (len(self.size), 1))

    loop = staticmethod(_loop)

    def room(self, ids: int) -> None:
        super().room(ids)
        if ids > len(self.gprev):
            self.gprev = grow(self.gprev, ids, -2)
            self.gnext = grow(self.gnext, ids, -1)

    def extra(self) -> tuple[Any, ...]:
        return self.count, self.small, self.main, self.gprev, self.gnext, self.st, self.caps, self.base, self.size, self.local


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled S3-FIFO over ``frames`` frames, with the Python policy's parameters
    (``quotas``: each process's, by dense index, under local scope)."""
    return _S3FIFO(
        frames,
        float(params.get("small_ratio", 0.1)),
        float(params.get("ghost_ratio", 0.9)),
        int(params.get("threshold", 2)),
        quotas,
    )
