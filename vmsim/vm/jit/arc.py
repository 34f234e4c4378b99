"""ARC, compiled: the Python policy's T1 and T2 as linked lists of frames (LRU end first), B1 and
B2 as linked lists of ids, with its libCacheSim arithmetic (a real ``p``, adapted before the victim
is chosen, as the Pager does by telling ARC the incoming page)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.arc import ARC
from vmsim.vm.jit.driver import Kernel, append, count_fault, domains, evict, load, unlink
from vmsim.vm.jit.ids import grow

POLICY = ARC
LOCAL = True

# ln: heads and tails of T1, T2 (over frames) and B1, B2 (over ids), then their sizes, and used.
_H1, _T1, _H2, _T2, _HB1, _TB1, _HB2, _TB2, _N1, _N2, _M1, _M2, _USED = range(13)
_W = 13


@njit(cache=True, nogil=True)
def _loop(  # type: ignore[no-untyped-def]
    ids,
    writes,
    pidx,
    frame_of,
    seen,
    owner,
    id_in,
    dirty,
    cnt,
    in_t2,
    fprev,
    fnext,
    where,
    gprev,
    gnext,
    ln,
    pv,
    base,
    size,
    local,
):
    # Opens like every compiled loop, on purpose (clock.py says why). Domain d's lists are
    # ln[_W * d : _W * (d + 1)] (a flat array: no view per access), its target p is pv[d].
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        q = pidx[i]
        d = q if local else 0  # the replacement domain: the process's own frames, or all of them
        o = _W * d  # the domain's slots in ln
        if f >= 0:
            if w:
                dirty[f] = 1
            t = ln[o + _T2]
            if t == f:  # already T2's most recent page (a repeat): nothing moves
                continue
            # Written out rather than driver.unlink/append, as in lru.py: the hit path is the
            # loop's hottest (those helpers here cost about 2x, bzip2 at 8-57 frames, in-process).
            a, b = fprev[f], fnext[f]
            if in_t2[f]:  # to T2's most recent end; f is not its tail, so b >= 0
                if a >= 0:
                    fnext[a] = b
                else:
                    ln[o + _H2] = b
                fprev[b] = a
            else:  # from T1 to T2's most recent end
                if a >= 0:
                    fnext[a] = b
                else:
                    ln[o + _H1] = b
                if b >= 0:
                    fprev[b] = a
                else:
                    ln[o + _T1] = a
                ln[o + _N1] -= 1
                ln[o + _N2] += 1
                in_t2[f] = 1
            fprev[f] = t
            fnext[f] = -1
            if t >= 0:
                fnext[t] = f
            else:
                ln[o + _H2] = f
            ln[o + _T2] = f
            continue
        count_fault(x, q, seen, cnt)
        ghost = where[x]
        full = ln[o + _USED] >= size[d]
        p = pv[d]
        n1, m1, n2, m2 = ln[o + _N1], ln[o + _M1], ln[o + _N2], ln[o + _M2]
        c = n1 + n2
        if not full:
            f = base[d] + ln[o + _USED]
            ln[o + _USED] += 1
        else:
            if ghost == 1:
                p = min(p + max(m2 / m1, 1.0), float(c))
            elif ghost == 2:
                p = max(p - max(m1 / m2, 1.0), 0.0)
            if (n1 > 0 and (n1 > p or (n1 == p and ghost == 2))) or n2 == 0:
                f = ln[o + _H1]
                unlink(f, fprev, fnext, ln, o + _H1, o + _T1)
                ln[o + _N1] -= 1
                v = id_in[f]
                where[v] = 1
                append(v, gprev, gnext, ln, o + _HB1, o + _TB1)
                ln[o + _M1] += 1
            else:
                f = ln[o + _H2]
                unlink(f, fprev, fnext, ln, o + _H2, o + _T2)
                ln[o + _N2] -= 1
                in_t2[f] = 0
                v = id_in[f]
                where[v] = 2
                append(v, gprev, gnext, ln, o + _HB2, o + _TB2)
                ln[o + _M2] += 1
            evict(f, id_in, owner, dirty, frame_of, cnt)
            pv[d] = p
        load(f, x, w, id_in, frame_of, dirty)
        if ghost == 1 or ghost == 2:
            if ghost == 1:
                unlink(x, gprev, gnext, ln, o + _HB1, o + _TB1)
                ln[o + _M1] -= 1
            else:
                unlink(x, gprev, gnext, ln, o + _HB2, o + _TB2)
                ln[o + _M2] -= 1
            where[x] = 0
            append(f, fprev, fnext, ln, o + _H2, o + _T2)
            ln[o + _N2] += 1
            in_t2[f] = 1
        else:
            append(f, fprev, fnext, ln, o + _H1, o + _T1)
            ln[o + _N1] += 1
            in_t2[f] = 0
            if full:
                if n1 + m1 >= c:
                    y = ln[o + _TB1] if n1 >= c else ln[o + _HB1]  # forget T1's victim if T1 alone filled memory
                    unlink(y, gprev, gnext, ln, o + _HB1, o + _TB1)
                    where[y] = 0
                    ln[o + _M1] -= 1
                elif n1 + m1 + n2 + m2 >= 2 * c:
                    y = ln[o + _HB2]
                    unlink(y, gprev, gnext, ln, o + _HB2, o + _TB2)
                    where[y] = 0
                    ln[o + _M2] -= 1


class _ARC(Kernel):
    def __init__(self, frames: int, quotas: list[int] | None) -> None:
        super().__init__(frames)
        self.base, self.size, self.local = domains(frames, quotas)
        self.in_t2 = np.zeros(frames, np.uint8)
        self.fprev = np.full(frames, -1, np.int32)
        self.fnext = np.full(frames, -1, np.int32)
        self.where = np.zeros(len(self.frame_of), np.uint8)
        self.gprev = np.full(len(self.frame_of), -1, np.int32)
        self.gnext = np.full(len(self.frame_of), -1, np.int32)
        self.ln = np.tile(np.array([-1] * 8 + [0] * 5, np.int64), len(self.size))
        self.pv = np.zeros(len(self.size), np.float64)

    loop = staticmethod(_loop)

    def room(self, ids: int) -> None:
        super().room(ids)
        if ids > len(self.where):
            self.where = grow(self.where, ids)
            self.gprev = grow(self.gprev, ids, -1)
            self.gnext = grow(self.gnext, ids, -1)

    def extra(self) -> tuple[Any, ...]:
        return (
            self.in_t2,
            self.fprev,
            self.fnext,
            self.where,
            self.gprev,
            self.gnext,
            self.ln,
            self.pv,
            self.base,
            self.size,
            self.local,
        )


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled ARC over ``frames`` frames (``quotas``: each process's, by dense index, under
    local scope)."""
    return _ARC(frames, quotas)
