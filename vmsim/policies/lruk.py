"""LRU-K: evict the page whose K-th most recent reference is oldest."""

from __future__ import annotations

from collections import OrderedDict, deque
from heapq import heapify, heappop, heappush
from typing import Annotated

from vmsim.policies.base import Path, Policy, Range, register


@register
class LRUK(Policy):
    """LRU-K (O'Neil, O'Neil & Weikum, SIGMOD 1993), as libCacheSim's LRUK runs it.

    Time counts this domain's accesses (loads and hits). The backward K-distance of a page is the
    time since its K-th most recent reference, infinite while it has fewer than K. The victim is a
    page with infinite distance if there is one, the earliest loaded first; otherwise the page
    whose K-th most recent reference is oldest (those times are distinct: no ties). History is
    kept for resident pages only (the paper's retained information period is 0 and its
    correlated reference period is 0, like libCacheSim). ``k=1`` is LRU. Cost: O(log n) per hit
    and per fault (a heap with lazy deletion).
    """

    name = "lruk"
    aliases = ("lru-k",)
    summary = "LRU-K: evict the page whose K-th most recent reference is oldest (k, default 2)"
    path = Path.HITS
    k: Annotated[int, Range(1, 64)] = 2

    def setup(self) -> None:
        self._t = 0
        self._hist: list[deque[int]] = [deque(maxlen=self.k) for _ in range(self.frames.n)]
        # Pages with fewer than k references, in load order; and a heap of (k-th time, frame)
        # over the others, where _kth[frame] is the live entry (-1: none) and older ones are stale.
        self._young: OrderedDict[int, None] = OrderedDict()
        self._heap: list[tuple[int, int]] = []
        self._kth = [-1] * self.frames.n
        self._limit = 64
        self._size = 0

    def _push(self, frame: int, kth: int) -> None:
        self._kth[frame] = kth
        heap = self._heap
        heappush(heap, (kth, frame))
        if len(heap) > self._limit:
            kths = self._kth
            self._heap = [e for e in heap if kths[e[1]] == e[0]]
            heapify(self._heap)
            self._limit = 2 * len(self._heap) + 64

    def hit(self, frame: int) -> None:
        self._t += 1
        h = self._hist[frame]
        h.append(self._t)
        if len(h) == self.k:
            if self._kth[frame] < 0:
                del self._young[frame]
            self._push(frame, h[0])

    def insert(self, frame: int) -> None:
        self._t += 1
        h = self._hist[frame]
        h.clear()
        h.append(self._t)
        self._size += 1
        if self.k == 1:
            self._push(frame, self._t)
        else:
            self._young[frame] = None

    def victim(self) -> int:
        self._size -= 1
        if self._young:
            return self._young.popitem(last=False)[0]
        heap, kths = self._heap, self._kth
        while True:
            kth, frame = heappop(heap)
            if kths[frame] == kth:
                kths[frame] = -1
                return frame

    def remove(self, frame: int) -> None:
        self._size -= 1
        if self._kth[frame] < 0:
            del self._young[frame]
        else:
            self._kth[frame] = -1

    def order(self) -> list[int]:
        kths = self._kth
        return [*self._young, *(f for k, f in sorted(self._heap) if kths[f] == k)]

    def __len__(self) -> int:
        return self._size
