"""Dense ids for (process, page) pairs: 0, 1, 2, ... in order of first access, kept in a compiled
open-addressing hash table (linear probing, at most half full), so that compiled loops index
plain arrays."""

from __future__ import annotations

import numpy as np
from numba import njit

_EMPTY = -1


@njit(cache=True)
def _slot(page: np.int64, pid: np.int32, mask: np.uint64) -> np.int64:
    h = (np.uint64(page) * np.uint64(0x9E3779B97F4A7C15)) ^ (np.uint64(pid) * np.uint64(0xC2B2AE3D27D4EB4F))
    h ^= h >> np.uint64(31)
    return np.int64(h & mask)


@njit(cache=True)
def _lookup(pages, pids, kpage, kpid, kval, count, owner, out):  # type: ignore[no-untyped-def]
    """Each access's id into ``out``, adding unseen pairs (their process into ``owner``);
    returns the new count."""
    mask = np.uint64(len(kval) - 1)
    for i in range(len(pages)):
        pg = pages[i]
        pd = pids[i]
        s = _slot(pg, pd, mask)
        while True:
            v = kval[s]
            if v == _EMPTY:
                kval[s] = count
                kpage[s] = pg
                kpid[s] = pd
                owner[count] = pd
                out[i] = count
                count += 1
                break
            if kpage[s] == pg and kpid[s] == pd:
                out[i] = v
                break
            s = (s + 1) & np.int64(mask)
    return count


@njit(cache=True)
def _rehash(kpage, kpid, kval, npage, npid, nval):  # type: ignore[no-untyped-def]
    mask = np.uint64(len(nval) - 1)
    for s in range(len(kval)):
        v = kval[s]
        if v != _EMPTY:
            t = _slot(kpage[s], kpid[s], mask)
            while nval[t] != _EMPTY:
                t = (t + 1) & np.int64(mask)
            nval[t] = v
            npage[t] = kpage[s]
            npid[t] = kpid[s]


@njit(cache=True)
def _nothing(x: np.int64) -> np.int64:
    return x


def warm() -> None:
    """One compiled call: numba's one-time set-up happens here."""
    _nothing(np.int64(0))


@njit(cache=True)
def _seed(pages, kpage, kpid, kval):  # type: ignore[no-untyped-def]
    """Enter each (page, process 0) with the page as its id (leaving the direct mapping)."""
    mask = np.uint64(len(kval) - 1)
    for pg in pages:
        s = _slot(pg, np.int32(0), mask)
        while kval[s] != _EMPTY:
            s = (s + 1) & np.int64(mask)
        kval[s] = pg
        kpage[s] = pg
        kpid[s] = 0


#: While one process's pages are all below this, a page is its own id (no table): libCacheSim's
#: and other traces of small object ids skip the hash table. Ids then run up to the largest page.
DIRECT = 1 << 22


class DenseIds:
    """The table and, per id, its process (dense process index ``owner``). ``count`` bounds the
    ids (every id is below it)."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        cap = 1 << max(4, (2 * capacity - 1).bit_length())
        self.kpage = np.zeros(cap, np.int64)
        self.kpid = np.zeros(cap, np.int32)
        self.kval = np.full(cap, _EMPTY, np.int64)
        self.count = 0
        self.owner = np.zeros(capacity, np.int32)
        self.direct = True
        self._touched = np.zeros(0, np.bool_)

    def ids(self, pages: np.ndarray, pids: np.ndarray) -> np.ndarray:
        """The ids of a chunk's accesses (``pids`` dense process indexes, int32)."""
        n = len(pages)
        pages = pages.astype(np.int64, copy=False)
        if self.direct and n:
            top = int(pages.max())
            if top < DIRECT and int(pages.min()) >= 0 and not pids.any():
                if top >= self.count:
                    self.count = top + 1
                    self._touched = grow(self._touched, self.count)
                    if self.count > len(self.owner):
                        self.owner = grow(self.owner, self.count)
                self._touched[pages] = True
                return pages
            self._leave_direct()
        self._room(self.count + n)
        out = np.empty(n, np.int64)
        self.count = _lookup(pages, pids, self.kpage, self.kpid, self.kval, self.count, self.owner, out)
        return out

    def _leave_direct(self) -> None:
        """From here on, the table: the pages seen so far keep their ids (themselves)."""
        self.direct = False
        seen = np.flatnonzero(self._touched[: self.count]).astype(np.int64)
        self._room(self.count + len(seen))
        _seed(seen, self.kpage, self.kpid, self.kval)
        self._touched = np.zeros(0, np.bool_)

    def _room(self, most: int) -> None:
        """Room for ``most`` ids: the table at most half full, ``owner`` long enough."""
        if 2 * most > len(self.kval):
            cap = 1 << (4 * most - 1).bit_length()
            npage, npid, nval = np.zeros(cap, np.int64), np.zeros(cap, np.int32), np.full(cap, _EMPTY, np.int64)
            _rehash(self.kpage, self.kpid, self.kval, npage, npid, nval)
            self.kpage, self.kpid, self.kval = npage, npid, nval
        if most > len(self.owner):
            self.owner = grow(self.owner, most)


def grow(a: np.ndarray, least: int, fill: int = 0) -> np.ndarray:
    """``a`` extended (doubling) to at least ``least`` entries, the new ones ``fill``."""
    out = np.full(max(least, 2 * len(a)), fill, a.dtype)
    out[: len(a)] = a
    return out
